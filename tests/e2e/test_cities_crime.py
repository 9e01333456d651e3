"""New York, Seattle and Washington DC out of the box: each city's shipped YAMLs (sources/<city>/) run through the
CLI on the real portal exports in the real-data folder, and `crime_monthly` is compared cell by cell with a
recount written here from the files alone: the csv module, the city's crosswalks read as data, point in
polygon by ray casting in plain Python, time zones by zoneinfo. Every refused row is counted here too, with
the reason its quirk calls for (a point at 0/0 whose area is UNKNOWN, a second offense row of a report, a
start date before the dataset begins).

One run for the three cities (a module fixture: their shipped folders side by side), selecting only the
assets up to the published tables."""

from __future__ import annotations

import csv
import json
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pyarrow.parquet as pq
import pytest

from pipelines.settings import REPO_ROOT
from tests.conftest import run_cli

SOURCES = REPO_ROOT / "sources"
# Everything up to the published tables (the HTML report and docs are tested elsewhere).
RUN = ("--select", "+key:published_files")
SEVERITY = {"violent": 3, "property": 2, "other": 1}


# ---- plain-Python geometry: even-odd ray casting, with a bounding box first (a precinct has thousands of
# vertices, a point is inside the box of one or two)
@dataclass(frozen=True)
class Ring:
    points: list
    box: tuple[float, float, float, float]

    @classmethod
    def of(cls, points: list) -> Ring:
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        return cls(points, (min(xs), max(xs), min(ys), max(ys)))

    def holds(self, x: float, y: float) -> bool:
        west, east, south, north = self.box
        if not (west <= x <= east and south <= y <= north):
            return False
        inside = False
        ring = self.points
        for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True):
            if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
                inside = not inside
        return inside


def polygons(geometry: dict) -> list[tuple[Ring, list[Ring]]]:
    parts = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
    return [(Ring.of(exterior), [Ring.of(hole) for hole in holes]) for exterior, *holes in parts]


def containing(x: float, y: float, shapes: dict[str, list]) -> str | None:
    """The id of the boundary holding the point (the smallest id where outlines overlap)."""
    holding = [
        nbhd
        for nbhd, parts in shapes.items()
        if any(exterior.holds(x, y) and not any(h.holds(x, y) for h in holes) for exterior, holes in parts)
    ]
    return min(holding) if holding else None


# ---- reading the files and the published tables without the project's code
def csv_rows(file: Path) -> list[dict]:
    with file.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def crosswalk(file: Path, key: str, value: str) -> dict[str, str]:
    return {row[key].strip(): row[value].strip() for row in csv_rows(file)}


def published(home: Path, table: str) -> list[dict]:
    return pq.read_table(home / "published" / f"{table}.parquet").to_pylist()


def published_shapes(home: Path) -> dict[str, list]:
    """The boundaries as published (repaired where the file's outline crosses itself), by neighborhood id."""
    return {
        row["neighborhood_id"]: polygons(json.loads(row["geometry_geojson"]))
        for row in published(home, "neighborhoods")
    }


def warehouse(home: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def month_of(value: date | datetime) -> date:
    return date(value.year, value.month, 1)


# ---- one city: how its export is read, as its YAML says, written out here in Python
@dataclass(frozen=True)
class City:
    folder: str  # under sources/
    crimes: str  # the crime source's name (its landing folder)
    boundaries: str  # the geography source's name
    crime_file: str
    boundary_file: str
    offense_crosswalk: str
    area_crosswalk: str
    incident: Callable[[dict], str]
    occurred: Callable[[dict], datetime | None]  # local time, None where it does not parse
    code: Callable[[dict], str]
    point: Callable[[dict], tuple[float, float] | None]  # (lat, lon), None for none
    area: Callable[[dict], str]
    earliest: datetime
    id_property: str  # the boundary file's property holding the neighborhood id


def strptime(text: str, fmt: str) -> datetime | None:
    try:
        return datetime.strptime(text.strip(), fmt)
    except ValueError:
        return None


def point_of(lat: str, lon: str) -> tuple[float, float] | None:
    """A point, unless blank, `NA`, or 0/0 (what exports write for "not geocoded")."""
    try:
        point = float(lat), float(lon)
    except ValueError:
        return None
    return None if point == (0.0, 0.0) else point


def dc_start(row: dict) -> datetime | None:
    """`2018/06/14 05:40:52+00`: UTC, as DC's local wall-clock time."""
    text = row["START_DATE"].strip()
    utc = strptime(text[:-3], "%Y/%m/%d %H:%M:%S")
    if utc is None or text[-3:] != "+00":
        return None
    return utc.replace(tzinfo=UTC).astimezone(ZoneInfo("America/New_York")).replace(tzinfo=None)


def nyc_precinct(row: dict) -> str:
    text = row["ADDR_PCT_CD"].strip()
    return str(int(float(text))) if text.replace(".", "", 1).isdigit() else text


CITIES = {
    "new_york": City(
        folder="new_york",
        crimes="nyc_complaints",
        boundaries="nyc_police_precincts",
        crime_file="nypd_complaints_historic_occ20100101_sample1000.csv",
        boundary_file="nyc_police_precincts.geojson",
        offense_crosswalk="ky_cd_crosswalk.csv",
        area_crosswalk="precinct_crosswalk.csv",
        incident=lambda row: row["CMPLNT_NUM"].strip(),
        occurred=lambda row: strptime(f"{row['CMPLNT_FR_DT']} {row['CMPLNT_FR_TM']}", "%m/%d/%Y %H:%M:%S"),
        code=lambda row: row["KY_CD"].strip(),
        point=lambda row: point_of(row["Latitude"], row["Longitude"]),
        area=nyc_precinct,
        earliest=datetime(2006, 1, 1),
        id_property="Precinct",
    ),
    "seattle": City(
        folder="seattle",
        crimes="seattle_offenses",
        boundaries="seattle_mcpp_areas",
        crime_file="seattle_spd_robbery_2008_2021_sample1000.csv",
        boundary_file="seattle_spd_mcpp_areas.geojson",
        offense_crosswalk="nibrs_offense_crosswalk.csv",
        area_crosswalk="mcpp_crosswalk.csv",
        incident=lambda row: row["Report Number"].strip(),
        occurred=lambda row: strptime(row["Offense Start DateTime"], "%m/%d/%Y %I:%M:%S %p"),
        code=lambda row: row["Offense Code"].strip(),
        point=lambda row: point_of(row["Latitude"], row["Longitude"]),
        area=lambda row: row["MCPP"].strip(),
        earliest=datetime(2008, 1, 1),
        id_property="NAME",
    ),
    "washington_dc": City(
        folder="washington_dc",
        crimes="dc_crime_incidents",
        boundaries="dc_neighborhood_clusters",
        crime_file="dc_mpd_crime_incidents_2018_partial335.csv",
        boundary_file="dc_neighborhood_clusters.geojson",
        offense_crosswalk="mpd_offense_crosswalk.csv",
        area_crosswalk="cluster_crosswalk.csv",
        incident=lambda row: row["CCN"].strip(),
        occurred=dc_start,
        code=lambda row: row["OFFENSE"].strip(),
        point=lambda row: point_of(row["LATITUDE"], row["LONGITUDE"]),
        area=lambda row: row["NEIGHBORHOOD_CLUSTER"].strip(),
        earliest=datetime(2008, 1, 1),
        id_property="name",
    ),
}


@dataclass
class Recount:
    cells: dict[tuple[str, date], list[int]]  # (neighborhood, month) -> [incidents, violent, property]
    refused: list[tuple[int, str]]  # (row in the file, the header being row 1; reason)
    placed: dict[str, tuple[str, datetime]]  # incident -> (neighborhood, occurred) of the row that counts


def recount(city: City, rows: list[dict], shapes: dict[str, list]) -> Recount:
    """The city's incidents as its YAML reads them: the first failing rule refuses a row; an incident of several
    offense rows counts once, in the month and place of its most severe offense (then the smallest code)."""
    folder = SOURCES / city.folder
    categories = crosswalk(folder / city.offense_crosswalk, "offense_code", "ucr_category")
    areas = crosswalk(folder / city.area_crosswalk, "area_code", "neighborhood_id")
    refused, seen, offenses = [], set(), {}
    for number, row in enumerate(rows, start=2):
        incident, occurred, code = city.incident(row), city.occurred(row), city.code(row)
        point = city.point(row)
        place = containing(point[1], point[0], shapes) if point else None
        if place is None and areas.get(city.area(row)) in shapes:
            place = areas[city.area(row)]
        checks = [
            (incident == "", "missing_incident_id"),
            (occurred is None, "unparseable_occurred_at"),
            (occurred is not None and occurred > datetime.now(), "occurred_at_in_future"),
            (occurred is not None and occurred < city.earliest, "occurred_at_before_earliest"),
            (place is None and city.area(row) in areas, "unknown_neighborhood"),
            (place is None, "unlocatable"),
            ((incident, code) in seen, "duplicate_incident"),
        ]
        seen.add((incident, code))
        reason = next((name for failed, name in checks if failed), None)
        if reason:
            refused.append((number, reason))
            continue
        category = categories.get(code, "other")
        offenses.setdefault(incident, []).append((-SEVERITY[category], code, category, place, occurred))
    cells, placed = {}, {}
    for incident, rows_of_incident in offenses.items():
        _, _, category, place, occurred = min(rows_of_incident)
        placed[incident] = (place, occurred)
        cell = cells.setdefault((place, month_of(occurred)), [0, 0, 0])
        cell[0] += 1
        cell[1] += category == "violent"
        cell[2] += category == "property"
    return Recount(cells, refused, placed)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory, real_data) -> Path:
    """One run for the three cities: their shipped folders side by side in one sources folder (each file as
    shipped; no two share a name), each export and boundary file dropped in its landing folder. The cities'
    neighborhoods and incidents do not meet (no boundary of one city holds another's points)."""
    home, sources = tmp_path_factory.mktemp("cities"), tmp_path_factory.mktemp("cities_sources")
    for city in CITIES.values():
        for shipped in (SOURCES / city.folder).iterdir():
            assert not (sources / shipped.name).exists(), shipped
            shutil.copy(shipped, sources / shipped.name)
        for source, file in ((city.crimes, city.crime_file), (city.boundaries, city.boundary_file)):
            (home / "landing" / source).mkdir(parents=True)
            shutil.copy(real_data / file, home / "landing" / source / file)
    result = run_cli("run", *RUN, "--home", str(home), "--sources", str(sources))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]
    return home


@pytest.fixture(scope="module", params=sorted(CITIES))
def city_run(request, deployment, real_data):
    city = CITIES[request.param]
    rows = csv_rows(real_data / city.crime_file)
    shapes = published_shapes(deployment)
    boundary = json.loads((real_data / city.boundary_file).read_text())
    ids = {str(feature["properties"][city.id_property]) for feature in boundary["features"]}
    assert ids <= set(shapes)  # every boundary of the city's file is published
    return city, deployment, rows, recount(city, rows, shapes), ids


def test_crime_monthly_equals_an_independent_recount(city_run):
    city, home, _, expected, ids = city_run
    monthly = [row for row in published(home, "crime_monthly") if row["neighborhood_id"] in ids]
    got = {
        (row["neighborhood_id"], month_of(row["month"])): [
            row["incidents"],
            row["violent_incidents"],
            row["property_incidents"],
        ]
        for row in monthly
    }
    assert len(got) == len(monthly)  # one row per neighborhood and month
    # Every cell: the recounted ones as recounted, every other published one zero.
    assert {key: got.get(key) for key in expected.cells} == expected.cells
    assert {key: cell for key, cell in got.items() if key not in expected.cells and any(cell)} == {}
    assert sum(cell[0] for cell in got.values()) == len(expected.placed)
    # No population source ships with these cities: counts published, rates not.
    assert all(row["population"] is None and row["incidents_per_1k"] is None for row in monthly)


def test_every_refused_row_is_counted_with_the_reason_of_its_quirk(city_run):
    city, home, rows, expected, _ = city_run
    quarantined = warehouse(home, f"SELECT _row, reason FROM quarantine.{city.crimes} ORDER BY _row")
    assert quarantined == expected.refused
    received, loaded = warehouse(
        home, f"SELECT sum(rows_received), sum(rows_loaded) FROM meta.loads WHERE source = '{city.crimes}'"
    )[0]
    assert (received, loaded) == (len(rows), len(rows) - len(expected.refused))
    # What the quirks of each file come to (SOURCES.md of the real data): none in New York's sample; in
    # Seattle, the 0/0 points whose MCPP is UNKNOWN, and the second robbery row of a report (2019-087057, a
    # second offense of the same code: the report counts once); in DC, the incident whose START_DATE is in 2007.
    numbered = list(enumerate(rows, start=2))
    if city.folder == "seattle":
        report = [n for n, row in numbered if row["Report Number"] == "2019-087057"]
        zeros = [n for n, row in numbered if row["Latitude"] == "0" and row["MCPP"] == "UNKNOWN"]
        quirks = sorted([(n, "unlocatable") for n in zeros] + [(report[1], "duplicate_incident")])
    elif city.folder == "washington_dc":
        early = [n for n, row in numbered if row["START_DATE"].startswith("2007/")]
        quirks = [(n, "occurred_at_before_earliest") for n in early]
    else:
        quirks = []
    assert expected.refused == quirks
    assert len(quirks) == {"new_york": 0, "seattle": 4, "washington_dc": 1}[city.folder]


def test_timestamps_are_local_time(city_run):
    """DC writes UTC (`+00`): 2018/04/01 00:01:17+00 happened on March 31 in DC, and counts in March. New York
    and Seattle write local time, read as it is."""
    city, home, _, expected, _ = city_run
    incident, local = {
        "new_york": ("692499668", datetime(2010, 1, 1, 17, 30)),
        "seattle": ("2020-044465", datetime(2020, 2, 2, 20, 30)),
        "washington_dc": ("10954295", datetime(2018, 3, 31, 20, 1, 17)),
    }[city.folder]
    stored = warehouse(home, f"SELECT occurred_at FROM raw.{city.crimes} WHERE incident_id = '{incident}'")
    assert stored == [(local,)] and expected.placed[incident][1] == local


def test_check_source_on_the_real_file_tells_what_the_run_did(city_run, real_data):
    """`check-source YAML --sample FILE`, with the run's boundaries: the rows it would refuse, by reason, and the
    rows it would load are the run's."""
    city, home, rows, expected, _ = city_run
    result = run_cli(
        "check-source",
        str(SOURCES / city.folder / f"{city.crimes}.yml"),
        "--sample",
        str(real_data / city.crime_file),
        "--home",
        str(home),
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    output = result.stdout + result.stderr
    said: dict[str, int] = {}
    for reason, count, total in re.findall(r"^warning: .*?: (\w+): .* in (\d+) of (\d+) rows$", output, re.M):
        assert int(total) == len(rows)
        said[reason] = said.get(reason, 0) + int(count)
    refused: dict[str, int] = {}
    for _, reason in expected.refused:
        refused[reason] = refused.get(reason, 0) + 1
    assert said == refused
    assert f"categories of the {len(rows) - len(expected.refused)} rows that would load" in output
