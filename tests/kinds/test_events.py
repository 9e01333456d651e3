"""Event calendars through the interface (land, then validate into a real warehouse): event types by the first
matching rule, neighborhoods by id, name or crosswalk answer, areas read from titles and mapped by a crosswalk,
ids digested where a calendar has none, and each reason code in its order with its detail. Expected values are
computed here in plain Python."""

from __future__ import annotations

import hashlib
import json
import re

import pytest

from pipelines.errors import SourceError
from pipelines.kinds import KINDS
from pipelines.kinds.base import Context
from pipelines.warehouse import connect, ensure_tables
from tests.kinds.loading import load, spec

RULES = [("beat meeting", "beat_meeting"), ("clean-?up", "cleanup"), ("youth", "youth_program")]

CALENDAR_YAML = """
name: calendar
kind: events
timestamp_format: "%Y-%m-%d %H:%M"
columns: {event_id: Event ID, title: Title, starts_at: Start, neighborhood: Neighborhood, program_id: Program}
event_types:
  - {pattern: "beat meeting", type: beat_meeting}
  - {pattern: "clean-?up", type: cleanup}
  - {pattern: "youth", type: youth_program}
default_event_type: other
neighborhood_crosswalk: answers.csv
max_quarantine_share: 1
"""
# "Birch Hill" is N02's name, but the crosswalk's answer wins; "Nowhere Land" maps to a neighborhood no boundary
# defines.
ANSWERS = "answer,neighborhood_id\nbirch hill,N01\nNowhere Land,N99\n"
# (Event ID, Title, Start, Neighborhood, Program) -> the expected reason (None: loaded) and detail.
ROWS = [
    (("E1", "Alder Park Beat Meeting", "2024-01-09 18:30", "alder  PARK", "P1"), None, None),
    ((" E2 ", "Youth Clean-up Day", "2024-01-10 10:00", "N02", ""), None, None),
    (("", "Workshop", "2024-01-11 10:00", "N01", ""), "missing_event_id", "Event ID: blank"),
    (("E4", "Workshop", "2024-13-45 10:00", "N01", ""), "unparseable_starts_at", "Start: '2024-13-45 10:00'"),
    (
        ("E5", "Picnic", "2024-01-12 12:00", "Nowhere Land", ""),
        "unknown_neighborhood",
        "Neighborhood: 'Nowhere Land'",
    ),
    (("E6", "Picnic", "2024-01-12 12:00", "", ""), "unknown_neighborhood", "Neighborhood, district: blank"),
    (
        ("E1", "Alder Park Beat Meeting", "2024-01-09 18:30", "N01", ""),
        "duplicate_event_id",
        "Event ID: 'E1'",
    ),
    (("E8", "Birch Hill Social", "2024-01-13 18:00", "Birch Hill", ""), None, None),
    # E4's first row was refused, yet this one repeats its id: refused too (which of the two is right is unknown).
    (("E4", "Workshop", "2024-01-14 10:00", "N01", ""), "duplicate_event_id", "Event ID: 'E4'"),
    (("E10", "Youth Night", "", "N01", ""), "unparseable_starts_at", "Start: blank"),
]
NEIGHBORHOODS = {"E1": "N01", "E2": "N02", "E8": "N01"}


@pytest.fixture
def context(tmp_path):
    with connect(tmp_path / "warehouse.duckdb", allowed=[tmp_path]) as con:
        ensure_tables(con, "places", KINDS["geography"].columns)
        con.execute(
            "INSERT INTO raw.places (neighborhood_id, name) VALUES ('N01', 'Alder Park'), ('N02', 'Birch Hill')"
        )
        yield Context(con, {"geography": ["places"]})


def event_type(title: str) -> str:
    return next((kind for pattern, kind in RULES if re.search(pattern, title, re.IGNORECASE)), "other")


def test_a_calendar_is_typed_placed_and_refused_row_by_row(tmp_path, context):
    (tmp_path / "answers.csv").write_text(ANSWERS)
    calendar = spec(tmp_path, "calendar", CALENDAR_YAML)
    file = tmp_path / "calendar.csv"
    file.write_text(
        "Event ID,Title,Start,Neighborhood,Program,Contact\n"
        + "".join(",".join(values) + ",someone@example.org\n" for values, _, _ in ROWS)
    )
    _, loaded, quarantined = load(tmp_path, calendar, file, context)

    kept = [(row, values) for row, (values, reason, _) in enumerate(ROWS, start=2) if reason is None]
    assert loaded["_row"].tolist() == [row for row, _ in kept]
    assert loaded["event_id"].tolist() == [values[0].strip() for _, values in kept]
    assert loaded["title"].tolist() == [values[1] for _, values in kept]
    assert loaded["event_type"].tolist() == [event_type(values[1]) for _, values in kept]
    assert [str(value) for value in loaded["starts_at"]] == [f"{values[2]}:00" for _, values in kept]
    assert loaded["neighborhood_id"].tolist() == [NEIGHBORHOODS[values[0].strip()] for _, values in kept]
    assert loaded["program_id"].fillna("(null)").tolist() == ["P1", "(null)", "(null)"]

    refused = [(row, reason, detail) for row, (_, reason, detail) in enumerate(ROWS, start=2) if reason]
    assert quarantined[["_row", "reason", "detail"]].values.tolist() == [list(each) for each in refused]
    # The record is the row as the file has it (the mapped columns only).
    first = ROWS[refused[0][0] - 2][0]
    assert json.loads(quarantined["record"][0]) == {
        "event_id": first[0],
        "title": first[1],
        "starts_at": first[2],
        "neighborhood": first[3],
        "area": "",
        "district": "",
        "program_id": first[4],
    }


AREA_YAML = """
name: beats
kind: events
timestamp_format: "%Y-%m-%dT%H:%M:%S"
columns: {title: title, starts_at: start, district: calendarId}
area: {zero_pad: 4, crosswalk: areas.csv}
event_types:
  - {pattern: "\\\\bbeat\\\\b", type: beat_meeting}
max_quarantine_share: 1
"""
# (title, start, calendarId) -> the expected area code, neighborhood and reason.
RECORDS = [
    (("Beat 111 meeting", "2024-01-09T18:30:00", 1), "0111", "N01", None),
    (("DAC meeting", "2024-01-10T18:30:00", 1), None, None, None),  # district-wide: no neighborhood
    (("Beat 9999", "2024-01-11T18:30:00", 2), "9999", None, "unknown_neighborhood"),
    (("Beat 222", "2024-01-11T18:30:00", 2), "0222", None, "unknown_neighborhood"),  # mapped to N99
    (("Picnic", "2024-01-12T12:00:00", None), None, None, "unknown_neighborhood"),
    (("  beat 111   MEETING ", "2024-01-09T18:30:00", 1), "0111", "N01", "duplicate_event_id"),
    (("Beat 111", "tomorrow", 1), "0111", "N01", "unparseable_starts_at"),
]


def digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(" ".join(part.split()).lower() for part in parts).encode()).hexdigest()[
        :20
    ]


def test_a_calendar_without_ids_or_neighborhoods(tmp_path, context):
    (tmp_path / "areas.csv").write_text("area_code,neighborhood_id\n0111,N01\n0222,N99\n")
    beats = spec(tmp_path, "beats", AREA_YAML)
    file = tmp_path / "beats.json"
    file.write_text(
        json.dumps(
            [
                {"title": title, "start": start, **({"calendarId": district} if district else {})}
                for (title, start, district), *_ in RECORDS
            ]
        )
    )
    parsed, loaded, quarantined = load(tmp_path, beats, file, context)

    ids = [digest(str(district or ""), title, start) for (title, start, district), *_ in RECORDS]
    assert parsed["event_id"].tolist() == ids
    kept = [index for index, (*_, reason) in enumerate(RECORDS) if reason is None]
    assert loaded["event_id"].tolist() == [ids[index] for index in kept]
    assert loaded["area_code"].fillna("(null)").tolist() == [RECORDS[index][1] or "(null)" for index in kept]
    assert loaded["neighborhood_id"].fillna("(null)").tolist() == [
        RECORDS[index][2] or "(null)" for index in kept
    ]
    assert loaded["district"].tolist() == ["1", "1"]
    assert loaded["event_type"].tolist() == ["beat_meeting", "other"]
    assert quarantined[["_row", "reason", "detail"]].values.tolist() == [
        [3, "unknown_neighborhood", "area code in title: '9999'"],
        [4, "unknown_neighborhood", "area code in title: '0222'"],
        [5, "unknown_neighborhood", "neighborhood, calendarId: blank"],
        [6, "duplicate_event_id", f"event id (a digest of district, title and start): '{ids[5]}'"],
        [7, "unparseable_starts_at", "start: 'tomorrow'"],
    ]


def test_a_pattern_duckdb_cannot_read_is_named(tmp_path, context):
    calendar = spec(
        tmp_path,
        "lookahead",
        """
        name: lookahead
        kind: events
        timestamp_format: "%Y-%m-%d %H:%M"
        columns: {event_id: Event ID, title: Title, starts_at: Start, neighborhood: Neighborhood}
        event_types:
          - {pattern: "youth", type: youth_program}
          - {pattern: "beat(?= meeting)", type: beat_meeting}
        """,
    )
    file = tmp_path / "calendar.csv"
    file.write_text("Event ID,Title,Start,Neighborhood\nE1,Beat meeting,2024-01-09 18:30,N01\n")
    with pytest.raises(
        SourceError, match=r"lookahead: field 'event_types\[1\].pattern': 'beat\(\?= meeting\)'"
    ):
        load(tmp_path, calendar, file, context)
