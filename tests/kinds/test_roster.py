"""Rosters: Eventbrite attendee reports, sign-in sheets (CSV and XLSX) and Google Forms registrations, parsed and
validated against a calendar loaded in a real DuckDB warehouse."""

from __future__ import annotations

import textwrap

import pandas as pd
import pytest

from pipelines.kinds import events, roster
from pipelines.kinds.base import Context
from pipelines.pii import MissingSaltError, person_key, pseudonymize
from pipelines.sources import load_source
from pipelines.warehouse import connect, ensure_tables, write_load
from tests.conftest import TEST_SALT

CALENDAR = """\
Event ID,Title,Start,Neighborhood
EV1,Alder Park Beat Meeting,2024-01-09 18:30,N01
EV2,Alder Park Beat Meeting,2024-02-13 18:30,N01
EV3,Youth Night,2024-02-13 17:00,N01
EV4,Youth Night,2024-02-13 19:00,N01
"""


def spec(tmp_path, name: str, body: str):
    path = tmp_path / f"{name}.yml"
    path.write_text(textwrap.dedent(body))
    return load_source(path)


@pytest.fixture
def context(tmp_path):
    """A warehouse with one neighborhood and the calendar above loaded as source `calendar`."""
    with connect(tmp_path / "warehouse.duckdb") as con:
        ensure_tables(con, "places", "geography")
        con.execute("INSERT INTO raw.places (neighborhood_id, name) VALUES ('N01', 'Alder Park')")
        calendar_spec = spec(
            tmp_path,
            "calendar",
            """
            name: calendar
            kind: events
            timestamp_format: "%Y-%m-%d %H:%M"
            columns: {event_id: Event ID, title: Title, starts_at: Start, neighborhood: Neighborhood}
            """,
        )
        file = tmp_path / "calendar.csv"
        file.write_text(CALENDAR)
        ctx = Context(con, neighborhood_sources=["places"], event_sources=["calendar"])
        raw = events.parse(calendar_spec, file)
        loaded, quarantined = events.validate(calendar_spec, raw, ctx)
        assert quarantined.empty
        ensure_tables(con, "calendar", "events")
        write_load(
            con,
            spec=calendar_spec,
            load_id="l1",
            file="calendar.csv",
            loaded_at=ctx.now,
            raw=raw,
            loaded=loaded,
            quarantined=quarantined,
        )
        yield ctx


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
    )
    raw = roster.parse(eventbrite, file, TEST_SALT)
    assert not {"email", "first_name", "last_name"} & set(raw.columns), "PII ends at parse"
    assert "Lovelace" not in raw.to_csv()
    loaded, quarantined = roster.validate(eventbrite, raw, context)
    assert loaded["present"].tolist() == [True, False]
    assert loaded["person_id"].iloc[0] == person(email="ada.lovelace@example.org")
    assert quarantined["_reason"].tolist() == ["unknown_event"]


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
    loaded, quarantined = roster.validate(signin, roster.parse(signin, file, TEST_SALT), context)
    assert loaded["person_id"].tolist() == [
        person(phone="312-744-6321"),
        person(phone="312-744-6321"),
        person(name="sam lee", zip_code="60602"),
    ]
    assert loaded["present"].all()
    assert quarantined["_reason"].tolist() == ["no_identity"]


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
    )
    loaded, quarantined = roster.validate(forms, roster.parse(forms, file, TEST_SALT), context)
    assert loaded["event_id"].tolist() == ["EV1", "EV2"]
    assert loaded["person_id"].nunique() == 1  # Gmail dots and +tags fold: one person at two meetings
    # No meeting that day; two "Youth Night" events that day: refused rather than guessed.
    assert quarantined["_reason"].tolist() == ["unknown_event", "ambiguous_event"]


def test_a_roster_needs_an_event_and_a_salt(tmp_path):
    from pipelines.kinds.base import SourceError

    with pytest.raises(SourceError, match="event_id.*event_name"):
        spec(tmp_path, "bad", "name: bad\nkind: roster\ncolumns: {name: Name}\n")
    good = spec(tmp_path, "good", "name: good\nkind: roster\ncolumns: {event_id: Event, name: Name}\n")
    file = tmp_path / "sheet.csv"
    file.write_text("Event,Name\nEV1,Ada\n")
    with pytest.raises(MissingSaltError, match="NBHD_PII_SALT"):
        roster.parse(good, file, None)
