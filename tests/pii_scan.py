"""Scan everything a run wrote under the data home (outside landing/) for personal data.

DuckDB and Parquet files are read through their engines, so compressed strings are seen as text too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")
DIGITS = re.compile(r"\d[\d\s().+-]{8,}\d")
WORD = re.compile(r"[a-z][a-z'-]+")


def texts(home: Path) -> Iterator[tuple[Path, str]]:
    for path in sorted(home.rglob("*")):
        if not path.is_file() or path.is_relative_to(home / "landing"):
            continue
        if path.suffix == ".duckdb":
            with duckdb.connect(str(path), read_only=True) as con:
                tables = con.execute(
                    "SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'"
                ).fetchall()
                for schema, table in tables:
                    frame = con.execute(f'SELECT * FROM "{schema}"."{table}"').df()
                    yield path / f"{schema}.{table}", frame.to_csv(index=False)
        elif path.suffix == ".parquet":
            yield path, pd.read_parquet(path).to_csv(index=False)
        else:
            yield path, path.read_bytes().decode("utf-8", errors="replace")


def find_personal_data(home: Path, names: set[str], phones: set[str]) -> list[str]:
    """Every email address, IPv4 address, known phone number (by its digits) or known full name found."""
    phone_digits = {re.sub(r"\D", "", phone)[-10:] for phone in phones if len(re.sub(r"\D", "", phone)) >= 10}
    lowered_names = {" ".join(name.lower().split()) for name in names if " " in name.strip()}
    found = []
    for path, text in texts(home):
        found += [f"{path}: email {m}" for m in EMAIL.findall(text)]
        found += [f"{path}: IP {m}" for m in IPV4.findall(text)]
        found += [
            f"{path}: phone {m}" for m in DIGITS.findall(text) if re.sub(r"\D", "", m)[-10:] in phone_digits
        ]
        words = WORD.findall(text.lower())
        found += [
            f"{path}: name {a} {b}"
            for a, b in zip(words, words[1:], strict=False)
            if f"{a} {b}" in lowered_names
        ]
    return found
