"""Files validated together in one batch (`ingest.validate`, `batch_rows`) write what the same files validated one
at a time write: every rule about a file's own rows (a duplicate earlier in the file, a response submitted again,
boundary parts merged) compares the rows of one file only, and every count is its own load's.

Each source of the shared small city gets a copy of its first parsed file, as if dropped under another name: its
rows repeat the original's in every key, so a rule that compared rows across the batch's files would refuse them as
duplicates, or merge them into the original's.

A crime batch of more rows than `kinds.crime.WINDOW_ROWS` is validated in windows of consecutive rows, and writes what
one statement writes: a repeat of a row of an earlier window is found as in one."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pyarrow.parquet as pq
import pytest

from pipelines import ingest
from pipelines.kinds import KINDS, crime
from pipelines.settings import DEMO_SOURCES_DIR, Paths
from pipelines.sources import load_sources
from pipelines.warehouse import connect

COPY = "copy-of-first"


def with_copies(small_city, home) -> Paths:
    """A data home holding the small city's parsed files and, per source, a copy of its first one."""
    shutil.copytree(small_city.home / "parsed", home / "parsed")
    for folder in (home / "parsed").iterdir():
        if not (files := sorted(folder.glob("*.parquet"))):
            continue  # a source the city has no file of
        first = files[0]
        table = pq.read_table(first)
        metadata = dict(table.schema.metadata) | {ingest.FILE_KEY: f"{COPY}/{first.stem}".encode()}
        pq.write_table(table.replace_schema_metadata(metadata), folder / f"{COPY}-{first.stem}.parquet")
    return Paths(home, DEMO_SOURCES_DIR, home / "warehouse.duckdb", home / "published")


def validate_all(paths: Paths, batch_rows: int) -> None:
    """Every source validated, each after the sources it looks up (KINDS is in that order)."""
    specs = load_sources(paths.sources_dir)
    for spec in sorted(specs, key=lambda spec: list(KINDS).index(spec.kind)):
        files = len(list((paths.parsed / spec.name).glob("*.parquet")))
        assert len(ingest.validate(spec, specs, paths, batch_rows=batch_rows)) == files, spec.name


def written(paths: Paths) -> dict[str, pd.DataFrame]:
    """Every table the loads wrote, without the time they were written, in a stable order."""
    with connect(paths.warehouse, read_only=True) as con:
        tables = con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() "
            "WHERE schema_name IN ('raw', 'quarantine', 'meta') ORDER BY ALL"
        ).fetchall()
        frames = {}
        for schema, table in tables:
            frame = (
                con.execute(f'SELECT * FROM {schema}."{table}"')
                .df()
                .drop(columns="loaded_at", errors="ignore")
            )
            frames[f"{schema}.{table}"] = frame.sort_values(list(frame.columns)).reset_index(drop=True)
    return frames


@pytest.fixture(scope="module")
def one_file_a_batch(small_city, tmp_path_factory) -> dict[str, pd.DataFrame]:
    """What the small city's files and their copies write, one file a batch."""
    alone = with_copies(small_city, tmp_path_factory.mktemp("alone"))
    validate_all(alone, batch_rows=0)
    return written(alone)


def test_a_batch_of_files_writes_what_its_files_write_one_at_a_time(small_city, tmp_path, one_file_a_batch):
    together = with_copies(small_city, tmp_path / "together")
    # Every source's files (its own and the copy) in one batch, against one file a batch.
    assert all(len(list(folder.glob("*.parquet"))) != 1 for folder in together.parsed.iterdir())
    validate_all(together, batch_rows=10**9)
    batched, single = written(together), one_file_a_batch
    assert batched.keys() == single.keys()
    for table, frame in single.items():
        pd.testing.assert_frame_equal(batched[table], frame, obj=table)
    # Every copy loaded what its original loaded: no rule refused its rows for the original's.
    loads = single["meta.loads"]
    copies = loads[loads.file.str.startswith(COPY)]
    assert len(copies) == sum(1 for folder in together.parsed.iterdir() if any(folder.glob("*.parquet")))
    for copy in copies.itertuples():
        original = loads[
            (loads.source == copy.source) & (loads.load_id == copy.load_id.removeprefix(f"{COPY}-"))
        ]
        assert (copy.rows_loaded, copy.rows_quarantined) == (
            original.rows_loaded.item(),
            original.rows_quarantined.item(),
        ), copy.source


def test_a_crime_batch_validated_in_windows_writes_what_one_statement_writes(
    small_city, tmp_path, one_file_a_batch, monkeypatch
):
    windows = 100
    monkeypatch.setattr(crime, "WINDOW_ROWS", windows)
    home = with_copies(small_city, tmp_path / "windows")
    validate_all(home, batch_rows=10**9)  # the crime file and its copy in one batch: 530 rows, six windows
    in_windows = written(home)
    assert in_windows.keys() == one_file_a_batch.keys()
    for table, frame in one_file_a_batch.items():
        pd.testing.assert_frame_equal(in_windows[table], frame, obj=table)
    # A repeated incident version a window or more after its first row: refused as a repeat all the same.
    quarantined, loaded = in_windows["quarantine.demo_crimes"], in_windows["raw.demo_crimes"]
    gaps = [
        repeat["_row"]
        - loaded._row[(loaded._file == repeat["_file"]) & (loaded.incident_id == incident)].min()
        for repeat in quarantined[quarantined.reason == "duplicate_incident"].to_dict("records")
        for incident in [json.loads(repeat["record"])["incident_id"]]
    ]
    assert gaps and max(gaps) >= windows, gaps
