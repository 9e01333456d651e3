"""Dagster's local SQLite storage, with event writes that keep their database connection.

Dagster's SQLite event log storage builds a new SQLAlchemy engine, opens a new SQLite connection and compiles its
statements afresh for every event it stores, then throws all three away. A run of the hand-sized city stores
about 800 events (most of them dagster-dbt's: an output and an asset check per dbt test). Measured one event type
at a time: 4.4 ms of CPU for a step event, 9.8 ms for a materialization (written to its run's database and to the
index), about 5 s of such a run's CPU; with kept engines 1.2 and 2.3 ms.

`dagster.yaml` names `Instance` as the instance class: Dagster's instance, whose default storage (a
dagster.yaml without `storage:`) is `SqliteStorage` in the instance's own folder, however the instance is
opened (`$DAGSTER_HOME`, `DagsterInstance.from_config(folder)`, `dagster dev`'s temporary folder). Its files are
Dagster's own, in Dagster's own layout (`history/runs.db`, `history/runs/*.db`, `schedules/`): Dagster's stock
storage reads them, and a data home made before this storage existed keeps its history. A dagster.yaml with
its own `storage:` (PostgreSQL) uses that instead.
"""

from __future__ import annotations

from collections import OrderedDict
from contextlib import contextmanager

import dagster as dg
import yaml
from dagster._core.instance.ref import InstanceRef
from dagster._core.storage.event_log import SqliteEventLogStorage
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage, _event_logs_directory
from dagster._serdes import ConfigurableClassData
from sqlalchemy import create_engine

# One event database per run plus the index: a long-lived process (the webserver, the daemon) reads many runs, so
# only the most recently used keep their engine and its one open SQLite connection.
KEPT_ENGINES = 8


class KeptEngineSqliteEventLogStorage(SqliteEventLogStorage):
    """Dagster's SQLite event log storage, keeping an engine per database (run shard or index) it last used."""

    def __init__(self, base_dir: str, inst_data=None):
        self._engines = OrderedDict()
        super().__init__(base_dir, inst_data)

    @contextmanager
    def _connect(self, shard: str):
        with self._db_lock:
            engine = self._engines.get(shard)
            # A database not yet initialised in this process (first use, or after `wipe`/`upgrade`, which reset
            # that set and may delete the files) gets a new engine, so no kept connection points at a deleted file.
            if engine is None or shard not in self._initialized_dbs:
                if engine is not None:
                    engine.dispose()
                engine = create_engine(
                    self.conn_string_for_shard(shard),
                    pool_size=1,  # one connection at a time: _db_lock holds it
                    connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
                )
                self._initdb(engine)
                self._initialized_dbs.add(shard)
                self._engines[shard] = engine
            self._engines.move_to_end(shard)
            while len(self._engines) > KEPT_ENGINES:
                self._engines.popitem(last=False)[1].dispose()
            with engine.connect() as conn, conn.begin():
                yield conn

    def dispose(self) -> None:
        super().dispose()
        with self._db_lock:
            while self._engines:
                self._engines.popitem()[1].dispose()


class SqliteStorage(DagsterSqliteStorage):
    """Dagster's local storage (`storage: sqlite:`) with `KeptEngineSqliteEventLogStorage` for its events."""

    def __init__(self, base_dir: str, inst_data=None):
        super().__init__(base_dir, inst_data)
        self._event_log_storage.dispose()  # the stock one the parent built: its index database is made by now
        self._event_log_storage = KeptEngineSqliteEventLogStorage(_event_logs_directory(base_dir))

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        return cls.from_local(inst_data=inst_data, **config_value)


class Instance(dg.DagsterInstance):
    """Dagster's instance, with `SqliteStorage` for default storage."""

    @classmethod
    def config_schema(cls):
        return {}  # no settings of its own: dagster.yaml's are Dagster's

    @staticmethod
    def config_defaults(base_dir: str):
        storage = ConfigurableClassData(__name__, SqliteStorage.__name__, yaml.dump({"base_dir": base_dir}))
        return {**InstanceRef.config_defaults(base_dir), "storage": storage}
