"""Properties 1, 8 and 9 on one pair of runs: two re-runs of the small city's home started at the same moment,
with a reader holding published/metrics.duckdb open all along.

1. Running the same loads again leaves every table identical, and every key unique.
8. A dashboard holding published/metrics.duckdb open does not stop a run, and keeps reading a complete version
   of the tables while the run replaces the file.
9. Two runs started at the same moment on one data home: one waits for the other (the data home's run lock;
   Dagster's run queue does the same for daemon runs), neither fails or corrupts anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from tests.reliability.conftest import fingerprints, start_city_run

READER_QUERY = "SELECT count(*), sum(hash(row(neighborhood_id, month, incidents))) FROM crime_monthly"
# The key of every published table (docs/). A table missing here fails the test until declared.
PUBLISHED_KEYS = {
    "neighborhoods": ["neighborhood_id"],
    "crime_monthly": ["neighborhood_id", "month"],
    "engagement_monthly": ["neighborhood_id", "month"],
    "trust_quarterly": ["neighborhood_id", "quarter"],
    "neighborhood_scorecard": ["neighborhood_id", "quarter"],
    "program_evaluation": ["program_id", "metric"],
    "program_event_study": ["program_id", "metric", "relative_period"],
    "survey_constructs_quarterly": ["neighborhood_id", "quarter", "construct"],
    "survey_by_group": ["neighborhood_id", "quarter", "construct", "dimension", "category"],
    "data_quality": ["source", "load_id"],
    "data_quality_reasons": ["source", "load_id", "reason"],
}
# Loaded rows are keyed by the load and the source record; a survey record becomes one row per item.
WAREHOUSE_KEYS = {"raw": ["load_id", "_row"], "quarantine": ["load_id", "_row"]}


@dataclass(frozen=True)
class Reruns:
    home: Path
    before: dict  # fingerprints of the home before the re-runs
    after: dict
    exit_codes: list[int]
    logs: list[str]
    reader_before: tuple
    reader_after: tuple


@pytest.fixture(scope="module")
def reruns(small_city, tmp_path_factory) -> Reruns:
    home = small_city.copy_to(tmp_path_factory.mktemp("reruns") / "home")
    before = fingerprints(home)
    reader = duckdb.connect(str(home / "published" / "current" / "metrics.duckdb"), read_only=True)
    try:
        reader_before = reader.execute(READER_QUERY).fetchone()
        logs = [home.parent / "first.log", home.parent / "second.log"]
        runs = [start_city_run(home, log) for log in logs]
        exit_codes = [run.wait(timeout=600) for run in runs]
        reader_after = reader.execute(READER_QUERY).fetchone()
    finally:
        reader.close()
    return Reruns(
        home,
        before,
        fingerprints(home),
        exit_codes,
        [log.read_text() for log in logs],
        reader_before,
        reader_after,
    )


def test_both_runs_succeed(reruns):
    assert reruns.exit_codes == [0, 0], "\n".join(log[-3000:] for log in reruns.logs)


# ---------------------------------------------------------------- 1: idempotent re-runs


def test_rerun_changes_no_table_and_no_file(reruns):
    assert reruns.after["published"] == reruns.before["published"]  # byte for byte
    assert reruns.after["warehouse"] == reruns.before["warehouse"]
    assert reruns.after["snapshot"] == reruns.before["snapshot"]
    assert reruns.after["parsed_files"] == reruns.before["parsed_files"]


def duplicates(con, table: str, key: list[str]) -> int:
    columns = ", ".join(key)
    return con.execute(
        f"SELECT count(*) FROM (SELECT {columns} FROM {table} GROUP BY {columns} HAVING count(*) > 1)"
    ).fetchone()[0]


def test_every_key_is_unique_after_the_rerun(reruns):
    with duckdb.connect(str(reruns.home / "published" / "current" / "metrics.duckdb"), read_only=True) as con:
        tables = {
            name for (name,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
        }
        assert tables == set(PUBLISHED_KEYS)
        for table, key in PUBLISHED_KEYS.items():
            assert duplicates(con, table, key) == 0, table
    with duckdb.connect(str(reruns.home / "warehouse.duckdb"), read_only=True) as con:
        for schema, table in con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema IN ('raw', 'quarantine')"
        ).fetchall():
            key = WAREHOUSE_KEYS[schema] + (
                ["item"] if table.startswith("demo_survey") and schema == "raw" else []
            )
            assert duplicates(con, f'{schema}."{table}"', key) == 0, f"{schema}.{table}"
        assert duplicates(con, "meta.loads", ["source", "load_id"]) == 0


# ---------------------------------------------------------------- 8: a reader holding the snapshot


def test_a_reader_holding_the_snapshot_keeps_its_version_whole(reruns):
    # The reader went on seeing the version it opened, whole.
    assert reruns.reader_after == reruns.reader_before
    assert reruns.reader_before[0] > 0
    # A reader opening the snapshot now gets the new file, with the same content (nothing changed).
    with duckdb.connect(str(reruns.home / "published" / "current" / "metrics.duckdb"), read_only=True) as con:
        assert con.execute(READER_QUERY).fetchone() == reruns.reader_before


# ---------------------------------------------------------------- 9: two runs at once


def test_one_run_waits_for_the_other(reruns):
    waited = [log for log in reruns.logs if "Waiting for the run holding" in log]
    assert len(waited) == 1, "exactly one of the two runs should have waited for the other"
    holder = re.search(r"\(pid (\d+)\) to finish", waited[0])
    assert holder, waited[0][-2000:]
    assert "Could not set lock" not in "".join(reruns.logs)  # never DuckDB's single-writer error
