"""An incremental model built under another definition of the dbt project is rebuilt from every loaded row
(pipelines/assets/dbt.py: model_definitions, stale_models): which edits make which incremental model stale, read
from the project's own manifest, and how the warehouse's record of them is compared. A run that rebuilds a stale
model is tests/e2e/test_incremental.py's."""

import copy

import duckdb
import pytest

from pipelines.assets.dbt import model_definitions, project_manifest, record_definitions, stale_models
from pipelines.settings import DBT_PROJECT_DIR

PACKAGE = "neighborhood_metrics"


@pytest.fixture(scope="module")
def manifest() -> dict:
    return project_manifest()


def digests_after(manifest: dict, edit) -> dict[str, str]:
    """The incremental models' digests in a copy of the manifest changed by `edit`."""
    edited = copy.deepcopy(manifest)
    edit(edited)
    return {model: digest for model, (_, _, digest) in model_definitions(edited).items()}


def edit_file(unique_id: str):
    def edit(manifest: dict) -> None:
        manifest["nodes"][unique_id]["checksum"]["checksum"] = "edited"

    return edit


def edit_macro(unique_id: str):
    def edit(manifest: dict) -> None:
        manifest["macros"][unique_id]["macro_sql"] += "\n-- edited"

    return edit


def test_an_edit_makes_stale_the_incremental_models_that_read_what_it_edits(manifest):
    # The incremental models, read from the model files themselves.
    configured = {
        path.stem
        for path in (DBT_PROJECT_DIR / "models").rglob("*.sql")
        if "materialized='incremental'" in path.read_text()
    }
    assert configured == {"int_incidents_changed", "int_incidents_deduplicated", "crime_monthly"}
    before = digests_after(manifest, lambda _: None)
    assert set(before) == configured
    assert before == digests_after(manifest, lambda _: None)  # the same project, the same digests

    def changed(edit) -> set[str]:
        after = digests_after(manifest, edit)
        return {model for model in before if after[model] != before[model]}

    # The incidents' staging model: every incremental model reads it.
    assert changed(edit_file(f"model.{PACKAGE}.stg_crime__incidents")) == configured
    # The deduplicated incidents: crime_monthly reads them; the work list reads the built table, not the model.
    assert changed(edit_file(f"model.{PACKAGE}.int_incidents_deduplicated")) == {
        "int_incidents_deduplicated",
        "crime_monthly",
    }
    # crime_monthly's own file, and the macro of its month window, which only it calls.
    assert changed(edit_file(f"model.{PACKAGE}.crime_monthly")) == {"crime_monthly"}
    assert changed(edit_macro(f"macro.{PACKAGE}.crime_window")) == {"crime_monthly"}
    # A survey mart and the seed of Student's t: no crime model reads them.
    assert changed(edit_file(f"model.{PACKAGE}.trust_quarterly")) == set()
    assert changed(edit_file(f"seed.{PACKAGE}.student_t_975")) == set()


def test_stale_models_compares_the_warehouse_record_with_the_project(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    definitions = {
        "built": ("intermediate", "built", "digest 1"),
        "never_built": ("intermediate", "never_built", "digest 2"),
    }
    with duckdb.connect(str(warehouse)) as con:
        con.execute("CREATE SCHEMA intermediate")
        con.execute("CREATE TABLE intermediate.built (x INTEGER)")
    # Built before any record was kept: stale; a model not built yet is not.
    assert stale_models(warehouse, definitions) == ["built"]
    record_definitions(warehouse, definitions)
    assert stale_models(warehouse, definitions) == []
    edited = definitions | {"built": ("intermediate", "built", "digest 3")}
    assert stale_models(warehouse, edited) == ["built"]
    record_definitions(warehouse, edited)
    assert stale_models(warehouse, edited) == []
    assert stale_models(tmp_path / "no_warehouse.duckdb", definitions) == []
