"""Dagster resources: the data home's paths and the PII salt, configured from the environment.

The salt is an EnvVar: read at run time, never shown in the UI, never logged or written into metadata.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource

from pipelines.settings import DBT_PROJECT_DIR, Paths


class DataHome(dg.ConfigurableResource):
    home: str
    sources_dir: str
    warehouse: str
    publish_dir: str
    pii_salt: str | None = None

    @property
    def paths(self) -> Paths:
        return Paths(Path(self.home), Path(self.sources_dir), Path(self.warehouse), Path(self.publish_dir))

    @contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator[DataHome]:
        """One run writes a data home at a time. The Dagster run queue (dagster.yaml) already holds daemon
        runs back; this lock also makes a CLI run, or a run started from another Dagster instance, wait instead
        of meeting DuckDB's single-writer lock halfway through. The OS releases it if the run is killed."""
        with run_lock(Path(self.home), context.log):
            yield self


@contextmanager
def run_lock(home: Path, log) -> Iterator[None]:
    home.mkdir(parents=True, exist_ok=True)
    with open(home / ".run.lock", "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "another process"
            if log:
                log.info(f"Waiting for the run holding {home / '.run.lock'} ({holder}) to finish ...")
            fcntl.flock(lock, fcntl.LOCK_EX)
        lock.seek(0)
        lock.truncate()
        lock.write(f"pid {os.getpid()}")
        lock.flush()
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def build_resources(paths: Paths) -> dict[str, object]:
    salt = dg.EnvVar("NBHD_PII_SALT") if os.environ.get("NBHD_PII_SALT") else None
    return {
        "data_home": DataHome(
            home=str(paths.home),
            sources_dir=str(paths.sources_dir),
            warehouse=str(paths.warehouse),
            publish_dir=str(paths.publish_dir),
            pii_salt=salt,
        ),
        "dbt": DbtCliResource(project_dir=str(DBT_PROJECT_DIR), profiles_dir=str(DBT_PROJECT_DIR)),
    }
