"""SQL expressions every kind's validation shares: text values as a landing file holds them, typed the same way
by every kind (whitespace, blanks, numbers, booleans, timestamps), and the detail a refused row carries."""

from __future__ import annotations

import pandas as pd

from pipelines.warehouse import literal

# The whitespace stripped around values (ASCII's and the no-break space), as trim() characters.
WHITESPACE = "' ' || chr(9) || chr(10) || chr(11) || chr(12) || chr(13) || chr(160)"
SPACE = r"[ \t\n\v\f\r\x{a0}]"  # the same characters, as an RE2 class
TRUE_TEXT = ("true", "t", "y", "yes", "1")
FALSE_TEXT = ("false", "f", "n", "no", "0")
# Beside strptime formats, a timestamp format may name these: ISO 8601 text (SODA's 2024-02-10T00:44:00.000)
# and epoch milliseconds (ArcGIS JSON files).
ISO8601, EPOCH_MS = "iso8601", "epoch_ms"


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


def time_sql(column: str, fmt: str, parameter: str = "timestamp_format") -> str:
    """`column` (text) as a TIMESTAMP in `fmt`, NULL where it does not parse. A strptime format is bound as the
    parameter `$<parameter>` (see `time_parameters`)."""
    if fmt.lower() == ISO8601:
        return f"TRY_CAST({strip(column)} AS TIMESTAMP)"
    if fmt.lower() == EPOCH_MS:
        return f"TRY(make_timestamp(CAST(round(TRY_CAST({strip(column)} AS DOUBLE) * 1000) AS BIGINT)))"
    return f"try_strptime({strip(column)}, ${parameter})"


def time_parameters(fmt: str, parameter: str = "timestamp_format") -> dict[str, str]:
    """The bound parameter `time_sql` needs for `fmt` (none for iso8601 and epoch_ms)."""
    return {} if fmt.lower() in (ISO8601, EPOCH_MS) else {parameter: fmt}


def number_sql(column: str) -> str:
    value = f"TRY_CAST({column} AS DOUBLE)"  # the cast itself allows surrounding whitespace
    return f"CASE WHEN isfinite({value}) THEN {value} END"


def bool_sql(column: str) -> str:
    cases = " ".join(
        [f"WHEN '{text}' THEN true" for text in TRUE_TEXT]
        + [f"WHEN '{text}' THEN false" for text in FALSE_TEXT]
    )
    return f"CASE lower({strip(column)}) {cases} END"


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
