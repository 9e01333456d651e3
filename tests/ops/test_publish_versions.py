"""Publishing into versions: a reader that resolves published/current once reads every table of one run,
never two runs' files mixed, while runs publish; the previous version stays for a rollback, older ones go."""

from __future__ import annotations

import threading
import time

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest

from pipelines.assets.publish import publish

TABLES = ["crime_monthly", "trust_quarterly", "neighborhoods"]
VERSIONS = 12


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("NBHD_HOME", str(tmp_path))  # the folders a warehouse connection may touch
    return tmp_path


def fill(warehouse, version: int) -> None:
    """The warehouse's published schema as run `version` leaves it: every row of every table says so."""
    with duckdb.connect(str(warehouse)) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS published")
        for table in TABLES:
            con.execute(
                f"CREATE OR REPLACE TABLE published.{table} AS "
                "SELECT range AS id, ? AS version FROM range(1000 + ?)",
                [version, version],
            )


def read_one_version(publish_dir) -> set[int]:
    """What a reader does: resolve `current` once, then open every table from that folder."""
    folder = (publish_dir / "current").resolve()
    seen = set()
    for table in TABLES:
        seen |= set(pq.read_table(folder / f"{table}.parquet").column("version").to_pylist())
        seen |= set(pd.read_csv(folder / f"{table}.csv")["version"])
    with duckdb.connect(str(folder / "metrics.duckdb"), read_only=True) as con:
        for table in TABLES:
            seen |= {v for (v,) in con.execute(f"SELECT DISTINCT version FROM {table}").fetchall()}
    return seen


def test_readers_never_mix_versions_and_the_previous_version_is_kept(home):
    warehouse, publish_dir = home / "warehouse.duckdb", home / "published"
    fill(warehouse, 0)
    publish(warehouse, publish_dir, TABLES)
    failures: list[BaseException] = []

    def runs() -> None:
        try:
            for version in range(1, VERSIONS + 1):
                fill(warehouse, version)
                publish(warehouse, publish_dir, TABLES)
                time.sleep(0.1)  # runs are minutes apart; a reader has a whole run's time to open its files
        except BaseException as error:  # reported by the main thread
            failures.append(error)

    writer = threading.Thread(target=runs)
    writer.start()
    reads = []
    while writer.is_alive():
        reads.append(read_one_version(publish_dir))
    writer.join()
    assert not failures, failures
    mixed = [seen for seen in reads if len(seen) != 1]
    assert not mixed, mixed
    versions_read = {v for seen in reads for v in seen}
    assert len(versions_read) >= VERSIONS // 2, f"the reader saw too few switches: {sorted(versions_read)}"

    assert read_one_version(publish_dir) == {VERSIONS}
    kept = sorted((publish_dir / "versions").iterdir())
    assert len(kept) == 2 and (publish_dir / "current").resolve() == kept[-1]
    assert read_one_version_in(kept[0]) == {VERSIONS - 1}, "the previous version, for a rollback"
    # Only the link, the versions and nothing half-written at the top of the publish folder.
    assert sorted(p.name for p in publish_dir.iterdir()) == ["current", "versions"]


def read_one_version_in(folder) -> set[int]:
    return {v for t in TABLES for v in pq.read_table(folder / f"{t}.parquet").column("version").to_pylist()}


def test_the_files_of_the_layout_before_versions_are_removed(home):
    """A data home published before versions had its tables at the top of published/: nobody should keep
    reading those after an upgrade, as no run updates them any more."""
    warehouse, publish_dir = home / "warehouse.duckdb", home / "published"
    publish_dir.mkdir()
    for name in ("crime_monthly.parquet", "crime_monthly.csv", "metrics.duckdb"):
        (publish_dir / name).write_text("stale")
    (publish_dir / "report").mkdir()
    fill(warehouse, 1)
    publish(warehouse, publish_dir, TABLES)
    assert sorted(p.name for p in publish_dir.iterdir()) == ["current", "versions"]
    assert read_one_version(publish_dir) == {1}
