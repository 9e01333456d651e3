"""The validation worker (pipelines/validation_worker.py): a source's loads and great-expectations' suite in a
process of its own. A validation it runs writes the outcomes a hand count expects, its errors (those of the process
it forks to write the loads too) are raised in the caller, it ends with the process that started it and the
processes it forks end with it, and it stops in a process that ignores SIGTERM. Every run of the pipeline validates
through it (tests/e2e, tests/reliability): this file checks what those runs would not show."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta

import duckdb
import pandas as pd
import pytest

from pipelines import validation_worker
from pipelines.kinds import kind_of
from pipelines.settings import DEMO_SOURCES_DIR, Paths
from pipelines.warehouse import ensure_meta_tables, ensure_tables
from tests.checks.test_expectation_batches import LOADED_AT, SPEC, crime_row, expected_unexpected, load_rows
from tests.conftest import REPO, cli_env
from tests.test_dbt_worker import _alive, _alive_after_killing


def insert_loads(warehouse, loads: dict[str, tuple[list[dict], datetime]]) -> None:
    """Loads of SPEC as the warehouse step writes them: load id -> (rows, when the load was written)."""
    with duckdb.connect(str(warehouse)) as con:
        ensure_meta_tables(con)
        ensure_tables(con, SPEC.name, kind_of(SPEC).columns)
        for load_id, (rows, loaded_at) in loads.items():
            frame = pd.DataFrame(rows).assign(load_id=load_id, source=SPEC.name, _row=range(1, len(rows) + 1))
            con.register("frame", frame)
            con.execute(f"INSERT INTO raw.{SPEC.name} BY NAME SELECT * FROM frame")
            con.execute(
                "INSERT INTO meta.loads (source, load_id, file, loaded_at, rows_received, rows_loaded, "
                "rows_quarantined) VALUES (?, ?, ?, ?, ?, ?, 0)",
                [SPEC.name, load_id, f"{load_id}.csv", loaded_at, len(rows), len(rows)],
            )


def validate(home, warehouse) -> int:
    """How many loads of SPEC the worker validated: none to write (they are in the warehouse already), then the
    suite."""
    paths = Paths(
        home=home, sources_dir=DEMO_SOURCES_DIR, warehouse=warehouse, publish_dir=home / "published"
    )
    assert validation_worker.write_loads(SPEC, [SPEC], paths, []) == []
    return validation_worker.validate_new_loads(warehouse, SPEC)


def test_the_worker_writes_each_loads_outcomes_and_raises_its_errors_in_the_caller(tmp_path, monkeypatch):
    monkeypatch.setenv("NBHD_HOME", str(tmp_path))
    warehouse = tmp_path / "warehouse.duckdb"
    insert_loads(warehouse, {"L0": ([crime_row(i) for i in range(200, 203)], LOADED_AT)})
    # Answered once the worker has imported great-expectations: it validates the next groups side by side.
    assert validate(tmp_path, warehouse) == 1
    # Written at two moments, two suites: two groups, each validated by a process of the worker's.
    later = LOADED_AT + timedelta(days=1)
    insert_loads(
        warehouse, {"L1": (load_rows(), LOADED_AT), "L2": ([crime_row(i) for i in range(100, 105)], later)}
    )
    assert validate(tmp_path, warehouse) == 2
    with duckdb.connect(str(warehouse), read_only=True) as con:
        written = con.execute(
            "SELECT load_id, loaded_at, expectation, success, unexpected_rows FROM meta.load_expectations"
        ).fetchall()
    failed = {(load_id, label): rows for load_id, _, label, success, rows in written if not success}
    assert failed == {("L1", label): rows for label, rows in expected_unexpected().items()}
    assert {(load_id, loaded_at) for load_id, loaded_at, *_ in written} == {
        ("L0", LOADED_AT),
        ("L1", LOADED_AT),
        ("L2", later),
    }
    # Validated as they are now: nothing is left to validate.
    assert validate(tmp_path, warehouse) == 0

    # A warehouse DuckDB cannot open: the error of the process that writes the loads, raised here, says where it
    # happened.
    with pytest.raises(duckdb.IOException, match="Is a directory") as raised:
        validate(tmp_path, tmp_path)
    (note,) = raised.value.__notes__
    assert "in the validation worker" in note and 'pipelines/ingest.py", line' in note, note
    # The worker outlives a failed validation.
    assert validate(tmp_path, warehouse) == 0


def python(script: str) -> subprocess.Popen:
    """A Python process running `script`, whose standard output the test reads."""
    return subprocess.Popen(
        [sys.executable, "-c", script], cwd=REPO, env=cli_env(), stdout=subprocess.PIPE, text=True
    )


def test_the_worker_exits_with_the_process_that_started_it():
    parent = python(
        "import json, time\n"
        "from pipelines import validation_worker\n"
        "validation_worker.start()\n"
        "print(json.dumps(validation_worker._worker.pid), flush=True)\n"
        "time.sleep(600)\n"
    )
    worker = json.loads(parent.stdout.readline())
    assert not _alive_after_killing(parent, [worker]), (
        "the validation worker outlived the process that started it"
    )


@pytest.mark.skipif(
    len(os.sched_getaffinity(0)) < 2, reason="one core: the worker validates one group at a time"
)
def test_the_workers_processes_exit_with_it():
    """The processes that validate groups side by side (forked by the worker) end when the worker is gone, mid-group
    too: none keeps the warehouse open for the next run."""
    worker = python(
        "import json, time\n"
        "from pipelines import validation_worker\n"
        "pool = validation_worker._group_pool()\n"
        "[pool.submit(time.sleep, 600) for _ in range(2)]\n"
        "print(json.dumps(list(pool._processes)), flush=True)\n"
        "time.sleep(600)\n"
    )
    processes = json.loads(worker.stdout.readline())
    assert len(processes) == min(len(os.sched_getaffinity(0)), validation_worker.GROUP_PROCESSES) >= 2
    assert all(_alive(pid) for pid in processes)
    assert not _alive_after_killing(worker, processes), "a process of the worker's outlived it"


def test_both_workers_stop_in_a_process_that_ignores_sigterm():
    """A process passes its ignored signals on to those it starts, and Dagster gives SIGTERM the handler of SIGINT,
    which a background job starts with ignored: stopping the validation and dbt workers must not rest on it."""
    script = (
        "import signal\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "from pipelines import dbt_worker\n"
        "from pipelines import validation_worker\n"
        "validation_worker.start()\n"
        "dbt_worker.start()\n"
        "validation_worker.stop()\n"
        "dbt_worker.stop()\n"
    )
    subprocess.run([sys.executable, "-c", script], cwd=REPO, env=cli_env(), timeout=30, check=True)
