"""Scan everything a run wrote under the data home (outside landing/) for personal data and secrets.

DuckDB and Parquet files are read through their engines (every table of every schema, every column as text), so
compressed strings are seen as text too; any other file is read as bytes decoded leniently (SQLite files of
Dagster's storage, logs, JSON state, CSV).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")
# Addresses of machines, not of people: the local portal the tests serve, "any address".
NOT_PERSONAL_IPS = re.compile(r"^(127\.\d+\.\d+\.\d+|0\.0\.0\.0)$")
# A North American number written the way people write them: (312) 555-0142, 312.555.0142, +1 312 555 0142.
PHONE = re.compile(r"(?<![\w.])(?:\+?1[ .-]?)?\(?\d{3}\)?[ .-]\d{3}[ .-]\d{4}(?![\w.])")
DIGITS = re.compile(r"\d[\d \t().+-]{8,}\d")
WORD = re.compile(r"[a-z][a-z'-]+")


def duckdb_tables(path: Path) -> Iterator[tuple[str, str, pd.DataFrame]]:
    """(schema, table, rows) of every base table in every schema of a DuckDB file."""
    with duckdb.connect(str(path), read_only=True) as con:
        tables = con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' "
            "ORDER BY 1, 2"
        ).fetchall()
        for schema, table in tables:
            yield schema, table, con.execute(f'SELECT * FROM "{schema}"."{table}"').df()


def texts(home: Path, skip: tuple[str, ...] = ("landing",)) -> Iterator[tuple[Path, str]]:
    """(where, text) of every file under the data home except the folders in `skip`; a DuckDB file gives one
    text per table (`<file>/<schema>.<table>`)."""
    skipped = [home / folder for folder in skip]
    for path in sorted(home.rglob("*")):
        if not path.is_file() or any(path.is_relative_to(folder) for folder in skipped):
            continue
        if path.suffix == ".duckdb":
            for schema, table, frame in duckdb_tables(path):
                yield path / f"{schema}.{table}", frame.to_csv(index=False)
        elif path.suffix == ".parquet":
            yield path, pd.read_parquet(path).to_csv(index=False)
        else:
            yield path, path.read_bytes().decode("utf-8", errors="replace")


def find_personal_data(
    home: Path,
    names: set[str],
    phones: set[str],
    skip: tuple[str, ...] = ("landing",),
    any_phone: bool = False,
    identifiers: frozenset[str] = frozenset(),
) -> list[str]:
    """Every email address, IPv4 address (but a machine's own), known phone number (by its digits; with
    `any_phone`, also any number written like a phone number), known full name and known identifier (a survey
    tool's response id: it names the respondent inside the tool) found under the data home outside `skip`."""
    phone_digits = {re.sub(r"\D", "", phone)[-10:] for phone in phones if len(re.sub(r"\D", "", phone)) >= 10}
    lowered_names = {" ".join(name.lower().split()) for name in names if " " in name.strip()}
    found = []
    for path, text in texts(home, skip):
        found += [f"{path}: email {m}" for m in EMAIL.findall(text)]
        found += [f"{path}: IP {m}" for m in IPV4.findall(text) if not NOT_PERSONAL_IPS.match(m)]
        numbers = {m for m in DIGITS.findall(text) if re.sub(r"\D", "", m)[-10:] in phone_digits}
        if any_phone:
            numbers |= set(PHONE.findall(text))
        found += [f"{path}: phone {m}" for m in sorted(numbers)]
        words = WORD.findall(text.lower())
        found += [
            f"{path}: name {a} {b}"
            for a, b in zip(words, words[1:], strict=False)
            if f"{a} {b}" in lowered_names
        ]
        found += [f"{path}: identifier {known}" for known in sorted(identifiers) if known in text]
    return found


def find_secrets(home: Path, secrets: set[str], skip: tuple[str, ...] = ()) -> list[str]:
    """Every file (or DuckDB table) under the data home holding one of `secrets`; landing/ included by default."""
    return [
        f"{path}: {secret[:12]}..."
        for path, text in texts(home, skip)
        for secret in secrets
        if secret in text
    ]
