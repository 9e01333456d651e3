"""Dagster's event writes: the CPU and wall time of one stored event, Dagster's stock SQLite event log storage
against the one the repository's dagster.yaml installs (pipelines/dagster_storage.py).

Two event types: a step event (written to its run's database) and an asset materialization (written to its run's
database and to the index). Each storage gets a folder of its own, one event of each type first (the databases'
creation), then `--events` of each type in one run.

    .venv/bin/python benchmarks/event_storage.py [--events 300]
"""

from __future__ import annotations

import argparse
import tempfile
import time

import dagster as dg
from dagster._core.events import DagsterEvent, DagsterEventType, StepMaterializationData
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.event_log import SqliteEventLogStorage

from pipelines.dagster_storage import KeptEngineSqliteEventLogStorage


def entry(run_id: str, number: int, event_type: DagsterEventType) -> EventLogEntry:
    data = None
    if event_type is DagsterEventType.ASSET_MATERIALIZATION:
        data = StepMaterializationData(dg.AssetMaterialization(asset_key=f"asset_{number % 20}"))
    event = DagsterEvent(event_type.value, "job", event_specific_data=data)
    return EventLogEntry(
        error_info=None,
        level=10,
        user_message="",
        run_id=run_id,
        timestamp=time.time(),
        step_key="step",
        job_name="job",
        dagster_event=event,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=300)
    count = parser.parse_args().events
    print(f"{'storage':36} {'event':22} {'CPU ms/event':>13} {'wall ms/event':>14}")
    for storage_type in (SqliteEventLogStorage, KeptEngineSqliteEventLogStorage):
        with tempfile.TemporaryDirectory() as folder:
            storage = storage_type(folder)
            for event_type in (DagsterEventType.STEP_START, DagsterEventType.ASSET_MATERIALIZATION):
                storage.store_event(entry("first", 0, event_type))
                cpu, wall = time.process_time(), time.perf_counter()
                for number in range(count):
                    storage.store_event(entry("measured", number, event_type))
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                print(
                    f"{storage_type.__name__:36} {event_type.value:22} "
                    f"{1000 * cpu / count:13.2f} {1000 * wall / count:14.2f}"
                )
            storage.dispose()


if __name__ == "__main__":
    main()
