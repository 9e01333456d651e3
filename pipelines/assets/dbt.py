"""The dbt project (staging -> intermediate -> marts) as Dagster assets; dbt tests become asset checks.

Nothing here runs at import: the project (and its parse, when the manifest is missing or outdated) is built
once, by `dbt_project()`, the first time the code location's definitions are built.
"""

import fcntl
import functools
import hashlib
import json
import os
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets, get_asset_key_for_model
from dagster_dbt.dbt_project import using_dagster_dev

from pipelines import dbt_worker
from pipelines.resources import DataHome, dbt_cli
from pipelines.settings import DBT_PROJECT_DIR, WAREHOUSE_FILE, Paths
from pipelines.warehouse import connect, quote

PUBLISHED_SCHEMA = "published"


# What dbt reads from the environment of its command. dagster-dbt hands dbt its own process's environment and
# offers none per invocation, so `dbt_environment` sets them around each command (a step runs alone in its
# process, or, in process, one after another).
# The warehouse: dbt runs in the warehouse's folder (dbt_worker.DIRECTORY, read by the dbt client; dagster-dbt
# names the project with DBT_PROJECT_DIR) and its profile names the file alone (NBHD_DBT_WAREHOUSE). dbt parses
# the whole project again when its profile or --vars differ from its last parse's (4-6 s on 2 cores): with its
# own path in each data home's profile, every new data home did; now the project's own parse (`dbt_project`),
# which dagster-dbt copies into a new home's dbt folder, holds there.
DBT_WAREHOUSE = "NBHD_DBT_WAREHOUSE"
# The crime marts' month window, rather than --vars (a change of which parses the whole project again). The window
# changes with the months each day's loads touch: crime_monthly reads it when it runs, never while dbt parses it
# (dbt_project/macros/crime_window.sql), so a new window parses nothing again.
WINDOW_ENVIRONMENT = {"window_start": "NBHD_DBT_WINDOW_START", "window_end": "NBHD_DBT_WINDOW_END"}


@contextmanager
def dbt_environment(warehouse: Path, window: Mapping[str, str] | None = None) -> Iterator[None]:
    """The environment of a dbt command started inside, on `warehouse` and, for the crime marts, in the month
    `window` (`month_window`: an open bound by no variable); the process's environment is restored after."""
    values = {DBT_WAREHOUSE: warehouse.name, dbt_worker.DIRECTORY: str(warehouse.parent)} | {
        name: (window or {}).get(bound) for bound, name in WINDOW_ENVIRONMENT.items()
    }
    saved = {name: os.environ.get(name) for name in values}
    set_environment(values)
    try:
        yield
    finally:
        set_environment(saved)


def set_environment(values: Mapping[str, str | None]) -> None:
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def dbt_target(paths: Paths) -> Path:
    """Where every dbt invocation of the data home (the three build steps, the docs) writes its parse of the
    project, its log and, for the docs, its manifest and catalog. The folder is kept from run to run, and shared by
    the invocations, so that dbt re-parses only the files changed since (its partial parsing) instead of the whole
    project: measured on the demo city, 11.7 s for a build of the crime marts that parses everything against
    6.4-8.0 s for the same build that re-parses nothing. A folder per step parsed the whole project once per
    step in a new data home (every test's). A new home's folder starts from the project's own parse (see
    `dbt_environment`)."""
    return paths.home / "dbt"


def manifest_is_stale(project: DbtProject) -> bool:
    """A fresh clone has no manifest; an edited model, macro, seed or YAML (the profile's too: the parse records
    it) makes it outdated."""
    if not project.manifest_path.exists():
        return True
    built = project.manifest_path.stat().st_mtime
    sources = (
        p for folder in ("models", "macros", "seeds", "tests") for p in (DBT_PROJECT_DIR / folder).rglob("*")
    )
    settings = [DBT_PROJECT_DIR / "dbt_project.yml", DBT_PROJECT_DIR / "profiles.yml"]
    return any(p.stat().st_mtime > built for p in [*sources, *settings])


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
            # Parsed as the data homes' commands see the profile (the folder does not matter to a parse).
            with dbt_environment(DBT_PROJECT_DIR / WAREHOUSE_FILE):
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
# weights asset reads dbt's own respondents (pipelines/assets/weights.py), so a run builds the dbt project in
# invocations around it: the weighted models last.
WEIGHTED_MODELS = "source:weights+"
# The crime marts, partitioned by month: a run rebuilds the months of its partitions (a backfill, the months new
# loads touched, or all of them). Everything downstream of them is weighted (the scorecard, the evaluation).
CRIME_MARTS = "marts.crime"
DBT_STEPS = ("dbt_models", "dbt_crime_marts", "dbt_weighted_models")

# One partition per month of the crime marts. Months before the first partition are built with it (a window
# starting at the first partition has no lower bound): cities' open crime archives start after 1990.
CRIME_MONTHS = dg.MonthlyPartitionsDefinition(start_date="1990-01", fmt="%Y-%m", end_offset=1)
# The months new crime loads touched (the view int_incidents_touched_months): the dbt step that builds it
# reports them as an observation of it, which the run of the crime marts' partitions that follows reads.
TOUCHED_MONTHS_MODEL = "int_incidents_touched_months"


# What each incremental model of the warehouse was built under (`model_definitions`): model -> digest.
DEFINITIONS_SCHEMA, DEFINITIONS_NAME = "meta", "dbt_definitions"
DEFINITIONS_TABLE = f"{DEFINITIONS_SCHEMA}.{DEFINITIONS_NAME}"
# How a dbt step says it rebuilds stale models whole (the CLI shows this message on screen: the run takes longer).
REBUILT_WHOLE = "Rebuilt from every loaded row, as built under an earlier definition of the dbt project:"


def model_definitions(manifest: Mapping[str, Any]) -> dict[str, tuple[str, str, str]]:
    """Each incremental model of a dbt manifest -> (schema, table, digest): the digest of the SQL its rows come from,
    its own file and those of every model, seed and macro it reads, directly or not (dbt's checksum of a file, a
    macro's text). An incremental run rebuilds only what its loads touched: rows an earlier definition built would
    keep what that definition made of them, so a model built under another digest is rebuilt from every loaded row
    (`stale_models`). Sources have no part in it: a changed source definition validates its loads again
    (docs/reliability.md), which the incremental models see as changed incidents."""
    nodes, macros = manifest["nodes"], manifest["macros"]

    def upstream(unique_id: str, seen: set[str]) -> set[str]:
        if unique_id not in seen:
            seen.add(unique_id)
            depends = (nodes.get(unique_id) or macros.get(unique_id) or {}).get("depends_on", {})
            for each in [*depends.get("nodes", []), *depends.get("macros", [])]:
                upstream(each, seen)
        return seen

    def content(unique_id: str) -> str:
        if unique_id in nodes:
            return nodes[unique_id]["checksum"]["checksum"]
        return macros[unique_id]["macro_sql"] if unique_id in macros else ""

    definitions = {}
    for unique_id, node in nodes.items():
        if node["resource_type"] == "model" and node["config"].get("materialized") == "incremental":
            digest = hashlib.sha256()
            for each in sorted(upstream(unique_id, set())):
                digest.update(f"{each}\0{content(each)}\0".encode())
            definitions[node["name"]] = (node["schema"], node["alias"], digest.hexdigest())
    return definitions


@functools.cache
def project_manifest() -> dict[str, Any]:
    """The project's parse (`dbt_project`), read once per process (1.5 MB of JSON): the published marts and the
    incremental models' definitions come from it. Read it, never change it."""
    return json.loads(dbt_project().manifest_path.read_text())


@functools.cache
def project_definitions() -> dict[str, tuple[str, str, str]]:
    return model_definitions(project_manifest())


def definitions_among(keys: Collection[dg.AssetKey]) -> dict[str, tuple[str, str, str]]:
    """The project's incremental models among the asset `keys`, with their definitions (`model_definitions`)."""
    return {
        model: definition for model, definition in project_definitions().items() if model_key(model) in keys
    }


def stale_models(warehouse: Path, definitions: Mapping[str, tuple[str, str, str]]) -> list[str]:
    """The models of `definitions` (`model_definitions`) built in `warehouse` under another definition, or under one
    never recorded (a warehouse built before the record was kept). A model not built yet is not stale: its first
    build reads every row anyway."""
    if not definitions or not warehouse.exists():
        return []
    with connect(warehouse, read_only=True) as con:
        built = {
            (schema, table)
            for schema, table in con.execute(
                "SELECT table_schema, table_name FROM information_schema.tables"
            ).fetchall()
        }
        recorded = (
            dict(con.execute(f"SELECT model, digest FROM {DEFINITIONS_TABLE}").fetchall())
            if (DEFINITIONS_SCHEMA, DEFINITIONS_NAME) in built
            else {}
        )
    return sorted(
        model
        for model, (schema, table, digest) in definitions.items()
        if (schema, table) in built and recorded.get(model) != digest
    )


def record_definitions(warehouse: Path, definitions: Mapping[str, tuple[str, str, str]]) -> None:
    """What `definitions` (`model_definitions`) were built under, once a dbt step built them."""
    if not definitions:
        return
    with connect(warehouse) as con:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {DEFINITIONS_SCHEMA}")
        con.execute(
            f"CREATE TABLE IF NOT EXISTS {DEFINITIONS_TABLE} (model VARCHAR PRIMARY KEY, digest VARCHAR)"
        )
        con.executemany(
            f"INSERT OR REPLACE INTO {DEFINITIONS_TABLE} VALUES (?, ?)",
            [[model, digest] for model, (_, _, digest) in definitions.items()],
        )


def month_window(context: dg.AssetExecutionContext) -> dict[str, str]:
    """The month window of a run's partitions: window_start (inclusive) and window_end (exclusive), left out where
    the range reaches the first or last partition, so months outside the partitions are built with them."""
    window = context.partition_time_window
    first, last = CRIME_MONTHS.get_first_partition_window(), CRIME_MONTHS.get_last_partition_window()
    bounds = {}
    if first is not None and window.start > first.start:
        bounds["window_start"] = window.start.date().isoformat()
    if last is not None and window.end < last.end:
        bounds["window_end"] = window.end.date().isoformat()
    return bounds


def touched_months_observation(paths: Paths) -> dg.AssetObservation:
    """The partitions (months) the view int_incidents_touched_months lists: how many, the first and the last
    (months before the first partition count as the first, after the last as the last); every partition when a
    crime mart was built under another definition (`stale_models`)."""
    with connect(paths.warehouse, read_only=True) as con:
        count, first, last = con.execute(
            f"SELECT count(*), min(month), max(month) FROM intermediate.{quote(TOUCHED_MONTHS_MODEL)}"
        ).fetchone()
        (marts_built,) = con.execute(
            "SELECT count(*) > 0 FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
            [PUBLISHED_SCHEMA, "crime_monthly"],
        ).fetchone()
    metadata: dict[str, int | str] = {"touched_months": int(count)}
    keys = all_months()
    if stale_models(paths.warehouse, definitions_among(dbt_asset_definitions()[1].keys)):
        # A crime mart built under another definition: every month is rebuilt, touched or not.
        metadata["first_partition"], metadata["last_partition"] = keys
    elif count:
        metadata["first_partition"] = max(keys[0], min(keys[1], f"{first:%Y-%m}"))
        metadata["last_partition"] = min(keys[1], max(keys[0], f"{last:%Y-%m}"))
    elif not marts_built:
        # No crime month yet (a city without crime data) and no crime marts: they are built, empty, as the last
        # month's partition, so that the tables downstream of them can read them.
        metadata["first_partition"] = metadata["last_partition"] = keys[1]
    return dg.AssetObservation(asset_key=model_key(TOUCHED_MONTHS_MODEL), metadata=metadata)


def touched_partitions(instance: dg.DagsterInstance, run_id: str) -> tuple[str, str] | None:
    """The first and last month (partition key) the run's loads touched, from its observation of
    int_incidents_touched_months; None when they touched none or the run did not build it."""
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_OBSERVATION):
        observation = entry.asset_observation
        if (
            observation.asset_key == model_key(TOUCHED_MONTHS_MODEL)
            and "first_partition" in observation.metadata
        ):
            return observation.metadata["first_partition"].value, observation.metadata["last_partition"].value
    return None


def month_range_tags(first: str, last: str) -> dict[str, str]:
    """The tags of one run over the partitions from `first` to `last` (single-run backfill policy)."""
    return {ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: last}


def all_months() -> tuple[str, str]:
    return CRIME_MONTHS.get_first_partition_key(), CRIME_MONTHS.get_last_partition_key()


@functools.cache
def dbt_asset_definitions() -> tuple[dg.AssetsDefinition, dg.AssetsDefinition, dg.AssetsDefinition]:
    """Every dbt model, seed and test, from the manifest, as three definitions in the order they build:
    `dbt_models` (all but the crime marts and the weighted models), `dbt_crime_marts` (partitioned by month)
    and `dbt_weighted_models`."""
    project = dbt_project()

    def definition(name: str, partitioned: bool, **selection: str) -> dg.AssetsDefinition:
        @dbt_assets(
            name=name,
            manifest=project.manifest_path,
            project=project,
            dagster_dbt_translator=Translator(),
            partitions_def=CRIME_MONTHS if partitioned else None,
            backfill_policy=dg.BackfillPolicy.single_run() if partitioned else None,
            **selection,
        )
        def build(
            context: dg.AssetExecutionContext,
            dbt: DbtCliResource,
            data_home: DataHome,
            config: DbtBuildConfig,
        ):
            paths = data_home.paths
            selected = definitions_among(context.selected_asset_keys)
            stale = stale_models(paths.warehouse, selected)
            if stale and not config.full_refresh:
                context.log.warning(f"{REBUILT_WHOLE} {', '.join(stale)}")
            refresh = ["--full-refresh"] if config.full_refresh or stale else []
            with dbt_environment(paths.warehouse, month_window(context) if partitioned else None):
                invocation = dbt.cli(
                    # No manifest.json or run_results.json: dbt writes the manifest twice per build (after its
                    # parse and at the end), about half a second of each dbt process on 2 cores, three per daily run.
                    # Every node's status and duration reach the run's records from dbt's log events.
                    # No unit tests: they check the models' SQL on fixed rows, not the data, so they run where the
                    # SQL changes (`make test`: tests/test_dbt_unit_tests.py), as dbt advises, instead of in every
                    # run, where the 8 took 2.5 s of the hand-sized city's dbt time.
                    ["build", *refresh, "--no-write-json", "--exclude-resource-type", "unit_test"],
                    context=context,
                    target_path=dbt_target(paths),
                )
            yield from invocation.stream()
            record_definitions(paths.warehouse, selected)
            if model_key(TOUCHED_MONTHS_MODEL) in context.selected_asset_keys:
                yield touched_months_observation(paths)

        return build

    return (
        definition(DBT_STEPS[0], False, exclude=f"{WEIGHTED_MODELS} {CRIME_MARTS}"),
        definition(DBT_STEPS[1], True, select=CRIME_MARTS),
        definition(DBT_STEPS[2], False, select=WEIGHTED_MODELS),
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
    return sorted(
        node["name"]
        for node in project_manifest()["nodes"].values()
        if node["resource_type"] == "model" and node["config"].get("schema") == PUBLISHED_SCHEMA
    )
