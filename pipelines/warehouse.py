"""The warehouse: one DuckDB file, one writer, a connection per operation.

Schemas: raw.<source> (loaded rows, typed), quarantine.<source> (refused rows with their reason and original
values), meta.loads / meta.load_reasons (what every load received, loaded and refused) / meta.load_notes
(rows loaded but changed on the way, such as a repaired boundary), canonical.<kind>
(one view per source kind over its raw tables: what dbt reads), and the dbt layers on top.

Every DuckDB connection of the pipeline is opened by `connect`: bounded in memory, and with file access limited
to the data home (reliability property 14, docs/reliability.md) once the extensions it needs are loaded.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pandas as pd

from pipelines.settings import Paths

if TYPE_CHECKING:  # the kinds import this module: their types only, for annotations
    from pipelines.kinds.base import Kind, Validated

# DuckDB's own memory (buffers, hash tables, sorts) per connection; beyond it, large operators spill to the
# temporary folder. Together with the Python process this keeps every process of a run under 1 GB. At 256 MB a crime
# load of 360,000 rows spilled (its validation, and the sort that writes it in row order, `write_loads`): the 8.4 M
# city's 39 crime loads took 40 s, against 28 s at 384 MB (the process peaking at 535 MB against 682 MB, alone; in a
# whole run, then in the pipeline's own process, 857-876 MB: benchmarks/README.md). NBHD_DUCKDB_MEMORY_LIMIT sets
# another (docs/settings.md).
MEMORY_LIMIT = "384MB"
MEMORY_SIZE = re.compile(r"\d+(\.\d+)?\s*[KMGT]i?B", re.IGNORECASE)  # as DuckDB reads them, none negative
# The storage format of a warehouse file this creates (an existing file keeps its own). DuckDB 1.5's writes the same
# rows in the same space, faster than the 1.0 format DuckDB otherwise writes for older readers: the 8.4 M city's 27
# crime inserts took 6.6 s instead of 8.6 s, and their commits 1.7 s instead of 2.1 s. Only DuckDB 1.5 and later open
# the warehouse; the published snapshot is written for older readers (assets/publish.py). dbt's profile sets the
# same, for a warehouse dbt creates.
STORAGE_VERSION = "v1.5.0"

LOAD_COLUMNS = {
    "source": "VARCHAR",
    "load_id": "VARCHAR",
    "loaded_at": "TIMESTAMP",
    "_file": "VARCHAR",
    "_row": "BIGINT",
}
IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


def quote(identifier: str) -> str:
    """Identifiers from config are validated, then quoted; values always go in as parameters."""
    if not IDENTIFIER.match(identifier):
        raise ValueError(f"not a safe SQL identifier: {identifier!r}")
    return f'"{identifier}"'


def literal(value: str | Path) -> str:
    """A text or file path as a SQL string literal, for the statements that take no parameters (ATTACH, COPY)
    and for text written into generated SQL."""
    return "'" + str(value).replace("'", "''") + "'"


def spatial_extension_file() -> Path:
    import duckdb_extension_spatial

    return next(Path(duckdb_extension_spatial.__file__).parent.rglob("spatial.duckdb_extension"))


def spatial_loaded(con: duckdb.DuckDBPyConnection) -> bool:
    # By its functions: duckdb_extensions() lists the extension folder, which a locked connection may not read.
    return bool(
        con.execute("SELECT count(*) FROM duckdb_functions() WHERE function_name = 'ST_Contains'").fetchone()[
            0
        ]
    )


def load_spatial(con: duckdb.DuckDBPyConnection) -> None:
    """DuckDB cannot download extensions here: install once from the pinned wheel, then load offline.

    A connection from `connect` can no longer load extensions: open it with `spatial=True` instead."""
    if spatial_loaded(con):
        return
    try:
        con.execute("LOAD spatial")
    except duckdb.PermissionException:
        raise RuntimeError(
            "the spatial extension is not loaded and this connection's external access is locked: "
            "open it with connect(..., spatial=True)"
        ) from None
    except duckdb.Error:
        con.execute(f"INSTALL {literal(spatial_extension_file())}")
        con.execute("LOAD spatial")


def data_home_folders(paths: Paths | None = None, path: Path | None = None) -> list[Path]:
    """Where a connection may read and write: the data home, the published folder and the warehouse's folder
    (each may be moved by its own setting, docs/settings.md); by default those of the environment."""
    paths = paths or Paths.from_env()
    return [
        paths.home,
        paths.publish_dir,
        paths.warehouse.parent,
        *([path.parent] if path is not None else []),
    ]


@contextmanager
def connect(
    path: Path | None,
    read_only: bool = False,
    *,
    spatial: bool = False,
    allowed: Iterable[Path] | None = None,
    ordered: bool = True,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """The one way to open DuckDB: per operation, closed before dbt (another writer) runs.

    `path` None is an in-memory database (landing files, checking a sample). `allowed` are the folders the
    connection may touch (default: the data home's, see `data_home_folders`); anything else, and loading any
    further extension, is refused with a `duckdb.PermissionException`, and the settings are locked so no query can
    lift that. `spatial` loads DuckDB spatial first (about half a second: only where points are located).
    `ordered=False` lets inserts store rows in any order (an insert of millions of rows runs about twice as fast,
    on all cores): only for writers whose readers never depend on the order rows were stored in."""
    folders = [
        Path(folder).resolve()
        for folder in (allowed if allowed is not None else data_home_folders(path=path))
    ]
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(
        str(path) if path is not None else ":memory:",
        read_only=read_only,
        config={"storage_compatibility_version": STORAGE_VERSION},
    )
    try:
        if spatial:
            load_spatial(con)
        limit = os.environ.get("NBHD_DUCKDB_MEMORY_LIMIT", MEMORY_LIMIT)
        if not MEMORY_SIZE.fullmatch(limit):
            raise ValueError(f"NBHD_DUCKDB_MEMORY_LIMIT={limit!r} is not a memory size, as 384MB or 2GB")
        con.execute(f"SET memory_limit = {literal(limit)}")
        if not ordered:
            con.execute("SET preserve_insertion_order = false")
        if path is None and folders:
            # An in-memory database would spill into the working directory: keep it in the data home.
            con.execute(f"SET temp_directory = {literal(folders[0] / '.duckdb_tmp')}")
        # A trailing separator: a folder, not every name that starts like it (/data, /data-other).
        prefixes = ", ".join(literal(f"{folder}/") for folder in dict.fromkeys(folders))
        con.execute(f"SET allowed_directories = [{prefixes}]")
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
    except Exception:
        con.close()
        raise
    try:
        yield con
    finally:
        con.close()


def ensure_meta_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS meta")
    con.execute(
        "CREATE TABLE IF NOT EXISTS meta.loads (source VARCHAR, load_id VARCHAR, file VARCHAR, loaded_at TIMESTAMP, "
        "rows_received BIGINT, rows_loaded BIGINT, rows_quarantined BIGINT, PRIMARY KEY (source, load_id))"
    )
    # Filled by the kinds whose `load_counts` name it (crime: incidents loaded as 'other' because their offense
    # code is missing from the crosswalk); NULL for the others.
    con.execute("ALTER TABLE meta.loads ADD COLUMN IF NOT EXISTS rows_unmapped_offense BIGINT")
    # The source definition a load was validated under (`SourceBase.definition_digest`); NULL before it was kept.
    con.execute("ALTER TABLE meta.loads ADD COLUMN IF NOT EXISTS definition VARCHAR")
    con.execute(
        "CREATE TABLE IF NOT EXISTS meta.load_reasons (source VARCHAR, load_id VARCHAR, reason VARCHAR, rows BIGINT)"
    )
    # Rows loaded, not refused, but changed on the way (note 'repaired_geometry': a boundary made valid).
    con.execute(
        "CREATE TABLE IF NOT EXISTS meta.load_notes (source VARCHAR, load_id VARCHAR, note VARCHAR, rows BIGINT)"
    )


def ensure_tables(con: duckdb.DuckDBPyConnection, source: str, canonical: Mapping[str, str]) -> None:
    """raw.<source> (the load columns, then `canonical`: column -> type) and quarantine.<source>."""
    ensure_meta_tables(con)
    con.execute("CREATE SCHEMA IF NOT EXISTS raw; CREATE SCHEMA IF NOT EXISTS quarantine")
    columns = {**LOAD_COLUMNS, **canonical}
    ddl = ", ".join(f"{name} {kind_type}" for name, kind_type in columns.items())
    con.execute(f"CREATE TABLE IF NOT EXISTS raw.{quote(source)} ({ddl})")
    # A warehouse made before a canonical column was added gains it (NULL in earlier loads).
    for name, column_type in columns.items():
        con.execute(f"ALTER TABLE raw.{quote(source)} ADD COLUMN IF NOT EXISTS {name} {column_type}")
    con.execute(
        f"CREATE TABLE IF NOT EXISTS quarantine.{quote(source)} "
        "(source VARCHAR, load_id VARCHAR, loaded_at TIMESTAMP, _file VARCHAR, _row BIGINT, reason VARCHAR, record VARCHAR)"
    )
    # Which of the file's columns, holding which value, failed the row (`Q3: 'Somewhat agree'`).
    con.execute(f"ALTER TABLE quarantine.{quote(source)} ADD COLUMN IF NOT EXISTS detail VARCHAR")


def loaded_ids(con: duckdb.DuckDBPyConnection, source: str) -> set[str]:
    if not con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'meta' AND table_name = 'loads'"
    ).fetchone()[0]:
        return set()
    return {
        row[0] for row in con.execute("SELECT load_id FROM meta.loads WHERE source = ?", [source]).fetchall()
    }


@dataclass(frozen=True)
class LoadSummary:
    source: str
    load_id: str
    file: str
    rows_received: int
    rows_loaded: int
    rows_quarantined: int
    # Why a load written before was validated again (`ingest.validate`); None for a new load.
    again: str | None = None


def write_loads(
    con: duckdb.DuckDBPyConnection,
    *,
    source: str,
    kind: Kind,
    loads: Sequence[tuple[str, str]],
    loaded_at: pd.Timestamp,
    definition: str,
    validated: Validated,
) -> list[LoadSummary]:
    """Write a batch of validated loads (`kinds.base.Validated`: relations on this connection) of `source`, of `kind`
    (`kinds.base.Kind`), atomically: their loaded rows into raw.<source>, their refused rows into
    quarantine.<source>, what each received, loaded and refused into meta.loads and meta.load_reasons, and their
    notes (rows loaded but changed on the way) into meta.load_notes, tables `ensure_tables` made. `loads` are the
    batch's (load id, landing file), in the order of `_load`; `definition`, the digest of the source's definition
    they were validated under (`SourceBase.definition_digest`). A load replaces any earlier load of the same landing
    file, so re-running it, or re-dropping a corrected file under the same name, never doubles a row. Counts are of
    source records (`Validated.records_loaded`)."""
    loaded, rejected = validated.loaded, validated.rejected
    counts = dict(kind.load_counts)
    aggregates = ", ".join([validated.records_loaded, *counts.values()])
    by_load = {
        load: values
        for load, *values in con.execute(
            f"SELECT _load, {aggregates} FROM {loaded} GROUP BY _load"
        ).fetchall()
    }
    # A load with no row loaded has the aggregates of no rows.
    nothing = (
        list(con.execute(f"SELECT {aggregates} FROM {loaded} WHERE false").fetchone())
        if len(by_load) < len(loads)
        else None
    )
    reasons: dict[int, int] = dict(
        con.execute(f"SELECT _load, count(*) FROM {rejected} GROUP BY _load").fetchall()
    )
    summaries, filled = [], []
    for index, (load_id, file) in enumerate(loads):
        rows_loaded, *counted = by_load.get(index, nothing)
        summary = LoadSummary(
            source, load_id, file, validated.received.get(index, 0), rows_loaded, reasons.get(index, 0)
        )
        if summary.rows_received != summary.rows_loaded + summary.rows_quarantined:
            raise AssertionError(
                f"{source}/{load_id}: rows received, loaded and quarantined do not add up: {summary}"
            )
        summaries.append(summary)
        filled.append(counted)
    stamp = {"source": source, "loaded_at": loaded_at.to_pydatetime()}
    load_ids, files = [load_id for load_id, _ in loads], [file for _, file in loads]
    # meta.loads, a column per field: the batch's summaries and the kind's `load_counts`.
    logged = {
        "load_id": load_ids,
        "file": files,
        "rows_received": [summary.rows_received for summary in summaries],
        "rows_loaded": [summary.rows_loaded for summary in summaries],
        "rows_quarantined": [summary.rows_quarantined for summary in summaries],
        "definition": [definition] * len(loads),
        **{name: [counted[column] for counted in filled] for column, name in enumerate(counts)},
    }
    # The batch's loads by `_load`: what names each row's load and file.
    con.execute(
        "CREATE OR REPLACE TEMP TABLE load_batch AS "
        "SELECT unnest($loads) AS _load, unnest($load_ids) AS load_id, unnest($files) AS file",
        {"loads": list(range(len(loads))), "load_ids": load_ids, "files": files},
    )
    named = {"source": "$source", "loaded_at": "$loaded_at", "load_id": "b.load_id", "_file": "b.file"}
    columns = {**LOAD_COLUMNS, **kind.columns}
    select = ", ".join(
        f"CAST({named.get(name, f'l.{name}')} AS {type_}) AS {name}" for name, type_ in columns.items()
    )
    con.execute("BEGIN TRANSACTION")
    try:
        earlier = con.execute(
            "SELECT load_id, file FROM meta.loads WHERE source = $source "
            "AND (file IN (SELECT unnest($files)) OR load_id IN (SELECT unnest($load_ids)))",
            {"source": source, "files": files, "load_ids": load_ids},
        ).fetchall()
        # Rows are written with their meta.loads row in one transaction: a file never loaded has no rows to
        # replace, and skipping the scan keeps a source of thousands of files linear.
        if earlier:
            replaced = sorted({file for _, file in earlier} & set(files))
            for table in (f"raw.{quote(source)}", f"quarantine.{quote(source)}"):
                con.execute(
                    f"DELETE FROM {table} WHERE _file IN (SELECT unnest($files))", {"files": replaced}
                )
            for table in ("meta.loads", "meta.load_reasons", "meta.load_notes"):
                con.execute(
                    f"DELETE FROM {table} WHERE source = $source AND load_id IN (SELECT unnest($load_ids))",
                    {"source": source, "load_ids": sorted({load_id for load_id, _ in earlier})},
                )
        # In row order: DuckDB then writes a large load straight into full row groups. Unsorted, on two threads,
        # part of each load went through the WAL and the next checkpoint wrote it again: 12 crime loads of 360,000
        # rows took 6.6 s to insert and 2.6-5.7 s to checkpoint, against 5.1 s and 0.6 s sorted (a file of 195-204
        # MB against 113 MB).
        con.execute(
            f"INSERT INTO raw.{quote(source)} BY NAME SELECT {select} "
            f"FROM {loaded} l JOIN load_batch b ON b._load = l._load ORDER BY l._load, l._row",
            stamp,
        )
        # `rejected` also has `detail`: the file's column and value that failed the row (see kinds.sql.cited).
        con.execute(
            f"INSERT INTO quarantine.{quote(source)} BY NAME SELECT $source AS source, b.load_id, "
            f"CAST($loaded_at AS TIMESTAMP) AS loaded_at, b.file AS _file, CAST(r._row AS BIGINT) AS _row, "
            f"CAST(r.reason AS VARCHAR) AS reason, CAST(r.record AS VARCHAR) AS record, "
            f"CAST(r.detail AS VARCHAR) AS detail FROM {rejected} r JOIN load_batch b ON b._load = r._load",
            stamp,
        )
        con.execute(
            "INSERT INTO meta.loads BY NAME SELECT $source AS source, CAST($loaded_at AS TIMESTAMP) AS loaded_at, "
            + ", ".join(f"unnest(${name}) AS {quote(name)}" for name in logged),
            {**stamp, **logged},
        )
        con.execute(
            f"INSERT INTO meta.load_reasons SELECT $source, b.load_id, r.reason, count(*) "
            f"FROM {rejected} r JOIN load_batch b ON b._load = r._load GROUP BY ALL",
            {"source": source},
        )
        notes = [
            (load_ids[load], note, rows)
            for load, by_note in sorted(validated.notes.items())
            for note, rows in sorted(by_note.items())
        ]
        if notes:
            con.execute(
                "INSERT INTO meta.load_notes SELECT $source, unnest($load_ids), unnest($notes), unnest($rows)",
                {
                    "source": source,
                    "load_ids": [load_id for load_id, _, _ in notes],
                    "notes": [note for _, note, _ in notes],
                    "rows": [rows for _, _, rows in notes],
                },
            )
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return summaries


def refresh_canonical_view(con: duckdb.DuckDBPyConnection, kind: Kind, sources: list[str]) -> None:
    """canonical.<kind.view> = every loaded source of the kind, in its canonical columns (typed and empty if
    none), the rows meeting the kind's `view_filter` where it has one."""
    con.execute("CREATE SCHEMA IF NOT EXISTS canonical")
    view, view_filter = kind.view, kind.view_filter
    columns = {"source": "VARCHAR", "load_id": "VARCHAR", "loaded_at": "TIMESTAMP", **kind.columns}
    existing = {
        row[0]
        for row in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'raw'"
        ).fetchall()
    }
    selects = [
        f"SELECT {', '.join(columns)} FROM raw.{quote(source)}"
        + (f" WHERE {view_filter}" if view_filter else "")
        for source in sources
        if source in existing
    ]
    if not selects:
        selects = [
            "SELECT "
            + ", ".join(f"CAST(NULL AS {type_}) AS {name}" for name, type_ in columns.items())
            + " WHERE false"
        ]
    con.execute(f"CREATE OR REPLACE VIEW canonical.{quote(view)} AS " + " UNION ALL ".join(selects))
