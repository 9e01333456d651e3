"""sources/chicago end to end through the CLI, reading a local mirror of its portal (the Socrata connector, paging,
the app token): the real API sample and the real 2024 export's records as the portal serves them. Expectations
are computed here, independently: point in polygon by ray casting in plain Python, counts with pandas. The file
drops of every city's real exports are tests/e2e/test_cities_crime.py's."""

from __future__ import annotations

import json

import duckdb
import pandas as pd
import pytest

from pipelines.settings import REPO_ROOT
from tests.conftest import run_cli
from tests.connectors.portal import running_portal
from tests.e2e._recount import containing, published_shapes

CHICAGO = REPO_ROOT / "sources" / "chicago"
# Everything up to the published tables (the HTML report and docs are another issue's and tested there).
RUN = ("--select", "+key:published_files")


def published(home, table: str) -> pd.DataFrame:
    return pd.read_parquet(home / "published" / "current" / f"{table}.parquet")


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


def expected_monthly(rows: list[dict], shapes: dict[str, list]) -> pd.DataFrame:
    """Per area and month, counted here from the records as the portal holds them now: the latest version of
    each incident, placed by point in polygon, else by its community area through the source's crosswalk;
    categories from the source's offense crosswalk (a code missing from it counts as 'other')."""
    frame = pd.DataFrame(rows)
    frame = frame.sort_values("updated_on").drop_duplicates("id", keep="last")
    areas = pd.read_csv(CHICAGO / "community_area_crosswalk.csv", dtype=str)
    by_area = dict(zip(areas["area_code"], areas["neighborhood_id"], strict=True))
    located = [
        containing(float(lon), float(lat), shapes) if isinstance(lat, str) else None
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
