"""SQL expressions every kind's validation shares: text values as a landing file holds them, typed the same way
by every kind (whitespace, blanks, numbers, booleans, timestamps), and the detail a refused row carries."""

from __future__ import annotations

import re

import pandas as pd

from pipelines.warehouse import literal

# The whitespace stripped around values (ASCII's and the no-break space), as trim() characters.
WHITESPACE = "' ' || chr(9) || chr(10) || chr(11) || chr(12) || chr(13) || chr(160)"
SPACE = r"[ \t\n\v\f\r\x{a0}]"  # the same characters, as an RE2 class
TRUE_TEXT = ("true", "t", "y", "yes", "1")
FALSE_TEXT = ("false", "f", "n", "no", "0")
# Beside strptime formats, a timestamp format may name these: ISO 8601 text (SODA's 2024-02-10T00:44:00.000),
# epoch milliseconds (ArcGIS JSON files) and a spreadsheet's date (see `time_sql`).
ISO8601, EPOCH_MS, EXCEL = "iso8601", "epoch_ms", "excel"
NAMED_FORMATS = (ISO8601, EPOCH_MS, EXCEL)
# Excel's serial dates count days from 1899-12-30 (its 1900 date system, right from March 1900 on); the
# greatest is 9999-12-31.
EXCEL_EPOCH, EXCEL_LAST_SERIAL = "1899-12-30", 2958466
# strptime's directives for a UTC offset or a zone name.
OFFSET_DIRECTIVE = re.compile(r"%[zZ]")


def strip(column: str) -> str:
    """`column` without surrounding whitespace, as Python's str.strip() (trimming only the values that need it:
    most do not, and a trim with a character set costs several times a pattern test)."""
    return f"CASE WHEN regexp_matches({column}, '^{SPACE}|{SPACE}$') THEN trim({column}, {WHITESPACE}) ELSE {column} END"


def blank(column: str) -> str:
    return f"({column} IS NULL OR regexp_full_match({column}, '{SPACE}*'))"


def label(column: str) -> str:
    """`column` as a label is compared: lower-case, runs of whitespace as one space, trimmed."""
    return f"lower(trim(regexp_replace(coalesce({column}, ''), '{SPACE}+', ' ', 'g')))"


def normalize_label(value: object) -> str:
    """`label` in Python, for labels compared outside the warehouse (the raking margins' categories)."""
    return " ".join(str("" if value is None or pd.isna(value) else value).lower().split())


# The end of a timestamp's text carrying a UTC offset or Z (`...09:07:51+00`, `...T00:44:00.000Z`, `...-05:00`):
# after a time of day, so that a date's own `-10` is not read as one.
OFFSET = r"\d:\d\d(:\d\d(\.\d+)?)? ?(Z|[+-]\d\d(:?\d\d)?)$"


def time_sql(column: str, fmt: str, parameter: str = "timestamp_format", timezone: str | None = None) -> str:
    """`column` (text) as a TIMESTAMP in `fmt`, NULL where it does not parse. A strptime format is bound as the
    parameter `$<parameter>` (see `time_parameters`).

    With `timezone` (an IANA zone, bound as `$<parameter>_timezone`), the timestamp is the local time there: a
    value with a UTC offset or Z (a strptime format with %z, ISO 8601 text ending in one, epoch milliseconds,
    which count from 1970 UTC) is converted to it; one without is taken as local already. Without it, values
    are read as today (an offset is left to DuckDB)."""
    zone = f"${parameter}_timezone"
    value = strip(column)
    if fmt.lower() == ISO8601:
        if timezone is None:
            return f"TRY_CAST({value} AS TIMESTAMP)"
        return (
            f"CASE WHEN regexp_matches({value}, '{OFFSET}') THEN timezone({zone}, TRY_CAST({value} AS TIMESTAMPTZ)) "
            f"ELSE TRY_CAST({value} AS TIMESTAMP) END"
        )
    if fmt.lower() == EXCEL:
        # A serial number (a cell the workbook does not style as a date, or a CSV saved from Excel: days, the
        # fraction the time of day, read to the millisecond as Excel stores it); a cell styled as a date reaches
        # us as ISO 8601 text already (parsers/tables.py). Local time: Excel keeps no zone.
        serial = f"TRY_CAST({value} AS DOUBLE)"
        return (
            f"CASE WHEN {serial} IS NULL THEN TRY_CAST({value} AS TIMESTAMP) "
            f"WHEN {serial} >= 1 AND {serial} < {EXCEL_LAST_SERIAL} THEN TIMESTAMP '{EXCEL_EPOCH}' + "
            f"to_milliseconds(CAST(round({serial} * 86400000) AS BIGINT)) END"
        )
    if fmt.lower() == EPOCH_MS:
        utc = f"TRY(make_timestamp(CAST(round(TRY_CAST({value} AS DOUBLE) * 1000) AS BIGINT)))"
        return utc if timezone is None else f"timezone({zone}, timezone('UTC', {utc}))"
    # Most values need no stripping (strptime itself skips ASCII whitespace around a value, not a no-break space):
    # each is parsed as it is, and stripped only where that fails, COALESCE reading its second argument for those
    # rows alone. Stripping every value first, the validation of 8 yearly crime files (2.9 M rows) took 4.2-6.6 s
    # instead of 3.7-5.3 s.
    parsed = f"coalesce(try_strptime({column}, ${parameter}), try_strptime({value}, ${parameter}))"
    return f"timezone({zone}, {parsed})" if timezone is not None and OFFSET_DIRECTIVE.search(fmt) else parsed


def time_parameters(
    fmt: str, parameter: str = "timestamp_format", timezone: str | None = None
) -> dict[str, str]:
    """The bound parameters `time_sql` needs for `fmt` and `timezone` (no format for the NAMED_FORMATS)."""
    zone = {} if timezone is None or not takes_zone(fmt) else {f"{parameter}_timezone": timezone}
    return zone | ({} if fmt.lower() in NAMED_FORMATS else {parameter: fmt})


def takes_zone(fmt: str) -> bool:
    """Whether values in `fmt` can carry a UTC offset, converted to a source's `timezone`."""
    return fmt.lower() in (ISO8601, EPOCH_MS) or bool(OFFSET_DIRECTIVE.search(fmt))


def integer_text(column: str) -> str:
    """`column` (stripped text) without the decimal zeros a float column or a spreadsheet added to a whole number:
    `202515001499.0` is `202515001499`; leading zeros are kept, other text is left as it is."""
    return f"regexp_replace({column}, '^(\\d+)\\.0+$', '\\1')"


def whole_number_text(column: str) -> str:
    """`column` (stripped text) as the digits of the whole number it writes, where it writes one: `0042`, `42.0`
    and `42` are all `42` (codes re-saved by a spreadsheet or a float column); other text is left as it is."""
    return f"regexp_replace({column}, '^0*(\\d+?)(\\.0*)?$', '\\1')"


def number_sql(column: str, separator: str | None = None) -> str:
    """`column` as a DOUBLE, NULL where it is not a finite number. With `separator`, numbers grouped by
    thousands are read without the separator (see `ungrouped`)."""
    if separator is not None:
        column = ungrouped(column, separator)
    value = f"TRY_CAST({column} AS DOUBLE)"  # the cast itself allows surrounding whitespace
    return f"CASE WHEN isfinite({value}) THEN {value} END"


def ungrouped(column: str, separator: str) -> str:
    """`column` without its thousands separators where it is a number grouped by thousands (`1,035,836`,
    `-1,035.5`), else as it is. `separator` names the bound parameters of `thousands_parameters`."""
    value = strip(column)
    return f"CASE WHEN regexp_full_match({value}, ${separator}) THEN replace({value}, ${separator}_mark, '') ELSE {column} END"


def thousands_parameters(separator: str, parameter: str) -> dict[str, str]:
    """The bound parameters of `number_sql(column, parameter)` for numbers grouped by `separator`."""
    return {parameter: f"[+-]?\\d{{1,3}}([{separator}]\\d{{3}})+(\\.\\d*)?", f"{parameter}_mark": separator}


def bool_sql(column: str) -> str:
    cases = " ".join(
        [f"WHEN '{text}' THEN true" for text in TRUE_TEXT]
        + [f"WHEN '{text}' THEN false" for text in FALSE_TEXT]
    )
    # A value written exactly as listed (most are) is read without lower-casing and stripping it: validating 8 yearly
    # crime files (2.9 M rows) took 3.4-4.1 s instead of 3.5-4.3 s, less in each of 6 alternating runs.
    return f"CASE {column} {cases} ELSE CASE lower({strip(column)}) {cases} END END"


def cited(name: str, column: str) -> str:
    """SQL for a refused row's detail: the file's column `name` and its value, `name: 'value'` or `name: blank`
    (the value stripped of surrounding whitespace)."""
    return (
        f"CASE WHEN {blank(column)} THEN {literal(name + ': blank')} "
        f"ELSE {literal(name + ': ' + chr(39))} || {strip(column)} || {literal(chr(39))} END"
    )


def record_json(columns: list[str] | tuple[str, ...], prefix: str = "") -> str:
    """SQL for a refused row's original text values as a JSON object (quarantine's `record`)."""
    return "CAST(json_object(" + ", ".join(f"'{name}', {prefix}{name}" for name in columns) + ") AS VARCHAR)"
