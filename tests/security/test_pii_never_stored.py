"""Reliability property 11 (docs/reliability.md) — PII never reaches the warehouse: after a whole run, every table of every schema of
warehouse.duckdb and published/metrics.duckdb, and every file under the data home except landing/ (raw Parquet,
published CSV/Parquet, the cursor files, Dagster's storage and logs) is scanned for email addresses, phone
numbers, the input rosters' and survey's names, and IP addresses: none is found.

The run (tests/security/conftest.py) loads sign-in sheets and an Eventbrite report (names, emails, phones, ZIPs), a
Qualtrics wave carrying the columns real exports have (IP address, recipient name and email, location, a free-text
answer naming a person and a phone number) and a portal's crime records with unmapped personal fields.
"""

from __future__ import annotations

import csv
import json
import re
import sqlite3
import zlib

import duckdb
import pandas as pd

from tests.pii_scan import PHONE, find_personal_data, texts
from tests.security.conftest import PORTAL_PERSONAL


def landing_people(landing) -> tuple[set[str], set[str]]:
    """Full names and phone numbers of every person in the run's input files, read from the files themselves."""
    names, phones = {PORTAL_PERSONAL["complainant_name"]}, {PORTAL_PERSONAL["complainant_phone"]}
    for file in sorted(landing.glob("demo_rosters_*/*.csv")) + sorted(landing.glob("demo_survey_*/*.csv")):
        with file.open(encoding="utf-8-sig", newline="") as handle:
            for row in csv.DictReader(handle):
                names.add(row.get("Name") or "")
                names.add(f"{row.get('First Name') or ''} {row.get('Last Name') or ''}")
                names.add(f"{row.get('RecipientFirstName') or ''} {row.get('RecipientLastName') or ''}")
                phones.add(row.get("Phone") or "")
                phones.update(PHONE.findall(row.get("Q_COMMENT") or ""))  # a free-text answer
    names = {" ".join(name.split()) for name in names if len(name.split()) >= 2}
    return names, {phone for phone in phones if sum(c.isdigit() for c in phone) >= 10}


def landing_response_ids(landing) -> frozenset[str]:
    """The survey tools' own response ids in the run's survey exports (Qualtrics R_..., SurveyMonkey numbers)."""
    ids = set()
    for file in sorted(landing.glob("demo_survey_*/*.csv")):
        with file.open(encoding="utf-8-sig", newline="") as handle:
            for row in csv.DictReader(handle):
                value = (row.get("ResponseId") or row.get("Respondent ID") or "").strip()
                if re.fullmatch(r"R_\w{5,}|\d{9,}", value):  # not the header rows below the names
                    ids.add(value)
    return frozenset(ids)


def test_the_inputs_hold_the_personal_data_the_scan_looks_for(security_run):
    """The scan is only as good as what it is given: the inputs must name people and hold their numbers."""
    landing = security_run.home / "landing"
    names, phones = landing_people(landing)
    ids = landing_response_ids(landing)
    assert {"Ada Lovelace", "Grace Hopper", "Rita Moreno", "Tom Jones", "Jane Roe"} <= names
    assert {"(312) 555-0142", "(312) 555-0199", "(312) 555-0188"} <= phones
    assert len(ids) >= 20
    found = find_personal_data(security_run.home, names, phones, skip=(), any_phone=True, identifiers=ids)
    assert len(found) >= 20 + len(ids)  # landing/


def test_no_personal_data_in_any_table_or_file_outside_landing(security_run):
    landing = security_run.home / "landing"
    names, phones = landing_people(landing)
    ids = landing_response_ids(landing)
    assert find_personal_data(security_run.home, names, phones, any_phone=True, identifiers=ids) == []


def test_every_schema_of_both_databases_was_scanned(security_run):
    """A scan that silently skipped a database (or a schema) would find nothing too."""
    scanned = [str(where) for where, _ in texts(security_run.home)]
    warehouse = security_run.home / "warehouse.duckdb"
    # `current` links to the version folder the scan walks (and the previous version's snapshot is scanned too).
    published = (security_run.home / "published" / "current").resolve() / "metrics.duckdb"
    for database in (warehouse, published):
        with duckdb.connect(str(database), read_only=True) as con:
            tables = con.execute(
                "SELECT table_schema || '.' || table_name FROM information_schema.tables "
                "WHERE table_type = 'BASE TABLE'"
            ).fetchall()
        assert tables
        for (table,) in tables:
            assert str(database / table) in scanned
    schemas = {where.split("/")[-1].split(".")[0] for where in scanned if str(warehouse) in where}
    assert {"raw", "quarantine", "meta", "published"} <= schemas
    assert any("/parsed/demo_rosters_signin/" in where for where in scanned)
    assert any(where.endswith("portal_crimes.json") for where in scanned)


def test_refused_rows_keep_no_personal_data_either(security_run):
    """Quarantine keeps a refused row's original values: only those that were mapped, already pseudonymized."""
    with duckdb.connect(str(security_run.home / "warehouse.duckdb"), read_only=True) as con:
        records = con.execute(
            "SELECT source, record FROM quarantine.demo_rosters_signin "
            "UNION ALL SELECT source, record FROM quarantine.demo_survey_qualtrics"
        ).df()
    assert set(records["source"]) == {"demo_rosters_signin", "demo_survey_qualtrics"}
    keys = set().union(*(json.loads(record) for record in records["record"]))
    assert not keys & {"email", "phone", "name", "first_name", "last_name", "zip", "ipaddress"}


def test_the_scan_finds_planted_personal_data(tmp_path):
    """The scanner itself fails when it should: a table in a DuckDB schema, a Parquet column, a text file and a
    SQLite file (Dagster's storage: a text column and a zlib-compressed blob), and not on compressed noise that
    once looked like an address (`l@L2ǟG.Ŕ5K0`, in a snapshot blob of a real run)."""
    home = tmp_path
    (home / "landing" / "x").mkdir(parents=True)
    (home / "landing" / "x" / "roster.csv").write_text(
        "Ada Lovelace,ada@example.org\n"
    )  # inputs: not scanned
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        con.execute("CREATE SCHEMA quarantine; CREATE TABLE quarantine.x (record VARCHAR)")
        con.execute('INSERT INTO quarantine.x SELECT \'{"email": "grace@example.org"}\' FROM range(5000)')
    (home / "parsed").mkdir()
    pd.DataFrame({"phone": ["312.555.0142"] * 1000}).to_parquet(home / "parsed" / "load.parquet")
    (home / "log.txt").write_text(
        "login from 203.0.113.77 by rita moreno; portal at 127.0.0.1; response R_2YPOQ602ER1jkf1\n"
    )
    with sqlite3.connect(home / "runs.db") as con:
        con.execute("CREATE TABLE snapshots (body TEXT, snapshot_body BLOB)")
        con.execute(
            "INSERT INTO snapshots VALUES ('tags: alan@example.org', ?)",
            (zlib.compress(b"by kurt@example.org"),),
        )
        con.execute("INSERT INTO snapshots VALUES ('', ?)", ("\x00l@L2ǟG.Ŕ5K0\x01".encode(),))
    con.close()
    found = find_personal_data(
        home,
        {"Rita Moreno", "Ada Lovelace"},
        set(),
        any_phone=True,
        identifiers=frozenset({"R_2YPOQ602ER1jkf1"}),
    )
    assert sorted({f.split(": ", 1)[1] for f in found}) == [
        "IP 203.0.113.77",
        "email alan@example.org",
        "email grace@example.org",
        "email kurt@example.org",
        "identifier R_2YPOQ602ER1jkf1",
        "name rita moreno",
        "phone 312.555.0142",
    ]
