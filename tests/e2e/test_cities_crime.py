"""New York, Seattle and Washington DC out of the box: each city's shipped YAMLs (sources/<city>/) run through the
CLI on the real portal exports in the real-data folder, and `crime_monthly` is compared cell by cell with a
recount written here from the files alone: the csv module, the city's crosswalks read as data, point in
polygon by ray casting in plain Python, time zones by zoneinfo. Every refused row is counted here too, with
the reason its quirk calls for (a point at 0/0 whose area is UNKNOWN, a second offense row of a report, a
start date before the dataset begins).

One run for the three cities (a module fixture: their shipped folders side by side), selecting only the
assets up to the published tables."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from pipelines.settings import REPO_ROOT
from tests.conftest import run_cli
from tests.e2e._recount import (
    Export,
    assert_every_cell,
    csv_rows,
    point_of,
    published,
    published_shapes,
    recount,
    strptime,
    warehouse,
)

SOURCES = REPO_ROOT / "sources"
# Everything up to the published tables (the HTML report and docs are tested elsewhere).
RUN = ("--select", "+key:published_files")


@dataclass(frozen=True)
class City:
    folder: str  # under sources/
    crimes: str  # the crime source's name (its landing folder)
    boundaries: str  # the geography source's name
    crime_file: str
    boundary_file: str
    id_property: str  # the boundary file's property holding the neighborhood id
    export: Export


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
        id_property="Precinct",
        export=Export(
            offense_crosswalk="ky_cd_crosswalk.csv",
            area_crosswalk="precinct_crosswalk.csv",
            incident=lambda row: row["CMPLNT_NUM"].strip(),
            occurred=lambda row: strptime(
                f"{row['CMPLNT_FR_DT']} {row['CMPLNT_FR_TM']}", "%m/%d/%Y %H:%M:%S"
            ),
            code=lambda row: row["KY_CD"].strip(),
            point=lambda row: point_of(row["Latitude"], row["Longitude"]),
            area=nyc_precinct,
            earliest=datetime(2006, 1, 1),
        ),
    ),
    "seattle": City(
        folder="seattle",
        crimes="seattle_offenses",
        boundaries="seattle_mcpp_areas",
        crime_file="seattle_spd_robbery_2008_2021_sample1000.csv",
        boundary_file="seattle_spd_mcpp_areas.geojson",
        id_property="NAME",
        export=Export(
            offense_crosswalk="nibrs_offense_crosswalk.csv",
            area_crosswalk="mcpp_crosswalk.csv",
            incident=lambda row: row["Report Number"].strip(),
            occurred=lambda row: strptime(row["Offense Start DateTime"], "%m/%d/%Y %I:%M:%S %p"),
            code=lambda row: row["Offense Code"].strip(),
            point=lambda row: point_of(row["Latitude"], row["Longitude"]),
            area=lambda row: row["MCPP"].strip(),
            earliest=datetime(2008, 1, 1),
        ),
    ),
    "washington_dc": City(
        folder="washington_dc",
        crimes="dc_crime_incidents",
        boundaries="dc_neighborhood_clusters",
        crime_file="dc_mpd_crime_incidents_2018_partial335.csv",
        boundary_file="dc_neighborhood_clusters.geojson",
        id_property="name",
        export=Export(
            offense_crosswalk="mpd_offense_crosswalk.csv",
            area_crosswalk="cluster_crosswalk.csv",
            incident=lambda row: row["CCN"].strip(),
            occurred=dc_start,
            code=lambda row: row["OFFENSE"].strip(),
            point=lambda row: point_of(row["LATITUDE"], row["LONGITUDE"]),
            area=lambda row: row["NEIGHBORHOOD_CLUSTER"].strip(),
            earliest=datetime(2008, 1, 1),
        ),
    ),
}


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
    return city, deployment, rows, recount(city.export, rows, shapes, SOURCES / city.folder), ids


def test_crime_monthly_equals_an_independent_recount(city_run):
    city, home, _, expected, ids = city_run
    monthly = [row for row in published(home, "crime_monthly") if row["neighborhood_id"] in ids]
    assert_every_cell(monthly, expected)
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
