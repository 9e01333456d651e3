"""The crime path in DuckDB: landing CSV -> raw Parquet -> SQL validation -> warehouse, against expectations
computed here in plain Python (strptime, a rectangle test, first matching rule), and a revised incident that ends
as one row with its new values after dbt. Real files, a real warehouse, the repo's dbt project."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from pathlib import Path

import duckdb
import pytest

from pipelines import ingest
from pipelines.kinds import KINDS
from pipelines.kinds.base import SourceError
from pipelines.settings import Paths
from pipelines.sources import load_source
from pipelines.warehouse import connect, refresh_canonical_view
from tests.reliability._helpers import dbt

PORTAL = "%m/%d/%Y %I:%M:%S %p"
# id -> (lon_min, lon_max, lat_min, lat_max): rectangles, so containment is checkable by eye.
BOXES = {"N01": (-87.70, -87.65, 41.80, 41.85), "N02": (-87.65, -87.60, 41.80, 41.85)}
HEADER = ["ID", "Date", "Updated On", "FBI Code", "Primary Type", "Latitude", "Longitude", "Arrest", "Area"]
CROSSWALK = "offense_code,ucr_category\n03,violent\n04B,violent\n06,property\n08B,other\n99X,serious\n"
# Area 3 names a neighborhood that no boundary defines: its rows are refused, not counted nowhere.
AREAS = "area_code,neighborhood_id\n1,N01\n2,N02\n3,N99\n"
NOW = dt.datetime.now()

CRIME_YAML = """
name: drops
kind: crime
timestamp_format: "%m/%d/%Y %I:%M:%S %p"
columns:
  incident_id: ID
  occurred_at: Date
  updated_at: Updated On
  offense_code: FBI Code
  offense_description: Primary Type
  latitude: Latitude
  longitude: Longitude
  arrest: Arrest
  area_code: Area
offense_crosswalk: offenses.csv
area_crosswalk: areas.csv
max_quarantine_share: 1
"""
GEOGRAPHY_YAML = """
name: places
kind: geography
id_property: nbhd_id
name_property: nbhd_id
"""

IN_N01, IN_N02, NOWHERE = ("41.82", "-87.68"), ("41.82", "-87.62"), ("40.10", "-89.50")


def row(number, occurred, updated, code, point=IN_N01, arrest="false", area="", kind="THEFT") -> list[str]:
    return [number, occurred, updated, code, kind, point[0], point[1], arrest, area]


# One row per rule (and rows where several rules fail: the first one names the reason).
ROWS = [
    row("100", "01/05/2024 10:00:00 PM", "01/06/2024 08:00:00 AM", "06"),  # loaded
    row("", "01/05/2024 10:00:00 PM", "01/06/2024 08:00:00 AM", "06"),  # missing_incident_id
    row(
        "   ", "not a date", "01/06/2024 08:00:00 AM", "06"
    ),  # missing_incident_id, though the date is bad too
    row("102", "13/45/2023 99:00:00 PM", "01/06/2024 08:00:00 AM", "06"),  # unparseable_occurred_at
    row("103", "01/05/2099 10:00:00 PM", "01/06/2099 08:00:00 AM", "06"),  # occurred_at_in_future
    row(
        "104", "01/05/2024 10:00:00 PM", "yesterday", "06", NOWHERE
    ),  # unparseable_updated_at (+ unlocatable)
    row("105", "01/05/2024 10:00:00 PM", "", "03"),  # loaded: no update time is not an error
    row(
        "106", "01/05/2024 10:00:00 PM", "01/06/2024 08:00:00 AM", "99X"
    ),  # invalid_ucr_category_in_crosswalk
    row("107", "01/05/2024 10:00:00 PM", "01/06/2024 08:00:00 AM", "06", NOWHERE),  # unlocatable
    row(
        "108", "01/05/2024 10:00:00 PM", "01/06/2024 08:00:00 AM", "06", ("", ""), area="2.0"
    ),  # loaded: area
    row("109", "01/05/2024 10:00:00 PM", "01/06/2024 08:00:00 AM", "06", ("", ""), area="9"),  # unlocatable
    row("100", "01/05/2024 10:00:00 PM", "01/06/2024 08:00:00 AM", "06"),  # duplicate_incident of row 1
    # unmapped; values padded, with a no-break space too (strptime alone skips only ASCII whitespace)
    row(" 110 ", " 01/05/2024 10:00:00 PM ", "\u00a001/06/2024 08:00:00 AM\t", " ZZ ", IN_N02, " TRUE "),
    row(
        "107", "01/05/2024 10:00:00 PM", "01/06/2024 08:00:00 AM", "06", NOWHERE
    ),  # unlocatable before duplicate
    row("111", "01/05/2024 10:00:00 PM", "01/06/2024 08:00:00 AM", "08B", IN_N02),  # loaded
    row("111", "01/05/2024 10:00:00 PM", "01/06/2024 08:00:00 AM", "04B", IN_N02),  # loaded: another offense
    row("111", "01/05/2024 10:00:00 PM", "01/07/2024 08:00:00 AM", "08B", IN_N02),  # loaded: a later version
    row("112", "01/05/2024 10:00:00 PM", "", "06", ("", ""), area="3"),  # unknown_neighborhood
]


def write_csv(path: Path, rows: list[list[str]], bom: bool = True) -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([HEADER, *rows])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(("\ufeff" if bom else "") + buffer.getvalue(), encoding="utf-8")
    return path


# ---- the expectations, computed without the project's code


def parse(text: str) -> dt.datetime | None:
    try:
        return dt.datetime.strptime(text.strip(), PORTAL)
    except ValueError:
        return None


def place(values: list[str]) -> str | None:
    try:
        lat, lon = float(values[5]), float(values[6])
    except ValueError:
        lat = lon = None
    if lat is not None:
        for nbhd, (lon0, lon1, lat0, lat1) in BOXES.items():
            if lon0 < lon < lon1 and lat0 < lat < lat1:
                return nbhd
    area = values[8].strip()
    area = area[: -len(".0")] if area.endswith(".0") else area
    return {"1": "N01", "2": "N02", "3": "N99"}.get(area)


def expected_reasons(rows: list[list[str]]) -> dict[int, str]:
    """_row (the header is row 1) -> reason, for every refused row."""
    categories = {"03": "violent", "04B": "violent", "06": "property", "08B": "other", "99X": "serious"}
    seen, reasons = set(), {}
    for number, values in enumerate(rows, start=2):
        incident, occurred, updated = values[0].strip(), parse(values[1]), parse(values[2])
        code = values[3].strip()
        version = (incident, updated, code)
        checks = [
            (incident == "", "missing_incident_id"),
            (occurred is None, "unparseable_occurred_at"),
            (occurred is not None and occurred > NOW, "occurred_at_in_future"),
            (updated is None and values[2].strip() != "", "unparseable_updated_at"),
            (
                categories.get(code, "other") not in ("violent", "property", "other"),
                "invalid_ucr_category_in_crosswalk",
            ),
            (place(values) is None, "unlocatable"),
            (place(values) not in (None, *BOXES), "unknown_neighborhood"),
            (version in seen, "duplicate_incident"),
        ]
        seen.add(version)
        reason = next((name for failed, name in checks if failed), None)
        if reason:
            reasons[number] = reason
    return reasons


# ---- a data home with two neighborhoods and a crime file drop


@pytest.fixture
def home(tmp_path) -> tuple[Paths, object, list]:
    sources = tmp_path / "sources"
    sources.mkdir()
    (sources / "offenses.csv").write_text(CROSSWALK)
    (sources / "areas.csv").write_text(AREAS)
    (sources / "drops.yml").write_text(CRIME_YAML)
    (sources / "places.yml").write_text(GEOGRAPHY_YAML)
    paths = Paths(
        tmp_path / "home", sources, tmp_path / "home" / "warehouse.duckdb", tmp_path / "home" / "pub"
    )
    features = [
        {
            "type": "Feature",
            "properties": {"nbhd_id": nbhd},
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[a, c], [b, c], [b, d], [a, d], [a, c]]],
            },
        }
        for nbhd, (a, b, c, d) in BOXES.items()
    ]
    (paths.landing / "places").mkdir(parents=True)
    (paths.landing / "places" / "areas.geojson").write_text(
        json.dumps({"type": "FeatureCollection", "features": features})
    )
    crimes, places = load_source(sources / "drops.yml"), load_source(sources / "places.yml")
    specs = [crimes, places]
    ingest.land(places, paths, None)
    ingest.validate(places, specs, paths)
    return paths, crimes, specs


def query(paths: Paths, sql: str) -> list[tuple]:
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_each_rule_quarantines_its_rows_with_the_first_failing_reason(home):
    paths, crimes, specs = home
    write_csv(paths.landing / "drops" / "day1.csv", ROWS)
    ingest.land(crimes, paths, None)
    (summary,) = ingest.validate(crimes, specs, paths)

    expected = expected_reasons(ROWS)
    assert set(expected.values()) == {
        "missing_incident_id",
        "unparseable_occurred_at",
        "occurred_at_in_future",
        "unparseable_updated_at",
        "invalid_ucr_category_in_crosswalk",
        "unlocatable",
        "unknown_neighborhood",
        "duplicate_incident",
    }  # the fixture itself exercises every rule
    refused = dict(query(paths, "SELECT _row, reason FROM quarantine.drops ORDER BY _row"))
    assert refused == expected
    counts = dict(query(paths, "SELECT reason, rows FROM meta.load_reasons WHERE source = 'drops'"))
    assert counts == {reason: list(expected.values()).count(reason) for reason in set(expected.values())}
    assert (summary.rows_received, summary.rows_loaded, summary.rows_quarantined) == (
        len(ROWS),
        len(ROWS) - len(expected),
        len(expected),
    )
    (received, loaded, quarantined, unmapped) = query(
        paths,
        "SELECT rows_received, rows_loaded, rows_quarantined, rows_unmapped_offense FROM meta.loads WHERE source = 'drops'",
    )[0]
    assert received == loaded + quarantined == len(ROWS) and unmapped == 1

    # The refused rows keep their original text; the loaded ones are typed.
    record = json.loads(query(paths, "SELECT record FROM quarantine.drops WHERE _row = 10")[0][0])
    assert record["incident_id"] == "107" and record["latitude"] == "40.10" and record["area_code"] == ""
    loaded_rows = {
        r[0]: r[1:]
        for r in query(
            paths,
            "SELECT _row, incident_id, occurred_at, updated_at, offense_code, ucr_category, offense_mapped, "
            "neighborhood_id, arrest FROM raw.drops",
        )
    }
    assert loaded_rows[14] == (
        "110",
        dt.datetime(2024, 1, 5, 22, 0),
        dt.datetime(2024, 1, 6, 8, 0),
        "ZZ",
        "other",
        False,
        "N02",
        True,
    )
    assert loaded_rows[11][6] == "N02"  # the area-code fallback ("2.0" as a re-saved export writes it)
    assert loaded_rows[8][2] is None  # a blank update time loads as NULL
    assert sorted(loaded_rows) == sorted(set(range(2, len(ROWS) + 2)) - set(expected))


def test_a_revised_incident_in_a_later_file_ends_as_one_row_with_the_new_values(home, tmp_path):
    paths, crimes, specs = home
    write_csv(paths.landing / "drops" / "day1.csv", [ROWS[0], ROWS[-2]])
    ingest.land(crimes, paths, None)
    ingest.validate(crimes, specs, paths)
    revised = row(
        "100", "01/05/2024 10:00:00 PM", "02/01/2024 09:00:00 AM", "03", IN_N02, "true", kind="ROBBERY"
    )
    write_csv(paths.landing / "drops" / "day2.csv", [revised])
    ingest.land(crimes, paths, None)
    (second,) = ingest.validate(crimes, specs, paths)
    assert (second.rows_received, second.rows_loaded) == (1, 1)
    with connect(paths.warehouse, allowed=[paths.home]) as con:
        for kind in ("crime", "geography"):
            refresh_canonical_view(con, KINDS[kind], [s.name for s in specs if s.kind == kind])
    assert query(paths, "SELECT count(*) FROM raw.drops WHERE incident_id = '100'") == [(2,)]

    dbt(paths.warehouse, tmp_path, "run", "--select", "+int_incidents_deduplicated")
    final = query(
        paths,
        "SELECT incident_id, offense_code, ucr_category, neighborhood_id, is_arrest, updated_at, offense_description "
        "FROM intermediate.int_incidents_deduplicated ORDER BY incident_id",
    )
    assert final == [
        ("100", "03", "violent", "N02", True, dt.datetime(2024, 2, 1, 9, 0), "ROBBERY"),
        ("111", "08B", "other", "N02", False, dt.datetime(2024, 1, 7, 8, 0), "THEFT"),
    ]


# ---- files that cannot be read: one clear error each, naming the file (and the line), the others still load


def huge_line(path: Path) -> None:
    with path.open("w", encoding="utf-8") as handle:
        handle.write(",".join(HEADER) + "\n")
        handle.write(",".join(ROWS[0]) + "\n")
        handle.write("101," + "x" * 3_000_000 + "\n")


BAD_FILES = {
    "empty.csv": (lambda p: p.write_bytes(b""), r"empty\.csv: the file is empty"),
    "semicolons.csv": (
        lambda p: p.write_text(";".join(HEADER) + "\n" + ";".join(ROWS[0]) + "\n"),
        r"semicolons\.csv: missing required column\(s\) .*the file looks semicolon-separated: export it comma-separated",
    ),
    "latin1.csv": (
        lambda p: p.write_bytes(
            (",".join(HEADER) + "\n" + ",".join(ROWS[0]) + "\n").encode()
            + ",".join(row("101", "01/05/2024 10:00:00 PM", "", "06", kind="CAFÉ")).encode("latin-1")
            + b"\n"
        ),
        r"latin1\.csv: line 3: not UTF-8 text; re-export the file as UTF-8 CSV",
    ),
    "latin1_header.csv": (
        lambda p: p.write_bytes((",".join(HEADER) + ",Crime r\xe9gion\n").encode("latin-1")),
        r"latin1_header\.csv: not UTF-8 text \(byte 0xe9 at offset \d+\)",
    ),
    "utf16.csv": (
        lambda p: p.write_text(",".join(HEADER) + "\n" + ",".join(ROWS[0]) + "\n", encoding="utf-16"),
        r"utf16\.csv: UTF-16 text; re-export the file as UTF-8 CSV",
    ),
    "picture.csv": (
        lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8),
        r"picture\.csv: not UTF-8 text",
    ),
    "one_line.csv": (
        lambda p: p.write_text("x" * (2 << 20)),
        r"one_line\.csv: no line break in the first 1 MB: not a CSV export",
    ),
    "huge_line.csv": (huge_line, r"huge_line\.csv: line 3: a line longer than 2,000,000 bytes"),
    "ragged.csv": (
        lambda p: write_csv(p, [ROWS[0], [*ROWS[0], "extra"]], bom=False),
        r"ragged\.csv: line 3: 10 values where the header names 9 columns .*"
        r"\(DuckDB: Expected Number of Columns: 9 Found: 10\)$",
    ),
    "open_quote.csv": (
        lambda p: p.write_text(",".join(HEADER) + "\n" + ",".join(ROWS[0]) + '\n101,"01/05/2024\n'),
        r"open_quote\.csv: line 3: a quoted value is never closed \(DuckDB: Value with unterminated quote found\.\)$",
    ),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_an_unreadable_file_gets_one_clear_error_and_the_good_file_still_lands(home, name):
    paths, crimes, specs = home
    folder = paths.landing / "drops"
    write_csv(folder / "good.csv", ROWS[:1])
    make, message = BAD_FILES[name]
    folder.mkdir(parents=True, exist_ok=True)
    make(folder / name)
    with pytest.raises(SourceError) as failure:
        ingest.land(crimes, paths, None)
    text = str(failure.value)
    assert text.startswith("drops: 1 file(s) could not be read:\n")
    (line,) = text.splitlines()[1:]  # one error, one line
    assert str(folder / name) in line
    assert len(line) < 400
    assert re.search(message, line), line
    assert [p.name.split("-")[0] for p in (paths.parsed / "drops").glob("*.parquet")] == ["good"]
    assert not list((paths.parsed / "drops").glob("*.tmp"))


def test_a_sample_is_read_the_way_a_load_reads_it(home, capsys):
    paths, crimes, _ = home
    from pipelines.cli import main
    from pipelines.kinds import crime
    from pipelines.parsers.landing import read_columns

    file = write_csv(paths.landing / "drops" / "sample.csv", ROWS)
    frame = read_columns(file, crime.file_columns(crimes)).to_pandas()
    assert frame["_row"].tolist() == list(range(2, len(ROWS) + 2))
    assert frame.loc[0, "incident_id"] == "100" and frame.loc[1, "incident_id"] == ""
    assert frame["domestic"].eq("").all()  # not mapped: blank, as in the raw file

    status = main(
        [
            "check-source",
            str(paths.sources_dir / "drops.yml"),
            "--sample",
            str(file),
            "--home",
            str(paths.home),
        ]
    )
    out, err = capsys.readouterr()
    assert status == 1  # 'ZZ' is unmapped in more than 1 % of the rows
    assert (
        f"warning: {file}: 1 of {len(ROWS)} rows: occurred_at does not match timestamp_format '{PORTAL}', "
        "e.g. '13/45/2023 99:00:00 PM' in row 5\n"
    ) in err
    assert (
        f"error: {file}: 1 of {len(ROWS)} rows ({1 / len(ROWS):.1%}) have offense codes missing from "
        "offenses.csv, loaded as 'other' (the load blocks above 1.0%): add rows 'offense_code,ucr_category' "
        "for 'ZZ' (1)\n"
    ) in err
    assert f"missing_incident_id: ID: blank in 2 of {len(ROWS)} rows" in err
    assert f"unparseable_occurred_at: Date: '13/45/2023 99:00:00 PM' in 1 of {len(ROWS)} rows" in err
    assert "check unmapped_offense_share would block the load" in err


# (latitude, longitude, area) -> the neighborhood, or the detail of the refusal, written out by hand.
COORDINATES = [
    (("0", "0"), "1", "N01"),  # (0, 0) is "not geocoded": placed by its area code
    (("0.0", "0.00"), "", "Latitude, Longitude: (0, 0), read as no coordinates; Area: blank"),
    (("95", "-87.68"), "2", "N02"),  # a latitude off the Earth: no coordinates either
    (("41.82", "-187.6"), "", "Latitude, Longitude: '41.82, -187.6' is not a point on Earth; Area: blank"),
    (("", ""), "7", "Latitude, Longitude: blank; Area: '7' is not in areas.csv"),
    (("", ""), "3", "Area: '3' is mapped to 'N99' in areas.csv, which no boundary defines"),
    (
        ("41.82", "-87.55"),
        "",
        "Latitude, Longitude: a point in no boundary (boundaries refused: places: 'N03' ",
    ),
    (IN_N01, "", "N01"),
]


def test_coordinates_off_the_earth_or_at_zero_are_no_coordinates_and_refusals_name_column_and_value(home):
    paths, crimes, specs = home
    # A third neighborhood whose shape the geography load refuses: the incidents there name it.
    places = next(spec for spec in specs if spec.kind == "geography")
    broken = {"type": "Feature", "properties": {"nbhd_id": "N03"}, "geometry": None}
    (paths.landing / "places" / "more.geojson").write_text(
        json.dumps({"type": "FeatureCollection", "features": [broken]})
    )
    ingest.land(places, paths, None)
    ingest.validate(places, specs, paths)
    rows = [
        row(str(200 + i), "01/05/2024 10:00:00 PM", "", "06", point, area=area)
        for i, (point, area, _) in enumerate(COORDINATES)
    ]
    rows.append(row("300", "99/99/2024", "", "06"))
    write_csv(paths.landing / "drops" / "day1.csv", rows)
    ingest.land(crimes, paths, None)
    ingest.validate(crimes, specs, paths)

    loaded = {
        r[0]: r[1:]
        for r in query(paths, "SELECT incident_id, neighborhood_id, latitude, longitude FROM raw.drops")
    }
    details = dict(
        query(paths, "SELECT json_extract_string(record, '$.incident_id'), detail FROM quarantine.drops")
    )
    for i, (point, _, outcome) in enumerate(COORDINATES):
        incident = str(200 + i)
        if outcome.startswith("N0"):
            on_earth = point == IN_N01
            assert loaded[incident] == (
                outcome,
                *((float(point[0]), float(point[1])) if on_earth else (None, None)),
            )
        else:
            assert details[incident].startswith(outcome), (incident, details[incident])
    assert details["300"] == "Date: '99/99/2024'"
    assert len(loaded) + len(details) == len(rows)


def test_line_breaks_inside_quoted_values_load(home):
    """RFC 4180 allows line breaks inside quoted values (a police export's multi-line addresses and
    descriptions); DuckDB's parallel reader refuses such files when they are small (a few hundred rows),
    and they are then read on one thread."""
    paths, crimes, specs = home
    rows = []
    for number in range(300):
        # Whether DuckDB's parallel reader accepts a file depends on the values: these two kinds are refused.
        description = "ON\nFOOT" if number % 11 == 0 else "THEFT" if number % 7 else f"FROM\nCAR {number}"
        rows.append(row(str(1000 + number), "01/05/2024 10:00:00 PM", "", "06", kind=description))
    file = write_csv(paths.landing / "drops" / "multiline.csv", rows)
    with file.open(encoding="utf-8-sig", newline="") as handle:
        expected = {record["ID"]: record["Primary Type"] for record in csv.DictReader(handle)}
    assert sum("\n" in text for text in expected.values()) == 67
    ingest.land(crimes, paths, None)
    (summary,) = ingest.validate(crimes, specs, paths)
    assert (summary.rows_received, summary.rows_loaded) == (300, 300)
    loaded = dict(query(paths, "SELECT incident_id, offense_description FROM raw.drops"))
    assert loaded == expected


def test_a_read_error_keeps_duckdbs_own_words_for_the_cause():
    from pipelines.parsers.landing import duckdb_cause

    message = (
        'Invalid Input Error: CSV Error on Line: 37\nOriginal Line: 101,jane@example.org,"x\n\n'
        "Value with unterminated quote found.\n\nPossible fixes:\n* Disable the parser's strict mode\n\n"
        "  file = /tmp/x.csv\n  delimiter = , (Set By User)\n"
    )
    assert duckdb_cause(message) == "Value with unterminated quote found."
