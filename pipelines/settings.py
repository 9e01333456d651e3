"""Where everything lives (docs/settings.md): one data home, overridable piece by piece from the environment."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DEMO_SOURCES_DIR = REPO_ROOT / "sources" / "demo"
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
# dbt is a console script of this interpreter's environment: found there, whether or not it is on PATH.
DBT_EXECUTABLE = Path(sys.executable).parent / "dbt"
# What the pipeline runs as dbt: the dbt worker's client (pipelines/dbt_worker.py), a console script beside it.
DBT_CLIENT = Path(sys.executable).parent / "neighborhood-metrics-dbt"
# The warehouse's file name in a data home, unless NBHD_WAREHOUSE names another file.
WAREHOUSE_FILE = "warehouse.duckdb"


@dataclass(frozen=True)
class Paths:
    home: Path
    sources_dir: Path
    warehouse: Path
    publish_dir: Path

    @property
    def landing(self) -> Path:
        return self.home / "landing"

    @property
    def parsed(self) -> Path:
        return self.home / "parsed"

    @classmethod
    def from_env(cls) -> Paths:
        home = Path(os.environ.get("NBHD_HOME", "data")).resolve()
        return cls(
            home=home,
            sources_dir=Path(os.environ.get("NBHD_SOURCES_DIR", DEMO_SOURCES_DIR)).resolve(),
            warehouse=Path(os.environ.get("NBHD_WAREHOUSE", home / WAREHOUSE_FILE)).resolve(),
            publish_dir=Path(os.environ.get("NBHD_PUBLISH_DIR", home / "published")).resolve(),
        )


def inside(base: Path, candidate: Path) -> Path:
    """Resolve `candidate` (symlinks included) and refuse anything that escapes `base`."""
    resolved = candidate.resolve()
    if not resolved.is_relative_to(base.resolve()):
        raise ValueError(f"{candidate} resolves to {resolved}, outside {base}")
    return resolved
