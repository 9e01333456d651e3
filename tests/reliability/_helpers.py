"""What the reliability property tests share: a data home built from source YAML written here, the two load
steps called directly (`pipelines.ingest.land` / `load`, no Dagster), dbt over the resulting warehouse, and one
deterministic hypothesis profile.

Everything runs for real: landing files on disk, raw Parquet, a DuckDB warehouse, the dbt project's own models,
and a local HTTP server for the network connectors (tests/connectors/portal.py).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, settings

from pipelines import ingest
from pipelines.kinds import KINDS
from pipelines.settings import DBT_PROJECT_DIR, REPO_ROOT, Paths
from pipelines.sources import SourceSpec, load_source
from pipelines.warehouse import LoadSummary, connect, refresh_canonical_view
from tests.conftest import TEST_SALT
from tests.fixtures.small_city import CRIME_HEADER, NEIGHBORHOODS

DEMO_CROSSWALK = REPO_ROOT / "sources" / "demo" / "fbi_code_crosswalk.csv"

# Property-based tests: bounded, no deadline (a 2-core CI machine is slow and shared), derandomized so every run
# tries the same examples, and no example database, so nothing outside the repo changes what runs.
FUZZ = settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def make_paths(home: Path) -> Paths:
    """A data home with its sources folder beside the landing zone (tests write the YAML there)."""
    sources = home / "sources"
    sources.mkdir(parents=True, exist_ok=True)
    return Paths(home, sources, home / "warehouse.duckdb", home / "published")


def write_source(paths: Paths, name: str, body: str, crosswalks: dict[str, str | Path] | None = None):
    """Write `<name>.yml` (and crosswalk files beside it) into the home's sources folder and load it as the
    pipeline does."""
    for file, content in (crosswalks or {}).items():
        target = paths.sources_dir / file
        if isinstance(content, Path):
            shutil.copy(content, target)
        else:
            target.write_text(content)
    path = paths.sources_dir / f"{name}.yml"
    path.write_text(textwrap.dedent(body).lstrip())
    return load_source(path)


def neighborhoods_geojson(ids: tuple[str, ...] = tuple(NEIGHBORHOODS)) -> str:
    """The small city's rectangular neighborhoods (tests/fixtures/small_city.py) as a FeatureCollection."""
    features = []
    for nbhd in ids:
        name, lon0, lon1, lat0, lat1, _ = NEIGHBORHOODS[nbhd]
        ring = [[lon0, lat0], [lon1, lat0], [lon1, lat1], [lon0, lat1], [lon0, lat0]]
        features.append(
            {
                "type": "Feature",
                "properties": {"nbhd_id": nbhd, "nbhd_name": name},
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
        )
    return json.dumps({"type": "FeatureCollection", "features": features})


GEOGRAPHY_YAML = """
name: places
kind: geography
id_property: nbhd_id
name_property: nbhd_name
"""


def with_neighborhoods(paths: Paths) -> SourceSpec:
    """A loaded `places` geography source holding the small city's three neighborhoods."""
    spec = write_source(paths, "places", GEOGRAPHY_YAML)
    drop(paths, "places", "neighborhoods.geojson", neighborhoods_geojson())
    land_and_load(paths, spec, [spec])
    return spec


def crime_csv(*rows: list[str]) -> str:
    """A crime file of the small city's columns (CRIME_HEADER) holding `rows`, every cell quoted."""
    lines = [CRIME_HEADER, *rows]
    return "\n".join(",".join(f'"{cell}"' for cell in line) for line in lines) + "\n"


def drop(paths: Paths, source: str, file_name: str, content: str | bytes) -> Path:
    """A file drop in landing/<source>/."""
    folder = paths.landing / source
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / file_name
    if isinstance(content, bytes):
        target.write_bytes(content)
    else:
        target.write_text(content, encoding="utf-8")
    return target


def land_and_load(
    paths: Paths, spec: SourceSpec, specs: list[SourceSpec], salt: str | None = TEST_SALT, app_token=None
) -> list[LoadSummary]:
    ingest.land(spec, paths, salt, app_token=app_token)
    return ingest.validate(spec, specs, paths)


def refresh_views(paths: Paths, specs: list[SourceSpec]) -> None:
    """canonical.<kind> for every kind (empty where no source has it): what dbt reads."""
    with connect(paths.warehouse) as con:
        for kind in KINDS:
            refresh_canonical_view(con, KINDS[kind], [s.name for s in specs if s.kind == kind])


def dbt(warehouse: Path, scratch: Path, *args: str) -> subprocess.CompletedProcess:
    """`dbt ARGS` of the repo's dbt project against this warehouse, with target/ and logs/ kept in `scratch` so
    parallel runs of other tests never share them; it must succeed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NBHD_", "DBT_"))} | {
        "NBHD_WAREHOUSE": str(warehouse),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    command = [str(Path(sys.executable).parent / "dbt"), *args]
    command += ["--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
    command += ["--target-path", str(scratch / "target"), "--log-path", str(scratch / "logs")]
    result = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=600, cwd=DBT_PROJECT_DIR
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    return result


def query(paths: Paths, sql: str, parameters: list | dict | None = None) -> pd.DataFrame:
    with connect(paths.warehouse, read_only=True) as con:
        return con.execute(sql, parameters or []).df()
