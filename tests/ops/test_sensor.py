"""The landing sensor: a new survey file dropped into its landing folder is loaded by the run the sensor asks
for, and crime_months_sensor then asks for the crime months that run's loads touched and what follows. Evaluated
with Dagster's build_sensor_context / build_run_status_sensor_context against a real (temporary, on-disk)
instance; the requested runs are executed for real (landing -> raw -> warehouse -> dbt -> published)."""

from __future__ import annotations

import os
import shutil
import time
from datetime import timedelta

import dagster as dg
import pandas as pd
import pytest
from dagster._core.utils import make_new_run_id

from pipelines.definitions import build_defs
from pipelines.freshness import evaluate_freshness
from pipelines.kinds import KINDS
from pipelines.settings import DEMO_SOURCES_DIR, Paths
from pipelines.sources import load_sources
from pipelines.warehouse import connect
from tests.conftest import REPO, TEST_SALT
from tests.fixtures.small_city import build

SURVEY = "demo_survey_qualtrics"
GOING = dg.DagsterRunStatus.STARTED


def settle(folder) -> None:
    """Age the files past the sensor's settle time, as if their copy had finished a minute ago."""
    past = time.time() - 120
    for file in folder.rglob("*"):
        os.utime(file, (past, past))


@pytest.fixture(scope="module")
def location(tmp_path_factory):
    home = tmp_path_factory.mktemp("sensor_home")
    build(home / "landing")
    held = tmp_path_factory.mktemp("held_back")
    shutil.move(home / "landing" / SURVEY, held / SURVEY)  # the survey arrives later
    settle(home / "landing")
    with pytest.MonkeyPatch.context() as patch:
        for key in [k for k in os.environ if k.startswith(("NBHD_", "DAGSTER_"))]:
            patch.delenv(key)
        patch.setenv("NBHD_HOME", str(home))
        patch.setenv("NBHD_PII_SALT", TEST_SALT)
        patch.setenv("NBHD_MAX_QUARANTINE_SHARE", "0.5")  # a hand-sized city: a few bad rows are a big share
        (home / "dagster").mkdir()
        shutil.copy(
            REPO / "dagster.yaml", home / "dagster" / "dagster.yaml"
        )  # the project's instance settings
        instance = dg.DagsterInstance.local_temp(str(home / "dagster"))
        yield home, held, build_defs(Paths.from_env()), instance
        instance.dispose()


def tick(defs: dg.Definitions, instance: dg.DagsterInstance):
    sensor = defs.get_sensor_def("landing_files_sensor")
    with dg.build_sensor_context(instance=instance, definitions=defs, resources=defs.resources) as context:
        return sensor.evaluate_tick(context)


def run_requested(defs: dg.Definitions, instance: dg.DagsterInstance, request: dg.RunRequest, job: str):
    result = defs.get_job_def(job).execute_in_process(
        instance=instance, asset_selection=request.asset_selection, tags=request.tags, raise_on_error=False
    )
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    return result


def after_success(defs: dg.Definitions, instance: dg.DagsterInstance, run_id: str) -> dg.RunRequest:
    """What crime_months_sensor asks for once the run `run_id` has succeeded."""
    sensor = defs.get_sensor_def("crime_months_sensor")
    (success,) = instance.all_logs(run_id, of_type=dg.DagsterEventType.RUN_SUCCESS)
    context = dg.build_run_status_sensor_context(
        sensor_name=sensor.name,
        dagster_event=success.dagster_event,
        dagster_instance=instance,
        dagster_run=instance.get_run_by_id(run_id),
    )
    return sensor(context)


def partitions(result) -> list[str]:
    return sorted(
        event.partition
        for event in result.get_asset_materialization_events()
        if event.asset_key == dg.AssetKey(["published", "crime_monthly"])
    )


def test_a_new_survey_file_is_loaded(location):
    home, held, defs, instance = location

    first = tick(defs, instance)
    assert len(first.run_requests) == 1, "every source's files are new on the first tick"
    # While that run lands some sources' files (or waits in the queue), the others are not asked for again.
    going = dg.DagsterRun(job_name="load_landing_files", run_id=make_new_run_id(), status=GOING)
    instance.add_run(going)
    waiting = tick(defs, instance)
    assert waiting.run_requests == [] and "still loading landing files" in waiting.skip_message
    instance.delete_run(going.run_id)
    loads = run_requested(defs, instance, first.run_requests[0], "load_landing_files")
    assert partitions(loads) == [], "the loading run stops before the crime marts"
    months = after_success(defs, instance, loads.run_id)
    assert months.tags["dagster/asset_partition_range_start"] == "2023-01", (
        "every month of the coverage is new"
    )
    assert months.tags["dagster/asset_partition_range_end"] == "2024-12"
    assert partitions(run_requested(defs, instance, months, "crime_months")) == [
        f"{month:%Y-%m}" for month in pd.period_range("2023-01", "2024-12", freq="M")
    ]
    assert (
        pd.read_parquet(home / "published" / "current" / "trust_quarterly.parquet")["respondents"].sum() == 0
    )

    idle = tick(defs, instance)
    assert idle.run_requests == [] and "no new landing files" in idle.skip_message

    shutil.copytree(held / SURVEY, home / "landing" / SURVEY, copy_function=shutil.copy)  # a fresh mtime
    settling = tick(defs, instance)
    assert settling.run_requests == [], "a file still being copied waits for the next tick"
    settle(home / "landing" / SURVEY)
    (request,) = tick(defs, instance).run_requests
    selected = {key.to_user_string() for key in request.asset_selection}
    assert {f"parsed/{SURVEY}", f"warehouse/{SURVEY}", "weights/survey_respondents"} <= selected
    assert "parsed/demo_crimes" not in selected, "only the new file's source and what depends on it"
    assert "published/trust_quarterly" not in selected, "the weighted models follow the crime marts"
    result = run_requested(defs, instance, request, "load_landing_files")
    then = after_success(defs, instance, result.run_id)
    assert "dagster/asset_partition_range_start" not in then.tags, "a survey touches no crime month"
    follows = {key.to_user_string() for key in then.asset_selection}
    assert {"published/trust_quarterly", "published_report"} <= follows
    assert "published/crime_monthly" not in follows
    run_requested(defs, instance, then, "crime_months")

    survey_file = home / "landing" / SURVEY / "wave_2024.csv"
    data_rows = len(pd.read_csv(survey_file, skiprows=[1, 2]))  # Qualtrics: 3 header rows
    quality = pd.read_parquet(home / "published" / "current" / "data_quality.parquet").query(
        "source == @SURVEY"
    )
    assert quality["file"].tolist() == [f"landing/{SURVEY}/wave_2024.csv"]
    assert int(quality["rows_received"].iloc[0]) == data_rows
    with connect(home / "warehouse.duckdb", read_only=True) as con:
        loaded = con.execute(f"SELECT count(DISTINCT response_id) FROM raw.{SURVEY}").fetchone()[0]
    assert loaded == int(quality["rows_loaded"].iloc[0]) > 0
    assert (
        pd.read_parquet(home / "published" / "current" / "trust_quarterly.parquet")["respondents"].sum() > 0
    )
    freshness = {
        e.asset_key.to_user_string(): e.passed
        for e in result.get_asset_check_evaluations()
        if e.check_name == "freshness"
    }
    assert freshness == {f"warehouse/{SURVEY}": True}, "the run also checks the source's freshness"

    assert tick(defs, instance).run_requests == [], "a loaded file is not asked for again"


def test_freshness_warns_when_a_source_stops_delivering(location):
    home, _, defs, _ = location
    sources = {spec.name: spec for spec in load_sources(DEMO_SOURCES_DIR)}
    with connect(home / "warehouse.duckdb", read_only=True) as con:
        newest = con.execute("SELECT max(loaded_at) FROM meta.loads WHERE source = 'demo_crimes'").fetchone()[
            0
        ]
        crimes, survey = sources["demo_crimes"], sources[SURVEY]
        assert evaluate_freshness(con, crimes, newest + timedelta(hours=1))[0]
        stale, message, _ = evaluate_freshness(
            con, crimes, newest + KINDS["crime"].freshness + timedelta(hours=1)
        )
        assert not stale and "demo_crimes" in message
        # A quarterly survey three days after its wave is fresh.
        assert evaluate_freshness(con, survey, newest + timedelta(days=3))[0]
        never = sources["demo_survey_surveymonkey"]  # configured, but no file ever arrived
        assert not evaluate_freshness(con, never, newest)[0]


def test_daily_crime_job_selects_crime_and_its_dependents(location):
    _, _, defs, _ = location
    keys = {key.to_user_string() for key in defs.get_job_def("daily_crime").asset_layer.selected_asset_keys}
    assert {
        "parsed/demo_crimes",
        "warehouse/demo_crimes",
        "intermediate/int_incidents_touched_months",
    } <= keys
    assert "published/crime_monthly" not in keys, "the months it touched: the crime_months job"
    months = defs.get_job_def("crime_months")
    assert {"published/crime_monthly", "published_files"} <= {
        key.to_user_string() for key in months.asset_layer.selected_asset_keys
    }
    assert months.partitions_def.get_partition_keys()[:2] == ["1990-01", "1990-02"], "monthly partitions"
    assert "reference/student_t_975" in keys, "the seeds a partial run needs on a fresh warehouse"
    assert not any(k.startswith(("parsed/demo_survey", "warehouse/demo_survey")) for k in keys)
    assert (REPO / "dagster.yaml").read_text().count("neighborhood_metrics/writer") == 1
    assert defs.get_job_def("daily_crime").tags["neighborhood_metrics/writer"] == "warehouse"
