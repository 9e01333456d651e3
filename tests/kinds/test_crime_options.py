"""The crime YAML options for real exports' quirks (docs/sources.md#crime), on one hand-sized file: each row
exercises one option, and its fate (loaded where and when, or refused why) is written out here, times converted
by zoneinfo. A real warehouse, the real load path."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pyarrow.parquet as pq
import pytest

from pipelines import ingest
from pipelines.errors import SourceError
from pipelines.kinds import base, crime
from pipelines.settings import Paths
from pipelines.sources import load_source

CHICAGO = ZoneInfo("America/Chicago")
BOXES = {"N01": (-87.70, -87.65, 41.80, 41.85), "N02": (-87.65, -87.60, 41.80, 41.85)}
IN_N01, IN_N02 = ("41.82", "-87.68"), ("41.82", "-87.62")
CRIME_YAML = """
name: quirky
kind: crime
timezone: America/Chicago
timestamp_format: iso8601
columns:
  incident_id: ID
  occurred_at: Day
  occurred_time: Time
  offense_code: Code
  latitude: Lat
  longitude: Lon
  area_code: Area
null_markers: [NA, "-"]
thousands_separator: ","
no_coordinates: [[0, 0], [-1, -1]]
earliest_occurred_at: 2015-01-01
incident_ids: number
area_codes: number
offense_crosswalk: offenses.csv
area_crosswalk: areas.csv
max_quarantine_share: 1
"""
HEADER = ["ID", "Day", "Time", "Code", "Lat", "Lon", "Area"]


def local(text: str) -> dt.datetime:
    """A UTC instant as Chicago's wall-clock time."""
    return dt.datetime.fromisoformat(text).astimezone(CHICAGO).replace(tzinfo=None)


# Row (from 2: the header is row 1) -> the values, and what must become of them: (incident, occurred,
# neighborhood) loaded, or the reason it is refused.
ROWS = [
    # UTC on the day clocks go forward: 08:30Z is 03:30 CDT; "1,001" is incident 1001.
    (
        ["1,001", "2024-03-10", "08:30:00Z", "03", *IN_N01, ""],
        ("1001", local("2024-03-10T08:30:00+00:00"), "N01"),
    ),
    # The same incident written as a decimal, same code: a repeated row.
    (["1001.0", "2024-03-10", "08:30:00Z", "03", *IN_N01, ""], "duplicate_incident"),
    (["NA", "2024-03-10", "09:00:00", "03", *IN_N01, ""], "missing_incident_id"),  # NA is no value
    (["1002", "1970-01-01", "00:00:00", "03", *IN_N01, ""], "occurred_at_before_earliest"),  # a placeholder
    # NA coordinates are none: placed by area "1.0", which is the crosswalk's "01".
    (
        ["1003", "2024-05-02", "10:00:00", "06", "NA", "NA", "1.0"],
        ("1003", dt.datetime(2024, 5, 2, 10), "N01"),
    ),
    # -1/-1 means "not geocoded" in this export: placed by area "02", the crosswalk's "2".
    (
        ["1004", "2024-05-02", "11:00:00", "06", "-1", "-1", "02"],
        ("1004", dt.datetime(2024, 5, 2, 11), "N02"),
    ),
    # A naive time is local already; one with an offset is converted (04:30 UTC is 23:30 the day before).
    (["1005", "2024-06-01", "00:30:00", "06", *IN_N02, ""], ("1005", dt.datetime(2024, 6, 1, 0, 30), "N02")),
    (
        ["1006", "2024-06-01", "04:30:00+00:00", "06", *IN_N02, ""],
        ("1006", local("2024-06-01T04:30:00+00:00"), "N02"),
    ),
    # 0/0 and an area "-" (no value): nothing to place it by.
    (["1007", "2024-06-02", "12:00:00", "06", "0", "0", "-"], "unlocatable"),
    # Leading zeros of an id are kept (only decimal zeros go).
    (["007", "2024-06-02", "12:00:00", "06", *IN_N02, ""], ("007", dt.datetime(2024, 6, 2, 12), "N02")),
]


@pytest.fixture
def home(tmp_path) -> tuple[Paths, object, list]:
    sources = tmp_path / "sources"
    sources.mkdir()
    (sources / "offenses.csv").write_text("offense_code,ucr_category\n03,violent\n06,property\n")
    (sources / "areas.csv").write_text("area_code,neighborhood_id\n01,N01\n2,N02\n")
    (sources / "quirky.yml").write_text(CRIME_YAML)
    (sources / "places.yml").write_text(
        "name: places\nkind: geography\nid_property: nbhd_id\nname_property: nbhd_id\n"
    )
    paths = Paths(
        tmp_path / "home", sources, tmp_path / "home" / "warehouse.duckdb", tmp_path / "home" / "pub"
    )
    features = [
        {
            "type": "Feature",
            "properties": {"nbhd_id": nbhd},
            "geometry": {"type": "Polygon", "coordinates": [[[a, c], [b, c], [b, d], [a, d], [a, c]]]},
        }
        for nbhd, (a, b, c, d) in BOXES.items()
    ]
    (paths.landing / "places").mkdir(parents=True)
    (paths.landing / "places" / "areas.geojson").write_text(
        json.dumps({"type": "FeatureCollection", "features": features})
    )
    crimes, places = load_source(sources / "quirky.yml"), load_source(sources / "places.yml")
    specs = [crimes, places]
    ingest.land(places, paths, None)
    ingest.validate(places, specs, paths)
    return paths, crimes, specs


def write_csv(path: Path, rows: list[list[str]]) -> None:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([HEADER, *rows])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\ufeff" + buffer.getvalue(), encoding="utf-8")


def query(paths: Paths, sql: str) -> list[tuple]:
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


# A window a row: each option is read the same way in windows (`kinds.crime.WINDOW_ROWS`), and the repeated
# incident written two ways is found across two.
@pytest.mark.parametrize("window_rows", [crime.WINDOW_ROWS, 1], ids=["one statement", "a window a row"])
def test_each_option_reads_its_quirk(home, window_rows, monkeypatch):
    monkeypatch.setattr(crime, "WINDOW_ROWS", window_rows)
    paths, crimes, specs = home
    write_csv(paths.landing / "quirky" / "export.csv", [values for values, _ in ROWS])
    ingest.land(crimes, paths, None)
    ingest.validate(crimes, specs, paths)
    fates = {number: fate for number, (_, fate) in enumerate(ROWS, start=2)}
    refused = query(paths, "SELECT _row, reason FROM quarantine.quirky ORDER BY _row")
    assert refused == [(number, fate) for number, fate in fates.items() if isinstance(fate, str)]
    loaded = query(
        paths, "SELECT _row, incident_id, occurred_at, neighborhood_id FROM raw.quirky ORDER BY _row"
    )
    assert loaded == [(number, *fate) for number, fate in fates.items() if isinstance(fate, tuple)]
    # Coordinates read as none are not kept; a refused row keeps its text as written (NA, not blank).
    assert query(paths, "SELECT latitude FROM raw.quirky WHERE incident_id IN ('1003', '1004')") == [
        (None,),
        (None,),
    ]
    (record,) = query(paths, "SELECT record FROM quarantine.quirky WHERE reason = 'missing_incident_id'")[0]
    assert json.loads(record)["incident_id"] == "NA" and json.loads(record)["occurred_time"] == "09:00:00"
    (detail,) = query(
        paths, "SELECT detail FROM quarantine.quirky WHERE reason = 'occurred_at_before_earliest'"
    )[0]
    assert detail == "Day Time: '1970-01-01 00:00:00' is before earliest_occurred_at 2015-01-01"


def test_windows_across_row_groups_read_what_one_statement_reads(home, monkeypatch):
    """A parsed file of several row groups (`base.PARSED_ROW_GROUP`) validated in windows that start and end inside
    them: the filter on the rows' positions reaches the Parquet reader, which skips whole row groups, and no row is
    lost or read twice at a group's edge. Repeats lie thousands of rows after their first row, windows away."""
    paths, crimes, specs = home
    rows = []
    for number in range(7_000):
        if number % 11 == 5:
            rows.append(["NA", "2024-03-10", "09:00:00", "03", *IN_N01, ""])  # refused: no incident id
        elif number % 7 == 3 and number >= 2_500:
            rows.append(rows[number - 2_500])  # the same incident version again: refused as a repeat
        else:
            place = (IN_N01, IN_N02)[number % 2]
            rows.append([f"{number:,}", "2024-03-10", f"{number % 24:02d}:00:00", "03", *place, ""])
    write_csv(paths.landing / "quirky" / "export.csv", rows)

    def validated(row_group: int, window_rows: int) -> tuple[int, dict[str, list[tuple]]]:
        """The parsed file's row groups, and the rows loaded and refused, as a run writes them."""
        monkeypatch.setattr(base, "PARSED_ROW_GROUP", row_group)
        monkeypatch.setattr(crime, "WINDOW_ROWS", window_rows)
        for parsed in (paths.parsed / "quirky").glob("*.parquet"):
            parsed.unlink()
        ingest.land(crimes, paths, None)
        (parsed,) = (paths.parsed / "quirky").glob("*.parquet")
        loads = query(paths, "SELECT load_id FROM meta.loads WHERE source = 'quirky'")
        ingest.validate(crimes, specs, paths, redo=[load_id for (load_id,) in loads])  # in place of the first
        return pq.read_metadata(parsed).num_row_groups, {
            table: query(paths, f"SELECT * EXCLUDE (loaded_at) FROM {table} ORDER BY _row")
            for table in ("raw.quirky", "quarantine.quirky")
        }

    groups, whole = validated(row_group=100_000, window_rows=100_000)
    groups_in_windows, in_windows = validated(row_group=2_048, window_rows=1_500)
    assert groups == 1 and groups_in_windows >= 3
    assert in_windows == whole
    assert len(whole["raw.quirky"]) + len(whole["quarantine.quirky"]) == 7_000
    reasons = [row[-3] for row in whole["quarantine.quirky"]]  # reason, record, detail
    assert set(reasons) == {"missing_incident_id", "duplicate_incident"}
    assert reasons.count("duplicate_incident") > 300


def test_area_codes_that_are_one_number_must_name_one_neighborhood(home):
    paths, crimes, specs = home
    (paths.sources_dir / "areas.csv").write_text("area_code,neighborhood_id\n01,N01\n1,N02\n")
    write_csv(paths.landing / "quirky" / "export.csv", [ROWS[0][0]])
    ingest.land(crimes, paths, None)
    with pytest.raises(
        SourceError, match=r"areas\.csv: '01' and '1' are the same area code .* different neighborhoods"
    ):
        ingest.validate(crimes, specs, paths)


def test_an_unknown_time_zone_is_named(home, tmp_path):
    paths = home[0]
    (paths.sources_dir / "quirky.yml").write_text(CRIME_YAML.replace("America/Chicago", "America/Chicgo"))
    with pytest.raises(Exception, match="'America/Chicgo' is not an IANA time zone"):
        load_source(paths.sources_dir / "quirky.yml")
