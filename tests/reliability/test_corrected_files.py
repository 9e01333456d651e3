"""A corrected file dropped under the same name replaces the older version everywhere (raw, loaded rows,
quarantine), whatever the run order; what was validated against a changed lookup is validated again; and a changed
source definition reaches the loads made before it."""

from __future__ import annotations

import json
import shutil
import time

import duckdb
import pandas as pd
import pytest

from pipelines import ingest
from tests.conftest import SMALL_CITY_ENV, TEST_SALT, run_cli
from tests.fixtures.small_city import _crime_row
from tests.reliability._helpers import (
    DEMO_CROSSWALK,
    GEOGRAPHY_YAML,
    crime_csv,
    drop,
    land_and_load,
    make_paths,
    neighborhoods_geojson,
    query,
    with_neighborhoods,
    write_source,
)
from tests.reliability.conftest import (
    assert_same_tables,
    city_home,
    ok,
    published_fingerprint,
    published_tables,
    run_city,
)

pytestmark = pytest.mark.runs_long

BOUNDARIES = "landing/demo_neighborhoods/neighborhoods.geojson"
CRIMES = "landing/demo_crimes/crimes_2023_2024.csv"
# The corrected boundary file moves the N01 | N02 line from longitude -87.65 to -87.66.
OLD_LINE, NEW_LINE = -87.65, -87.66
DROPPED_INCIDENT = "20000002"  # the corrected crime file no longer lists it


def correct(home) -> None:
    """Overwrite the city's boundary file and its main crime file with corrected versions, same names."""
    boundaries = json.loads((home / BOUNDARIES).read_text())
    for feature in boundaries["features"]:
        for polygon in (
            [feature["geometry"]["coordinates"]]
            if feature["geometry"]["type"] == "Polygon"
            else feature["geometry"]["coordinates"]
        ):
            for ring in polygon:
                for point in ring:
                    if point[0] == OLD_LINE:
                        point[0] = NEW_LINE
    (home / BOUNDARIES).write_text(json.dumps(boundaries))
    lines = (home / CRIMES).read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [line for line in lines if not line.startswith(f"{DROPPED_INCIDENT},")]
    assert len(kept) == len(lines) - 1
    (home / CRIMES).write_text("".join(kept), encoding="utf-8")


CRIME_YAML = """
name: drops
kind: crime
timestamp_format: "%m/%d/%Y %I:%M:%S %p"
columns:
  incident_id: ID
  occurred_at: Date
  updated_at: Updated On
  offense_code: FBI Code
  latitude: Latitude
  longitude: Longitude
offense_crosswalk: crosswalk.csv
"""


def test_loads_located_against_older_boundaries_are_validated_again_once(tmp_path):
    paths = make_paths(tmp_path)
    places = write_source(paths, "places", GEOGRAPHY_YAML)
    crimes = write_source(paths, "drops", CRIME_YAML, {"crosswalk.csv": DEMO_CROSSWALK})
    specs = [places, crimes]
    drop(paths, "places", "neighborhoods.geojson", neighborhoods_geojson())
    land_and_load(paths, places, specs)
    occurred, updated = pd.Timestamp("2024-01-03 10:00"), pd.Timestamp("2024-01-04 10:00")
    rows = [
        _crime_row("A1", occurred, updated, "06", 41.82, -87.655),  # between the old and the new line
        _crime_row("A2", occurred, updated, "06", 41.82, -87.68),
        _crime_row("A3", occurred, updated, "06", 41.82, -87.62),
    ]
    drop(paths, "drops", "2024_01.csv", crime_csv(*rows))
    (first,) = land_and_load(paths, crimes, specs)

    def located() -> dict[str, str]:
        frame = query(paths, "SELECT incident_id, neighborhood_id FROM raw.drops ORDER BY 1")
        return dict(zip(frame["incident_id"], frame["neighborhood_id"], strict=True))

    assert located() == {"A1": "N01", "A2": "N01", "A3": "N02"}
    time.sleep(1.1)  # load times are kept to the second: the correction lands in a later one
    corrected = neighborhoods_geojson().replace(str(OLD_LINE), str(NEW_LINE))
    drop(paths, "places", "neighborhoods.geojson", corrected)
    land_and_load(paths, places, specs)
    assert len(parsed_files(paths.home, "places")) == 1

    again = ingest.validate(crimes, specs, paths)
    assert [(s.load_id, s.again) for s in again] == [
        (first.load_id, "a lookup it was validated against changed")
    ]
    assert located() == {"A1": "N02", "A2": "N01", "A3": "N02"}
    # Validated again once: the next loads find nothing to do.
    assert ingest.validate(crimes, specs, paths) == []
    assert ingest.validate(places, specs, paths) == []


def test_a_changed_definition_applies_to_every_load_as_a_rebuild_would(tmp_path):
    """Reliability property 15 (docs/reliability.md): a corrected crosswalk and a column newly mapped reach the loads
    made before them, once; a setting that does not shape rows (a load check's bound) redoes nothing. After each
    change the warehouse holds what a data home built from the same files under the current definition holds."""
    paths = make_paths(tmp_path / "home")
    places = with_neighborhoods(paths)
    occurred, updated = pd.Timestamp("2024-01-03 10:00"), pd.Timestamp("2024-01-04 10:00")
    files = {
        "2024_01.csv": [_crime_row("B1", occurred, updated, "06", 41.82, -87.68)],
        "2024_02.csv": [
            _crime_row("B2", occurred + pd.Timedelta(days=31), updated, "06", 41.82, -87.62),
            _crime_row("B3", occurred + pd.Timedelta(days=32), updated, "08B", 41.82, -87.62),
        ],
    }
    for name, rows in files.items():
        drop(paths, "drops", name, crime_csv(*rows))
    crosswalk = "offense_code,ucr_category\n06,property\n08B,violent\n"
    crimes = write_source(paths, "drops", CRIME_YAML, {"crosswalk.csv": crosswalk})
    first = land_and_load(paths, crimes, [places, crimes])
    assert len(first) == 2

    def loaded(home_paths) -> pd.DataFrame:
        return query(
            home_paths,
            "SELECT * EXCLUDE (loaded_at) FROM raw.drops ORDER BY incident_id",
        )

    def rebuilt(crime_yaml: str, crime_crosswalk: str) -> pd.DataFrame:
        """The same landing files in a new data home, under the current definition."""
        fresh = make_paths(tmp_path / f"rebuilt-{len(list(tmp_path.iterdir()))}")
        fresh_places = with_neighborhoods(fresh)
        shutil.copytree(paths.landing / "drops", fresh.landing / "drops")
        fresh_crimes = write_source(fresh, "drops", crime_yaml, {"crosswalk.csv": crime_crosswalk})
        land_and_load(fresh, fresh_crimes, [fresh_places, fresh_crimes])
        return loaded(fresh)

    # The crosswalk corrected: 06 is violent. Both loads are validated again, once.
    crosswalk = crosswalk.replace("06,property", "06,violent")
    crimes = write_source(paths, "drops", CRIME_YAML, {"crosswalk.csv": crosswalk})
    again = land_and_load(paths, crimes, [places, crimes])
    assert sorted(s.load_id for s in again) == sorted(s.load_id for s in first)
    assert {s.again for s in again} == {"the source's definition changed"}
    assert loaded(paths)["ucr_category"].tolist() == ["violent", "violent", "violent"]
    pd.testing.assert_frame_equal(loaded(paths), rebuilt(CRIME_YAML, crosswalk))
    assert land_and_load(paths, crimes, [places, crimes]) == []

    # A column newly mapped: the files are parsed again, so the arrests reach the loaded rows.
    mapped = CRIME_YAML.replace("  offense_code: FBI Code\n", "  offense_code: FBI Code\n  arrest: Arrest\n")
    assert mapped != CRIME_YAML
    crimes = write_source(paths, "drops", mapped, {"crosswalk.csv": crosswalk})
    assert len(ingest.land(crimes, paths, TEST_SALT)) == 2
    assert len(ingest.validate(crimes, [places, crimes], paths)) == 2
    assert loaded(paths)["arrest"].tolist() == [False, False, False]
    pd.testing.assert_frame_equal(loaded(paths), rebuilt(mapped, crosswalk))

    # A load check's bound does not shape a row: nothing is parsed or validated again.
    crimes = write_source(
        paths, "drops", mapped + "max_quarantine_share: 0.5\n", {"crosswalk.csv": crosswalk}
    )
    assert ingest.land(crimes, paths, TEST_SALT) == []
    assert ingest.validate(crimes, [places, crimes], paths) == []


def parsed_files(home, source: str) -> list[str]:
    return sorted(file.name for file in (home / "parsed" / source).glob("*.parquet"))


def test_a_corrected_file_replaces_the_old_one_on_every_run(small_city, tmp_path):
    home = small_city.copy_to(tmp_path / "home")
    old_parsed = {source: parsed_files(home, source) for source in ("demo_neighborhoods", "demo_crimes")}
    correct(home)

    # The run after the correction, then one finding the old raw files back (a re-run with nothing new is
    # test_reruns' property 1).
    fingerprints = []
    for attempt in range(2):
        if attempt == 1:
            # What a run killed between landing the new version and removing the old one leaves behind.
            for source, names in old_parsed.items():
                for name in names:
                    target = home / "parsed" / source / name
                    if not target.exists():
                        shutil.copy(small_city.home / "parsed" / source / name, target)
        ok(run_city(home))
        fingerprints.append(published_fingerprint(home))
        # One raw file per landing file: the corrected versions replaced the old ones.
        assert len(parsed_files(home, "demo_neighborhoods")) == 1
        assert len(parsed_files(home, "demo_crimes")) == 2
        assert parsed_files(home, "demo_neighborhoods") != old_parsed["demo_neighborhoods"]
    assert fingerprints[0] == fingerprints[1]

    # The same tables as a home that was only ever given the corrected files.
    fresh = city_home(tmp_path / "fresh")
    correct(fresh)
    ok(run_city(fresh))
    assert_same_tables(published_tables(home), published_tables(fresh))

    # And they are the corrected figures: independently, from the incidents' coordinates in the raw file.
    crime = published_tables(home)["crime_monthly"]
    old_crime = published_tables(small_city.home)["crime_monthly"]
    assert crime["incidents"].sum() == old_crime["incidents"].sum() - 1
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        located = con.execute(
            "SELECT incident_id, longitude, latitude, neighborhood_id FROM raw.demo_crimes "
            "WHERE latitude BETWEEN 41.80 AND 41.85 AND longitude BETWEEN -87.70 AND -87.60"
        ).df()
    moved = located[(located["longitude"] > NEW_LINE) & (located["longitude"] < OLD_LINE)]
    assert len(moved) > 0 and (moved["neighborhood_id"] == "N02").all()
    expected = located["longitude"].map(lambda lon: "N01" if lon < NEW_LINE else "N02")
    assert (located["neighborhood_id"] == expected).all()
    assert DROPPED_INCIDENT not in set(located["incident_id"])


def test_replay_after_a_calendar_fix_loads_the_rosters_that_now_match(small_city, tmp_path):
    home = small_city.copy_to(tmp_path / "home")
    old_engagement = published_tables(small_city.home)["engagement_monthly"]
    # The sign-in sheet's EV404 was refused as unknown_event; the corrected calendar (same name) lists it.
    calendar = home / "landing" / "demo_events" / "calendar.csv"
    calendar.write_text(
        calendar.read_text()
        + "EV404,Cedar Point Cleanup,2024-02-24 09:00,2024-02-24 12:00,Park,Cedar Point\n"
    )

    result = run_cli("replay-quarantine", "demo_events", "--home", str(home), env=SMALL_CITY_ENV)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    assert (
        "demo_rosters_signin: 2 quarantined rows replayed: 1 now loaded, 1 still quarantined" in result.stdout
    )

    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        reasons = dict(
            con.execute(
                "SELECT reason, sum(rows) FROM meta.load_reasons WHERE source = 'demo_rosters_signin' GROUP BY 1"
            ).fetchall()
        )
    assert reasons == {"no_identity": 1}
    # One more event and one more attendance in Cedar Point (N03) in February 2024; nothing else moved.
    new = published_tables(home)["engagement_monthly"].set_index(["neighborhood_id", "month"])
    old = old_engagement.set_index(["neighborhood_id", "month"])
    change = (new[["events_held", "attendances"]] - old[["events_held", "attendances"]]).astype(int)
    changed = change[(change != 0).any(axis=1)]
    assert [
        (nbhd, str(pd.Timestamp(month).date()), *values)
        for (nbhd, month), values in zip(changed.index, changed.values.tolist(), strict=True)
    ] == [("N03", "2024-02-01", 1, 1)]
