"""Dagster resources: the data home's paths and the PII salt, configured from the environment.

The salt is an EnvVar: read at run time, never shown in the UI, never logged or written into metadata.
"""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource

from pipelines.settings import DBT_PROJECT_DIR, Paths


class DataHome(dg.ConfigurableResource):
    home: str
    sources_dir: str
    warehouse: str
    publish_dir: str
    pii_salt: str | None = None

    @property
    def paths(self) -> Paths:
        return Paths(Path(self.home), Path(self.sources_dir), Path(self.warehouse), Path(self.publish_dir))


def build_resources(paths: Paths) -> dict[str, object]:
    salt = dg.EnvVar("NBHD_PII_SALT") if os.environ.get("NBHD_PII_SALT") else None
    return {
        "data_home": DataHome(
            home=str(paths.home),
            sources_dir=str(paths.sources_dir),
            warehouse=str(paths.warehouse),
            publish_dir=str(paths.publish_dir),
            pii_salt=salt,
        ),
        "dbt": DbtCliResource(project_dir=str(DBT_PROJECT_DIR), profiles_dir=str(DBT_PROJECT_DIR)),
    }
