"""The Chicago police CAPS community-event calendar (real sample) through a whole run: beats from titles, beats
placed in community areas by the beat boundaries, events typed from titles, counted per beat/district/month."""

from __future__ import annotations

import json
import re
import shutil
import textwrap

import duckdb
import pandas as pd
import pytest

from tests.conftest import run_cli

CAPS = "chicago_cpd_caps_community_events_2017_sample.json"

SOURCES = {
    "chicago_community_areas.yml": """
        name: chicago_community_areas
        kind: geography
        path: landing/chicago_community_areas/*.geojson
        id_property: area_numbe
        name_property: community
    """,
    "chicago_caps_events.yml": r"""
        # CPD CAPS calendar: calendarId is the police district; beats are only in the titles.
        name: chicago_caps_events
        kind: events
        path: landing/chicago_caps_events/*.json
        timestamp_format: "%Y-%m-%dT%H:%M:%S"
        columns:
          title: title
          starts_at: start
          district: calendarId
        area:
          # "2514 Beat Meeting", "813/833 Beat Meeting" (first beat), "424 Community Beat Meeting",
          # "Beat Meeting: 1113,14,15", "BEAT 1513N CAPS Meeting"
          pattern: '\b(\d{3,4})[ns]?\b[^a-z]*(?:community )?beats?\b|\bbeats?\b\D*?\b(\d{3,4})[ns]?\b'
          zero_pad: 4
          boundaries: chicago_police_beats.geojson
          id_property: BEAT_NUM
        event_types:
          - {pattern: "facilit", type: beat_facilitators}
          - {pattern: "national night out", type: community_event}
          - {pattern: "\\bbeats?\\b", type: beat_meeting}
          - {pattern: "district advisory|\\bdac\\b", type: district_advisory_committee}
          - {pattern: "youth|explorer|peer jury|kick back", type: youth_program}
          - {pattern: "senior", type: seniors}
    """,
}


@pytest.fixture(scope="module")
def caps_run(tmp_path_factory, real_data):
    home, sources = tmp_path_factory.mktemp("caps_home"), tmp_path_factory.mktemp("caps_sources")
    for name, text in SOURCES.items():
        (sources / name).write_text(textwrap.dedent(text))
    # Copies into temporary folders only (never into the repo): the beats sit beside the YAML that names them.
    shutil.copy(
        real_data / "chicago_police_beats_simple_datamade.geojson", sources / "chicago_police_beats.geojson"
    )
    for source, file in [
        ("chicago_community_areas", "chicago_community_areas_simplified_derived.geojson"),
        ("chicago_caps_events", CAPS),
    ]:
        (home / "landing" / source).mkdir(parents=True)
        shutil.copy(real_data / file, home / "landing" / source / file)
    # Only what the event counts need: the loads and the canonical view dbt reads (the marts are tested on the
    # demo city and the fixtures).
    selection = "+key:canonical/events"
    result = run_cli("run", "--home", str(home), "--sources", str(sources), "--select", selection)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        events = con.execute(
            "SELECT *, title AS event_title, date_trunc('month', starts_at) AS event_month FROM canonical.events"
        ).df()
        quarantined = con.execute("SELECT * FROM quarantine.chicago_caps_events").df()
    return events, quarantined, json.loads((real_data / CAPS).read_text())


def first_beat(title: str) -> str | None:
    """Independently of the YAML's pattern: in a title that mentions beats, the first number of 3-4 digits."""
    if "beat" not in title.lower():
        return None
    numbers = [n for n in re.findall(r"\d+", title) if len(n) in (3, 4)]
    return numbers[0].zfill(4) if numbers else None


@pytest.fixture(scope="module")
def expected(caps_run):
    _, _, records = caps_run
    frame = pd.DataFrame(records)
    frame["month"] = pd.to_datetime(frame["start"]).dt.to_period("M").dt.to_timestamp()
    frame["beat"] = frame["title"].map(first_beat)
    frame["district"] = frame["calendarId"].astype(str)
    return frame


def test_every_event_is_loaded_none_quarantined(caps_run, expected):
    events, quarantined, records = caps_run
    assert len(records) == 484
    assert quarantined.empty, quarantined[["reason", "record"]].head().to_string()
    assert len(events) == len(records)


def test_events_per_beat_per_month_match_an_independent_count(caps_run, expected):
    events, _, _ = caps_run
    events["month"] = pd.to_datetime(events["event_month"])
    actual = events.dropna(subset=["area_code"]).groupby(["area_code", "month"]).size().sort_index()
    truth = expected.dropna(subset=["beat"]).groupby(["beat", "month"]).size().sort_index()
    assert list(actual.items()) == list(truth.items())
    assert truth.sum() > 250  # most of the sample are beat meetings


def test_events_per_district_per_month_match_an_independent_count(caps_run, expected):
    events, _, _ = caps_run
    events["month"] = pd.to_datetime(events["event_month"])
    actual = events.groupby(["district", "month"]).size().sort_index()
    truth = expected.groupby(["district", "month"]).size().sort_index()
    assert list(actual.items()) == list(truth.items())
    assert set(actual.index.get_level_values(0)) == {str(d) for d in range(1, 26)} - {"13", "21", "23"}


def test_beat_meetings_are_typed_and_placed_in_a_community_area(caps_run):
    events, _, _ = caps_run
    by_title = events.set_index("event_title")
    for title, beat in [
        ("2514 Beat Meeting", "2514"),
        ("813/833 Beat Meeting", "0813"),
        ("Beat Meeting: 1113,14,15", "1113"),
        ("30 Sector Beat Meeting (331, 332, 333 & 334)", "0331"),
        ("Community Beat Meeting-Bt. 712", "0712"),
    ]:
        rows = by_title.loc[[title]]
        assert (rows["event_type"] == "beat_meeting").all(), title
        assert (rows["area_code"] == beat).all(), title
        assert rows["neighborhood_id"].notna().all(), title
    # The beat boundaries place beats by largest overlap: beat 2514 (Portage Park / Belmont Cragin area, 25th
    # district) and beat 0712 (Englewood) are in community areas 15-19 and 67-68 respectively.
    assert by_title.loc[["2514 Beat Meeting"], "neighborhood_id"].iloc[0] in {"15", "16", "17", "18", "19"}
    assert by_title.loc[["Community Beat Meeting-Bt. 712"], "neighborhood_id"].iloc[0] in {"67", "68"}
    beat_titles = events["event_title"].str.contains(r"\bbeats?\b", case=False, regex=True)
    others = events["event_title"].str.contains("facilit|national night out", case=False)
    assert (events.loc[beat_titles & ~others, "event_type"] == "beat_meeting").all()
    assert (events.loc[~beat_titles, "event_type"] != "beat_meeting").all()
    dac = (
        events["event_title"].str.contains(r"district advisory|\bdac\b", case=False, regex=True)
        & ~beat_titles
    )
    assert dac.sum() >= 10
    assert (events.loc[dac, "event_type"] == "district_advisory_committee").all()
    # District-wide events (no beat) keep their district and no neighborhood.
    assert events.loc[dac, "neighborhood_id"].isna().all()
    assert events.loc[events["area_code"].notna(), "neighborhood_id"].notna().all()
