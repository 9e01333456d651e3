"""Reliability property 10 (docs/reliability.md) — Bad input gets a clear error and nothing else: empty files, a wrong delimiter, a wrong encoding
(Latin-1; UTF-8 with a BOM simply works), a line too long to be a CSV row, a file that is not CSV, a survey export
from an unknown tool, a GeoJSON with invalid polygons. Each gets one error naming the file, and the rest of the
run is unaffected: the other files of the source and the other sources still load.

Every kind's own parser (`Kind.land`, what `ingest.land` calls for a landing file) is fed each bad
file; then whole landing folders go through `ingest.land` / `ingest.validate`.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest

from pipelines import ingest
from pipelines.checks.load_checks import QUARANTINE_SHARE
from pipelines.kinds.base import SourceError
from pipelines.parsers import tables
from pipelines.warehouse import connect
from tests.conftest import TEST_SALT, parse_file
from tests.reliability._helpers import (
    DEMO_CROSSWALK,
    drop,
    land_and_load,
    make_paths,
    query,
    with_neighborhoods,
    write_source,
)

# Per kind: a source definition and a good CSV (one cell holds "Café", so the encodings differ).
CSV_KINDS: dict[str, tuple[str, list[list[str]]]] = {
    "survey": (
        """
        name: wave
        kind: survey
        timestamp_format: "%Y-%m-%d %H:%M:%S"
        columns: {response_id: ResponseId, submitted_at: RecordedDate, neighborhood: Q_NBHD}
        scale: {"1": 1, "2": 2, "3": 3, "4": 4, "5": 5}
        items: [{column: T1, construct: trust}]
        """,
        [
            ["ResponseId", "RecordedDate", "Q_NBHD", "T1"],
            ["Response ID", "Recorded Date", "Where do you live?", "I trust the police"],
            [
                '{"ImportId":"_recordId"}',
                '{"ImportId":"recordedDate"}',
                '{"ImportId":"QID1"}',
                '{"ImportId":"QID2"}',
            ],
            ["R_1", "2024-02-01 10:00:00", "Café Row", "4"],
            ["R_2", "2024-02-02 10:00:00", "Alder Park", "5"],
        ],
    ),
    "roster": (
        """
        name: sheet
        kind: roster
        columns: {event_id: Event ID, name: Name, email: Email, zip: ZIP}
        """,
        [["Event ID", "Name", "Email", "ZIP"], ["EV1", "Zoë Café", "zoe@example.org", "60601"]],
    ),
    "events": (
        """
        name: calendar
        kind: events
        timestamp_format: "%Y-%m-%d %H:%M"
        columns: {event_id: Event ID, title: Title, starts_at: Start, neighborhood: Neighborhood}
        """,
        [["Event ID", "Title", "Start", "Neighborhood"], ["EV1", "Café meeting", "2024-01-09 18:30", "N01"]],
    ),
    "population": (
        "name: people\nkind: population\n",
        [["neighborhood_id", "population"], ["N01", "12000"], ["Café", "10"]],
    ),
    "programs": (
        "name: programs\nkind: programs\n",
        [
            ["program_id", "name", "neighborhood_id", "start_date", "end_date"],
            ["P1", "Café talks", "N01", "2024-01-01", ""],
        ],
    ),
    "crime": (
        """
        name: crimes
        kind: crime
        timestamp_format: "%m/%d/%Y %I:%M:%S %p"
        columns: {incident_id: ID, occurred_at: Date, offense_code: FBI Code, offense_description: Block}
        offense_crosswalk: crosswalk.csv
        """,
        [["ID", "Date", "Block", "FBI Code"], ["1", "01/09/2024 06:30:00 PM", "001XX W CAFÉ ST", "06"]],
    ),
}


def csv_text(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def good(kind: str) -> str:
    return csv_text(CSV_KINDS[kind][1])


def long_line(kind: str) -> bytes:
    """A data row of ~3 MB in one cell: above the lowered limit here, and above DuckDB's default line size."""
    rows = [list(row) for row in CSV_KINDS[kind][1]]
    rows[-1][-1] = "x" * 3_000_000
    return csv_text(rows).encode()


# bad file -> (its bytes, what the error must say besides the file name; None: only the file name)
BAD_FILES = {
    "empty": (lambda kind: b"", r"empty|no rows"),
    "blank_lines": (lambda kind: b"\n\n\r\n\n", r"empty|no rows|blank"),
    "semicolons": (lambda kind: good(kind).replace(",", ";").encode(), r"semicolon"),
    "tabs": (lambda kind: good(kind).replace(",", "\t").encode(), r"tab"),
    "utf16": (lambda kind: good(kind).encode("utf-16"), r"UTF-16"),
    "binary": (
        lambda kind: b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4,
        r"not a CSV|not UTF-8",
    ),
    "zip_named_csv": (
        lambda kind: b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00" + b"\x00" * 64,
        r"not a CSV",
    ),
    "html": (
        lambda kind: b"<!DOCTYPE html>\n<html><body><h1>Session expired</h1></body></html>\n",
        r"missing required column|not a survey export",
    ),
    "long_line": (long_line, r"longer than"),
}


def spec_for(paths, kind: str):
    body, _ = CSV_KINDS[kind]
    crosswalks = {"crosswalk.csv": DEMO_CROSSWALK} if kind == "crime" else None
    return write_source(paths, kind, body, crosswalks)


@pytest.fixture
def paths(tmp_path):
    return make_paths(tmp_path)


@pytest.fixture
def lower_line_limit(monkeypatch):
    monkeypatch.setattr(tables, "MAX_LINE_BYTES", 1_000_000)


def refused(kind: str, spec, file: Path) -> str:
    with pytest.raises(SourceError) as error:
        parse_file(spec, file, TEST_SALT)
    message = str(error.value)
    assert str(file) in message, f"the error does not name the file: {message}"
    assert "Traceback" not in message and len(message) < 2000, message
    return message


@pytest.mark.parametrize("bad", sorted(BAD_FILES))
@pytest.mark.parametrize("kind", sorted(CSV_KINDS))
def test_a_bad_csv_gets_one_clear_error_naming_the_file(paths, lower_line_limit, kind, bad):
    spec = spec_for(paths, kind)
    content, says = BAD_FILES[bad]
    file = drop(paths, spec.name, f"{bad}.csv", content(kind))
    assert re.search(says, refused(kind, spec, file), flags=re.IGNORECASE)


@pytest.mark.parametrize("kind", sorted(CSV_KINDS))
def test_utf8_with_a_bom_simply_works(paths, kind):
    spec = spec_for(paths, kind)
    plain = parse_file(spec, drop(paths, spec.name, "plain.csv", good(kind)), TEST_SALT)
    with_bom = parse_file(
        spec, drop(paths, spec.name, "bom.csv", ("\ufeff" + good(kind)).encode()), TEST_SALT
    )
    assert len(plain) >= 1
    assert with_bom.equals(plain)  # the first column is found under its name, values are the same


@pytest.mark.parametrize("kind", sorted(CSV_KINDS))
def test_latin1_is_refused_with_one_clear_error(paths, kind):
    """Guessing an encoding could load mojibake; the file is refused, saying what to do."""
    spec = spec_for(paths, kind)
    file = drop(paths, spec.name, "latin1.csv", good(kind).encode("latin-1"))
    message = refused(kind, spec, file)
    assert "not UTF-8 text" in message and "re-export the file as UTF-8 CSV" in message


def test_a_line_over_the_limit_is_refused_before_it_is_read_into_memory(paths, monkeypatch):
    """The check reads the file in blocks: a line longer than the limit is refused without parsing; a file of
    many ordinary lines far longer than the limit in total is fine."""
    monkeypatch.setattr(tables, "MAX_LINE_BYTES", 1000)
    spec = spec_for(paths, "population")
    many = drop(
        paths, spec.name, "many.csv", csv_text([["neighborhood_id", "population"]] + [["N01", "1"]] * 500)
    )
    assert len(parse_file(spec, many)) == 500
    one_long = drop(paths, spec.name, "long.csv", "neighborhood_id,population\nN01," + "1" * 1001 + "\n")
    assert "longer than 1,000 bytes" in refused("population", spec, one_long)


def test_a_workbook_that_is_not_one_gets_a_clear_error(paths):
    for kind in ("survey", "roster"):
        spec = spec_for(paths, kind)
        file = drop(paths, spec.name, "export.xlsx", good(kind))
        assert "not a readable XLSX workbook" in refused(kind, spec, file)


# ---------------------------------------------------------------- survey exports of an unknown tool

TYPEFORM = [
    ["#", "Which neighborhood do you live in?", "I trust the police", "Start Date (UTC)", "Network ID"],
    ["x1", "Alder Park", "4", "2024-02-01 10:00:00", "a1b2"],
]


@pytest.mark.parametrize(
    "rows",
    [TYPEFORM, [["Response", "When"], ["yes", "today"]], [["ResponseId"]]],
    ids=["typeform", "two-columns", "header-only"],
)
def test_a_survey_export_from_an_unknown_tool_names_the_file_and_the_known_layouts(paths, rows):
    spec = spec_for(paths, "survey")
    file = drop(paths, spec.name, "typeform.csv", csv_text(rows))
    message = refused("survey", spec, file)
    for layout in ("Qualtrics", "legacy Qualtrics", "SurveyMonkey", "Google Forms"):
        assert layout in message


def test_a_real_non_survey_csv_is_not_taken_for_a_survey(paths, real_data):
    spec = spec_for(paths, "survey")
    message = refused("survey", spec, real_data / "chicago_police_stations.csv")
    assert "not a survey export of a known layout" in message and "ImportId" in message


# ---------------------------------------------------------------- JSON and GeoJSON

GEOGRAPHY = "name: places\nkind: geography\nid_property: nbhd_id\nname_property: nbhd_name\n"
EVENTS_JSON = """
name: caps
kind: events
timestamp_format: "%Y-%m-%d %H:%M"
columns: {title: title, starts_at: start, district: district}
"""


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"", "empty"),
        (b'{"type": "FeatureCollection", "features": [{"type": "Feat', "invalid JSON"),
        (b"<html>Not Found</html>", "invalid JSON"),
        ('{"type": "FeatureCollection", "name": "Café"}'.encode("latin-1"), "UTF-8"),
        (b'{"type": "Feature", "properties": {}, "geometry": null}', "not a GeoJSON FeatureCollection"),
        (b"[1, 2, 3]", "not a GeoJSON FeatureCollection"),
    ],
    ids=["empty", "truncated", "html", "latin1", "a-feature", "a-list"],
)
def test_a_geojson_that_cannot_be_read_gets_one_clear_error(paths, content, says):
    spec = write_source(paths, "places", GEOGRAPHY)
    file = drop(paths, "places", "areas.geojson", content)
    assert says in refused("geography", spec, file)


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"", "empty"),
        (b'[{"title": "Beat 1", "start": "2024-01-09 18:30"', "invalid JSON"),
        (b'{"events": []}', "expected a JSON list of event records"),
        (b'[["Beat 1", "2024-01-09 18:30"]]', "expected a JSON list of event records"),
    ],
    ids=["empty", "truncated", "an-object", "a-list-of-lists"],
)
def test_an_event_calendar_json_that_cannot_be_read_gets_one_clear_error(paths, content, says):
    spec = write_source(paths, "caps", EVENTS_JSON)
    file = drop(paths, "caps", "calendar.json", content)
    assert says in refused("events", spec, file)


@pytest.mark.parametrize(
    "content",
    [b"", b'[{"ID": "1", "Date": "01/09/2024 06:30:00 PM"', b'{"rows": 3}', b"[1, 2]"],
    ids=["empty", "truncated", "an-object", "a-list-of-numbers"],
)
def test_a_crime_json_that_cannot_be_read_gets_one_clear_error(paths, content):
    spec = spec_for(paths, "crime")
    refused("crime", spec, drop(paths, spec.name, "page.json", content))


def polygon(*corners: tuple[float, float]) -> dict:
    return {"type": "Polygon", "coordinates": [[list(corner) for corner in corners]]}


def test_unusable_shapes_are_quarantined_naming_the_file_and_block_the_load(paths):
    """A shape invalid as given (a bow-tie) is repaired and loaded, counted as a note; each shape that cannot be
    used is refused with its reason (not dropped); the load's blocking check then fails with one message naming
    the file; the usable polygons are loaded."""
    square = polygon((-87.7, 41.8), (-87.6, 41.8), (-87.6, 41.9), (-87.7, 41.9), (-87.7, 41.8))
    features = {
        "OK": square,
        "BOWTIE": polygon((-87.7, 41.8), (-87.6, 41.9), (-87.6, 41.8), (-87.7, 41.9), (-87.7, 41.8)),
        "OPEN": {"type": "Polygon", "coordinates": [[[-87.7, 41.8], [-87.6, 41.8], [-87.6, 41.9]]]},
        "LINE": {"type": "LineString", "coordinates": [[-87.7, 41.8], [-87.6, 41.9]]},
        "TEXT": {"type": "Polygon", "coordinates": [[["west", "south"], ["east", "north"]]]},
        "NONE": None,
    }
    document = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"nbhd_id": key, "nbhd_name": key.title()},
                "geometry": geometry,
            }
            for key, geometry in features.items()
        ],
    }
    spec = write_source(paths, "places", GEOGRAPHY)
    drop(paths, "places", "areas.geojson", json.dumps(document))
    (summary,) = land_and_load(paths, spec, [spec])
    assert (summary.rows_received, summary.rows_loaded, summary.rows_quarantined) == (6, 2, 4)
    refused_rows = query(paths, "SELECT _file, reason, record FROM quarantine.places ORDER BY _row")
    assert set(refused_rows["_file"]) == {"landing/places/areas.geojson"}
    assert [
        (json.loads(r)["neighborhood_id"], reason) for r, reason in refused_rows[["record", "reason"]].values
    ] == [
        ("OPEN", "unrepairable_geometry"),
        ("LINE", "unrepairable_geometry"),
        ("TEXT", "unreadable_geometry"),
        ("NONE", "empty_geometry"),
    ]
    assert query(paths, "SELECT neighborhood_id FROM raw.places ORDER BY _row")[
        "neighborhood_id"
    ].tolist() == [
        "OK",
        "BOWTIE",
    ]
    notes = query(paths, "SELECT note, rows FROM meta.load_notes WHERE source = 'places'")
    assert notes.to_dict("records") == [{"note": "repaired_geometry", "rows": 1}]
    with connect(paths.warehouse, read_only=True) as con:
        passed, message, _ = QUARANTINE_SHARE.run(con, spec)
    assert not passed
    assert "landing/places/areas.geojson" in message and "unrepairable_geometry" in message


# ---------------------------------------------------------------- the rest of the run is unaffected


def bad_drops(paths, source: str, kind: str) -> list[str]:
    names = []
    for bad, (content, _) in BAD_FILES.items():
        drop(paths, source, f"{bad}.csv", content(kind))
        names.append(f"landing/{source}/{bad}.csv")
    return names


@pytest.mark.parametrize("kind", ["population", "crime"])
def test_bad_files_do_not_stop_the_good_file_of_the_same_source_nor_other_sources(
    paths, lower_line_limit, kind
):
    places = with_neighborhoods(paths)
    spec = spec_for(paths, kind)
    good_rows = [list(row) for row in CSV_KINDS[kind][1]]
    drop(paths, spec.name, "a_good.csv", csv_text(good_rows))
    bad = bad_drops(paths, spec.name, kind)

    with pytest.raises(SourceError) as error:
        ingest.land(spec, paths, TEST_SALT)
    message = str(error.value)
    assert message.startswith(f"{spec.name}: {len(bad)} file(s) could not be read")
    for name in bad:  # each bad file named once, in one error
        assert message.count(f"{name}:") == 1, (name, message)
    assert "a_good" not in message
    assert [p.name.split("-")[0] for p in (paths.parsed / spec.name).glob("*.parquet")] == ["a_good"]

    (summary,) = ingest.validate(spec, [spec, places], paths)
    assert summary.file == f"landing/{spec.name}/a_good.csv"
    assert summary.rows_received == len(good_rows) - 1 == summary.rows_loaded + summary.rows_quarantined

    # Another source of the same data home lands and loads as if nothing happened.
    programs = spec_for(paths, "programs")
    drop(paths, programs.name, "programs.csv", good("programs"))
    (other,) = land_and_load(paths, programs, [programs, places])
    assert (other.rows_received, other.rows_loaded) == (1, 1)
