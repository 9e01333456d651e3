"""The Socrata connector through the real landing step: sources/chicago's YAML against a local mirror replaying
the real SODA sample in pages: paging order, the incremental second run, schema drift on a page, boundaries from a
`.geojson` endpoint. Raw Parquet is real. Faults and resume are reliability properties 6 and 7 (docs/reliability.md)
(tests/reliability/test_pagination_resume.py, test_http_faults.py); the app token, property 12
(tests/security/test_secrets_never_logged.py)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from pipelines import ingest
from pipelines.connectors import socrata
from pipelines.kinds.base import SourceError
from pipelines.settings import Paths
from tests.connectors.datasets import chicago_home, chicago_spec


@pytest.fixture
def home(tmp_path):
    return chicago_home(tmp_path)


def raw_rows(paths: Paths, source: str) -> pd.DataFrame:
    files = sorted((paths.parsed / source).glob("*.parquet"))
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True) if files else pd.DataFrame()


def test_pages_are_ordered_by_the_key_and_stop_at_a_short_page(monkeypatch, portal, soda_rows):
    portal.soda("ijzp-q8t2", soda_rows)
    spec = chicago_spec(monkeypatch, portal)
    with socrata.session(spec.connector) as http:
        pages = list(socrata.pages(spec.connector, http))
    assert [p.offset for p in pages] == [
        0,
        40,
        80,
        120,
        160,
        200,
    ]  # 200 = 5 x 40: the empty sixth page ends it
    ids = [r["id"] for p in pages for r in p.records]
    assert ids == sorted((r["id"] for r in soda_rows), key=int)
    requests = portal.requests_to("ijzp-q8t2.json")
    assert {r["$order"] for r in requests} == {"id"} and {r["$limit"] for r in requests} == {"40"}
    assert all("$where" not in r for r in requests)  # no cursor yet: the whole dataset


def test_the_second_run_asks_only_for_what_changed_since_the_cursor_minus_the_lookback(
    monkeypatch, portal, soda_rows, home
):
    # Every record of the sample was revised on 2019-12-04; make half of them a month older, so the look-back
    # window (7 days) leaves them out.
    rows = [dict(r) for r in soda_rows]
    for record in rows[::2]:
        record["updated_on"] = (pd.Timestamp(record["updated_on"]) - pd.Timedelta(days=30)).isoformat()
    portal.soda("ijzp-q8t2", rows)
    spec = chicago_spec(monkeypatch, portal)
    ingest.land(spec, home, None)
    cursor = pd.Timestamp(ingest.read_state(home, "chicago_crimes")["cursor"])

    # The portal revises one record (new offense code, newer updated_on) and publishes a new one.
    revised = next(r for r in rows if r["id"] == "11905556")
    revised.update(
        fbi_code="04B", updated_on=(cursor + pd.Timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%S.000")
    )
    new = dict(
        rows[0], id="99999999", updated_on=(cursor + pd.Timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%S.000")
    )
    rows.append(new)
    before = len(portal.log)
    ingest.land(spec, home, None)

    asked = portal.requests_to("ijzp-q8t2.json")[before - len(portal.log) :]
    lower = (cursor - pd.Timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%S.000")
    assert {r["$where"] for r in asked} == {f"updated_on >= '{lower}'"}
    expected = {r["id"] for r in rows if pd.Timestamp(r["updated_on"]) >= pd.Timestamp(lower)}
    files = sorted((home.parsed / "chicago_crimes").glob("*.parquet"))
    second = pd.read_parquet(files[-1])
    assert set(second["incident_id"]) == expected and len(second) == len(expected) < len(rows)
    assert second.set_index("incident_id").loc["11905556", "offense_code"] == "04B"
    assert pd.Timestamp(ingest.read_state(home, "chicago_crimes")["cursor"]) == pd.Timestamp(
        new["updated_on"]
    )


def test_a_renamed_column_fails_the_page_naming_it(monkeypatch, portal, soda_rows, home):
    portal.soda(
        "ijzp-q8t2", [{("fbi_cd" if k == "fbi_code" else k): v for k, v in r.items()} for r in soda_rows]
    )
    spec = chicago_spec(monkeypatch, portal)
    with pytest.raises(SourceError, match=r"missing required column\(s\) 'fbi_code'"):
        ingest.land(spec, home, None)
    assert not list((home.parsed / "chicago_crimes").glob("*.parquet"))


def test_community_area_boundaries_page_through_the_geojson_endpoint(monkeypatch, portal, real_data, home):
    document = json.loads((real_data / "chicago_community_areas_simplified_derived.geojson").read_text())
    portal.soda("igwz-8jzy", document["features"], geojson=True)
    spec = chicago_spec(monkeypatch, portal, "chicago_community_areas")
    spec = spec.model_copy(update={"connector": spec.connector.model_copy(update={"page_size": 20})})
    ingest.land(spec, home, None)
    raw = raw_rows(home, "chicago_community_areas")
    assert sorted(raw["neighborhood_id"], key=int) == [str(i) for i in range(1, 78)]
    assert raw.set_index("neighborhood_id").loc["1", "name"] == "ROGERS PARK"
    assert [p["$offset"] for p in portal.requests_to("igwz-8jzy.geojson")] == ["0", "20", "40", "60"]
