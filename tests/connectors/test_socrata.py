"""The Socrata connector through the real landing step: sources/chicago's YAML against a local mirror replaying
the real SODA sample in pages, with faults, resume and incremental runs. Raw Parquet and DuckDB are real."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from pipelines import ingest
from pipelines.connectors import socrata
from pipelines.kinds.base import SourceError
from pipelines.settings import REPO_ROOT, Paths
from pipelines.sources import load_source
from pipelines.warehouse import connect
from tests.connectors.conftest import FAST

PAGE = 40  # 200 records: five pages


@pytest.fixture
def home(tmp_path):
    return Paths(
        tmp_path, REPO_ROOT / "sources" / "chicago", tmp_path / "warehouse.duckdb", tmp_path / "published"
    )


def chicago_spec(monkeypatch, portal, name="chicago_crimes"):
    monkeypatch.setenv("CHICAGO_PORTAL_URL", portal.base_url)
    monkeypatch.setenv("CHICAGO_PAGE_SIZE", str(PAGE))
    spec = load_source(REPO_ROOT / "sources" / "chicago" / f"{name}.yml")
    return spec.model_copy(update={"connector": spec.connector.model_copy(update={"http": FAST})})


def raw_rows(paths: Paths, source: str) -> pd.DataFrame:
    files = sorted((paths.raw / source).glob("*.parquet"))
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


def test_a_failure_on_page_n_then_a_resume_has_no_gap_and_no_duplicate(monkeypatch, portal, soda_rows, home):
    portal.soda("ijzp-q8t2", soda_rows)
    spec = chicago_spec(monkeypatch, portal)
    portal.fail(when=lambda p: p.get("$offset") == "40", status=503, retry_after="0")  # retried: no harm
    portal.fail(when=lambda p: p.get("$offset") == "120", truncate=True)  # page 4 fails
    with pytest.raises(SourceError, match=r"chicago_crimes: .*offset=120.*not valid JSON") as failure:
        ingest.land(spec, home, None)
    assert "120 rows fetched before it are kept" in str(failure.value)
    assert "resumes at offset 120" in str(failure.value)
    assert len(raw_rows(home, "chicago_crimes")) == 120
    state = ingest.read_state(home, "chicago_crimes")
    assert state["cursor"] is None and state["resume"]["offset"] == 120

    written = ingest.land(spec, home, None)
    assert len(written) == 1
    raw = raw_rows(home, "chicago_crimes")
    assert sorted(raw["incident_id"], key=int) == sorted((r["id"] for r in soda_rows), key=int)
    assert raw["incident_id"].is_unique
    assert portal.requests_to("ijzp-q8t2.json")[-2]["$offset"] == "160"  # resumed, not restarted
    state = ingest.read_state(home, "chicago_crimes")
    assert state["resume"] is None
    assert pd.Timestamp(state["cursor"]) == max(pd.Timestamp(r["updated_on"]) for r in soda_rows)

    # The warehouse gets every row exactly once (loaded or quarantined), with the SODA values typed.
    summaries = ingest.load(spec, [spec], home)
    assert sum(s.rows_received for s in summaries) == 200
    with connect(home.warehouse, read_only=True) as con:
        loaded = con.execute(
            "SELECT incident_id, occurred_at, offense_code, arrest, latitude FROM raw.chicago_crimes"
        ).df()
        quarantined = con.execute("SELECT count(*) FROM quarantine.chicago_crimes").fetchone()[0]
    assert len(loaded) + quarantined == 200 and loaded["incident_id"].is_unique
    first = loaded.set_index("incident_id").loc["11905072"]
    assert first.occurred_at == pd.Timestamp("2019-11-27 23:57:00") and first.offense_code == "18"
    assert bool(first.arrest) is True and first.latitude == pytest.approx(41.757223644)


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
    files = sorted((home.raw / "chicago_crimes").glob("*.parquet"))
    second = pd.read_parquet(files[-1])
    assert set(second["incident_id"]) == expected and len(second) == len(expected) < len(rows)
    assert second.set_index("incident_id").loc["11905556", "offense_code"] == "04B"
    assert pd.Timestamp(ingest.read_state(home, "chicago_crimes")["cursor"]) == pd.Timestamp(
        new["updated_on"]
    )


def test_a_cursor_in_the_future_loads_zero_rows_and_succeeds(monkeypatch, portal, soda_rows, home):
    portal.soda("ijzp-q8t2", soda_rows)
    spec = chicago_spec(monkeypatch, portal)
    ingest.write_state(home, "chicago_crimes", {"cursor": "2100-01-01T00:00:00", "resume": None})
    assert ingest.land(spec, home, None) == []
    assert len(portal.log) == 1 and not list((home.raw / "chicago_crimes").glob("*.parquet"))
    assert ingest.read_state(home, "chicago_crimes")["cursor"] == "2100-01-01T00:00:00"


def test_a_renamed_column_fails_the_page_naming_it(monkeypatch, portal, soda_rows, home):
    portal.soda(
        "ijzp-q8t2", [{("fbi_cd" if k == "fbi_code" else k): v for k, v in r.items()} for r in soda_rows]
    )
    spec = chicago_spec(monkeypatch, portal)
    with pytest.raises(SourceError, match=r"missing required column\(s\) 'fbi_code'"):
        ingest.land(spec, home, None)
    assert not list((home.raw / "chicago_crimes").glob("*.parquet"))


def test_the_app_token_is_sent_as_a_header_and_never_written(monkeypatch, portal, soda_rows, home):
    portal.soda("ijzp-q8t2", soda_rows)
    spec = chicago_spec(monkeypatch, portal)
    ingest.land(spec, home, None, app_token="canary-token-7c1f")
    assert set(portal.app_tokens) == {"canary-token-7c1f"}
    for file in home.home.rglob("*"):
        if file.is_file():
            assert b"canary-token-7c1f" not in file.read_bytes(), file


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
