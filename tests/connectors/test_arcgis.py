"""The ArcGIS FeatureServer connector through the real landing step, replaying the real Detroit RMS extract
(Detroit publishes it from ArcGIS) in pages: paging, date fields, the incremental second run and error answers.
Faults and resume are reliability properties 6 and 7 (docs/reliability.md) (tests/reliability/test_pagination_resume.py, test_http_faults.py)."""

from __future__ import annotations

import pandas as pd
import pytest

from pipelines import ingest
from pipelines.connectors import arcgis
from pipelines.kinds.base import SourceError
from pipelines.settings import Paths
from tests.connectors.datasets import detroit_records, detroit_spec


@pytest.fixture(scope="module")
def detroit(real_data) -> list[dict]:
    return detroit_records(real_data)


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


def test_the_second_run_asks_only_for_edits_since_the_cursor_minus_the_lookback(tmp_path, portal, detroit):
    paths = Paths(tmp_path, tmp_path / "sources", tmp_path / "warehouse.duckdb", tmp_path / "published")
    spec = detroit_spec(tmp_path, portal.arcgis("RMS_Crime_Incidents", detroit, date_fields=("EditDate",)))
    ingest.land(spec, paths, None)
    cursor = ingest.read_state(paths, "detroit_crimes")["cursor"]
    assert pd.Timestamp(cursor) == pd.Timestamp("2024-06-01T08:00") + pd.Timedelta(hours=len(detroit))

    before = len(portal.log)
    assert len(ingest.land(spec, paths, None)) == 1
    asked = portal.requests_to("/query")[before:]
    # cursor minus one day, back in UTC: the last 24 edits (and the newest) come back, nothing older.
    lower_utc = (pd.Timestamp(cursor).tz_localize("America/Detroit") - pd.Timedelta(days=1)).tz_convert("UTC")
    assert {a["where"] for a in asked} == {f"(1=1) AND EditDate >= TIMESTAMP '{lower_utc:%Y-%m-%d %H:%M:%S}'"}
    newest = pd.read_parquet(sorted((paths.parsed / "detroit_crimes").glob("*.parquet"))[-1])
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
