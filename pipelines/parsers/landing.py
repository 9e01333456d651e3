"""Reading a landing file's mapped columns as text, whatever its format, streaming where the format allows.

CSV (a portal's "Export CSV"), Parquet, XLSX, and JSON: a SODA rows list (all values text, nested `location`), an
ArcGIS FeatureServer answer (`features[].attributes`) or GeoJSON (`features[].properties`). A network
connector's pages are the same JSON records (`records_table`). Every value is read as the text a CSV export
would hold; the kind's validation types it. `_row` is the record's number in its file (a CSV's header is row 1).

CSV and Parquet files are read by DuckDB and never held whole (a city's crime history is millions of rows);
JSON and XLSX documents are read whole by their readers anyway and handed over as Arrow.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from pipelines.errors import SchemaDriftError, SourceError
from pipelines.kinds.base import FIRST_ROW_KEY, write_parsed
from pipelines.parsers.tables import (
    column_positions,
    normalize_header,
    pick_columns,
    read_json_records,
    read_table,
)
from pipelines.warehouse import connect, literal

# A CSV header longer than this is not a portal export (or the file has no line breaks at all).
HEADER_LIMIT = 1 << 20
# DuckDB's own limit for one CSV line (a record of a crime export is a few hundred bytes).
MAX_LINE_BYTES = 2_000_000
# What DuckDB's parallel CSV scanner says of a file it can only read on one thread.
QUOTED_NEWLINES_NEED_ONE_THREAD = "does not support null_padding in conjunction with quoted new lines"


@dataclass(frozen=True)
class Columns:
    """What to read from a landing file: canonical name -> the file's column (None: not in this source's
    files, read as blank), in the order the parsed file keeps; and the canonical columns without which a file
    or page is schema drift, not bad rows."""

    mapping: Mapping[str, str | None]
    required: tuple[str, ...] = ()


def land_columns(
    file: Path,
    destination: Path,
    metadata: Mapping[str, str],
    con: duckdb.DuckDBPyConnection,
    columns: Columns,
) -> None:
    """Write a landing file's mapped columns as parsed Parquet, streaming (memory stays flat whatever its size).

    A CSV file's parsed Parquet has no `_row` column: its rows keep the file's order and `_row` is their
    position plus the first data row (FIRST_ROW_KEY in the metadata; see `kinds.base.parsed_files_sql`)."""
    file = Path(file)

    def copy(parallel: bool) -> None:
        rows, first_row = landing_sql(file, con, columns, numbered=False, parallel=parallel)
        stamps = {**metadata, **({FIRST_ROW_KEY: str(first_row)} if first_row else {})}
        write_parsed(con, rows, destination, stamps)

    read_landing(file, copy)


def read_columns(file: Path, columns: Columns) -> pa.Table:
    """A landing file's mapped columns as text and `_row`, in memory: for a look at a sample and for tests."""
    file = Path(file)
    with connect(None, allowed=[file.resolve().parent]) as con:
        return read_landing(
            file,
            lambda parallel: con.execute(
                landing_sql(file, con, columns, numbered=True, parallel=parallel)[0]
            ).fetch_arrow_table(),
        )


def read_landing(file: Path, read: Callable[[bool], Any]) -> Any:
    """`read(parallel)` of a landing file, on all cores where DuckDB can. Its parallel CSV scanner refuses
    rows padded with NULLs (short rows) in a file with line breaks inside quoted values, valid as both are:
    such a file is read again on one thread."""
    try:
        return read(True)
    except duckdb.Error as error:
        if QUOTED_NEWLINES_NEED_ONE_THREAD not in str(error):
            raise read_error(file, error) from None
    try:
        return read(False)
    except duckdb.Error as error:
        raise read_error(file, error) from None


def landing_sql(
    file: Path, con: duckdb.DuckDBPyConnection, columns: Columns, numbered: bool, parallel: bool = True
) -> tuple[str, int | None]:
    """A query of the landing file's mapped columns (canonical names, text, '' where blank) and `_row`, the
    record's number in the file (counting a CSV's header as row 1), in the file's order; and None. Unless
    `numbered`, a CSV file's query leaves `_row` out and the number of its first data row comes second.
    JSON and XLSX files are read in Python (their readers hold the whole document anyway) and registered on
    `con`. `parallel` False reads a CSV file on one thread (see `read_landing`)."""
    suffix = file.suffix.lower()
    if suffix in (".json", ".geojson"):
        con.register(
            "landing_rows", records_table(columns, json_records(file, read_json_records(file)), str(file))
        )
        return "SELECT * FROM landing_rows", None
    if suffix in (".xlsx", ".xlsm"):
        header, data = read_table(file)
        picked = pick_columns(file, header, data, dict(columns.mapping))
        con.register("landing_rows", pa.Table.from_pandas(picked.fillna(""), preserve_index=False))
        return f"SELECT {', '.join(columns.mapping)}, _row FROM landing_rows", None
    if suffix == ".parquet":
        return parquet_sql(file, con, columns), None
    header = read_csv_header(file)
    positions = column_positions(file, header, columns.mapping)
    rows = csv_sql(file, len(header), positions, columns.mapping, parallel)
    # The reader skips blank lines, as a spreadsheet does: `_row` counts records, the header being row 1.
    if numbered:
        return f"SELECT *, CAST(row_number() OVER () + 1 AS BIGINT) AS _row FROM ({rows})", None
    return rows, 2


def csv_sql(
    file: Path, width: int, positions: Mapping[str, int], names: Iterable[str], parallel: bool = True
) -> str:
    """A query of a CSV landing file (`width` columns, header first): the columns `names` as text, '' where blank
    or not in `positions` (name -> the file's column), in the file's order, without `_row` (the reader skips blank
    lines, as a spreadsheet does: a parsed file numbers its rows from FIRST_ROW_KEY = 2). `parallel` False reads
    on one thread (see `read_landing`)."""
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(width)) + "}"
    reader = (
        f"read_csv({literal(file)}, header = true, auto_detect = false, columns = {columns}, delim = ',', "
        f"quote = '\"', escape = '\"', encoding = 'utf-8', strict_mode = true, null_padding = true, "
        f"parallel = {str(parallel).lower()}, max_line_size = {MAX_LINE_BYTES})"
    )
    selected = ", ".join(
        f"coalesce(c{positions[name]}, '') AS {name}" if name in positions else f"'' AS {name}"
        for name in names
    )
    return f"SELECT {selected} FROM {reader}"


def read_csv_header(file: Path) -> list[str]:
    """The first record of a CSV file, read in Python so that a file that is not a UTF-8 CSV is named clearly
    before DuckDB reads it."""
    with file.open("rb") as handle:
        head = handle.read(HEADER_LIMIT + 1)
    if not head:
        raise SourceError(f"{file}: the file is empty")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise SourceError(f"{file}: UTF-16 text; re-export the file as UTF-8 CSV")
    end = head.find(b"\n")
    if end < 0 and len(head) > HEADER_LIMIT:
        raise SourceError(
            f"{file}: no line break in the first {HEADER_LIMIT // (1 << 20)} MB: not a CSV export "
            "(or its lines are not separated)"
        )
    first = head if end < 0 else head[:end]
    try:
        text = first.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise SourceError(
            f"{file}: not UTF-8 text (byte 0x{error.object[error.start]:02x} at offset {error.start}); "
            "re-export the file as UTF-8 CSV"
        ) from None
    if "\x00" in text:
        raise SourceError(f"{file}: not a CSV file (binary content in its first line)")
    record = next(csv.reader(io.StringIO(text.rstrip("\r"))), [])
    if not any(cell.strip() for cell in record):
        raise SourceError(f"{file}: the first line is blank: expected the column names there")
    return [normalize_header(cell) for cell in record]


def parquet_sql(file: Path, con: duckdb.DuckDBPyConnection, columns: Columns) -> str:
    """A Parquet drop's mapped columns as the text a CSV export would hold (see `text_value`)."""
    reader = f"read_parquet({literal(file)}, file_row_number = true)"
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()
    except duckdb.Error as error:
        raise SourceError(f"{file}: not a readable Parquet file ({first_line(error)})") from None
    names = [row[0] for row in described if row[0] != "file_row_number"]
    types = {row[0]: row[1] for row in described}
    positions = column_positions(file, [normalize_header(n) for n in names], columns.mapping)

    def text(name: str) -> str:
        column, kind = '"' + name.replace('"', '""') + '"', types[name].upper()
        if kind == "VARCHAR":
            return f"coalesce({column}, '')"
        if kind == "BOOLEAN":
            return f"coalesce(CASE WHEN {column} THEN 'true' ELSE 'false' END, '')"
        if kind in ("DOUBLE", "FLOAT"):
            return f"CASE WHEN isnan({column}) THEN '' ELSE coalesce(CAST({column} AS VARCHAR), '') END"
        if kind.startswith(("STRUCT", "MAP")) or kind.endswith("]"):
            return f"coalesce(CAST(to_json({column}) AS VARCHAR), '')"
        return f"coalesce(CAST({column} AS VARCHAR), '')"

    selected = ", ".join(
        f"{text(names[positions[name]])} AS {name}" if name in positions else f"'' AS {name}"
        for name in columns.mapping
    )
    return f"SELECT {selected}, CAST(file_row_number + 1 AS BIGINT) AS _row FROM {reader}"


def json_records(where: str | Path, document: Any) -> list[dict]:
    """The records of a JSON landing file: a SODA rows list, or ArcGIS / GeoJSON features."""
    if isinstance(document, dict) and isinstance(document.get("features"), list):
        return [
            (feature or {}).get("attributes") or (feature or {}).get("properties") or {}
            for feature in document["features"]
        ]
    if isinstance(document, list) and all(isinstance(record, dict) for record in document):
        return document
    raise SourceError(f"{where}: expected a JSON list of records or an object with a 'features' list")


def text_value(value: Any) -> str:
    """A JSON value as the text a CSV export would hold (validation types it later)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def records_table(columns: Columns, records: list[dict], where: str, first_row: int = 1) -> pa.Table:
    """JSON records (a file or a page of a connector) -> the mapped columns as text and `_row`, as Arrow.

    SODA leaves a key out when its value is null, so a mapped column absent from some records is blank there;
    a required column absent from every record means the schema changed, and fails the load."""
    mapping = columns.mapping
    present = set().union(*(record.keys() for record in records)) if records else set()
    missing = [mapping[name] for name in columns.required if records and mapping[name] not in present]
    if missing:
        raise SchemaDriftError(
            f"{where}: missing required column(s) {', '.join(repr(m) for m in missing)}; found {sorted(present)[:30]}"
        )
    columns = {
        canonical: pa.array(
            [text_value(record.get(source)) for record in records] if source else [""] * len(records),
            pa.string(),
        )
        for canonical, source in mapping.items()
    }
    columns["_row"] = pa.array(range(first_row, first_row + len(records)), pa.int64())
    return pa.table(columns)


def first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0][:300] if str(error).strip() else type(error).__name__


def duckdb_cause(message: str) -> str:
    """The sentence of a DuckDB CSV error that says what is wrong: after the line number and the offending line
    (never repeated: it may hold personal data), before the suggested fixes and the reader's settings."""
    lines = message.splitlines()
    start = next((i + 1 for i, text in enumerate(lines) if "CSV Error on Line" in text), 0)
    for text in lines[start:]:
        text = text.strip()
        if text.startswith(("Possible fix", "Possible Solution", "file = ")):
            break
        if text and not text.startswith("Original Line:"):
            return text[:300]
    return first_line(Exception(message))


def read_error(file: Path, error: duckdb.Error) -> SourceError:
    """DuckDB's CSV errors run to a page (and quote the whole offending line): one sentence naming the file,
    the line and what is wrong with it, then DuckDB's own words for the cause."""
    message = str(error)
    line = re.search(r"CSV Error on Line: (\d+)", message)
    where = f"{file}: line {line.group(1)}" if line else str(file)
    cause = f" (DuckDB: {duckdb_cause(message)})"
    if "Invalid unicode" in message:
        return SourceError(f"{where}: not UTF-8 text; re-export the file as UTF-8 CSV{cause}")
    if "Maximum line size" in message:
        return SourceError(
            f"{where}: a line longer than {MAX_LINE_BYTES:,} bytes: not a CSV export (or a quote is never "
            f"closed){cause}"
        )
    if "unterminated quote" in message:
        return SourceError(f"{where}: a quoted value is never closed{cause}")
    columns = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", message)
    if columns:
        return SourceError(
            f"{where}: {columns.group(2)} values where the header names {columns.group(1)} columns "
            f"(a delimiter or quote inside an unquoted value?){cause}"
        )
    if line:
        return SourceError(f"{where}: not a readable CSV line{cause}")
    return SourceError(f"{file}: could not be read ({first_line(error)})")


# ---- validation, in SQL
