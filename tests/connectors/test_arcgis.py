"""The ArcGIS FeatureServer connector through the real landing step, replaying the real Detroit RMS extract
(Detroit publishes it from ArcGIS) in pages, with faults, resume and an incremental second run."""

from __future__ import annotations

import pandas as pd
import pytest

from pipelines import ingest
from pipelines.connectors import arcgis
from pipelines.kinds.base import SourceError
from pipelines.settings import Paths
from pipelines.sources import load_source
from tests.connectors.conftest import FAST

DETROIT_YAML = """
name: detroit_crimes
kind: crime
connector:
  type: arcgis
  url: {url}
  order_by: OBJECTID
  cursor_field: EditDate
  lookback_days: 1
  page_size: 10
  timezone: America/Detroit
  http: {{timeout_seconds: 1, retries: 3, backoff_seconds: 0.01, backoff_max_seconds: 0.05}}
timestamp_format: "%Y"
columns:
  incident_id: incident_entry_id
  occurred_at: year
  updated_at: EditDate
  offense_code: offense_category
  latitude: latitude
  longitude: longitude
  area_code: neighborhood
offense_crosswalk: offenses.csv
"""


@pytest.fixture
def detroit(real_data) -> list[dict]:
    """The real rows as FeatureServer attributes. The extract has no OBJECTID or edit date, so the test numbers
    the rows and gives each an EditDate (epoch milliseconds, as ArcGIS sends dates), one hour apart."""
    frame = pd.read_csv(
        real_data / "detroit_rms_crime_incidents_liquor_2024_subset.csv", dtype=str, encoding="utf-8-sig"
    )
    records = frame.to_dict("records")
    start = pd.Timestamp("2024-06-01 12:00", tz="UTC")
    for number, record in enumerate(records, start=1):
        record["OBJECTID"] = number
        record["EditDate"] = int((start + pd.Timedelta(hours=number)).timestamp() * 1000)
    return records


def detroit_spec(tmp_path, url):
    folder = tmp_path / "sources"
    folder.mkdir(exist_ok=True)
    (folder / "offenses.csv").write_text("offense_code,ucr_category\nLIQUOR,other\n")
    (folder / "detroit_crimes.yml").write_text(DETROIT_YAML.format(url=url))
    return load_source(folder / "detroit_crimes.yml")


def test_features_page_while_the_server_says_more_remain(tmp_path, portal, detroit):
    spec = detroit_spec(tmp_path, portal.arcgis("RMS_Crime_Incidents", detroit, date_fields=("EditDate",)))
    with arcgis.session(spec.connector) as http:
        pages = list(arcgis.pages(spec.connector, http))
    assert [len(p.records) for p in pages] == [10, 10, 10, 10, 6]
    assert [r["incident_entry_id"] for p in pages for r in p.records] == [
        r["incident_entry_id"] for r in detroit
    ]
    asked = portal.requests_to("/query")
    assert [a["resultOffset"] for a in asked] == ["0", "10", "20", "30", "40"]
    assert {a["orderByFields"] for a in asked} == {"OBJECTID"} and {a["where"] for a in asked} == {"1=1"}
    # Dates arrive as epoch milliseconds and leave as the city's local time (EDT is UTC-4 in June).
    assert pages[0].records[0]["EditDate"] == "2024-06-01T09:00:00"


def test_faults_resume_and_an_incremental_second_run(tmp_path, portal, detroit):
    paths = Paths(tmp_path, tmp_path / "sources", tmp_path / "warehouse.duckdb", tmp_path / "published")
    spec = detroit_spec(tmp_path, portal.arcgis("RMS_Crime_Incidents", detroit, date_fields=("EditDate",)))
    portal.fail(when=lambda p: p["resultOffset"] == "0", status=429, retry_after="0")
    portal.fail(
        when=lambda p: p["resultOffset"] == "10", delay=FAST.timeout_seconds + 0.3
    )  # a timeout, retried
    portal.fail(
        when=lambda p: p["resultOffset"] == "30", status=500, times=10
    )  # beyond the retries: page 4 fails
    with pytest.raises(SourceError, match="detroit_crimes: .*resultOffset=30.*500"):
        ingest.land(spec, paths, None)
    assert ingest.read_state(paths, "detroit_crimes")["resume"]["offset"] == 30
    portal.faults.clear()
    ingest.land(spec, paths, None)
    files = sorted((paths.raw / "detroit_crimes").glob("*.parquet"))
    raw = pd.concat([pd.read_parquet(f) for f in files])
    assert len(files) == 2 and raw["incident_id"].tolist() == [r["incident_entry_id"] for r in detroit]
    cursor = ingest.read_state(paths, "detroit_crimes")["cursor"]
    assert pd.Timestamp(cursor) == pd.Timestamp("2024-06-01T08:00") + pd.Timedelta(hours=len(detroit))

    before = len(portal.log)
    assert len(ingest.land(spec, paths, None)) == 1
    asked = portal.requests_to("/query")[before:]
    # cursor minus one day, back in UTC: the last 24 edits (and the newest) come back, nothing older.
    lower_utc = (pd.Timestamp(cursor).tz_localize("America/Detroit") - pd.Timedelta(days=1)).tz_convert("UTC")
    assert {a["where"] for a in asked} == {f"(1=1) AND EditDate >= TIMESTAMP '{lower_utc:%Y-%m-%d %H:%M:%S}'"}
    newest = pd.read_parquet(sorted((paths.raw / "detroit_crimes").glob("*.parquet"))[-1])
    assert newest["incident_id"].tolist() == [r["incident_entry_id"] for r in detroit[-25:]]


def test_an_error_answer_fails_with_the_servers_message(tmp_path, portal, detroit):
    spec = detroit_spec(tmp_path, portal.arcgis("RMS_Crime_Incidents", detroit))
    error = {
        "error": {"code": 400, "message": "Invalid query parameters", "details": ["'orderByFields' invalid"]}
    }
    portal.fail(status=200, body=error)
    with pytest.raises(
        SourceError, match="detroit_crimes: .*the server answered with an error.*Invalid query"
    ):
        ingest.land(spec, Paths(tmp_path, tmp_path, tmp_path / "w.duckdb", tmp_path / "p"), None)
    assert len(portal.log) == 1
