"""The dbt project (staging -> intermediate -> marts) as Dagster assets; dbt tests become asset checks.

Nothing here runs at import: the project (and its parse, when the manifest is missing or outdated) is built
once, by `dbt_project()`, the first time the code location's definitions are built.
"""

import fcntl
import functools
import json
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets, get_asset_key_for_model
from dagster_dbt.dbt_project import using_dagster_dev

from pipelines.resources import DataHome, dbt_cli
from pipelines.settings import DBT_PROJECT_DIR, Paths

PUBLISHED_SCHEMA = "published"


def dbt_vars(paths: Paths) -> list[str]:
    """The settings a dbt invocation reads (the profile's warehouse path), passed on its command line."""
    return ["--vars", json.dumps({"warehouse": str(paths.warehouse)})]


def manifest_is_stale(project: DbtProject) -> bool:
    """A fresh clone has no manifest; an edited model, macro, seed or YAML makes it outdated."""
    if not project.manifest_path.exists():
        return True
    built = project.manifest_path.stat().st_mtime
    sources = (
        p for folder in ("models", "macros", "seeds", "tests") for p in (DBT_PROJECT_DIR / folder).rglob("*")
    )
    return any(p.stat().st_mtime > built for p in [*sources, DBT_PROJECT_DIR / "dbt_project.yml"])


@functools.cache
def dbt_project() -> DbtProject:
    """The dbt project with an up-to-date manifest: parsed (a few seconds) under `dagster dev`, as
    DbtProject.prepare_if_dev() would, and wherever the manifest is missing or older than the models, rather than
    running against yesterday's models."""
    project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
    if not (using_dagster_dev() or manifest_is_stale(project)):
        return project
    project.manifest_path.parent.mkdir(parents=True, exist_ok=True)
    with open(project.manifest_path.parent / ".parse.lock", "a") as lock:
        # Another process parsing (a test worker, a run worker of `dagster dev`): wait for it, then use its manifest.
        fcntl.flock(lock, fcntl.LOCK_EX)
        if using_dagster_dev() or manifest_is_stale(project):
            dbt_cli(project).cli(["parse", "--quiet"], target_path=project.target_path).wait()
    return project


class Translator(DagsterDbtTranslator):
    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] in ("model", "seed"):
            layer = dbt_resource_props["fqn"][1] if len(dbt_resource_props["fqn"]) > 2 else "seeds"
            return {"marts": "published"}.get(layer, layer)
        return super().get_group_name(dbt_resource_props)


class DbtBuildConfig(dg.Config):
    # Rebuild the incremental models from every loaded row instead of the months the new loads touch.
    full_refresh: bool = False


# The models that read the raking weights (dbt's source weights.survey_respondents) and those built on them. The
# weights asset reads dbt's own respondents (pipelines/assets/weights.py), so a run builds the dbt project in two
# invocations around it: every other model first, then these.
WEIGHTED_MODELS = "source:weights+"
DBT_STEPS = ("dbt_models", "dbt_weighted_models")


@functools.cache
def dbt_asset_definitions() -> tuple[dg.AssetsDefinition, dg.AssetsDefinition]:
    """Every dbt model, seed and test, from the manifest, as two definitions: `dbt_models` (all but the weighted
    models) and `dbt_weighted_models`."""
    project = dbt_project()

    def definition(name: str, **selection: str) -> dg.AssetsDefinition:
        @dbt_assets(
            name=name,
            manifest=project.manifest_path,
            project=project,
            dagster_dbt_translator=Translator(),
            **selection,
        )
        def build(
            context: dg.AssetExecutionContext,
            dbt: DbtCliResource,
            data_home: DataHome,
            config: DbtBuildConfig,
        ):
            refresh = ["--full-refresh"] if config.full_refresh else []
            yield from dbt.cli(["build", *refresh, *dbt_vars(data_home.paths)], context=context).stream()

        return build

    return (
        definition(DBT_STEPS[0], exclude=WEIGHTED_MODELS),
        definition(DBT_STEPS[1], select=WEIGHTED_MODELS),
    )


def model_key(model: str) -> dg.AssetKey:
    """The asset key of a dbt model, seed or snapshot, whichever dbt asset definition holds it."""
    for assets in dbt_asset_definitions():
        try:
            return get_asset_key_for_model([assets], model)
        except KeyError:
            continue
    raise KeyError(f"no dbt model, seed or snapshot named {model!r}")


def published_models() -> list[str]:
    """The marts that are published (schema `published`), by name."""
    nodes = json.loads(dbt_project().manifest_path.read_text())["nodes"].values()
    return sorted(
        node["name"]
        for node in nodes
        if node["resource_type"] == "model" and node["config"].get("schema") == PUBLISHED_SCHEMA
    )
