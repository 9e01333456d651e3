"""dbt's unit tests (the `unit_tests:` of dbt_project/models) check the models' SQL on fixed rows. A pipeline run
leaves them out (pipelines/assets/dbt.py): they run here, every one of them, against a copy of the shared small
city's warehouse, whose tables give the unit tests' inputs their columns."""

from __future__ import annotations

import json
import shutil

from pipelines.assets.dbt import project_manifest
from tests.conftest import dbt_log_events
from tests.reliability._helpers import dbt


def unit_tests() -> set[str]:
    """Every unit test of the project, by unique id, from the project's parse."""
    return set(project_manifest()["unit_tests"])


def test_every_unit_test_passes_and_no_run_spends_time_on_them(small_city, tmp_path):
    expected = unit_tests()
    assert len(expected) >= 8, expected
    ran_in_the_run = {
        event["data"]["node_info"]["unique_id"]
        for event in dbt_log_events(small_city.home)
        if event["info"]["name"] == "NodeStart" and event["data"]["node_info"]["resource_type"] == "unit_test"
    }
    assert not ran_in_the_run, f"the pipeline's run ran unit tests: {sorted(ran_in_the_run)}"

    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(small_city.home / "warehouse.duckdb", warehouse)
    result = dbt(warehouse, tmp_path, "test", "--select", "test_type:unit", "--log-format", "json")
    events = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    outcomes = {
        e["data"]["node_info"]["unique_id"]: e["data"]["status"]
        for e in events
        if e["info"]["name"] == "LogTestResult"
    }
    assert outcomes == dict.fromkeys(expected, "pass"), outcomes
