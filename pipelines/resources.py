"""Dagster resources: the data home's paths (passed in by the code location) and dbt."""

from __future__ import annotations

import fcntl
import functools
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource, DbtProject
from packaging import version

from pipelines import dbt_worker
from pipelines.settings import DBT_CLIENT, DBT_PROJECT_DIR, Paths

# The key of the pseudonymized personal identifiers: a secret, so never part of a resource's configuration (which
# the UI shows and run records keep) and never logged or written into metadata. Read from the environment at run
# time, by the loads that hash identifiers; where it is unset, those loads (and only those) stop with an error
# saying how to set it (pipelines.pii.require_salt).
PII_SALT = dg.EnvVar("NBHD_PII_SALT")


# How a run that waits for another says so (the CLI shows this message on screen, not only in the log file).
WAITING = "Waiting for the run holding"


class DataHome(dg.ConfigurableResource):
    home: str
    sources_dir: str
    warehouse: str
    publish_dir: str

    @property
    def paths(self) -> Paths:
        return Paths(Path(self.home), Path(self.sources_dir), Path(self.warehouse), Path(self.publish_dir))

    @property
    def pii_salt(self) -> str | None:
        return PII_SALT.get_value()

    @contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator[DataHome]:
        """One run writes a data home at a time. The Dagster run queue (dagster.yaml) already holds daemon
        runs back; this lock also makes a CLI run, or a run started from another Dagster instance, wait instead
        of meeting DuckDB's single-writer lock halfway through. The OS releases it if the run is killed."""
        with run_lock(Path(self.home), context.log.info):
            yield self


# The data homes whose lock this process holds: a CLI run holds it across its Dagster runs (the loads, then the
# crime months), which take it again in the same process.
_HELD: set[Path] = set()


@contextmanager
def run_lock(home: Path, say: Callable[[str], None]) -> Iterator[None]:
    """Hold the data home's run lock; `say` tells that another process holds it and this one waits."""
    home = home.resolve()
    if home in _HELD:
        yield
        return
    home.mkdir(parents=True, exist_ok=True)
    with open(home / ".run.lock", "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "another process"
            say(f"{WAITING} {home / '.run.lock'} ({holder}) to finish ...")
            fcntl.flock(lock, fcntl.LOCK_EX)
        lock.seek(0)
        lock.truncate()
        lock.write(f"pid {os.getpid()}")
        lock.flush()
        _HELD.add(home)
        try:
            yield
        finally:
            _HELD.discard(home)
            fcntl.flock(lock, fcntl.LOCK_UN)


class DbtCli(DbtCliResource):
    """dagster-dbt's dbt CLI resource without two costs it adds around dbt invocations (~8 s of a small city's CLI
    run, which makes three or four): a `dbt --version` subprocess per run, and a dbt adapter built in the step's
    own process for each invocation (profile read, macros parsed: ~1.6 s), which dagster-dbt uses only for
    `fetch_row_counts()` and `fetch_column_metadata()`. The pipeline calls neither, and dagster-dbt already runs
    without the adapter where it cannot build one. Both are private methods of the pinned dagster-dbt
    (requirements.lock): tests/test_dbt_resource.py fails if an upgrade renames them."""

    @functools.cached_property
    def _cli_version(self) -> version.Version:
        # dbt is this interpreter's (DBT_EXECUTABLE): its version is the installed dbt-core's.
        from dbt.version import __version__

        return version.parse(__version__)

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:
        return None

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """A run that builds dbt models starts its process's dbt worker (pipelines/dbt_worker.py), which imports
        dbt while the run's first steps go on; every dbt command of the process then runs in it."""
        super().setup_for_execution(context)
        dbt_worker.start()


def dbt_cli(project_dir: Path | DbtProject = DBT_PROJECT_DIR) -> DbtCli:
    """dbt as this interpreter's environment installs it, found whether or not that environment is on PATH, run
    through the dbt worker's client (a dbt process of its own where no worker was started)."""
    return DbtCli(project_dir=project_dir, profiles_dir=str(DBT_PROJECT_DIR), dbt_executable=str(DBT_CLIENT))


def build_resources(paths: Paths) -> dict[str, object]:
    return {
        "data_home": DataHome(
            home=str(paths.home),
            sources_dir=str(paths.sources_dir),
            warehouse=str(paths.warehouse),
            publish_dir=str(paths.publish_dir),
        ),
        "dbt": dbt_cli(),
    }
