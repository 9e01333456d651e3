"""Six cities out of the box: each city's shipped file-drop YAMLs (sources/<city>/, sources/chicago/file_drop/,
sources/san_francisco/file_drop/) run through the CLI on the real portal exports in the real-data folder, and
`crime_monthly` is compared cell by cell with a recount written here from the files alone: the csv module, the
city's crosswalks read as data, point in polygon by ray casting in plain Python, time zones by zoneinfo. Every
refused row is counted here too, with the reason its quirk calls for (a point at 0/0 whose area is UNKNOWN, a
second offense row of a report, a start date before the dataset begins, a row with neither a point nor a
neighborhood).

Two runs for the six cities (their shipped folders side by side; `RUNS` says why two), selecting only the
assets up to the published tables. Chicago's API answers saved as files (SODA JSON and CSV) load in the same run under the
portal YAML's own columns and time format. San Francisco and Detroit have no boundary file among the real files:
the run gets stand-in squares (`stand_ins`) named as their crosswalks name the neighborhoods, far from any
incident, so their incidents are placed by the area names the rows carry, not by their points."""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from pipelines.cli import main
from pipelines.settings import REPO_ROOT
from tests.conftest import run_cli
from tests.e2e._recount import (
    Export,
    assert_every_cell,
    crosswalk,
    csv_rows,
    merged,
    point_of,
    published,
    published_shapes,
    recount,
    strptime,
    warehouse,
)

pytestmark = pytest.mark.runs_long

SOURCES = REPO_ROOT / "sources"
# Everything up to the published tables (the HTML report and docs are tested elsewhere).
RUN = ("--select", "+key:published_files")


@dataclass(frozen=True)
class Crimes:
    source: str  # the crime source's name (its landing folder and tables)
    file: str
    export: Export
    # 2 for a CSV file (its header is row 1); 1 for a JSON array
    first_row: int = 2
    # None: the city folder's `<source>.yml`; else the YAML is written by `api_files_as_drops`
    yaml: Path | None = None


@dataclass(frozen=True)
class Population:
    source: str
    file: str
    neighborhood: str  # the column naming the neighborhood (its id or its name)
    count: str  # the column holding the population


@dataclass(frozen=True)
class City:
    folder: str  # the shipped file-drop folder, under sources/
    crimes: tuple[Crimes, ...]
    boundaries: str  # the geography source's name
    boundary_file: str | None  # None: no real boundary file (the run gets stand-ins)
    id_property: str  # the boundary file's property holding the neighborhood id
    area_crosswalk: str
    name_property: str = ""  # the boundary file's property holding the name, where not the id
    population: Population | None = None


def dc_start(row: dict) -> datetime | None:
    """`2018/06/14 05:40:52+00`: UTC, as DC's local wall-clock time."""
    text = row["START_DATE"].strip()
    utc = strptime(text[:-3], "%Y/%m/%d %H:%M:%S")
    if utc is None or text[-3:] != "+00":
        return None
    return utc.replace(tzinfo=UTC).astimezone(ZoneInfo("America/New_York")).replace(tzinfo=None)


def whole_number(text: str) -> str:
    """A code written as a whole number (`01`, `1.0`) as its digits, as `area_codes: number` compares it."""
    text = text.strip()
    return str(int(float(text))) if text.replace(".", "", 1).isdigit() else text


def soda_area(row: dict) -> str:
    """The API's community_area: `8.0` where pandas re-saved it (no area_codes option in the portal YAML:
    the decimal zeros a float column adds are dropped, as for any code)."""
    return re.sub(r"^(\d+)\.0+$", r"\1", str(row.get("community_area", "")).strip())


CHICAGO_EXPORT = Export(
    offense_crosswalk="fbi_code_crosswalk.csv",
    area_crosswalk="community_area_crosswalk.csv",
    incident=lambda row: row["ID"].strip(),
    occurred=lambda row: strptime(row["Date"], "%m/%d/%Y %I:%M:%S %p"),
    code=lambda row: row["FBI Code"].strip(),
    point=lambda row: point_of(row["Latitude"], row["Longitude"]),
    area=lambda row: row["Community Area"].strip(),
    earliest=datetime(2001, 1, 1),
)
# The API's records (JSON: no key at all for an empty value), under the portal YAML's columns.
CHICAGO_API = Export(
    offense_crosswalk="fbi_code_crosswalk.csv",
    area_crosswalk="community_area_crosswalk.csv",
    incident=lambda row: str(row["id"]).strip(),
    occurred=lambda row: strptime(row["date"], "%Y-%m-%dT%H:%M:%S.%f"),
    code=lambda row: row["fbi_code"].strip(),
    point=lambda row: point_of(row.get("latitude", ""), row.get("longitude", "")),
    area=soda_area,
)

CITIES = {
    "chicago": City(
        folder="chicago/file_drop",
        crimes=(
            Crimes("chicago_crimes", "chicago_crimes_portal_export_2024_sample750.csv", CHICAGO_EXPORT),
            Crimes(
                "chicago_api_json",
                "chicago_crimes_soda_api_sample200.json",
                CHICAGO_API,
                first_row=1,
                yaml=SOURCES / "chicago" / "chicago_crimes.yml",
            ),
            Crimes(
                "chicago_api_csv",
                "chicago_crimes_soda_csv_2025_first100.csv",
                CHICAGO_API,
                yaml=SOURCES / "chicago" / "chicago_crimes.yml",
            ),
        ),
        boundaries="chicago_community_areas",
        boundary_file="chicago_community_areas_simplified_derived.geojson",
        id_property="area_numbe",
        area_crosswalk="community_area_crosswalk.csv",
        name_property="community",
        population=Population(
            "chicago_population",
            "chicago_community_area_population_2020_wikipedia.csv",
            neighborhood="community_area_name",
            count="population_2020",
        ),
    ),
    "san_francisco": City(
        folder="san_francisco/file_drop",
        crimes=(
            Crimes(
                "sf_incidents",
                "sf_police_incident_reports_2018_sample500.csv",
                Export(
                    offense_crosswalk="incident_code_crosswalk.csv",
                    area_crosswalk="analysis_neighborhood_crosswalk.csv",
                    incident=lambda row: row["Incident ID"].strip(),
                    occurred=lambda row: strptime(row["Incident Datetime"], "%Y/%m/%d %I:%M:%S %p"),
                    code=lambda row: row["Incident Code"].strip(),
                    point=lambda row: point_of(row["Latitude"], row["Longitude"]),
                    area=lambda row: row["Analysis Neighborhood"].strip(),
                ),
            ),
        ),
        boundaries="sf_neighborhoods",
        boundary_file=None,
        id_property="nhood",
        area_crosswalk="analysis_neighborhood_crosswalk.csv",
    ),
    "detroit": City(
        folder="detroit",
        crimes=(
            Crimes(
                "detroit_crimes",
                "detroit_rms_crime_incidents_liquor_2024_subset.csv",
                Export(
                    offense_crosswalk="offense_category_crosswalk.csv",
                    area_crosswalk="neighborhood_crosswalk.csv",
                    incident=lambda row: row["incident_entry_id"].strip(),
                    occurred=lambda row: strptime(row["year"], "%Y"),  # the year only: January
                    code=lambda row: row["offense_category"].strip(),
                    point=lambda row: point_of(row["latitude"], row["longitude"]),
                    area=lambda row: row["neighborhood"].strip(),
                ),
            ),
        ),
        boundaries="detroit_neighborhoods",
        boundary_file=None,
        id_property="nhood_name",
        area_crosswalk="neighborhood_crosswalk.csv",
    ),
    "new_york": City(
        folder="new_york",
        crimes=(
            Crimes(
                "nyc_complaints",
                "nypd_complaints_historic_occ20100101_sample1000.csv",
                Export(
                    offense_crosswalk="ky_cd_crosswalk.csv",
                    area_crosswalk="precinct_crosswalk.csv",
                    incident=lambda row: row["CMPLNT_NUM"].strip(),
                    occurred=lambda row: strptime(
                        f"{row['CMPLNT_FR_DT']} {row['CMPLNT_FR_TM']}", "%m/%d/%Y %H:%M:%S"
                    ),
                    code=lambda row: row["KY_CD"].strip(),
                    point=lambda row: point_of(row["Latitude"], row["Longitude"]),
                    area=lambda row: whole_number(row["ADDR_PCT_CD"]),
                    earliest=datetime(2006, 1, 1),
                ),
            ),
        ),
        boundaries="nyc_police_precincts",
        boundary_file="nyc_police_precincts.geojson",
        id_property="Precinct",
        area_crosswalk="precinct_crosswalk.csv",
    ),
    "seattle": City(
        folder="seattle",
        crimes=(
            Crimes(
                "seattle_offenses",
                "seattle_spd_robbery_2008_2021_sample1000.csv",
                Export(
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
        ),
        boundaries="seattle_mcpp_areas",
        boundary_file="seattle_spd_mcpp_areas.geojson",
        id_property="NAME",
        area_crosswalk="mcpp_crosswalk.csv",
    ),
    "washington_dc": City(
        folder="washington_dc",
        crimes=(
            Crimes(
                "dc_crime_incidents",
                "dc_mpd_crime_incidents_2018_partial335.csv",
                Export(
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
        ),
        boundaries="dc_neighborhood_clusters",
        boundary_file="dc_neighborhood_clusters.geojson",
        id_property="name",
        area_crosswalk="cluster_crosswalk.csv",
        name_property="NBH_NAMES",
    ),
}


def stand_ins(city: City, row_of_squares: int) -> dict:
    """A small square per neighborhood its area crosswalk names, side by side in the Pacific (no incident of any
    city is there): boundaries to publish the neighborhoods, not to place points."""
    ids = sorted(
        set(crosswalk(SOURCES / city.folder / city.area_crosswalk, "area_code", "neighborhood_id").values())
    )
    south = -40.0 + row_of_squares
    features = []
    for i, nbhd in enumerate(ids):
        west = -150.0 + i * 0.01
        ring = [[west, south], [west + 0.005, south], [west + 0.005, south + 0.005], [west, south + 0.005]]
        features.append(
            {
                "type": "Feature",
                "properties": {city.id_property: nbhd},
                "geometry": {"type": "Polygon", "coordinates": [ring + ring[:1]]},
            }
        )
    return {"type": "FeatureCollection", "features": features}


def neighborhood_labels(city: City, real_data: Path) -> set[str]:
    """The ids and names of the city's neighborhoods, as rows are matched to them."""
    if city.boundary_file is None:
        features = stand_ins(city, 0)["features"]
    else:
        features = json.loads((real_data / city.boundary_file).read_text())["features"]
    properties = {city.id_property, city.name_property or city.id_property}
    return {label(f["properties"].get(p, "")) for f in features for p in properties}


def api_file_as_drop(crimes: Crimes, sources: Path) -> None:
    """The portal YAML with a landing folder instead of its connector: the API's answer saved as a file reads
    with the portal's own columns and time format."""
    assert crimes.yaml is not None
    definition = yaml.safe_load(crimes.yaml.read_text())
    del definition["connector"]
    definition |= {"name": crimes.source, "path": f"landing/{crimes.source}/*"}
    (sources / f"{crimes.source}.yml").write_text(yaml.safe_dump(definition, sort_keys=False))


def rows_of(real_data: Path, crimes: Crimes) -> list[dict]:
    file = real_data / crimes.file
    return json.loads(file.read_text()) if file.suffix == ".json" else csv_rows(file)


# Two runs: a deployment's neighborhood ids and names are one namespace (rows are matched to them), and cities
# meet there: Chicago's community areas and New York's precincts are both numbered from 1, and Chicago and San
# Francisco both have a Lincoln Park (Chicago's population row for it would go to San Francisco's).
RUNS = (("chicago", "detroit", "seattle"), ("new_york", "san_francisco", "washington_dc"))


def deploy(cities: tuple[str, ...], home: Path, sources: Path, real_data: Path) -> None:
    """One run for several cities: their shipped folders side by side in one sources folder (each file as shipped;
    no two share a name), each export and boundary file dropped in its landing folder. The cities' neighborhoods
    and incidents do not meet (no boundary of one city holds another's points, no two share an id or a name)."""
    labels = [neighborhood_labels(CITIES[name], real_data) for name in cities]
    assert all(not (a & b) for i, a in enumerate(labels) for b in labels[i + 1 :]), cities
    for number, city in enumerate(CITIES[name] for name in cities):
        for shipped in (SOURCES / city.folder).iterdir():
            if shipped.is_file():
                assert not (sources / shipped.name).exists(), shipped
                shutil.copy(shipped, sources / shipped.name)
        for crimes in city.crimes:
            if crimes.yaml is not None:
                api_file_as_drop(crimes, sources)
            (home / "landing" / crimes.source).mkdir(parents=True)
            shutil.copy(real_data / crimes.file, home / "landing" / crimes.source / crimes.file)
        if city.population is not None:
            (home / "landing" / city.population.source).mkdir(parents=True)
            shutil.copy(real_data / city.population.file, home / "landing" / city.population.source)
        (home / "landing" / city.boundaries).mkdir(parents=True)
        if city.boundary_file is None:
            squares = json.dumps(stand_ins(city, number))
            (home / "landing" / city.boundaries / "stand_ins.geojson").write_text(squares)
        else:
            shutil.copy(
                real_data / city.boundary_file, home / "landing" / city.boundaries / city.boundary_file
            )
    result = run_cli("run", *RUN, "--home", str(home), "--sources", str(sources))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]


@pytest.fixture(scope="module")
def deployments(tmp_path_factory, real_data):
    """The (home, sources) of a city's run, each run made once, when a test first needs one of its cities (a
    run that failed fails the tests of its cities without running again)."""
    made: dict[tuple[str, ...], tuple[Path, Path] | AssertionError] = {}

    def of(city: str) -> tuple[Path, Path]:
        (cities,) = [cities for cities in RUNS if city in cities]
        if cities not in made:
            home, sources = tmp_path_factory.mktemp("cities"), tmp_path_factory.mktemp("cities_sources")
            try:
                deploy(cities, home, sources, real_data)
                made[cities] = home, sources
            except AssertionError as failed:
                made[cities] = failed
        run = made[cities]
        if isinstance(run, AssertionError):
            raise run
        return run

    return of


@pytest.fixture(scope="module", params=[city for cities in RUNS for city in cities])
def city_run(request, deployments, real_data):
    city = CITIES[request.param]
    home, sources = deployments(request.param)
    shapes = published_shapes(home)
    if city.boundary_file is None:
        ids = {f["properties"][city.id_property] for f in stand_ins(city, 0)["features"]}
    else:
        boundary = json.loads((real_data / city.boundary_file).read_text())
        ids = {str(feature["properties"][city.id_property]) for feature in boundary["features"]}
    assert ids <= set(shapes)  # every boundary of the city's file is published
    rows = {crimes.source: rows_of(real_data, crimes) for crimes in city.crimes}
    recounts = {
        crimes.source: recount(crimes.export, rows[crimes.source], shapes, sources, crimes.first_row)
        for crimes in city.crimes
    }
    return city, home, sources, rows, recounts, ids


def label(text: str) -> str:
    """A neighborhood's id or name as population rows are matched to it: case and runs of spaces aside."""
    return " ".join(str(text).lower().split())


def populations(city: City, real_data: Path) -> tuple[dict[str, int], list[tuple[int, str]]]:
    """The city's population by neighborhood id, read from its file (a row matched to a boundary's id, else to
    its name), and the rows refused (row, reason): none for a city without a population file."""
    if city.population is None:
        return {}, []
    assert city.boundary_file is not None
    features = json.loads((real_data / city.boundary_file).read_text())["features"]
    by_name = {
        label(f["properties"][city.name_property]): str(f["properties"][city.id_property]) for f in features
    }
    by_label = by_name | {
        label(f["properties"][city.id_property]): str(f["properties"][city.id_property]) for f in features
    }
    counts, refused = {}, []
    for number, row in enumerate(csv_rows(real_data / city.population.file), start=2):
        nbhd = by_label.get(label(row[city.population.neighborhood]))
        if nbhd is None:
            refused.append((number, "unknown_neighborhood"))
        else:
            counts[nbhd] = int(row[city.population.count])
    return counts, refused


RATES = {
    "incidents_per_1k": "incidents",
    "violent_per_1k": "violent_incidents",
    "property_per_1k": "property_incidents",
}


def test_crime_monthly_equals_an_independent_recount(city_run, real_data):
    city, home, _, _, recounts, ids = city_run
    monthly = [row for row in published(home, "crime_monthly") if row["neighborhood_id"] in ids]
    assert_every_cell(monthly, merged(recounts))
    # Rates per 1,000 residents where the city ships a population source (its counts as checked above), else none.
    population, _ = populations(city, real_data)
    for row in monthly:
        people = population.get(row["neighborhood_id"])
        assert row["population"] == people, row
        for rate, count in RATES.items():
            assert row[rate] == (row[count] / people * 1000 if people else None), (rate, row)


def test_every_population_row_refused_is_counted_with_its_reason(deployments, real_data):
    """Chicago's 2020 table names O'Hare so, its boundary OHARE: that row alone is refused (a name spelt otherwise
    matches nothing); the others load."""
    city = CITIES["chicago"]
    home, _ = deployments("chicago")
    assert city.population is not None
    _, refused = populations(city, real_data)
    source = city.population.source
    assert warehouse(home, f"SELECT _row, reason FROM quarantine.{source} ORDER BY _row") == refused
    rows = csv_rows(real_data / city.population.file)
    assert [rows[n - 2][city.population.neighborhood] for n, _ in refused] == ["O'Hare"]
    assert warehouse(home, "SELECT sum(rows_loaded) FROM meta.loads WHERE source = ?", [source]) == [
        (len(rows) - 1,)
    ]


def numbered(rows: list[dict], crimes: Crimes) -> list[tuple[int, dict]]:
    return list(enumerate(rows, start=crimes.first_row))


def quirks_of(city: City, crimes: Crimes, rows: list[dict]) -> list[tuple[int, str]]:
    """The rows each file's quirks refuse, found here from what SOURCES.md of the real data says of the file."""
    lines = numbered(rows, crimes)
    if crimes.source == "seattle_offenses":
        # the 0/0 points whose MCPP is UNKNOWN; the second robbery row of report 2019-087057 (the same code:
        # the report counts once)
        report = [n for n, row in lines if row["Report Number"] == "2019-087057"]
        zeros = [n for n, row in lines if row["Latitude"] == "0" and row["MCPP"] == "UNKNOWN"]
        return sorted([(n, "unlocatable") for n in zeros] + [(report[1], "duplicate_incident")])
    if crimes.source == "dc_crime_incidents":  # the incident whose START_DATE is in 2007
        return [
            (n, "occurred_at_before_earliest") for n, row in lines if row["START_DATE"].startswith("2007/")
        ]
    if crimes.source == "sf_incidents":  # neither coordinates nor an Analysis Neighborhood
        return [
            (n, "unlocatable") for n, row in lines if not row["Latitude"] and not row["Analysis Neighborhood"]
        ]
    if crimes.source == "detroit_crimes":  # a blank neighborhood, and no boundary of Detroit holds its point
        return [(n, "unlocatable") for n, row in lines if not row["neighborhood"]]
    return []  # nothing in New York's sample nor in Chicago's files


QUIRKS = {
    "chicago_crimes": 0,
    "chicago_api_json": 0,
    "chicago_api_csv": 0,
    "sf_incidents": 5,
    "detroit_crimes": 1,
    "nyc_complaints": 0,
    "seattle_offenses": 4,
    "dc_crime_incidents": 1,
}


def test_every_refused_row_is_counted_with_the_reason_of_its_quirk(city_run):
    city, home, _, rows, recounts, _ = city_run
    for crimes in city.crimes:
        expected, received = recounts[crimes.source], len(rows[crimes.source])
        quarantined = warehouse(home, f"SELECT _row, reason FROM quarantine.{crimes.source} ORDER BY _row")
        assert quarantined == expected.refused, crimes.source
        totals = warehouse(
            home,
            "SELECT sum(rows_received), sum(rows_loaded) FROM meta.loads WHERE source = ?",
            [crimes.source],
        )
        assert totals == [(received, received - len(expected.refused))], crimes.source
        assert expected.refused == quirks_of(city, crimes, rows[crimes.source]), crimes.source
        assert len(expected.refused) == QUIRKS[crimes.source], crimes.source


# One incident per source, at the local time the run must store (from the file, read by eye).
LOCAL_TIMES = {
    # DC writes UTC (`+00`): 2018/04/01 00:01:17+00 happened on March 31 in DC, and counts in March.
    "dc_crime_incidents": ("10954295", datetime(2018, 3, 31, 20, 1, 17)),
    # the others write local time, read as it is
    "nyc_complaints": ("692499668", datetime(2010, 1, 1, 17, 30)),
    "seattle_offenses": ("2020-044465", datetime(2020, 2, 2, 20, 30)),
    "chicago_crimes": ("13364090", datetime(2024, 2, 10, 0, 44)),
    "chicago_api_json": ("11905072", datetime(2019, 11, 27, 23, 57)),
    "chicago_api_csv": ("13868345", datetime(2025, 1, 1)),
    "sf_incidents": ("743396", datetime(2018, 12, 1, 0, 25)),
    "detroit_crimes": ("1190494-4102", datetime(2024, 1, 1)),  # the extract's year only
}


def test_timestamps_are_local_time(city_run):
    city, home, _, _, recounts, _ = city_run
    for crimes in city.crimes:
        incident, local = LOCAL_TIMES[crimes.source]
        stored = warehouse(
            home, f"SELECT DISTINCT occurred_at FROM raw.{crimes.source} WHERE incident_id = ?", [incident]
        )
        assert stored == [(local,)] and recounts[crimes.source].placed[incident][1] == local, crimes.source


REFUSED = re.compile(r"^(?:warning|error): .+?: ([a-z_]+)(?:: .*)? in (\d+) of (\d+) rows", re.M)
REFUSED_MORE = re.compile(r"^(?:warning|error): .+?: ([a-z_]+): \d+ more values in (\d+) rows$", re.M)
UNMAPPED = re.compile(
    r"(\d+) of (\d+) rows \(.*?\) have offense codes missing from .*: add rows .* for (.*)$", re.M
)


def test_check_source_on_the_real_file_tells_what_the_run_did(city_run, real_data, capsys):
    """`check-source YAML --sample FILE` (in process), with the run's boundaries: the rows it would refuse, by
    reason, the offense codes missing from the crosswalk and the categories of the rows it would load are the
    recount's."""
    city, home, sources, rows, recounts, _ = city_run
    for crimes in city.crimes:
        expected, received = recounts[crimes.source], len(rows[crimes.source])
        sample = real_data / crimes.file
        status = main(
            [
                "check-source",
                str(sources / f"{crimes.source}.yml"),
                "--sample",
                str(sample),
                "--home",
                str(home),
            ]
        )
        out, err = capsys.readouterr()
        assert status == 0, out + err
        said: Counter = Counter()
        for reason, count, total in REFUSED.findall(err):
            assert int(total) == received
            said[reason] += int(count)
        for reason, count in REFUSED_MORE.findall(err):
            said[reason] += int(count)
        assert said == Counter(reason for _, reason in expected.refused), crimes.source
        categories = crosswalk(sources / crimes.export.offense_crosswalk, "offense_code", "ucr_category")
        unmapped = Counter(crimes.export.code(row) for row in rows[crimes.source])
        unmapped = {code: n for code, n in unmapped.items() if code not in categories}
        found = UNMAPPED.findall(err)
        if unmapped:
            (rows_unmapped, total, codes), *_ = found
            listed = dict(re.findall(r"'([^']*)' \((\d+)\)", codes))
            assert (int(rows_unmapped), int(total)) == (sum(unmapped.values()), received)
            assert {code: int(n) for code, n in listed.items()} == unmapped
        else:
            assert found == []
        loaded = received - len(expected.refused)
        by_category = sorted(expected.loaded_categories.items(), key=lambda item: (-item[1], item[0]))
        listed = ", ".join(f"{category} {n}" for category, n in by_category)
        assert f"categories of the {loaded} rows that would load: {listed}\n" in out, crimes.source
