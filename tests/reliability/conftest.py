"""Runs of the hand-sized city through the real CLI on copies of its shared home (tests/conftest.py: small_city,
what every run here must reproduce), and fingerprints of what a run leaves behind."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import duckdb
import pandas as pd

from tests.conftest import REPO, SMALL_CITY_ENV, TABLES_ONLY, cli_command, cli_env, run_cli
from tests.fixtures.small_city import build

# The warehouse tables written by loads (dbt rebuilds the rest from them).
LOAD_SCHEMAS = ("raw", "quarantine", "meta")
# When a load was written: the one column allowed to differ between two homes given the same files.
LOAD_TIME_COLUMNS = ("loaded_at",)


def city_home(root: Path) -> Path:
    build(root / "landing")
    return root


def run_city(home: Path, *args: str, env: dict[str, str] | None = None):
    """A run of the published tables (the docs site and the report carry their build time: no run here reads
    them)."""
    return run_cli(
        "run", "--home", str(home), "--select", TABLES_ONLY, *args, env=SMALL_CITY_ENV | (env or {})
    )


def ok(result) -> None:
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]


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


def start_city_run(
    home: Path, log: Path, env: dict[str, str] | None = None, sources: Path | None = None
) -> subprocess.Popen:
    """A run in the background, in its own process group (so a kill reaches dbt too), logging to `log`; with
    `sources`, of the source definitions there."""
    with open(log, "w") as output:
        return subprocess.Popen(
            cli_command(
                "run",
                "--home",
                str(home),
                *(["--sources", str(sources)] if sources else []),
                "--select",
                TABLES_ONLY,
            ),
            cwd=REPO,
            env=cli_env(SMALL_CITY_ENV | (env or {})),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def fingerprints(home: Path) -> dict:
    return {
        "published": published_fingerprint(home),
        "warehouse": table_fingerprints(home / "warehouse.duckdb"),
        "snapshot": table_fingerprints(home / "published" / "current" / "metrics.duckdb"),
        "parsed_files": sorted(str(p.relative_to(home)) for p in (home / "parsed").rglob("*.parquet")),
    }


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

    from pipelines.definitions import defs as code_location

    selection = dg.AssetSelection.assets(dg.AssetKey.from_user_string(asset)).downstream()
    return {key.to_user_string() for key in selection.resolve(code_location().resolve_asset_graph())} - {
        asset
    }
