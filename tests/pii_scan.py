"""Scan everything a run wrote under the data home (outside landing/) for personal data and secrets.

DuckDB, Parquet and SQLite files (Dagster's storage) are read through their engines, every table and column as
text, so compressed strings are seen as text too; a SQLite blob is read unzipped when it is zlib data (Dagster
stores its snapshots so). A SQLite file's -wal and -shm companions are read through the database. Any other file
is read as bytes decoded leniently (logs, JSON state, CSV, dbt's msgpack).

Reading compressed bytes as text would both miss what they hide and, by chance, find an "address" in noise: one
run's runs.db once showed `l@L2ǟG.Ŕ5K0` inside a compressed snapshot. So the patterns are ASCII only, as the
addresses and numbers they look for are.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
import zlib
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd

EMAIL = re.compile(r"[A-Za-z0-9_.%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
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


def sqlite_tables(path: Path) -> Iterator[tuple[str, str]]:
    """(table, rows as text) of every table of a SQLite file, opened read-only."""
    with sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True) as con:
        tables = [
            name for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY 1")
        ]
        for table in tables:
            rows = con.execute(f'SELECT * FROM "{table}"').fetchall()
            yield table, "\n".join("\t".join(map(cell_text, row)) for row in rows)


def cell_text(value: object) -> str:
    if not isinstance(value, bytes):
        return str(value)
    with contextlib.suppress(zlib.error):  # not zlib data: read as it is
        value = zlib.decompress(value)
    return value.decode("utf-8", errors="replace")


def is_sqlite(path: Path) -> bool:
    with path.open("rb") as file:
        return file.read(16) == b"SQLite format 3\x00"


def texts(home: Path, skip: tuple[str, ...] = ("landing",)) -> Iterator[tuple[Path, str]]:
    """(where, text) of every file under the data home except the folders in `skip`; a DuckDB file gives one
    text per table (`<file>/<schema>.<table>`), a SQLite file too (`<file>/<table>`)."""
    skipped = [home / folder for folder in skip]
    for path in sorted(home.rglob("*")):
        if not path.is_file() or any(path.is_relative_to(folder) for folder in skipped):
            continue
        database = path.with_suffix(".db")
        if path.suffix in (".db-wal", ".db-shm") and database.is_file() and is_sqlite(database):
            continue  # read through the database
        if path.suffix == ".duckdb":
            for schema, table, frame in duckdb_tables(path):
                yield path / f"{schema}.{table}", frame.to_csv(index=False)
        elif is_sqlite(path):
            for table, text in sqlite_tables(path):
                yield path / table, text
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
