"""Real cities end to end through the CLI: sources/chicago against a local mirror of its portal, and one deployment holding every crime format (Chicago portal CSV, SODA JSON, SODA-style CSV, San
Francisco's export) plus Detroit, added by YAML + crosswalk alone. Expectations are computed here, independently:
point in polygon by ray casting in plain Python, counts with pandas."""

from __future__ import annotations

import json
import shutil

import duckdb
import pandas as pd
import pytest

from pipelines.settings import REPO_ROOT
from tests.conftest import run_cli
from tests.connectors.portal import running_portal
from tests.e2e import _recount as recounting

CHICAGO = REPO_ROOT / "sources" / "chicago"
SF = REPO_ROOT / "sources" / "san_francisco"
# Everything up to the published tables (the HTML report and docs are another issue's and tested there).
RUN = ("--select", "+key:published_files")
VIOLENT, PROPERTY = {"01A", "02", "03", "04A", "04B"}, {"05", "06", "07", "09"}


# ---- independent point in polygon (even-odd rule), no DuckDB
def _in_ring(x: float, y: float, ring: list) -> bool:
    inside = False
    for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def containing_area(x: float, y: float, shapes: dict[str, dict]) -> str | None:
    """The id of the boundary holding the point (the smallest id where simplified outlines overlap)."""
    holding = []
    for nbhd, geometry in shapes.items():
        polygons = (
            geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
        )
        for exterior, *holes in polygons:
            if _in_ring(x, y, exterior) and not any(_in_ring(x, y, hole) for hole in holes):
                holding.append(nbhd)
    return min(holding) if holding else None


def published(home, table: str) -> pd.DataFrame:
    return pd.read_parquet(home / "published" / "current" / f"{table}.parquet")


def published_shapes(home) -> dict[str, dict]:
    """The boundaries as published (repaired where the file's shape was invalid), by neighborhood id."""
    neighborhoods = published(home, "neighborhoods")
    return {
        n: json.loads(g)
        for n, g in zip(neighborhoods["neighborhood_id"], neighborhoods["geometry_geojson"], strict=True)
    }


def warehouse(home, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql).df()


# ---- sources/chicago against a mirror of data.cityofchicago.org
def portal_export_as_soda(file) -> list[dict]:
    """The portal's "Export CSV" rows as its SODA API serves the same records: snake_case fields, ISO times,
    booleans, and no key at all for an empty value."""
    export = pd.read_csv(file, dtype=str, encoding="utf-8-sig", keep_default_na=False)
    iso = lambda column: pd.to_datetime(export[column], format="%m/%d/%Y %I:%M:%S %p").dt.strftime(  # noqa: E731
        "%Y-%m-%dT%H:%M:%S.000"
    )
    soda = pd.DataFrame(
        {
            "id": export["ID"],
            "case_number": export["Case Number"],
            "date": iso("Date"),
            "block": export["Block"],
            "iucr": export["IUCR"],
            "primary_type": export["Primary Type"],
            "description": export["Description"],
            "arrest": export["Arrest"] == "true",
            "domestic": export["Domestic"] == "true",
            "beat": export["Beat"],
            "district": export["District"],
            "community_area": export["Community Area"],
            "fbi_code": export["FBI Code"],
            "updated_on": iso("Updated On"),
            "latitude": export["Latitude"],
            "longitude": export["Longitude"],
        }
    )
    return [{k: v for k, v in record.items() if v != ""} for record in soda.to_dict("records")]


@pytest.fixture(scope="module")
def chicago(tmp_path_factory, real_data):
    home = tmp_path_factory.mktemp("chicago")
    # The API sample (2019) and the 2024 export's records, as the portal serves both: more areas with incidents.
    rows = json.loads((real_data / "chicago_crimes_soda_api_sample200.json").read_text())
    rows += portal_export_as_soda(real_data / "chicago_crimes_portal_export_2024_sample750.csv")
    areas = json.loads((real_data / "chicago_community_areas_simplified_derived.geojson").read_text())
    env = {"SOCRATA_APP_TOKEN": "canary-app-token-5e2d", "CHICAGO_PAGE_SIZE": "300"}
    with running_portal() as portal:
        portal.soda("ijzp-q8t2", rows)
        portal.soda("igwz-8jzy", areas["features"], geojson=True)
        env["CHICAGO_PORTAL_URL"] = portal.base_url
        result = run_cli("run", *RUN, "--home", str(home), "--sources", str(CHICAGO), env=env)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]
        return {"home": home, "rows": rows, "areas": areas["features"], "tokens": set(portal.app_tokens)}


def month_of(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values).dt.to_period("M").dt.to_timestamp().astype("datetime64[ns]")


def expected_monthly(rows: list[dict], shapes: dict[str, dict]) -> pd.DataFrame:
    """Per area and month, counted here from the records as the portal holds them now: the latest version of
    each incident, placed by point in polygon, else by its community area through the source's crosswalk;
    categories from the source's offense crosswalk (a code missing from it counts as 'other')."""
    frame = pd.DataFrame(rows)
    frame = frame.sort_values("updated_on").drop_duplicates("id", keep="last")
    areas = pd.read_csv(CHICAGO / "community_area_crosswalk.csv", dtype=str)
    by_area = dict(zip(areas["area_code"], areas["neighborhood_id"], strict=True))
    located = [
        containing_area(float(lon), float(lat), shapes) if isinstance(lat, str) else None
        for lat, lon in zip(frame["latitude"], frame["longitude"], strict=True)
    ]
    frame["neighborhood_id"] = pd.Series(located, index=frame.index).fillna(
        frame["community_area"].map(by_area)
    )
    assert frame["neighborhood_id"].notna().all()  # every record here can be placed: none may go missing
    offenses = pd.read_csv(CHICAGO / "fbi_code_crosswalk.csv", dtype=str)
    category = frame["fbi_code"].map(
        dict(zip(offenses["offense_code"], offenses["ucr_category"], strict=True))
    )
    frame["month"] = month_of(frame["date"])
    return (
        frame.assign(violent=category == "violent", property=category == "property")
        .groupby(["neighborhood_id", "month"])
        .agg(
            incidents=("id", "size"),
            violent_incidents=("violent", "sum"),
            property_incidents=("property", "sum"),
        )
    )


def nonzero(monthly: pd.DataFrame) -> pd.DataFrame:
    monthly = monthly.assign(month=month_of(monthly["month"]))
    counts = monthly.set_index(["neighborhood_id", "month"])[
        ["incidents", "violent_incidents", "property_incidents"]
    ]
    return counts[counts["incidents"] > 0].astype("int64").sort_index()


def test_chicago_from_its_portal_matches_an_independent_count(chicago):
    home = chicago["home"]
    # All 77 community areas are published: the simplified Lincoln Park outline crosses itself, and is loaded
    # repaired (a note in data_quality_reasons, not a refusal).
    neighborhoods = published(home, "neighborhoods")
    file_ids = {f["properties"]["area_numbe"] for f in chicago["areas"]}
    assert len(file_ids) == 77 and set(neighborhoods["neighborhood_id"]) == file_ids
    assert neighborhoods["population"].isna().all()
    reasons = published(home, "data_quality_reasons")
    loads = published(home, "data_quality").query("source == 'chicago_community_areas'")
    assert loads["rows_loaded"].tolist() == [77]
    areas = reasons[reasons["source"] == "chicago_community_areas"].sort_values("load_id")
    assert areas[["load_id", "reason", "refused", "rows"]].to_dict("records") == [
        {"load_id": load_id, "reason": "repaired_geometry", "refused": False, "rows": 1}
        for load_id in sorted(loads["load_id"])
    ]
    assert warehouse(home, "SELECT count(*) AS n FROM quarantine.chicago_community_areas")["n"][0] == 0
    monthly = published(home, "crime_monthly")
    assert set(monthly["neighborhood_id"]) == file_ids
    assert monthly["incidents_per_1k"].isna().all()  # no population configured: rates NULL, not an error
    # Every incident is in the published counts, each cell as counted here on the published (repaired) shapes.
    expected = expected_monthly(chicago["rows"], published_shapes(home)).sort_index()
    incidents = len({r["id"] for r in chicago["rows"]})
    assert incidents == 950 and expected["incidents"].sum() == incidents == monthly["incidents"].sum()
    assert len(expected.index.get_level_values(0).unique()) > 70  # nearly every area has incidents
    assert "7" in expected.index.get_level_values(0)  # Lincoln Park's own incidents among them
    pd.testing.assert_frame_equal(nonzero(monthly), expected)
    # The YAML's app_token_env reached the portal (that no file keeps a token is tests/security's property 12).
    assert chicago["tokens"] == {"canary-app-token-5e2d"}


# ---- every crime format, and Detroit, in one deployment of file drops
FORMATS = {
    "chicago_portal_csv": (
        "chicago_crimes_portal_export_2024_sample750.csv",
        '"%m/%d/%Y %I:%M:%S %p"',
        dict(
            incident_id="ID",
            occurred_at="Date",
            updated_at="Updated On",
            offense_code="FBI Code",
            offense_description="Primary Type",
            latitude="Latitude",
            longitude="Longitude",
            arrest="Arrest",
            domestic="Domestic",
            area_code="Community Area",
        ),
    ),
    "chicago_soda_json": ("chicago_crimes_soda_api_sample200.json", "iso8601", None),
    "chicago_soda_csv": ("chicago_crimes_soda_csv_2025_first100.csv", "iso8601", None),
}
SODA_COLUMNS = dict(
    incident_id="id",
    occurred_at="date",
    updated_at="updated_on",
    offense_code="fbi_code",
    offense_description="primary_type",
    latitude="latitude",
    longitude="longitude",
    arrest="arrest",
    domestic="domestic",
    area_code="community_area",
)
SF_YAML = """
name: sf_export
kind: crime
path: landing/sf_export/*.csv
timestamp_format: "%Y/%m/%d %I:%M:%S %p"
columns:
  incident_id: Incident ID
  occurred_at: Incident Datetime
  offense_code: Incident Code
  offense_description: Incident Subcategory
  latitude: Latitude
  longitude: Longitude
  area_code: Analysis Neighborhood
offense_crosswalk: incident_code_crosswalk.csv
area_crosswalk: analysis_neighborhood_crosswalk.csv
"""
# Detroit, as a newcomer would add it: a YAML, an offense crosswalk, an area crosswalk (no code).
DETROIT_YAML = """
name: detroit_crimes
kind: crime
path: landing/detroit_crimes/*.csv
timestamp_format: "%Y"          # the extract has the year only: incidents count in January
columns:
  incident_id: incident_entry_id
  occurred_at: year
  offense_code: offense_category
  area_code: neighborhood       # no boundaries for Detroit here: located by its own neighborhood names
offense_crosswalk: detroit_offenses.csv
area_crosswalk: detroit_neighborhoods.csv
"""
DETROIT_AREAS_YAML = """
name: detroit_neighborhoods
kind: geography
path: landing/detroit_neighborhoods/*.geojson
id_property: name
name_property: name
"""


def crime_yaml(name: str, pattern: str, fmt: str, columns: dict) -> str:
    mapped = "\n".join(f"  {key}: {value}" for key, value in columns.items())
    return (
        f"name: {name}\nkind: crime\npath: landing/{name}/{pattern}\ntimestamp_format: {fmt}\n"
        f"columns:\n{mapped}\noffense_crosswalk: fbi_code_crosswalk.csv\n"
        "area_crosswalk: community_area_crosswalk.csv\n"
    )


@pytest.fixture(scope="module")
def many(tmp_path_factory, real_data):
    home, sources = tmp_path_factory.mktemp("many"), tmp_path_factory.mktemp("many_sources")
    landing = home / "landing"
    for crosswalk in ("fbi_code_crosswalk.csv", "community_area_crosswalk.csv"):
        shutil.copy(CHICAGO / crosswalk, sources / crosswalk)
    for crosswalk in ("incident_code_crosswalk.csv", "analysis_neighborhood_crosswalk.csv"):
        shutil.copy(SF / crosswalk, sources / crosswalk)
    for name, (file, fmt, columns) in FORMATS.items():
        (landing / name).mkdir(parents=True)
        shutil.copy(real_data / file, landing / name / file)
        pattern = "*" + file[file.rindex(".") :]
        (sources / f"{name}.yml").write_text(crime_yaml(name, pattern, fmt, columns or SODA_COLUMNS))
    (landing / "chicago_areas").mkdir()
    shutil.copy(real_data / "chicago_community_areas_simplified_derived.geojson", landing / "chicago_areas")
    (sources / "chicago_areas.yml").write_text(
        "name: chicago_areas\nkind: geography\npath: landing/chicago_areas/*.geojson\n"
        "id_property: area_numbe\nname_property: community\n"
    )
    (landing / "sf_export").mkdir()
    shutil.copy(real_data / "sf_police_incident_reports_2018_sample500.csv", landing / "sf_export")
    (sources / "sf_export.yml").write_text(SF_YAML)
    sf_areas = pd.read_csv(SF / "analysis_neighborhood_crosswalk.csv", dtype=str)
    sf_areas = dict(zip(sf_areas["area_code"], sf_areas["neighborhood_id"], strict=True))

    detroit = pd.read_csv(
        real_data / "detroit_rms_crime_incidents_liquor_2024_subset.csv", dtype=str, encoding="utf-8-sig"
    )
    (landing / "detroit_crimes").mkdir()
    shutil.copy(real_data / "detroit_rms_crime_incidents_liquor_2024_subset.csv", landing / "detroit_crimes")
    (sources / "detroit_crimes.yml").write_text(DETROIT_YAML)
    (sources / "detroit_offenses.csv").write_text("offense_code,ucr_category\nLIQUOR,other\n")
    names = sorted(detroit["neighborhood"].dropna().unique())
    (sources / "detroit_neighborhoods.csv").write_text(
        "area_code,neighborhood_id\n" + "".join(f"{n},{n}\n" for n in names)
    )
    # Boundaries for the published neighborhood lists (no real file here for Detroit or San Francisco): a small
    # square per neighborhood, side by side, far from any incident, so rows are placed by their area names.
    for source, west, south, ids in (
        ("detroit_neighborhoods", -83.0, 42.0, names),
        ("sf_neighborhoods", -100.0, 30.0, sorted(set(sf_areas.values()))),
    ):
        squares = [
            {
                "type": "Feature",
                "properties": {"name": n},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [
                        [
                            [west + i * 0.01, south],
                            [west + 0.005 + i * 0.01, south],
                            [west + 0.005 + i * 0.01, south + 0.005],
                            [west + i * 0.01, south + 0.005],
                            [west + i * 0.01, south],
                        ]
                    ],
                },
            }
            for i, n in enumerate(ids)
        ]
        (landing / source).mkdir()
        (landing / source / "areas.geojson").write_text(
            json.dumps({"type": "FeatureCollection", "features": squares})
        )
        (sources / f"{source}.yml").write_text(DETROIT_AREAS_YAML.replace("detroit_neighborhoods", source))

    result = run_cli("run", *RUN, "--home", str(home), "--sources", str(sources))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]
    return {"home": home, "sources": sources, "detroit": detroit}


def test_four_formats_load_into_the_same_canonical_incidents(many, real_data):
    incidents = warehouse(
        many["home"],
        "SELECT source, incident_id, occurred_at, offense_code, ucr_category, latitude, arrest, neighborhood_id "
        "FROM canonical.crime_incidents",
    )
    counts = incidents.groupby("source").size().to_dict()
    refused = warehouse(
        many["home"], "SELECT source, reason, sum(rows) AS n FROM meta.load_reasons GROUP BY ALL"
    )
    received = warehouse(many["home"], "SELECT source, sum(rows_received) AS n FROM meta.loads GROUP BY 1")
    received = received.set_index("source")["n"].to_dict()
    assert received["chicago_portal_csv"] == 750 and received["chicago_soda_json"] == 200
    assert received["chicago_soda_csv"] == 100 and received["sf_export"] == 500
    # Refused, with a reason: SF rows with neither coordinates nor a neighborhood and Detroit's row without a
    # neighborhood. Nothing else: the self-intersecting Lincoln Park polygon is loaded repaired, with a note.
    sf = pd.read_csv(real_data / "sf_police_incident_reports_2018_sample500.csv", dtype=str)
    lost = int((sf["Latitude"].isna() & sf["Analysis Neighborhood"].isna()).sum())
    assert sorted(map(tuple, refused.itertuples(index=False))) == [
        ("detroit_crimes", "unlocatable", 1),
        ("sf_export", "unlocatable", lost),
    ]
    notes = warehouse(many["home"], "SELECT source, note, rows FROM meta.load_notes")
    assert notes.to_dict("records") == [{"source": "chicago_areas", "note": "repaired_geometry", "rows": 1}]
    assert counts == {
        "chicago_portal_csv": 750,
        "chicago_soda_json": 200,
        "chicago_soda_csv": 100,
        "sf_export": 500 - lost,
        "detroit_crimes": 45,
    }
    # The same record reads the same whatever the format: spot-check typed values per format.
    by_key = incidents.set_index(["source", "incident_id"])
    portal = by_key.loc[("chicago_portal_csv", "13364090")]
    assert portal.occurred_at == pd.Timestamp("2024-02-10 00:44") and portal.offense_code == "08B"
    assert bool(portal.arrest) is True and portal.ucr_category == "other"
    soda = by_key.loc[("chicago_soda_json", "11905072")]
    assert soda.occurred_at == pd.Timestamp("2019-11-27 23:57") and soda.offense_code == "18"
    soda_csv = by_key.loc[("chicago_soda_csv", "13868345")]
    assert soda_csv.occurred_at == pd.Timestamp("2025-01-01") and soda_csv.offense_code == "26"
    assert soda_csv.neighborhood_id == "8"
    robbery = by_key.loc[("sf_export", "743396")]  # one row per offense: a robbery and family offenses
    crosswalk = pd.read_csv(SF / "incident_code_crosswalk.csv", dtype=str).set_index("offense_code")[
        "ucr_category"
    ]
    codes = sf.loc[sf["Incident ID"] == "743396", "Incident Code"]
    assert sorted(robbery["ucr_category"]) == sorted(codes.map(crosswalk)) and "violent" in set(
        robbery["ucr_category"]
    )
    assert set(robbery["neighborhood_id"]) == {"Glen Park"}


def test_sf_incidents_with_several_offense_rows_count_once_with_the_most_severe(many, real_data):
    sf = pd.read_csv(real_data / "sf_police_incident_reports_2018_sample500.csv", dtype=str)
    sf = sf[sf["Latitude"].notna() | sf["Analysis Neighborhood"].notna()]
    crosswalk = pd.read_csv(SF / "incident_code_crosswalk.csv", dtype=str).set_index("offense_code")[
        "ucr_category"
    ]
    severity = sf["Incident Code"].map(crosswalk).map({"violent": 3, "property": 2, "other": 1})
    expected = severity.groupby(sf["Incident ID"]).max().map({3: "violent", 2: "property", 1: "other"})
    got = warehouse(
        many["home"],
        "SELECT incident_id, ucr_category FROM intermediate.int_incidents_deduplicated WHERE source = 'sf_export'",
    ).set_index("incident_id")["ucr_category"]
    assert len(got) == sf["Incident ID"].nunique() < len(sf)
    pd.testing.assert_series_equal(got.sort_index(), expected.sort_index(), check_names=False)


def test_chicago_2024_point_in_polygon_agrees_with_an_independent_count(many, real_data):
    # Chicago's areas as published: Lincoln Park's self-intersecting outline repaired.
    shapes = {n: g for n, g in published_shapes(many["home"]).items() if n.isdigit()}
    assert len(shapes) == 77
    rows = pd.read_csv(
        real_data / "chicago_crimes_portal_export_2024_sample750.csv", dtype=str, encoding="utf-8-sig"
    )
    located = rows.dropna(subset=["Latitude"])
    expected = pd.Series(
        [
            containing_area(float(x), float(y), shapes)
            for x, y in zip(located["Longitude"], located["Latitude"], strict=True)
        ],
        index=located["ID"],
    )
    assert expected.notna().sum() > 600  # nearly all geocoded incidents fall in some area
    got = warehouse(
        many["home"],
        "SELECT incident_id, neighborhood_id FROM raw.chicago_portal_csv WHERE latitude IS NOT NULL",
    ).set_index("incident_id")["neighborhood_id"]
    inside = expected.dropna()
    pd.testing.assert_series_equal(got.loc[inside.index].sort_index(), inside.sort_index(), check_names=False)
    # Outside every polygon: the area-code fallback (the row's Community Area) applies.
    outside = expected[expected.isna()].index
    fallback = located.set_index("ID").loc[outside, "Community Area"]
    assert got.loc[outside].tolist() == fallback.tolist()
    # And per area, the published counts are that independent assignment's counts.
    monthly = published(many["home"], "crime_monthly")
    month = month_of(monthly["month"])
    per_area = monthly[(month >= "2024-01-01") & (month < "2025-01-01")]
    # The 2024 incidents in chicago's areas come only from this source
    per_area = per_area[per_area["neighborhood_id"].str.isdigit()]  # Chicago's areas, not Detroit's
    counts = per_area.groupby("neighborhood_id")["incidents"].sum()
    all_rows = pd.concat([inside, located.set_index("ID").loc[outside, "Community Area"]])
    all_rows = pd.concat([all_rows, rows[rows["Latitude"].isna()].set_index("ID")["Community Area"]])
    expected_counts = all_rows.value_counts()
    assert counts[counts > 0].sort_index().to_dict() == expected_counts.sort_index().to_dict()


def test_detroit_was_added_by_yaml_and_crosswalk_alone(many):
    detroit = many["detroit"]
    monthly = published(many["home"], "crime_monthly")
    monthly = monthly[monthly["neighborhood_id"].isin(set(detroit["neighborhood"]))]
    counts = monthly.groupby("neighborhood_id")["incidents"].sum()
    expected = detroit.groupby("neighborhood").size()
    assert counts[counts > 0].sort_index().to_dict() == expected.sort_index().to_dict()
    january = monthly[month_of(monthly["month"]) == pd.Timestamp("2024-01-01")]
    assert january["incidents"].sum() == 45
    # The one row with neither a neighborhood nor boundaries to place it is kept in quarantine, not dropped.
    refused = warehouse(many["home"], "SELECT _row, reason FROM quarantine.detroit_crimes")
    assert refused.to_dict("records") == [
        {"_row": int(detroit.index[detroit["neighborhood"].isna()][0]) + 2, "reason": "unlocatable"}
    ]


# San Francisco's export and Detroit's extract, read as their YAMLs above say (no boundary of theirs holds a
# real point: both are placed by their area names).
SF_EXPORT = recounting.Export(
    offense_crosswalk="incident_code_crosswalk.csv",
    area_crosswalk="analysis_neighborhood_crosswalk.csv",
    incident=lambda row: row["Incident ID"].strip(),
    occurred=lambda row: recounting.strptime(row["Incident Datetime"], "%Y/%m/%d %I:%M:%S %p"),
    code=lambda row: row["Incident Code"].strip(),
    point=lambda row: recounting.point_of(row["Latitude"], row["Longitude"]),
    area=lambda row: row["Analysis Neighborhood"].strip(),
)
DETROIT_EXPORT = recounting.Export(
    offense_crosswalk="detroit_offenses.csv",
    area_crosswalk="detroit_neighborhoods.csv",
    incident=lambda row: row["incident_entry_id"].strip(),
    occurred=lambda row: recounting.strptime(row["year"], "%Y"),
    code=lambda row: row["offense_category"].strip(),
    point=lambda row: None,  # not mapped
    area=lambda row: row["neighborhood"].strip(),
)


@pytest.mark.parametrize(
    "source, file, export",
    [
        ("sf_export", "sf_police_incident_reports_2018_sample500.csv", SF_EXPORT),
        ("detroit_crimes", "detroit_rms_crime_incidents_liquor_2024_subset.csv", DETROIT_EXPORT),
    ],
)
def test_crime_monthly_of_sf_and_detroit_equals_an_independent_recount(many, real_data, source, file, export):
    """Every cell of their neighborhoods in crime_monthly, and every refused row with its reason, recounted with
    the csv module and the crosswalks read as data (tests/e2e/_recount.py)."""
    home = many["home"]
    rows = recounting.csv_rows(real_data / file)
    expected = recounting.recount(export, rows, recounting.published_shapes(home), many["sources"])
    ids = set(
        recounting.crosswalk(many["sources"] / export.area_crosswalk, "area_code", "neighborhood_id").values()
    )
    monthly = [row for row in recounting.published(home, "crime_monthly") if row["neighborhood_id"] in ids]
    recounting.assert_every_cell(monthly, expected)
    assert (
        recounting.warehouse(home, f"SELECT _row, reason FROM quarantine.{source} ORDER BY _row")
        == expected.refused
    )
    assert expected.refused and {reason for _, reason in expected.refused} == {"unlocatable"}
