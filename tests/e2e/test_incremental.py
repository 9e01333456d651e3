"""Incremental equals rebuilt: after a randomized sequence of loads on the hand-sized city, each followed by an
incremental run, every published table is byte-identical to a full build, in a new data home, from the same
landing files.

The loads (a fixed seed each) mix what moves an incident between the months and neighborhoods the incremental
crime models rebuild: incidents of a new month, late incidents of old months, revisions that move an incident to
another month (before the coverage, at times), neighborhood or category, a corrected file replacing an earlier
step's file (rows dropped, dates moved), a quarantine replayed after a fix (the area crosswalk places the city's
unlocatable incidents), and a corrected offense crosswalk (a code's incidents of every load change category).
The last run is first killed once dbt has rebuilt the incidents, before the crime marts consume them, as a crash
would (reliability property 2): the run after it must still rebuild every month the correction touched.

Compared: every published/<table>.csv and .parquet byte for byte, except the tables holding `loaded_at` (when
a load was written: a run time). Those are compared as CSV text with that column left out.

dbt runs here with NBHD_DBT_VERIFY_PARALLELISM (dbt_project/macros/exact.sql): DuckDB splits every query across
its threads even on this city's few rows, so a published value that depends on the order rows meet (a sum of
doubles) differs between the two homes, as it would between two runs at a real city's size.

Then a crime mart built under another definition of the dbt project (an upgrade) is rebuilt whole by the next run,
whatever its loads touch (docs/settings.md#incremental-runs-monthly-partitions-and-backfills)."""

from __future__ import annotations

import csv
import io
import os
import random
import shutil
import signal
import time
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from pipelines.assets.dbt import DEFINITIONS_TABLE, REBUILT_WHOLE, project_definitions
from pipelines.settings import DEMO_SOURCES_DIR
from tests.conftest import SMALL_CITY_ENV, TABLES_ONLY, dbt_log_events, run_cli
from tests.fixtures.small_city import CRIME_HEADER, NEIGHBORHOODS, OTHER, PROPERTY, VIOLENT, _crime_row
from tests.reliability.conftest import LOAD_TIME_COLUMNS, ok, run_city, start_city_run, table_fingerprints

pytestmark = pytest.mark.runs_long

SEEDS = (101,)  # one sequence: the suite's budget (tests/e2e/test_backfill.py checks the months rebuilt)
STEPS = 2
CODES = sorted(VIOLENT) + sorted(PROPERTY) + OTHER
FIRST_NEW_ID = 30_000_000  # incident ids the steps add; the city's own are below
ENV = SMALL_CITY_ENV | {"NBHD_DBT_VERIFY_PARALLELISM": "1"}


def cli(home: Path, sources: Path, *command: str) -> None:
    result = run_cli(*command, "--home", str(home), "--sources", str(sources), env=ENV)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]


def run(home: Path, sources: Path) -> None:
    """A run of everything but the docs site and the report (they carry their build time)."""
    cli(home, sources, "run", "--select", TABLES_ONLY)


def run_killed_after(home: Path, sources: Path, model: str, log: Path) -> None:
    """A run killed with SIGKILL, its whole process group (dbt too), as soon as its dbt has built `model`."""
    node = f"model.neighborhood_metrics.{model}"
    started = pd.Timestamp.now(tz="UTC")
    run = start_city_run(home, log, ENV, sources)

    def built() -> bool:
        return any(
            event["data"]["node_info"]["unique_id"] == node
            and event["data"]["node_info"]["node_status"] == "success"
            and pd.Timestamp(event["info"]["ts"]) > started
            for event in dbt_log_events(home, "LogModelResult")
        )

    while not built():
        assert run.poll() is None, f"the run ended before dbt built {model}:\n{log.read_text()[-3000:]}"
        time.sleep(0.1)
    os.killpg(run.pid, signal.SIGKILL)
    assert run.wait() == -signal.SIGKILL, f"the run ended before it was killed:\n{log.read_text()[-3000:]}"


def point(rng: random.Random, nbhd: str) -> tuple[float, float]:
    _, lon0, lon1, lat0, lat1, _ = NEIGHBORHOODS[nbhd]
    return round(rng.uniform(lat0 + 0.002, lat1 - 0.002), 6), round(
        rng.uniform(lon0 + 0.002, lon1 - 0.002), 6
    )


def some_time(rng: random.Random, first: str, last: str) -> pd.Timestamp:
    start, end = pd.Timestamp(first), pd.Timestamp(last)
    return start + pd.Timedelta(minutes=rng.randrange(int((end - start).total_seconds() // 60)))


class Loads:
    """The city's crime incidents as the loads so far published them, and the next loads to drop."""

    def __init__(self, seed: int, incidents: pd.DataFrame):
        self.rng = random.Random(seed)
        # incident id -> (occurred_at, neighborhood): what a revision starts from
        self.known = {
            row.incident_id: (row.occurred_at, row.neighborhood_id)
            for row in incidents.itertuples(index=False)
        }
        self.next_id = FIRST_NEW_ID
        self.last_month = pd.Timestamp(incidents["occurred_at"].max()).to_period("M").to_timestamp()
        self.files: list[str] = []  # the step files written so far
        self.before_coverage: set[str] = set()  # incidents earlier_start moved: the coverage starts with them

    def incident(self, occurred: pd.Timestamp, updated: pd.Timestamp) -> list[str]:
        self.next_id += 1
        nbhd = self.rng.choice(sorted(NEIGHBORHOODS))
        self.known[str(self.next_id)] = (occurred, nbhd)
        return _crime_row(
            str(self.next_id), occurred, updated, self.rng.choice(CODES), *point(self.rng, nbhd)
        )

    def new_month(self, updated: pd.Timestamp) -> list[list[str]]:
        self.last_month += pd.offsets.MonthBegin(1)
        end = self.last_month + pd.offsets.MonthBegin(1)
        return [self.incident(some_time(self.rng, self.last_month, end), updated) for _ in range(4)]

    def late(self, updated: pd.Timestamp) -> list[list[str]]:
        return [self.incident(some_time(self.rng, "2023-03-01", self.last_month), updated) for _ in range(3)]

    def revisions(self, updated: pd.Timestamp) -> list[list[str]]:
        """The city's earliest incident moves to the latest month: nothing else touches the month it leaves
        (no late incident comes before March 2023). Then a few incidents of later months move month or
        neighborhood or change category. An incident moved before the coverage stays there: moving it back
        would move the coverage's start again, which rebuilds every month."""
        movable = set(self.known) - self.before_coverage
        earliest = min(movable, key=lambda incident: self.known[incident][0])
        # The others are of later months: a month touched rebuilds the 11 after it, never one before.
        left = pd.Timestamp(self.known[earliest][0]).to_period("M")
        later = sorted(i for i in movable if pd.Timestamp(self.known[i][0]).to_period("M") > left)
        moves = {earliest: "latest"} | {
            incident: self.rng.choice(["month", "neighborhood", "category"])
            for incident in self.rng.sample(later, 4)
        }
        rows = []
        for incident, change in moves.items():
            occurred, nbhd = self.known[incident]
            if change == "latest":
                occurred = some_time(self.rng, self.last_month, self.last_month + pd.offsets.MonthBegin(1))
            elif change == "month":
                occurred = some_time(self.rng, "2023-03-01", self.last_month)
            elif change == "neighborhood":
                nbhd = self.rng.choice([n for n in sorted(NEIGHBORHOODS) if n != nbhd])
            self.known[incident] = (occurred, nbhd)
            rows.append(
                _crime_row(incident, occurred, updated, self.rng.choice(CODES), *point(self.rng, nbhd))
            )
        return rows

    def earlier_start(self, updated: pd.Timestamp) -> list[list[str]]:
        """An incident revised to before the coverage: the coverage starts earlier, every month_index moves."""
        incident = self.rng.choice(sorted(i for i in self.known if int(i) < FIRST_NEW_ID))  # the city's own
        self.before_coverage.add(incident)
        _, nbhd = self.known[incident]
        occurred = some_time(self.rng, "2022-10-01", "2022-12-31")
        self.known[incident] = (occurred, nbhd)
        return [_crime_row(incident, occurred, updated, self.rng.choice(CODES), *point(self.rng, nbhd))]

    def corrected(self, landing: Path) -> None:
        """An earlier step's file dropped again under its name: some of its new incidents gone, some in another
        month. Its revisions stay as they were, so the month a revision left stays left."""
        path = landing / self.rng.choice(self.files)
        header, *rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
        new = [row for row in rows if int(row[0]) >= FIRST_NEW_ID]
        kept = [row for row in rows if int(row[0]) < FIRST_NEW_ID or self.rng.random() < 0.6]
        for row in self.rng.sample(new, len(new) // 3):
            if row in kept:
                row[2] = some_time(self.rng, "2023-03-01", self.last_month).strftime("%m/%d/%Y %I:%M:%S %p")
        write(path, [header, *kept])


def write(path: Path, rows: list[list[str]]) -> None:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    path.write_text("\ufeff" + buffer.getvalue(), encoding="utf-8")


def replay_fix(sources: Path) -> None:
    """The fix of the city's two unlocatable incidents: community area 1 is N01."""
    (sources / "community_areas.csv").write_text("area_code,neighborhood_id\n1,N01\n")
    with open(sources / "demo_crimes.yml", "a") as spec:
        spec.write("area_crosswalk: community_areas.csv\n")


def correct_offenses(sources: Path) -> None:
    """The offense crosswalk corrected: simple battery (08B) is violent. A changed definition validates every load
    again (reliability property 15, docs/reliability.md), the city's own loads too."""
    crosswalk = sources / "fbi_code_crosswalk.csv"
    corrected = crosswalk.read_text().replace("\n08B,other,", "\n08B,violent,")
    assert corrected != crosswalk.read_text()
    crosswalk.write_text(corrected)


def without_columns(csv_text: str, columns: tuple[str, ...]) -> list[list[str]]:
    header, *rows = list(csv.reader(io.StringIO(csv_text)))
    keep = [i for i, name in enumerate(header) if name not in columns]
    return [[row[i] for i in keep] for row in [header, *rows]]


def assert_published_identical(incremental: Path, rebuilt: Path) -> None:
    # the published version each home serves (docs/published-tables.md)
    ours, theirs = incremental / "published" / "current", rebuilt / "published" / "current"
    names = sorted(f.name for f in theirs.iterdir() if f.suffix in (".csv", ".parquet"))
    assert "crime_monthly.csv" in names, f"no published tables in {theirs}"
    assert sorted(f.name for f in ours.iterdir() if f.suffix in (".csv", ".parquet")) == names
    for name in names:
        expected, actual = (theirs / name).read_bytes(), (ours / name).read_bytes()
        if name.endswith(".parquet"):
            if set(LOAD_TIME_COLUMNS) & set(pd.read_parquet(theirs / name).columns):
                continue  # compared as CSV below, without the load times
            assert actual == expected, f"{name} differs from the rebuild"
        else:
            header = expected.decode().split("\n", 1)[0].split(",")
            if set(LOAD_TIME_COLUMNS) & set(header):
                assert without_columns(actual.decode(), LOAD_TIME_COLUMNS) == without_columns(
                    expected.decode(), LOAD_TIME_COLUMNS
                ), f"{name} (without {LOAD_TIME_COLUMNS}) differs from the rebuild"
            else:
                assert actual == expected, f"{name} differs from the rebuild"


@pytest.mark.parametrize("seed", SEEDS)
def test_incremental_runs_publish_what_a_full_build_does(seed, small_city, small_city_truth, tmp_path):
    # Each sequence starts from a copy of the session's run of the hand-sized city (tests/conftest.py).
    home, sources = small_city.copy_to(tmp_path / "incremental"), tmp_path / "sources"
    shutil.copytree(DEMO_SOURCES_DIR, sources)
    landing = home / "landing" / "demo_crimes"

    loads = Loads(seed, small_city_truth.incidents)
    # Two steps. The first moves the coverage's start (which rebuilds every month), in a file of its own that no
    # later step corrects, and loads new incidents of a new or an old month; the quarantine is replayed after it
    # (a replay validates a whole load again). The second brings revisions (the city's earliest incident moves to
    # the latest month: no other load of the step touches the month it leaves, nor the 11 before it), another
    # random load and a corrected first-step file: every month it rebuilds is one its loads touch, so the
    # comparison below fails when the month-touching logic misses one.
    for step in range(1, STEPS + 1):
        updated = pd.Timestamp("2026-01-01") + pd.Timedelta(days=step)  # later than every earlier version
        first_loads = [loads.new_month, loads.late]
        if step == 1:
            write(landing / "before_coverage.csv", [CRIME_HEADER, *loads.earlier_start(updated)])
            makers = [loads.rng.choice(first_loads)]
        else:
            makers = [loads.revisions, loads.rng.choice(first_loads)]
        rows = [row for make in makers for row in make(updated)]
        if loads.files:
            loads.corrected(landing)
        name = f"step_{step}.csv"
        write(landing / name, [CRIME_HEADER, *rows])
        loads.files.append(name)
        run(home, sources)
        if step == 1:
            replay_fix(sources)
            cli(home, sources, "replay-quarantine", "demo_crimes")

    # Then the offense crosswalk is corrected: the next run validates every load again, those no replay reached too.
    # That run is killed first, once int_incidents_deduplicated holds the new categories: incidents changed since
    # it was built, the run after finds none, yet it must rebuild every month they changed.
    correct_offenses(sources)
    run_killed_after(home, sources, "int_incidents_deduplicated", tmp_path / "killed.log")
    run(home, sources)

    rebuilt = tmp_path / "rebuilt"
    shutil.copytree(home / "landing", rebuilt / "landing")
    run(rebuilt, sources)
    assert_published_identical(home, rebuilt)
    # `run --full-refresh` rebuilds the incremental models in place: the same tables again.
    cli(home, sources, "run", "--select", TABLES_ONLY, "--full-refresh")
    assert_published_identical(home, rebuilt)


def test_a_crime_mart_built_under_another_definition_is_rebuilt_whole(small_city, tmp_path):
    """crime_monthly recorded as built under an earlier definition of the dbt project (an upgrade that changed its
    SQL), with a column that definition had and the figures of two months as it might have made them: a run with
    nothing new to load rebuilds the table whole (an incremental build refuses a table of other columns), every
    month, and records the definition it built under."""
    home = small_city.copy_to(tmp_path / "home")
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        first, last = con.execute("SELECT min(month), max(month) FROM published.crime_monthly").fetchone()
        # the first and the last month: only a rebuild of every month mends both
        con.execute(
            "UPDATE published.crime_monthly SET incidents = incidents + 1000 WHERE month IN (?, ?)",
            [first, last],
        )
        con.execute("ALTER TABLE published.crime_monthly ADD COLUMN withdrawn_rate DOUBLE")
        con.execute(
            f"UPDATE {DEFINITIONS_TABLE} SET digest = 'an earlier definition' WHERE model = 'crime_monthly'"
        )
    result = run_city(home)
    ok(result)
    assert f"{REBUILT_WHOLE} crime_monthly\n" in result.stdout  # on screen: why the run takes longer
    assert table_fingerprints(home / "warehouse.duckdb", ("published",)) == table_fingerprints(
        small_city.home / "warehouse.duckdb", ("published",)
    )
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        assert dict(con.execute(f"SELECT model, digest FROM {DEFINITIONS_TABLE}").fetchall()) == {
            model: digest for model, (_, _, digest) in project_definitions().items()
        }
