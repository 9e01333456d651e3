"""The instance storage the repository's dagster.yaml names (pipelines/dagster_storage.py): what it writes is
Dagster's own event log, read back whole by Dagster's stock SQLite storage, and a long-lived process using it
keeps a bounded number of SQLite files open however many runs it writes.

Real Dagster runs of a two-asset job on an instance opened from a folder holding the repository's dagster.yaml
(`DagsterInstance.from_config`, as the tests and analysts open one). Every pipeline run of the suite uses this
storage too; this file checks what those runs would not show."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import dagster as dg
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage

from pipelines.dagster_storage import KEPT_ENGINES, KeptEngineSqliteEventLogStorage
from tests.conftest import REPO


@dg.asset
def upstream() -> int:
    return 1


@dg.asset_check(asset=upstream, blocking=True)
def upstream_is_one(upstream: int) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=upstream == 1)


@dg.asset
def downstream(upstream: int) -> int:
    return upstream + 1


JOB = dg.Definitions(
    assets=[upstream, downstream],
    asset_checks=[upstream_is_one],
    jobs=[dg.define_asset_job("two_assets")],
).resolve_job_def("two_assets")


def open_databases(folder: Path) -> set[str]:
    """The SQLite files under `folder` this process holds open."""
    names = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # closed since listed
            continue
        if target.startswith(str(folder)) and target.endswith(".db"):
            names.add(Path(target).name)
    return names


def test_events_are_dagsters_own_and_open_files_stay_bounded(tmp_path):
    home = tmp_path / "dagster"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    runs = KEPT_ENGINES + 4
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert isinstance(instance.event_log_storage, KeptEngineSqliteEventLogStorage)
        results = [JOB.execute_in_process(instance=instance) for _ in range(runs)]
        assert all(result.success for result in results)
        held = open_databases(home)
        # The index and the latest runs' databases at most; stock Dagster holds none between writes.
        assert len(held) <= KEPT_ENGINES, sorted(held)
        assert f"{results[-1].run_id}.db" in held  # kept, not reopened per event
        written = {result.run_id: instance.all_logs(result.run_id) for result in results}
    assert not open_databases(home)  # the instance's disposal closes them

    stock = DagsterSqliteStorage.from_local(str(home))
    try:
        for run_id, events in written.items():
            read = stock.event_log_storage.get_logs_for_run(run_id)
            assert [e.dagster_event_type for e in read] == [e.dagster_event_type for e in events]
            assert len(events) > 20
        for key in (dg.AssetKey("upstream"), dg.AssetKey("downstream")):
            latest = stock.event_log_storage.get_latest_materialization_events([key])[key]
            assert latest.run_id == results[-1].run_id
        checks = stock.event_log_storage.get_asset_check_execution_history(
            dg.AssetCheckKey(dg.AssetKey("upstream"), "upstream_is_one"), limit=100
        )
        assert len(checks) == runs
    finally:
        stock.dispose()
