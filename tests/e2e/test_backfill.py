"""The crime marts' monthly partitions: `neighborhood-metrics backfill` rebuilds exactly the months asked for, and
a daily increment rebuilds exactly the months its loads touched, on a copy of the hand-sized city's whole run.

Each test first tampers with the warehouse's crime_monthly in months inside and outside the months it expects
rebuilt (a rate set to -1: a value no build writes, and one that the blocking checks, which compare counts, let
through). Dagster's event log must then hold a materialization of crime_monthly for each expected partition and
no other, the tampered rows outside them must still be tampered, and those inside rebuilt. The backfill's window
reaches dbt without making it parse the project again."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from pipelines.warehouse import connect
from tests.conftest import SMALL_CITY_ENV, dbt_log_events, run_cli
from tests.fixtures.small_city import CRIME_HEADER, NEIGHBORHOODS, _crime_row

CRIME_MONTHLY = dg.AssetKey(["published", "crime_monthly"])
ENGAGEMENT_COVERAGE = dg.AssetKey(["intermediate", "int_engagement_coverage"])
# What the daily_crime job selects (pipelines/schedules.py): the crime source, everything built from it, the seeds.
DAILY_SELECTION = 'key:"parsed/demo_crimes"+ or group:"seeds"'
TAMPERED = -1.0


def months(first: str, last: str) -> list[str]:
    return [f"{month:%Y-%m}" for month in pd.period_range(first, last, freq="M")]


def cli(home: Path, *command: str) -> None:
    result = run_cli(*command, "--home", str(home), env=SMALL_CITY_ENV)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]


def crime_monthly(home: Path) -> pd.DataFrame:
    with connect(home / "warehouse.duckdb", read_only=True) as con:
        frame = con.execute(
            "SELECT neighborhood_id, strftime(month, '%Y-%m') AS month, incidents, population, incidents_per_1k "
            "FROM published.crime_monthly ORDER BY ALL"
        ).df()
    return frame.set_index(["neighborhood_id", "month"])


def tamper(home: Path, tampered: list[str]) -> None:
    with connect(home / "warehouse.duckdb") as con:
        con.execute(
            "UPDATE published.crime_monthly SET incidents_per_1k = ? WHERE list_contains(?, strftime(month, '%Y-%m'))",
            [TAMPERED, tampered],
        )


def partitions_materialized(home: Path) -> dict[str, list[str]]:
    """Per run since the fixture's copy (oldest first, by run id): the crime_monthly partitions it materialized."""
    instance = dg.DagsterInstance.from_config(str(home / "dagster"))
    try:
        materialized = {}
        for run in reversed(instance.get_runs()):
            records = instance.get_records_for_run(
                run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
            ).records
            materialized[run.run_id] = sorted(
                record.event_log_entry.dagster_event.partition
                for record in records
                if record.event_log_entry.dagster_event.asset_key == CRIME_MONTHLY
            )
        return materialized
    finally:
        instance.dispose()


def new_runs(home: Path, before: dict[str, list[str]]) -> list[list[str]]:
    return [
        partitions for run_id, partitions in partitions_materialized(home).items() if run_id not in before
    ]


def assert_rebuilt_only(after: pd.DataFrame, before: pd.DataFrame, rebuilt: list[str], tampered: list[str]):
    month = after.index.get_level_values("month")
    outside = after[month.isin(tampered) & ~month.isin(rebuilt)]
    assert len(outside) and (outside["incidents_per_1k"] == TAMPERED).all(), "a month outside was rebuilt"
    inside = after[month.isin(rebuilt)]
    assert sorted(set(inside.index.get_level_values("month"))) == rebuilt
    # Rebuilt: the rate from the row's own count and population (an independent computation).
    expected = inside["incidents"] * 1000 / inside["population"]
    assert (inside["incidents_per_1k"] - expected).abs().max() < 1e-9
    untouched = after[~month.isin(tampered) & ~month.isin(rebuilt)]
    pd.testing.assert_frame_equal(untouched, before.loc[untouched.index])


def dbt_parses_since(home: Path, since: str) -> tuple[int, int]:
    """(dbt invocations, those that parsed nothing again) since `since` (ISO time), from the data home's dbt log."""
    events = dbt_log_events(home, "MainReportVersion", "PartialParsingSkipParsing")
    names = [event["info"]["name"] for event in events if event["info"]["ts"] >= since]
    return names.count("MainReportVersion"), names.count("PartialParsingSkipParsing")


@pytest.fixture
def home(small_city, tmp_path) -> Path:
    return small_city.copy_to(tmp_path / "home")


def test_a_backfill_of_three_months_rebuilds_those_only(home):
    before = crime_monthly(home)
    runs = partitions_materialized(home)
    rebuilt = ["2024-01", "2024-02", "2024-03"]
    tampered = ["2023-11", "2023-12", *rebuilt, "2024-04", "2024-05"]
    tamper(home, tampered)
    started = pd.Timestamp.now(tz="UTC").tz_localize(None).isoformat()

    cli(home, "backfill", "--from", "2024-01", "--to", "2024-03", "--select", 'key:"published/crime_monthly"')

    assert new_runs(home, runs) == [rebuilt], "one run, materializing exactly the three partitions"
    # The window reaches dbt without a change dbt would parse the project again for (macros/crime_window.sql).
    invocations, parsed_nothing = dbt_parses_since(home, started)
    assert invocations and parsed_nothing == invocations
    after = crime_monthly(home)
    assert_rebuilt_only(after, before, rebuilt, tampered)
    restored = after.index.get_level_values("month").isin(rebuilt)
    pd.testing.assert_frame_equal(after[restored], before[restored])  # the same loads: the same rows


def test_a_daily_increment_rebuilds_the_months_its_load_touched(home, small_city_truth):
    """A revision moves an incident from April to July 2023: April (left) and July (entered) change, and through
    the 12-month rolling rate the 11 months after each, up to June 2024.

    The run selects what the daily_crime job does, and the home is one an upgrade left behind: it never built
    int_engagement_coverage, which int_coverage_months (in the selection) reads and the selection does not hold.
    The run builds it too, instead of failing on the missing table."""
    incidents = small_city_truth.incidents
    moved = incidents[incidents["occurred_at"].dt.strftime("%Y-%m") == "2023-04"].iloc[0]
    nbhd = moved["neighborhood_id"]
    _, lon0, lon1, lat0, lat1, _ = NEIGHBORHOODS[nbhd]
    row = _crime_row(
        moved["incident_id"],
        pd.Timestamp("2023-07-15 12:00"),
        pd.Timestamp("2026-01-01 09:00"),  # later than every version loaded
        moved["fbi_code"],
        round((lat0 + lat1) / 2, 6),
        round((lon0 + lon1) / 2, 6),
    )
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([CRIME_HEADER, row])
    (home / "landing" / "demo_crimes" / "revision_2026.csv").write_text(buffer.getvalue(), encoding="utf-8")

    before = crime_monthly(home)
    runs = partitions_materialized(home)
    rebuilt = months("2023-04", "2024-06")
    tampered = ["2023-02", "2023-03", "2023-04", "2023-10", "2024-06", "2024-07", "2024-11"]
    tamper(home, tampered)

    with connect(home / "warehouse.duckdb") as con:
        con.execute("DROP TABLE intermediate.int_engagement_coverage")
    instance = dg.DagsterInstance.from_config(str(home / "dagster"))
    instance.wipe_assets([ENGAGEMENT_COVERAGE])
    instance.dispose()

    # The loads' run, then the run of the months they touched and of what is downstream of the crime marts.
    cli(home, "run", "--select", DAILY_SELECTION)

    assert new_runs(home, runs) == [[], rebuilt]
    after = crime_monthly(home)
    assert_rebuilt_only(after, before, rebuilt, tampered)
    counts = before["incidents"].copy()
    counts[(nbhd, "2023-04")] -= 1
    counts[(nbhd, "2023-07")] += 1
    pd.testing.assert_series_equal(after["incidents"], counts)
    with connect(home / "warehouse.duckdb", read_only=True) as con:
        months_covered = con.execute("SELECT count(*) FROM intermediate.int_engagement_coverage").fetchone()[
            0
        ]
    starts = small_city_truth.events["starts_at"]
    assert months_covered == len(months(f"{starts.min():%Y-%m}", f"{starts.max():%Y-%m}"))  # 2024-01 to 03
