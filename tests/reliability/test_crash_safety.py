"""Reliability property 2 (docs/reliability.md): a run killed with SIGKILL at any moment (after raw is written, during the warehouse write,
during dbt, while publishing) leaves every load whole and the published tables complete, and the next run
finishes with nothing lost or doubled: it publishes exactly what an uninterrupted run publishes."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import time

import duckdb
import pandas as pd
import pytest

from tests.reliability.conftest import (
    LOAD_SCHEMAS,
    assert_same_tables,
    city_home,
    ok,
    published_tables,
    run_city,
    start_city_run,
    table_fingerprints,
)

pytestmark = pytest.mark.runs_long

KILLS = 6


def assert_loads_whole(home, scratch) -> None:
    """Every load in meta.loads has exactly its counted rows in raw and quarantine: no half-written load."""
    warehouse = home / "warehouse.duckdb"
    if not warehouse.exists():
        return
    # Open a copy: DuckDB replays a write-ahead log left by the killed run, and the real file stays as the
    # next run will find it.
    copy = scratch / "warehouse.duckdb"
    shutil.copy(warehouse, copy)
    if (wal := warehouse.with_name("warehouse.duckdb.wal")).exists():
        shutil.copy(wal, scratch / wal.name)
    with duckdb.connect(str(copy)) as con:
        tables = {
            (schema, name)
            for schema, name in con.execute(
                "SELECT table_schema, table_name FROM information_schema.tables"
            ).fetchall()
        }
        if ("meta", "loads") not in tables:
            return
        for source, load_id, loaded, quarantined in con.execute(
            "SELECT source, load_id, rows_loaded, rows_quarantined FROM meta.loads"
        ).fetchall():
            in_raw = con.execute(
                f'SELECT count(DISTINCT _row) FROM raw."{source}" WHERE load_id = ?', [load_id]
            ).fetchone()[0]
            in_quarantine = con.execute(
                f'SELECT count(*) FROM quarantine."{source}" WHERE load_id = ?', [load_id]
            ).fetchone()[0]
            assert (in_raw, in_quarantine) == (loaded, quarantined), f"{source}/{load_id} is half-written"
    for leftover in scratch.iterdir():
        leftover.unlink()


def assert_published_complete(home, expected_tables: set[str]) -> None:
    """The published folder is absent (nothing published yet) or a complete version: never a partial file."""
    published = home / "published" / "current"
    if not (published / "metrics.duckdb").exists():
        return
    with duckdb.connect(str(published / "metrics.duckdb"), read_only=True) as con:
        tables = {
            name for (name,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
        }
    assert tables == expected_tables
    for table in expected_tables:
        pd.read_parquet(published / f"{table}.parquet")  # readable, whole
        pd.read_csv(published / f"{table}.csv")


def test_sigkill_at_six_moments_then_rerun_publishes_what_an_uninterrupted_run_does(small_city, tmp_path):
    expected = published_tables(small_city.home)
    home = city_home(tmp_path / "home")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    rng = random.Random(20261125)
    # Each attempt is killed at a random moment of a run's duration: at first the uninterrupted run's, then
    # that of the last attempt that finished before its kill (a run over loads already done is shorter).
    # An attempt that finished does not count: six kills land mid-run, wherever the moments fall.
    duration, moments, attempt = small_city.seconds, [], 0
    while len(moments) < KILLS:
        assert attempt < 3 * KILLS, f"could not kill {KILLS} runs mid-way (killed at {moments})"
        moment = rng.uniform(0.02, 0.98) * duration
        started = time.monotonic()
        run = start_city_run(home, tmp_path / f"attempt{attempt}.log")
        try:
            run.wait(timeout=moment)
            duration = time.monotonic() - started  # it finished first: a better estimate of a run's length
        except subprocess.TimeoutExpired:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()
            moments.append(round(moment, 1))
        attempt += 1
        assert_loads_whole(home, scratch)
        assert_published_complete(home, set(expected))

    ok(run_city(home))
    assert_same_tables(published_tables(home), expected)
    assert table_fingerprints(home / "warehouse.duckdb", LOAD_SCHEMAS) == table_fingerprints(
        small_city.home / "warehouse.duckdb", LOAD_SCHEMAS
    )
    assert not list((home / "published").rglob(".*")), (
        "a killed run's staging files were left where readers look"
    )
