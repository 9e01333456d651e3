"""Reading landing files into tables of strings, with one clear error per unusable file.

Everything is read as text: typing happens in validation, where a bad value becomes a quarantined row with a
reason instead of a crash. `_row` is the record's position in the file (1 = the first header row).
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

import duckdb
import openpyxl
import pandas as pd
import pyarrow as pa

from pipelines.errors import SchemaDriftError, SourceError


def normalize_header(name: object) -> str:
    # Exports pad and wrap headers (Google Forms adds stray spaces); compare them collapsed.
    return " ".join(str(name if name is not None else "").split())


# The longest physical line a CSV may have. Checked before parsing, so a broken export (a 2-GB line, a file with
# no line breaks) gets a clear error instead of filling memory. Real exports stay far below it (a survey row with
# long free-text answers is some kilobytes); tests lower it.
MAX_LINE_BYTES = 16 * 1024 * 1024
_BLOCK = 1 << 20
# The longest line DuckDB reads into a table (its buffers grow with it; a table's row is far shorter).
DUCKDB_LINE_BYTES = 2_000_000
DELIMITERS = {";": "semicolon", "\t": "tab", "|": "pipe"}


def check_text_file(file: Path) -> None:
    """Refuse, naming the file, what cannot be a UTF-8 CSV: an empty file, binary or UTF-16 data, a line longer
    than MAX_LINE_BYTES. Reads the file in blocks: memory stays flat whatever its size."""
    longest = current = 0
    with file.open("rb") as handle:
        first = handle.read(_BLOCK)
        if not first:
            raise SourceError(f"{file}: the file is empty")
        utf16 = first.startswith((b"\xff\xfe", b"\xfe\xff"))
        if utf16 or b"\x00" in first:
            encoding = "UTF-16 text" if utf16 else "binary data"
            raise SourceError(
                f"{file}: not a CSV text file (it holds {encoding}); export it as a UTF-8 CSV file"
            )
        block = first
        while block:
            pieces = block.split(b"\n")
            current += len(pieces[0])
            if len(pieces) > 1:
                longest = max(longest, current, *(len(piece) for piece in pieces[1:-1]))
                current = len(pieces[-1])
            if max(longest, current) > MAX_LINE_BYTES:
                raise SourceError(
                    f"{file}: a line is longer than {MAX_LINE_BYTES:,} bytes (the limit for one CSV row): "
                    "the file is damaged or not a CSV export"
                )
            block = handle.read(_BLOCK)


def other_delimiter(header: list[str]) -> str | None:
    """The other delimiter a file read as one column seems to use (semicolon, tab, pipe), if any."""
    if len(header) != 1:
        return None
    return next((name for mark, name in DELIMITERS.items() if mark in header[0]), None)


def delimiter_hint(header: list[str]) -> str:
    """When a file was read as one column, say which other delimiter it seems to use."""
    if len(header) != 1:
        return ""
    found = other_delimiter(header)
    if found:
        return f" (the file looks {found}-separated: export it comma-separated)"
    return " (only one column was found: is the delimiter a comma?)"


def read_grid(file: Path) -> pd.DataFrame:
    """All cells of a CSV or XLSX file as strings, header rows included, positional columns."""
    if file.stat().st_size == 0:
        raise SourceError(f"{file}: the file is empty")
    suffix = file.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        try:
            grid = pd.read_excel(file, header=None, dtype=str, engine="openpyxl")
        except Exception as error:  # openpyxl raises many types for a damaged workbook
            raise SourceError(f"{file}: not a readable XLSX workbook ({error})") from error
        if grid.empty:
            raise SourceError(f"{file}: the workbook's first sheet has no rows")
        return grid.fillna("")
    check_text_file(file)
    try:
        grid = pd.read_csv(
            file,
            header=None,
            dtype=str,
            keep_default_na=False,
            encoding="utf-8-sig",
            sep=",",
            skip_blank_lines=True,
        )
    except UnicodeDecodeError as error:
        raise not_utf8(file, error) from None
    except pd.errors.EmptyDataError:
        raise SourceError(f"{file}: the file has no rows") from None
    except pd.errors.ParserError as error:
        with file.open("rb") as handle:
            first_line = handle.readline(4096).decode("utf-8", errors="replace")
        hint = delimiter_hint([first_line]) if "," not in first_line else ""
        raise SourceError(f"{file}: not a readable CSV file ({str(error).strip()}){hint}") from None
    return grid


def read_table(file: Path, header_rows: int = 1) -> tuple[list[str], pd.DataFrame]:
    """A file whose first row names the columns: (header names, data rows with `_row`)."""
    grid = read_grid(file)
    if len(grid) < header_rows:
        raise SourceError(f"{file}: expected {header_rows} header row(s), found {len(grid)} row(s)")
    return [normalize_header(cell) for cell in grid.iloc[0]], rows_below(grid, header_rows)


def rows_below(grid: pd.DataFrame, header_rows: int) -> pd.DataFrame:
    """The data rows under the header rows, numbered as records of the file."""
    data = grid.iloc[header_rows:].reset_index(drop=True)
    data.columns = range(grid.shape[1])
    data["_row"] = data.index + header_rows + 1
    return data


def column_positions(file: Path, header: list[str], mapping: Mapping[str, str | None]) -> dict[str, int]:
    """Canonical column -> position of its mapped column in `header` (a repeated name means its first column);
    a mapped column missing from the header is schema drift."""
    positions: dict[str, int] = {}
    for index, name in enumerate(header):
        positions.setdefault(name, index)
    wanted = {canonical: source for canonical, source in mapping.items() if source}
    missing = [source for source in wanted.values() if normalize_header(source) not in positions]
    if missing:
        hint = delimiter_hint(header)
        raise SchemaDriftError(
            f"{file}: missing required column(s) {', '.join(repr(m) for m in missing)}; "
            f"found {header[:30]}{hint}"
        )
    return {canonical: positions[normalize_header(source)] for canonical, source in wanted.items()}


def pick_columns(
    file: Path, header: list[str], data: pd.DataFrame, mapping: dict[str, str | None]
) -> pd.DataFrame:
    """Keep only the mapped columns, renamed to canonical names; anything unmapped (PII included) is gone."""
    positions = column_positions(file, header, mapping)
    picked = pd.DataFrame({canonical: data[position] for canonical, position in positions.items()})
    for canonical, source in mapping.items():
        if not source:
            picked[canonical] = ""
    picked["_row"] = data["_row"].to_numpy()
    return picked.astype({column: "string" for column in picked.columns if column != "_row"})


def is_workbook(file: Path) -> bool:
    return file.suffix.lower() in (".xlsx", ".xlsm")


def workbook_rows(file: Path):
    """The first sheet's rows of an XLSX workbook, as tuples of cell values, read as the file is streamed."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(file, read_only=True, data_only=True)
        sheet = book.worksheets[0]
    except Exception as error:  # openpyxl raises many types for a damaged workbook
        raise SourceError(f"{file}: not a readable XLSX workbook ({error})") from error
    try:
        yield from sheet.iter_rows(values_only=True)
    finally:
        book.close()


def cell_text(value: object) -> str:
    """A workbook cell as the text its CSV export would hold (typing happens in validation)."""
    return "" if value is None else str(value)


def not_utf8(file: Path, error: UnicodeDecodeError) -> SourceError:
    return SourceError(
        f"{file}: not UTF-8 text (byte 0x{error.object[error.start]:02x} at offset {error.start}; "
        "Latin-1 or Windows-1252?); re-export the file as UTF-8 CSV"
    )


def read_header(file: Path) -> list[str]:
    """The column names on the first row of a CSV or XLSX file. A CSV file that cannot be a UTF-8 CSV is refused
    first (see `check_text_file`)."""
    if is_workbook(file):
        first = next(workbook_rows(file), None)
        if first is None:
            raise SourceError(f"{file}: the workbook's first sheet has no rows")
        return [normalize_header(cell_text(cell)) for cell in first]
    check_text_file(file)
    try:
        with file.open(encoding="utf-8-sig", newline="") as handle:
            record = next(csv.reader(handle), [])
    except UnicodeDecodeError as error:
        raise not_utf8(file, error) from None
    except csv.Error as error:
        raise SourceError(f"{file}: not a readable CSV file ({error})") from None
    if not any(cell.strip() for cell in record):
        raise SourceError(f"{file}: the first line is blank: expected the column names there")
    # Told before the names are normalized, which would make a tab a space.
    if other_delimiter(record):
        raise SchemaDriftError(f"{file}: one column, {record[0][:200]!r}{delimiter_hint(record)}")
    return [normalize_header(cell) for cell in record]


def read_columns(
    file: Path, header: list[str], mapping: Mapping[str, str | None], con: duckdb.DuckDBPyConnection
) -> pa.Table:
    """The mapped columns of a small CSV or XLSX table (some thousand rows: held whole, as Arrow), renamed to
    their canonical names, as text ('' where blank or unmapped), and `_row`: the record's number in the file, the
    header being row 1 and blank lines skipped, as a spreadsheet does. A CSV file is read by DuckDB."""
    positions = column_positions(file, header, mapping)
    if is_workbook(file):
        columns: dict[str, list[str]] = {canonical: [] for canonical in mapping}
        rows = workbook_rows(file)
        next(rows)  # the header
        numbers = []
        for row in rows:
            cells = [cell_text(cell) for cell in row]
            if not any(cells):
                continue
            numbers.append(len(numbers) + 2)
            for canonical in mapping:
                position = positions.get(canonical)
                columns[canonical].append(
                    cells[position] if position is not None and position < len(cells) else ""
                )
        return pa.table(
            {
                **{name: pa.array(values, pa.string()) for name, values in columns.items()},
                "_row": pa.array(numbers, pa.int64()),
            }
        )
    types = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(header))) + "}"
    selected = ", ".join(
        f"coalesce(c{positions[name]}, '') AS {name}" if name in positions else f"'' AS {name}"
        for name in mapping
    )
    try:
        return con.execute(
            f"SELECT {selected}, CAST(row_number() OVER () + 1 AS BIGINT) AS _row FROM read_csv($file, "
            f"header = true, auto_detect = false, columns = {types}, delim = ',', quote = '\"', escape = '\"', "
            "encoding = 'utf-8', strict_mode = true, null_padding = true, parallel = false, "
            f"max_line_size = {DUCKDB_LINE_BYTES})",
            {"file": str(file)},
        ).fetch_arrow_table()
    except duckdb.Error as error:
        raise csv_error(file, error) from None


def csv_error(file: Path, error: duckdb.Error) -> SourceError:
    """One sentence naming the file, the line and what is wrong with it (DuckDB's own message runs to a page and
    quotes the offending line, which may hold personal data)."""
    message = str(error)
    line = re.search(r"CSV Error on Line: (\d+)", message)
    where = f"{file}: line {line.group(1)}" if line else str(file)
    if "Invalid unicode" in message:
        return SourceError(f"{where}: not UTF-8 text; re-export the file as UTF-8 CSV")
    if "unterminated quote" in message:
        return SourceError(f"{where}: a quoted value is never closed")
    if "Maximum line size" in message:
        return SourceError(
            f"{where}: a line longer than {DUCKDB_LINE_BYTES:,} bytes: not a table of this kind"
        )
    columns = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", message)
    if columns:
        return SourceError(
            f"{where}: {columns.group(2)} values where the header names {columns.group(1)} columns "
            "(a delimiter or quote inside an unquoted value?)"
        )
    first = message.strip().splitlines()[0][:300] if message.strip() else type(error).__name__
    return SourceError(f"{where}: not a readable CSV file ({first})")


def read_json_records(file: Path) -> list[dict]:
    if file.stat().st_size == 0:
        raise SourceError(f"{file}: the file is empty")
    try:
        document = json.loads(file.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError:
        raise SourceError(f"{file}: not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise SourceError(
            f"{file}: invalid JSON at line {error.lineno} column {error.colno}: {error.msg}"
        ) from None
    return document


def iter_cells(file: Path) -> Iterator[tuple[int, list[str]]]:
    """The records of a CSV or XLSX file as (`_row`, cells as text), streaming: header rows included, each
    record as wide as the first. A CSV's blank lines are skipped (a whitespace-only line is blank too) and a
    record wider than the first is an error naming its row; an XLSX sheet's blank rows count as rows, except
    trailing ones. Errors name the file."""
    if file.stat().st_size == 0:
        raise SourceError(f"{file}: the file is empty")
    if file.suffix.lower() in (".xlsx", ".xlsm"):
        yield from _xlsx_cells(file)
        return
    check_text_file(file)
    # check_text_file bounds each line; a quoted value may still span lines, up to the same size.
    csv.field_size_limit(max(csv.field_size_limit(), MAX_LINE_BYTES))
    width, number = 0, 0
    try:
        with file.open(encoding="utf-8-sig", newline="") as handle:
            for record in csv.reader(handle):
                if not record or (len(record) == 1 and not record[0].strip(" \t")):
                    continue
                number += 1
                width = width or len(record)
                if len(record) > width:
                    raise SourceError(
                        f"{file}: row {number} has {len(record)} values where the first row has {width} "
                        f"columns{delimiter_hint([record[0]]) if width == 1 else ''}"
                    )
                yield number, record + [""] * (width - len(record))
    except UnicodeDecodeError as error:
        raise not_utf8(file, error) from None
    except csv.Error as error:
        raise SourceError(f"{file}: not a readable CSV file (row {number + 1}: {error})") from None
    if not number:
        raise SourceError(f"{file}: the file has no rows")


def _xlsx_cells(file: Path) -> Iterator[tuple[int, list[str]]]:
    try:
        workbook = openpyxl.load_workbook(file, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many types for a damaged workbook
        raise SourceError(f"{file}: not a readable XLSX workbook ({error})") from error
    try:
        width, number, blank_rows = 0, 0, []
        for values in workbook.worksheets[0].iter_rows(values_only=True):
            cells = [_cell_text(value) for value in values]
            while cells and not cells[-1]:
                cells.pop()
            number += 1
            if not cells:
                blank_rows.append(number)  # kept only if a filled row follows
                continue
            width = width or len(cells)
            for blank_number in blank_rows:
                yield blank_number, [""] * width
            blank_rows = []
            yield number, (cells + [""] * (width - len(cells)))[:width]
        if not width:
            raise SourceError(f"{file}: the workbook's first sheet has no rows")
    finally:
        workbook.close()


def _cell_text(value: object) -> str:
    """A spreadsheet cell as the text a CSV export holds: whole numbers without a decimal point."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
