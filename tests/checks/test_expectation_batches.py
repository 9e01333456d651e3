"""A load is validated in bounded batches (pipelines/checks/expectations.py): whatever the batch size, every
expectation finds exactly the rows that break it in the whole load, uniqueness across batches included."""

from __future__ import annotations

import multiprocessing
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime

import duckdb
import pandas as pd
import pytest

from pipelines.checks import expectations
from pipelines.checks.expectations import (
    UNIQUENESS,
    groups_of_loads,
    suite_for,
    validate_group,
    validate_load,
    validate_new_loads,
)
from pipelines.kinds import kind_of
from pipelines.settings import DEMO_SOURCES_DIR
from pipelines.sources import load_source
from pipelines.warehouse import connect, ensure_tables

LOADED_AT = datetime(2025, 1, 31, 12, 0)
SPEC = load_source(DEMO_SOURCES_DIR / "demo_crimes.yml")
N = 40


def crime_row(i: int) -> dict:
    return {
        "incident_id": str(1000 + i),
        "occurred_at": datetime(2024, 1 + i % 12, 1 + i % 28, 10, 30),
        "updated_at": datetime(2024, 12, 1),
        "offense_code": "06",
        "offense_description": "THEFT",
        "ucr_category": "property",
        "offense_mapped": True,
        "latitude": 41.8,
        "longitude": -87.6,
        "neighborhood_id": "N01",
        "arrest": False,
        "domestic": False,
    }


def load_rows() -> list[dict]:
    rows = [crime_row(i) for i in range(N)]
    rows[39] |= {"incident_id": rows[1]["incident_id"]}  # the same version twice, far apart in the load
    rows[17] |= {"incident_id": rows[16]["incident_id"]}  # and twice side by side
    rows[5] |= {"neighborhood_id": None}
    rows[20] |= {"latitude": 141.8}
    rows[30] |= {"occurred_at": datetime(2025, 3, 1)}  # after the load
    rows[33] |= {
        "occurred_at": datetime(1500, 6, 1)
    }  # beyond what nanosecond timestamps reach: still compared
    return rows


@pytest.fixture(scope="module")
def con():
    con = duckdb.connect()
    ensure_tables(con, SPEC.name, kind_of(SPEC).columns)
    loads = {
        "L1": load_rows(),
        "L2": [crime_row(i) for i in range(5)],
        "L3": [crime_row(i) for i in range(100, 108)],
        "L4": [crime_row(i) for i in range(3)],  # L2's first three incidents again: each load is clean alone
    }  # L5 is a load whose every row was refused: it has no row in raw
    for load_id, rows in loads.items():
        frame = pd.DataFrame(rows).assign(load_id=load_id, source=SPEC.name, _row=range(1, len(rows) + 1))
        con.register("frame", frame)
        con.execute(f"INSERT INTO raw.{SPEC.name} BY NAME SELECT * FROM frame")
        con.unregister("frame")
    yield con
    con.close()


def expected_unexpected() -> dict[str, int]:
    """Rows breaking each row-level expectation, counted by hand over the load's rows."""
    rows = load_rows()
    keys = Counter((r["incident_id"], r["updated_at"], r["offense_code"]) for r in rows)
    return {
        "neighborhood_id is never null": sum(r["neighborhood_id"] is None for r in rows),
        "latitude between -90 and 90": sum(not -90 <= r["latitude"] <= 90 for r in rows),
        "occurred_at not after the load": sum(r["occurred_at"] > LOADED_AT for r in rows),
        "(incident_id, updated_at, offense_code) is unique": sum(n for n in keys.values() if n > 1),
    }


@pytest.mark.parametrize("keyed", [True, False], ids=["split by the unique key", "split by row"])
@pytest.mark.parametrize("batch_rows", [1_000, 7, 1])
def test_every_batch_size_finds_the_rows_of_the_whole_load(con, batch_rows, keyed):
    """A suite with a uniqueness expectation splits a load by its key; one without (a roster's), by row."""
    suite = [e for e in suite_for(SPEC, LOADED_AT) if keyed or e.gx_class not in UNIQUENESS]
    outcomes = {o.label: o for o in validate_load(con, SPEC, "L1", suite, batch_rows)}
    failed = {label: o.unexpected for label, o in outcomes.items() if not o.success}
    expected = expected_unexpected()
    assert failed == (expected if keyed else {k: n for k, n in expected.items() if "unique" not in k})
    assert len(outcomes) == len(suite)
    assert all(o.unexpected == 0 for label, o in outcomes.items() if o.success and o.unexpected is not None)


@pytest.mark.parametrize(
    "load_ids", [["L2", "L3"], ["L2", "L3", "L5"], ["L2", "L4"], ["L2", "L1", "L3"]], ids="+".join
)
def test_loads_validated_together_have_the_outcomes_each_has_alone(con, load_ids):
    """Clean loads, an empty one, loads clean alone whose rows together repeat a key, a broken load among clean
    ones: each load's outcomes are those it has validated alone."""
    group = [(load_id, LOADED_AT, None) for load_id in load_ids]
    alone = {load_id: validate_load(con, SPEC, load_id, suite_for(SPEC, LOADED_AT)) for load_id in load_ids}
    assert validate_group(con, SPEC, group) == alone


def test_loads_are_validated_in_groups_of_bounded_rows_written_at_one_moment():
    """validate_new_loads validates each group of loads together, on a connection of its own (DuckDB caches what a
    connection read): every load once, in order, a group over the bound only when one load alone is, and loads
    written at another moment (another suite: no date after the load) in another group."""
    sizes = [330, 330, 10, 900, 5, 0, None, 495, 5, 1, 1]
    later = datetime(2025, 2, 1)
    loads = [(f"L{i}", later if i == 10 else LOADED_AT, rows) for i, rows in enumerate(sizes)]
    groups = groups_of_loads(loads, 500)
    assert [load for group in groups for load in group] == loads
    assert [[load[0] for load in group] for group in groups] == [
        ["L0"],
        ["L1", "L2"],
        ["L3"],
        ["L4", "L5", "L6", "L7"],
        ["L8", "L9"],
        ["L10"],
    ]
    assert groups_of_loads([], 500) == []


def test_the_batches_of_a_large_load_validated_in_a_pool_add_up_to_the_whole_load(tmp_path, monkeypatch):
    """validate_new_loads hands each batch of a large load to the pool as a task of its own, and a group of small
    loads as one: every load's outcomes add up to those of the whole load, counted by hand."""
    warehouse = tmp_path / "warehouse.duckdb"
    loads = {
        "L1": load_rows(),
        "L2": [crime_row(i) for i in range(5)],
        "L3": [crime_row(i) for i in range(3)],
    }
    with connect(warehouse) as con:
        ensure_tables(con, SPEC.name, kind_of(SPEC).columns)
        for load_id, rows in loads.items():
            frame = pd.DataFrame(rows).assign(load_id=load_id, source=SPEC.name, _row=range(1, len(rows) + 1))
            con.register("frame", frame)
            con.execute(f"INSERT INTO raw.{SPEC.name} BY NAME SELECT * FROM frame")
            con.unregister("frame")
            con.execute(
                "INSERT INTO meta.loads (source, load_id, file, loaded_at, rows_received, rows_loaded, "
                "rows_quarantined) VALUES (?, ?, ?, ?, ?, ?, 0)",
                [SPEC.name, load_id, f"{load_id}.csv", LOADED_AT, len(rows), len(rows)],
            )
    monkeypatch.setattr(expectations, "BATCH_ROWS", 8)  # L1 in five batches; L2 and L3 in one group
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork")) as pool:
        assert validate_new_loads(warehouse, SPEC, pool) == len(loads)
    with connect(warehouse, read_only=True) as con:
        results = con.execute(
            "SELECT load_id, expectation, success, unexpected_rows FROM meta.load_expectations"
        ).fetchall()
    assert Counter(load_id for load_id, *_ in results) == dict.fromkeys(
        loads, len(suite_for(SPEC, LOADED_AT))
    )
    failed = {(load_id, label): rows for load_id, label, success, rows in results if not success}
    assert failed == {("L1", label): rows for label, rows in expected_unexpected().items()}
