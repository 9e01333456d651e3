"""The hand-sized city run through the real CLI, and fingerprints of what a run leaves behind."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from tests.conftest import REPO, cli_command, cli_env, run_cli
from tests.fixtures.small_city import build

# A hand-sized city has a few bad rows in very few rows: allow a larger refused share.
CITY_ENV = {"NBHD_MIN_CELL": "10", "NBHD_MAX_QUARANTINE_SHARE": "0.5"}
# The warehouse tables written by loads (dbt rebuilds the rest from them).
LOAD_SCHEMAS = ("raw", "quarantine", "meta")
# The published tables, not the dbt docs site and the HTML report built from them: those carry their build
# time, and leaving them out keeps each of the many runs here a few seconds shorter.
TABLES_ONLY = 'not key:"published_docs" and not key:"published_report"'
# When a load was written: the one column allowed to differ between two homes given the same files.
LOAD_TIME_COLUMNS = ("loaded_at",)


def city_home(root: Path) -> Path:
    build(root / "landing")
    return root


def run_city(home: Path, *args: str, env: dict[str, str] | None = None):
    return run_cli("run", "--home", str(home), "--select", TABLES_ONLY, *args, env=CITY_ENV | (env or {}))


def ok(result) -> None:
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]


@dataclass(frozen=True)
class Reference:
    home: Path
    seconds: float  # wall time of the run, to place kills within

    def copy_to(self, target: Path) -> Path:
        """A copy of the completed data home (warehouse, raw, published, Dagster history) to change freely."""
        shutil.copytree(self.home, target, symlinks=True)
        return target


@pytest.fixture(scope="package")
def reference(tmp_path_factory) -> Reference:
    """One uninterrupted run of the city: what every other run here must reproduce. Tests copy it, never
    change it."""
    home = city_home(tmp_path_factory.mktemp("reference"))
    started = time.monotonic()
    ok(run_city(home))
    return Reference(home, time.monotonic() - started)


def published_tables(home: Path) -> dict[str, pd.DataFrame]:
    """Every published table, without the load times (which differ between two homes given the same files)."""
    return {
        file.stem: pd.read_parquet(file).drop(columns=list(LOAD_TIME_COLUMNS), errors="ignore")
        for file in sorted((home / "published" / "current").glob("*.parquet"))
    }


def assert_same_tables(actual: dict[str, pd.DataFrame], expected: dict[str, pd.DataFrame]) -> None:
    assert sorted(actual) == sorted(expected)
    for name, frame in expected.items():
        pd.testing.assert_frame_equal(actual[name], frame, check_exact=True, obj=name)


def published_fingerprint(home: Path) -> dict[str, str]:
    """sha256 of every published table's CSV: the published output, byte for byte."""
    return {
        file.name: hashlib.sha256(file.read_bytes()).hexdigest()
        for file in sorted((home / "published" / "current").glob("*.csv"))
    }


def table_fingerprints(database: Path, schemas: tuple[str, ...] | None = None) -> dict[str, tuple[int, str]]:
    """(rows, order-independent checksum of the rows, load times left out) per table."""
    with duckdb.connect(str(database), read_only=True) as con:
        tables = con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'"
        ).fetchall()
        result = {}
        for schema, table in tables:
            if schemas and schema not in schemas:
                continue
            columns = ", ".join(
                f'"{name}"'
                for (name,) in con.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ?",
                    [schema, table],
                ).fetchall()
                if name not in LOAD_TIME_COLUMNS
            )
            rows, checksum = con.execute(
                f'SELECT count(*), coalesce(sum(hash(row({columns})::VARCHAR)), 0)::VARCHAR FROM "{schema}"."{table}"'
            ).fetchone()
            result[f"{schema}.{table}"] = (rows, checksum)
    return result


def start_city_run(home: Path, log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    """A run in the background, in its own process group (so a kill reaches dbt too), logging to `log`."""
    with open(log, "w") as output:
        return subprocess.Popen(
            cli_command("run", "--home", str(home), "--select", TABLES_ONLY),
            cwd=REPO,
            env=cli_env(CITY_ENV | (env or {})),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


@dataclass(frozen=True)
class Reruns:
    """Two re-runs of the reference home started at the same moment, with a reader holding
    published/metrics.duckdb open all along (properties 1, 8 and 9 share this one pair of runs)."""

    home: Path
    before: dict  # fingerprints of the home before the re-runs
    after: dict
    exit_codes: list[int]
    logs: list[str]
    reader_before: tuple
    reader_after: tuple


def fingerprints(home: Path) -> dict:
    return {
        "published": published_fingerprint(home),
        "warehouse": table_fingerprints(home / "warehouse.duckdb"),
        "snapshot": table_fingerprints(home / "published" / "current" / "metrics.duckdb"),
        "raw_files": sorted(str(p.relative_to(home)) for p in (home / "raw").rglob("*.parquet")),
    }


READER_QUERY = "SELECT count(*), sum(hash(row(neighborhood_id, month, incidents))) FROM crime_monthly"


@pytest.fixture(scope="package")
def reruns(reference, tmp_path_factory) -> Reruns:
    home = reference.copy_to(tmp_path_factory.mktemp("reruns") / "home")
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


def materialized_in_last_run(home: Path) -> set[str]:
    """The assets the data home's latest Dagster run materialized, read from its run storage."""
    import dagster as dg

    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        (last,) = instance.get_runs(limit=1)
        events = instance.all_logs(last.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)
        return {event.dagster_event.asset_key.to_user_string() for event in events}


def downstream_of(asset: str) -> set[str]:
    """Every asset built from `asset` (not itself), from the code location's asset graph (demo sources)."""
    import dagster as dg

    from pipelines.definitions import defs

    selection = dg.AssetSelection.assets(dg.AssetKey.from_user_string(asset)).downstream()
    return {key.to_user_string() for key in selection.resolve(defs().resolve_asset_graph())} - {asset}
