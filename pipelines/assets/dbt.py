"""The dbt project (staging -> intermediate -> marts) as Dagster assets; dbt tests become asset checks."""

import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets, get_asset_key_for_model

from pipelines.resources import DataHome
from pipelines.settings import DBT_PROJECT_DIR

# dbt is a console script of this interpreter's environment; find it even when the venv is not activated.
os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def manifest_is_stale() -> bool:
    """A fresh clone has no manifest; an edited model, macro, seed or YAML makes it outdated."""
    if not dbt_project.manifest_path.exists():
        return True
    built = dbt_project.manifest_path.stat().st_mtime
    sources = (
        p for folder in ("models", "macros", "seeds", "tests") for p in (DBT_PROJECT_DIR / folder).rglob("*")
    )
    return any(p.stat().st_mtime > built for p in [*sources, DBT_PROJECT_DIR / "dbt_project.yml"])


dbt_project.prepare_if_dev()
if manifest_is_stale():  # parse (a few seconds) rather than run against yesterday's models
    dbt_project.preparer.prepare(dbt_project)

PUBLISHED_SCHEMA = "published"


class Translator(DagsterDbtTranslator):
    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] in ("model", "seed"):
            layer = dbt_resource_props["fqn"][1] if len(dbt_resource_props["fqn"]) > 2 else "seeds"
            return {"marts": "published"}.get(layer, layer)
        return super().get_group_name(dbt_resource_props)


# The models that read the raking weights (dbt's source weights.survey_respondents) and those built on them. The
# weights asset reads dbt's own respondents (pipelines/assets/weights.py), so a run builds the dbt project in two
# invocations around it: every other model first, then these.
WEIGHTED_MODELS = "source:weights+"


def build(context: dg.AssetExecutionContext, dbt: DbtCliResource, data_home: DataHome):
    data_home.paths.export()  # dbt's profile reads NBHD_WAREHOUSE
    yield from dbt.cli(["build"], context=context).stream()


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=Translator(),
    exclude=WEIGHTED_MODELS,
)
def dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, data_home: DataHome):
    yield from build(context, dbt, data_home)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=Translator(),
    select=WEIGHTED_MODELS,
    name="dbt_weighted_models",
)
def dbt_weighted_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, data_home: DataHome):
    yield from build(context, dbt, data_home)


# Every dbt model, as the two asset definitions above.
DBT_ASSETS = [dbt_models, dbt_weighted_models]


def model_key(model: str) -> dg.AssetKey:
    """The asset key of a dbt model, seed or snapshot, whichever of DBT_ASSETS holds it."""
    for assets in DBT_ASSETS:
        try:
            return get_asset_key_for_model([assets], model)
        except KeyError:
            continue
    raise KeyError(f"no dbt model, seed or snapshot named {model!r}")


def published_models() -> list[str]:
    """The marts that are published (schema `published`), by name."""
    nodes = json.loads(dbt_project.manifest_path.read_text())["nodes"].values()
    return sorted(
        node["name"]
        for node in nodes
        if node["resource_type"] == "model" and node["config"].get("schema") == PUBLISHED_SCHEMA
    )
