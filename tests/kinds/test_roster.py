"""Rosters: Eventbrite attendee reports, sign-in sheets (CSV and XLSX) and Google Forms registrations, parsed and
validated against a calendar loaded in a real DuckDB warehouse."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from pipelines.kinds import KINDS
from pipelines.kinds.base import Context, SourceError
from pipelines.pii import MissingSaltError, person_key, pseudonymize
from pipelines.warehouse import connect, ensure_tables
from tests.conftest import TEST_SALT
from tests.kinds.loading import load, spec

CALENDAR = """\
Event ID,Title,Start,Neighborhood
EV1,Alder Park Beat Meeting,2024-01-09 18:30,N01
EV2,Alder Park Beat Meeting,2024-02-13 18:30,N01
EV3,Youth Night,2024-02-13 17:00,N01
EV4,Youth Night,2024-02-13 19:00,N01
EV5,Cleanup,not a date,N01
"""


@pytest.fixture
def context(tmp_path):
    """A warehouse with one neighborhood and the calendar above loaded as source `calendar` (its row with an
    unreadable start quarantined)."""
    with connect(tmp_path / "warehouse.duckdb", allowed=[tmp_path]) as con:
        ensure_tables(con, "places", KINDS["geography"].columns)
        con.execute("INSERT INTO raw.places (neighborhood_id, name) VALUES ('N01', 'Alder Park')")
        calendar_spec = spec(
            tmp_path,
            "calendar",
            """
            name: calendar
            kind: events
            timestamp_format: "%Y-%m-%d %H:%M"
            columns: {event_id: Event ID, title: Title, starts_at: Start, neighborhood: Neighborhood}
            max_quarantine_share: 1
            """,
        )
        file = tmp_path / "calendar.csv"
        file.write_text(CALENDAR)
        _, loaded, quarantined = load(
            tmp_path, calendar_spec, file, Context(con, {"geography": ["places"]}), salt=None
        )
        assert loaded["event_id"].tolist() == ["EV1", "EV2", "EV3", "EV4"]
        assert quarantined["reason"].tolist() == ["unparseable_starts_at"]
        yield Context(con, {"events": ["calendar"]})


def person(email="", phone="", name="", zip_code=""):
    return pseudonymize(person_key(email, phone, name, zip_code), TEST_SALT)


def test_eventbrite_report_counts_checked_in_attendees_only(tmp_path, context):
    eventbrite = spec(
        tmp_path,
        "eventbrite",
        """
        name: eventbrite
        kind: roster
        columns: {event_id: Event ID, first_name: First Name, last_name: Last Name, email: Email,
                  age_group: Age Group, status: Attendee Status}
        present_statuses: ["Checked In"]
        """,
    )
    file = tmp_path / "attendees.csv"
    file.write_text(
        "Order #,Order Date,First Name,Last Name,Email,Quantity,Ticket Type,Attendee #,Event ID,Age Group,"
        "Attendee Status\n"
        "1,2024-01-02,Ada,Lovelace,Ada.Lovelace@Example.org,2,GA,1,EV1,55+,Checked In\n"
        "1,2024-01-02,Guest,Of Ada,,2,GA,2,EV1,,Attending\n"
        "2,2024-01-03,Grace,Hopper,grace@example.org,1,GA,3,EV404,35-54,Checked In\n"
        "3,2024-01-04,Alan,Turing,alan@example.org,1,GA,4, ,18-24,Checked In\n"
        # EV5's calendar row was quarantined (its start is unreadable): the attendance itself is fine.
        "4,2024-01-05,Edsger,Dijkstra,edsger@example.org,1,GA,5, EV5 ,,checked  in\n"
    )
    parsed, loaded, quarantined = load(tmp_path, eventbrite, file, context)
    assert list(parsed.columns) == [
        "event_id",
        "event_name",
        "event_date",
        "age_group",
        "status",
        "person_id",
    ]
    assert b"Lovelace" not in (tmp_path / "eventbrite-attendees.parquet").read_bytes(), "PII ends at landing"
    assert loaded["_row"].tolist() == [2, 3, 6]
    assert loaded["event_id"].tolist() == ["EV1", "EV1", "EV5"]
    assert loaded["present"].tolist() == [True, False, True]
    assert loaded["age_group"].fillna("(null)").tolist() == ["55+", "(null)", "(null)"]
    assert loaded["person_id"].tolist() == [
        person(email="ada.lovelace@example.org"),
        person(name="guest of ada"),
        person(email="edsger@example.org"),
    ]
    assert quarantined[["_row", "reason", "detail"]].values.tolist() == [
        [4, "unknown_event", "Event ID: 'EV404'"],
        [5, "missing_event_id", "Event ID: blank"],
    ]
    assert json.loads(quarantined["record"][0])["event_id"] == "EV404"


def test_sign_in_sheet_xlsx(tmp_path, context):
    signin = spec(
        tmp_path,
        "signin",
        """
        name: signin
        kind: roster
        columns: {event_id: Event ID, name: Name, email: Email, phone: Phone, zip: ZIP, age_group: Age Group}
        """,
    )
    file = tmp_path / "signin.xlsx"
    pd.DataFrame(
        [
            ["EV2", "Rita Moreno", "", "(312) 744-6321", "", "18-24"],
            ["EV2", "RITA MORENO", "", "+1 312 744 6321", "", "18-24"],  # listed twice: one person
            ["EV2", "Sam Lee", "", "", "60602", "under 18"],
            ["EV2", "", "", "", "", ""],
        ],
        columns=["Event ID", "Name", "Email", "Phone", "ZIP", "Age Group"],
    ).to_excel(file, index=False)
    _, loaded, quarantined = load(tmp_path, signin, file, context)
    assert loaded["person_id"].tolist() == [
        person(phone="312-744-6321"),
        person(phone="312-744-6321"),
        person(name="sam lee", zip_code="60602"),
    ]
    assert loaded["present"].all()
    assert quarantined[["_row", "reason", "detail"]].values.tolist() == [
        [5, "no_identity", "Email, Phone, Name: blank"]
    ]


def test_google_forms_registration_matches_event_by_name_and_date(tmp_path, context):
    forms = spec(
        tmp_path,
        "forms",
        """
        name: forms
        kind: roster
        columns: {event_name: "Which meeting?", event_date: Meeting date, name: Full name, email: Email Address}
        event_date_format: "%m/%d/%Y"
        """,
    )
    file = tmp_path / "forms.csv"
    file.write_text(
        "Timestamp,Email Address,Full name ,Which meeting?,Meeting date\n"
        "1/5/2024 10:00:00,Tom.Jones+caps@gmail.com,Tom Jones,alder park  BEAT meeting,01/09/2024\n"
        "2/1/2024 10:00:00,tomjones@gmail.com,T. Jones,Alder Park Beat Meeting,02/13/2024\n"
        "2/1/2024 11:00:00,tjones@example.net,Tom Jones,Alder Park Beat Meeting,02/14/2024\n"
        "2/1/2024 12:00:00,kid@example.org,Kid,Youth Night,02/13/2024\n"
        "2/1/2024 13:00:00,ann@example.org,Ann,  ,02/13/2024\n"
    )
    _, loaded, quarantined = load(tmp_path, forms, file, context)
    assert loaded["event_id"].tolist() == ["EV1", "EV2"]
    assert loaded["person_id"].nunique() == 1  # Gmail dots and +tags fold: one person at two meetings
    # No meeting that day; two "Youth Night" events that day: refused rather than guessed; no event named.
    assert quarantined[["_row", "reason", "detail"]].values.tolist() == [
        [4, "unknown_event", "Which meeting?: 'Alder Park Beat Meeting', Meeting date: '02/14/2024'"],
        [5, "ambiguous_event", "Which meeting?: 'Youth Night', Meeting date: '02/13/2024'"],
        [6, "missing_event_id", "Which meeting?: blank, Meeting date: '02/13/2024'"],
    ]


def test_a_roster_needs_an_event_and_a_salt(tmp_path):
    with pytest.raises(SourceError, match="event_id.*event_name"):
        spec(tmp_path, "bad", "name: bad\nkind: roster\ncolumns: {name: Name}\n")
    good = spec(tmp_path, "good", "name: good\nkind: roster\ncolumns: {event_id: Event, name: Name}\n")
    file = tmp_path / "sheet.csv"
    file.write_text("Event,Name\nEV1,Ada\n")
    with pytest.raises(MissingSaltError, match="NBHD_PII_SALT"), connect(None, allowed=[tmp_path]) as con:
        KINDS["roster"].land(good, file, tmp_path / "parsed.parquet", {}, con, None)
    assert not (tmp_path / "parsed.parquet").exists()


def test_a_report_of_one_event_names_it_once_for_every_row(tmp_path, context):
    """An Eventbrite attendee report is exported per event and has no event column: the source's `event_id`
    names the event of every row. The report's CRLF lines, offset order dates and empty trailing columns load."""
    body = """
        name: report
        kind: roster
        event_id: {event}
        columns: {{first_name: First Name, last_name: Last Name, email: Email, status: Attendee Status}}
        present_statuses: ["Checked In"]
        """
    file = tmp_path / "report.csv"
    file.write_bytes(
        b"Order #,Order Date,First Name,Last Name,Email,Attendee Status,Cell Phone,Shipping Zip\r\n"
        b"1,2024-01-02 19:09:08-05:00,Ada,Lovelace,ada@example.org,Checked In,,\r\n"
        b"2,2024-01-03 10:00:00-05:00,Grace,Hopper,grace@example.org,Attending,,\r\n"
        b"3,2024-01-03 11:00:00-05:00,,,,Checked In,,\r\n"
    )
    _, loaded, quarantined = load(tmp_path, spec(tmp_path, "report", body.format(event="EV1")), file, context)
    assert loaded[["_row", "event_id", "person_id", "present"]].values.tolist() == [
        [2, "EV1", person(email="ada@example.org"), True],
        [3, "EV1", person(email="grace@example.org"), False],
    ]
    assert quarantined[["_row", "reason"]].values.tolist() == [[4, "no_identity"]]
    other = tmp_path / "other"
    other.mkdir()
    (other / file.name).write_bytes(file.read_bytes())
    _, loaded, quarantined = load(
        other, spec(other, "report", body.format(event="EV404")), other / file.name, context
    )
    assert loaded.empty
    assert quarantined[["_row", "reason", "detail"]].values.tolist() == [
        [2, "unknown_event", "event_id: 'EV404' (the source's, for every row)"],
        [3, "unknown_event", "event_id: 'EV404' (the source's, for every row)"],
        [4, "no_identity", "Email, First Name, Last Name: blank"],
    ]
    with pytest.raises(SourceError, match="event_id names the one event of every row"):
        spec(
            tmp_path,
            "both",
            body.format(event="EV1").replace("columns: {", "columns: {event_id: Attendee Status, "),
        )
