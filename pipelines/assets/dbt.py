"""The dbt project (staging -> intermediate -> marts) as Dagster assets; dbt tests become asset checks."""

import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from pipelines.resources import DataHome
from pipelines.settings import DBT_PROJECT_DIR

# dbt is a console script of this interpreter's environment; find it even when the venv is not activated.
os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
dbt_project.prepare_if_dev()
if not dbt_project.manifest_path.exists():  # a fresh clone: parse once (a few seconds)
    dbt_project.preparer.prepare(dbt_project)

PUBLISHED_SCHEMA = "published"


class Translator(DagsterDbtTranslator):
    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] in ("model", "seed"):
            layer = dbt_resource_props["fqn"][1] if len(dbt_resource_props["fqn"]) > 2 else "seeds"
            return {"marts": "published"}.get(layer, layer)
        return super().get_group_name(dbt_resource_props)


@dbt_assets(manifest=dbt_project.manifest_path, project=dbt_project, dagster_dbt_translator=Translator())
def dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, data_home: DataHome):
    data_home.paths.export()  # dbt's profile reads NBHD_WAREHOUSE
    yield from dbt.cli(["build"], context=context).stream()


def published_models() -> list[str]:
    """The marts that are published (schema `published`), by name."""
    nodes = json.loads(dbt_project.manifest_path.read_text())["nodes"].values()
    return sorted(
        node["name"]
        for node in nodes
        if node["resource_type"] == "model" and node["config"].get("schema") == PUBLISHED_SCHEMA
    )
