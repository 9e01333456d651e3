"""Reliability property 6 (docs/reliability.md) — Pagination resume: a failure on page N, then a re-run: no gap, no duplicate. An empty page or a
cursor in the future loads zero rows and succeeds.

The landing step (`pipelines.ingest.land`) of sources/chicago's YAML and of an ArcGIS layer, against a local portal
(tests/connectors/portal.py) replaying real records (the Chicago SODA sample, the Detroit RMS extract) in pages,
with faults injected on chosen pages. Raw Parquet, the cursor file and the DuckDB warehouse are real.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines import ingest
from pipelines.kinds.base import SourceError
from pipelines.settings import Paths
from pipelines.warehouse import connect
from tests.connectors.datasets import chicago_home, chicago_spec, detroit_records, detroit_spec
from tests.connectors.portal import FAST, fresh_portal
from tests.reliability._helpers import FUZZ

PAGE = 40  # the Chicago sample's 200 records: five pages
SOURCE = "chicago_crimes"


@pytest.fixture(scope="module")
def detroit(real_data) -> list[dict]:
    return detroit_records(real_data)


@pytest.fixture
def home(tmp_path) -> Paths:
    return chicago_home(tmp_path)


def raw_rows(paths: Paths, source: str = SOURCE) -> pd.DataFrame:
    files = sorted((paths.parsed / source).glob("*.parquet"))
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True) if files else pd.DataFrame()


def ids(records: list[dict], key: str = "id") -> list[str]:
    return sorted((str(r[key]) for r in records), key=int)


# ---------------------------------------------------------------- a failure on page N, then a re-run


def test_socrata_failure_on_page_n_then_a_rerun_has_no_gap_and_no_duplicate(
    monkeypatch, portal, soda_rows, home
):
    portal.soda("ijzp-q8t2", soda_rows)
    spec = chicago_spec(monkeypatch, portal)
    portal.fail(when=lambda p: p.get("$offset") == "40", status=503, retry_after="0")  # retried: no harm
    portal.fail(when=lambda p: p.get("$offset") == "120", truncate=True)  # page 4 fails
    with pytest.raises(SourceError, match=r"chicago_crimes: .*offset=120.*not valid JSON") as failure:
        ingest.land(spec, home, None)
    assert "120 rows fetched before it are kept" in str(failure.value)
    assert "resumes at offset 120" in str(failure.value)
    assert len(raw_rows(home)) == 120  # pages 1..3 are kept
    state = ingest.read_state(home, SOURCE)
    assert state["cursor"] is None and state["resume"]["offset"] == 120  # the cursor has not moved

    before = len(portal.log)
    assert len(ingest.land(spec, home, None)) == 1
    rerun = portal.requests_to("ijzp-q8t2.json")[before:]
    assert [r["$offset"] for r in rerun] == ["120", "160", "200"]  # resumed at page 4, not restarted
    raw = raw_rows(home)
    assert raw["incident_id"].tolist() == ids(soda_rows)  # every record once, in order: no gap, no duplicate
    state = ingest.read_state(home, SOURCE)
    assert state["resume"] is None
    assert pd.Timestamp(state["cursor"]) == max(pd.Timestamp(r["updated_on"]) for r in soda_rows)

    # The warehouse gets every record exactly once (loaded or quarantined).
    summaries = ingest.validate(spec, [spec], home)
    assert sum(s.rows_received for s in summaries) == 200
    with connect(home.warehouse, read_only=True) as con:
        loaded = con.execute(f"SELECT incident_id FROM raw.{SOURCE}").df()
        quarantined = con.execute(f"SELECT count(*) FROM quarantine.{SOURCE}").fetchone()[0]
    assert len(loaded) + quarantined == 200 and loaded["incident_id"].is_unique


def test_arcgis_failure_on_page_n_then_a_rerun_has_no_gap_and_no_duplicate(tmp_path, portal, detroit):
    paths = chicago_home(tmp_path)
    spec = detroit_spec(tmp_path, portal.arcgis("RMS_Crime_Incidents", detroit, date_fields=("EditDate",)))
    portal.fail(when=lambda p: p["resultOffset"] == "0", status=429, retry_after="0")  # retried
    portal.fail(
        when=lambda p: p["resultOffset"] == "10", delay=FAST.timeout_seconds + 0.3
    )  # a timeout, retried
    portal.fail(when=lambda p: p["resultOffset"] == "30", status=500, times=10)  # beyond the retries
    with pytest.raises(SourceError, match="detroit_crimes: .*resultOffset=30.*500"):
        ingest.land(spec, paths, None)
    state = ingest.read_state(paths, "detroit_crimes")
    assert state["cursor"] is None and state["resume"]["offset"] == 30
    assert len(raw_rows(paths, "detroit_crimes")) == 30

    portal.faults.clear()
    before = len(portal.log)
    ingest.land(spec, paths, None)
    assert [r["resultOffset"] for r in portal.requests_to("/query")[before:]] == ["30", "40"]
    files = sorted((paths.parsed / "detroit_crimes").glob("*.parquet"))
    raw = raw_rows(paths, "detroit_crimes")
    assert len(files) == 2 and raw["incident_id"].tolist() == [r["incident_entry_id"] for r in detroit]
    cursor = ingest.read_state(paths, "detroit_crimes")["cursor"]
    assert pd.Timestamp(cursor) == pd.Timestamp("2024-06-01T08:00") + pd.Timedelta(hours=len(detroit))


def test_a_failure_on_the_first_page_keeps_nothing_and_the_rerun_reads_everything(
    monkeypatch, portal, soda_rows, home
):
    portal.soda("ijzp-q8t2", soda_rows)
    spec = chicago_spec(monkeypatch, portal)
    portal.fail(status=404)
    with pytest.raises(SourceError, match="HTTP 404 not found") as failure:
        ingest.land(spec, home, None)
    assert "resumes at offset 0" in str(failure.value)
    assert not list((home.parsed / SOURCE).glob("*")), "no raw file, not even a partial one"
    ingest.land(spec, home, None)
    assert raw_rows(home)["incident_id"].tolist() == ids(soda_rows)


@settings(FUZZ, max_examples=8)
@given(
    failures=st.lists(
        st.tuples(st.sampled_from(range(0, 240, PAGE)), st.sampled_from(["truncate", "status"])),
        min_size=1,
        max_size=4,
    )
)
def test_any_sequence_of_failed_runs_then_a_good_one_loads_every_record_exactly_once(
    tmp_path_factory, portal_http, soda_rows, failures
):
    """Each run fails on some page (or none, once the faults are used up); re-running until a run succeeds
    leaves every record in raw exactly once and the cursor at the newest record."""
    portal = fresh_portal(portal_http)
    home = chicago_home(tmp_path_factory.mktemp("resume"))
    portal.soda("ijzp-q8t2", soda_rows)
    with pytest.MonkeyPatch.context() as monkeypatch:
        spec = chicago_spec(monkeypatch, portal)
    for offset, kind in failures:
        fault = {"truncate": True} if kind == "truncate" else {"status": 500, "times": FAST.retries + 1}
        portal.fail(when=lambda p, at=str(offset): p.get("$offset") == at, **fault)
    for _attempt in range(len(failures) + 1):
        try:
            ingest.land(spec, home, None)
            break
        except SourceError:
            assert ingest.read_state(home, SOURCE)["cursor"] is None
    else:
        pytest.fail("the run never succeeded")
    assert raw_rows(home)["incident_id"].tolist() == ids(soda_rows)
    assert pd.Timestamp(ingest.read_state(home, SOURCE)["cursor"]) == max(
        pd.Timestamp(r["updated_on"]) for r in soda_rows
    )


# ---------------------------------------------------------------- nothing to read


def test_an_empty_dataset_loads_zero_rows_and_succeeds(monkeypatch, portal, home, tmp_path):
    portal.soda("ijzp-q8t2", [])
    spec = chicago_spec(monkeypatch, portal)
    assert ingest.land(spec, home, None) == []
    assert len(portal.log) == 1 and not list((home.parsed / SOURCE).glob("*"))
    assert ingest.read_state(home, SOURCE) == {"cursor": None, "resume": None}
    assert ingest.validate(spec, [spec], home) == []

    arcgis_home = chicago_home(tmp_path / "arcgis")
    layer = detroit_spec(tmp_path, portal.arcgis("Empty", []))
    assert ingest.land(layer, arcgis_home, None) == []
    assert ingest.read_state(arcgis_home, "detroit_crimes") == {"cursor": None, "resume": None}


def test_an_empty_last_page_after_a_resume_succeeds_and_moves_the_cursor(
    monkeypatch, portal, soda_rows, home
):
    """200 records in pages of 40: the sixth page is empty. It fails once; the re-run reads just that empty page,
    loads nothing new, and the cursor moves to the newest record of the earlier pages."""
    portal.soda("ijzp-q8t2", soda_rows)
    spec = chicago_spec(monkeypatch, portal)
    portal.fail(when=lambda p: p.get("$offset") == "200", status=500, times=FAST.retries + 1)
    with pytest.raises(SourceError, match="resumes at offset 200"):
        ingest.land(spec, home, None)
    before = len(portal.log)
    assert ingest.land(spec, home, None) == []
    assert [r["$offset"] for r in portal.requests_to("ijzp-q8t2.json")[before:]] == ["200"]
    assert raw_rows(home)["incident_id"].tolist() == ids(soda_rows)
    state = ingest.read_state(home, SOURCE)
    assert state["resume"] is None
    assert pd.Timestamp(state["cursor"]) == max(pd.Timestamp(r["updated_on"]) for r in soda_rows)


def test_a_cursor_in_the_future_loads_zero_rows_and_succeeds(monkeypatch, portal, soda_rows, home):
    portal.soda("ijzp-q8t2", soda_rows)
    spec = chicago_spec(monkeypatch, portal)
    ingest.write_state(home, SOURCE, {"cursor": "2100-01-01T00:00:00", "resume": None})
    assert ingest.land(spec, home, None) == []
    assert len(portal.log) == 1 and not list((home.parsed / SOURCE).glob("*.parquet"))
    assert portal.log[0][1]["$where"] == "updated_on >= '2099-12-25T00:00:00.000'"
    assert ingest.read_state(home, SOURCE) == {"cursor": "2100-01-01T00:00:00", "resume": None}
    assert ingest.validate(spec, [spec], home) == []


# ---------------------------------------------------------------- no cursor


def test_a_source_without_a_cursor_is_read_whole_on_every_run(monkeypatch, portal, real_data, home):
    """sources/chicago's community areas name no cursor field: every run reads every page again from the first,
    and each read is a load of every boundary."""
    document = json.loads((real_data / "chicago_community_areas_simplified_derived.geojson").read_text())
    portal.soda("igwz-8jzy", document["features"], geojson=True)
    spec = chicago_spec(monkeypatch, portal, "chicago_community_areas")
    loads = []
    for _run in range(2):
        before = len(portal.requests_to("igwz-8jzy.geojson"))
        ingest.land(spec, home, None)
        assert [p["$offset"] for p in portal.requests_to("igwz-8jzy.geojson")[before:]] == ["0"]
        loads += [(s.rows_received, s.rows_loaded) for s in ingest.validate(spec, [spec], home)]
    assert loads == [(77, 77), (77, 77)]
