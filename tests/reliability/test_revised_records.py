"""Reliability property 3 (docs/reliability.md) — Revised records: an incident re-published with a new `updated_at` ends as one row with the new
values.

Through the real pipeline: landing files and a Socrata portal on 127.0.0.1 -> `ingest.land` (raw Parquet) ->
`ingest.validate` (warehouse, DuckDB) -> canonical views -> the dbt project's own models up to the published
`crime_monthly`. Two ways a revision arrives:

* a later file drop holding a new version of an incident (new offense code, corrected location), and a stale
  version of another incident dropped after its newer one (the newest `updated_at` wins, not the latest load);
* a portal revising a record: the next incremental run fetches it again (cursor minus the look-back window, so
  unchanged records within the window come back too) and the newer version replaces the older one.
"""

from __future__ import annotations

import pandas as pd
import pytest

from pipelines.settings import Paths
from tests.connectors.portal import FAST, running_portal
from tests.fixtures.small_city import _crime_row
from tests.reliability._helpers import (
    DEMO_CROSSWALK,
    crime_csv,
    dbt,
    drop,
    land_and_load,
    make_paths,
    query,
    refresh_views,
    with_neighborhoods,
    write_source,
)

FILE_YAML = """
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

PORTAL_YAML = """
name: portal
kind: crime
connector:
  type: socrata
  url: {url}
  order_by: id
  cursor_field: updated_on
  lookback_days: 7
  page_size: 2
  http: {http}
timestamp_format: iso8601
columns:
  incident_id: id
  occurred_at: date
  updated_at: updated_on
  offense_code: fbi_code
  latitude: latitude
  longitude: longitude
offense_crosswalk: crosswalk.csv
"""

# Points well inside the small city's rectangles.
N01, N02, N03 = (41.82, -87.68), (41.82, -87.62), (41.87, -87.65)
T = pd.Timestamp


def incident(number: str, occurred: str, updated: str, code: str, point: tuple[float, float]) -> list[str]:
    return _crime_row(number, T(occurred), T(updated), code, *point)


def soda(number: str, occurred: str, updated: str, code: str, point: tuple[float, float]) -> dict:
    return {
        "id": number,
        "date": T(occurred).strftime("%Y-%m-%dT%H:%M:%S.000"),
        "updated_on": T(updated).strftime("%Y-%m-%dT%H:%M:%S.000"),
        "fbi_code": code,
        "primary_type": "OFFENSE",
        "latitude": str(point[0]),
        "longitude": str(point[1]),
    }


@pytest.fixture(scope="module")
def revised(tmp_path_factory) -> Paths:
    paths = make_paths(tmp_path_factory.mktemp("revised"))
    places = with_neighborhoods(paths)
    crosswalk = {"crosswalk.csv": DEMO_CROSSWALK}

    # File drops: January's file, then a later drop revising A2 (upgraded) and A4 (downgraded), and carrying a
    # stale version of A3.
    drops = write_source(paths, "drops", FILE_YAML, crosswalk)
    drop(
        paths,
        "drops",
        "2024_01.csv",
        crime_csv(
            incident("A1", "2024-01-03 10:00", "2024-01-05 09:00", "06", N01),
            incident("A2", "2024-01-10 22:00", "2024-01-12 09:00", "08B", N01),
            incident("A3", "2024-01-15 13:00", "2024-02-20 09:00", "03", N02),
            incident("A4", "2024-01-20 01:00", "2024-01-21 09:00", "03", N01),
        ),
    )
    land_and_load(paths, drops, [drops, places])
    drop(
        paths,
        "drops",
        "2024_02_revisions.csv",
        crime_csv(
            incident("A2", "2024-01-10 22:00", "2024-02-15 09:00", "04B", N02),  # upgraded, moved to N02
            incident("A3", "2024-01-15 13:00", "2024-01-16 09:00", "26", N01),  # older than the loaded one
            incident("A4", "2024-01-20 01:00", "2024-02-10 09:00", "26", N01),  # a robbery reclassified
        ),
    )
    land_and_load(paths, drops, [drops, places])

    # A portal: three records, then the police department revises S2 (upgraded) and S1 (downgraded); the next
    # run is incremental.
    with running_portal() as portal:
        records = [
            soda("S1", "2024-03-01 08:00", "2024-03-02 09:00", "06", N01),
            soda("S2", "2024-03-03 23:00", "2024-03-05 09:00", "08B", N03),
            soda("S3", "2024-03-04 12:00", "2024-03-04 13:00", "05", N03),
        ]
        url = portal.soda("abcd-1234", records)
        http = "{" + ", ".join(f"{k}: {v}" for k, v in FAST.model_dump().items()) + "}"
        remote = write_source(paths, "portal", PORTAL_YAML.format(url=url, http=http), crosswalk)
        land_and_load(paths, remote, [remote, places])
        records[0].update(soda("S1", "2024-03-01 08:00", "2024-03-21 09:00", "26", N01))
        records[1].update(soda("S2", "2024-03-03 23:00", "2024-03-20 09:00", "04B", N01))
        land_and_load(paths, remote, [remote, places])
        second_run = portal.requests_to("abcd-1234.json")[-1]
    assert second_run["$where"] == "updated_on >= '2024-02-27T09:00:00.000'"  # cursor minus 7 days

    refresh_views(paths, [places, drops, remote])
    dbt(paths.warehouse, paths.home / "dbt", "run", "--select", "+crime_monthly")
    return paths


def latest(paths: Paths, source: str) -> pd.DataFrame:
    return query(
        paths,
        "SELECT incident_id, offense_code, ucr_category, neighborhood_id, updated_at "
        "FROM intermediate.int_incidents_deduplicated WHERE source = ? ORDER BY incident_id",
        [source],
    ).set_index("incident_id")


def test_a_later_file_with_a_newer_version_replaces_the_incident(revised):
    # Both versions are kept in the warehouse (raw is an audit trail) ...
    versions = query(revised, "SELECT incident_id, count(*) AS n FROM raw.drops GROUP BY 1 ORDER BY 1")
    assert versions.set_index("incident_id")["n"].to_dict() == {"A1": 1, "A2": 2, "A3": 2, "A4": 2}
    # ... and one row per incident goes on, with the values of the newest `updated_at`, more or less severe.
    final = latest(revised, "drops")
    assert final.index.tolist() == ["A1", "A2", "A3", "A4"]
    assert final.loc["A2"].to_dict() == {
        "offense_code": "04B",
        "ucr_category": "violent",
        "neighborhood_id": "N02",
        "updated_at": T("2024-02-15 09:00"),
    }
    assert final.loc["A4"].to_dict() == {
        "offense_code": "26",
        "ucr_category": "other",
        "neighborhood_id": "N01",
        "updated_at": T("2024-02-10 09:00"),
    }


def test_a_stale_version_loaded_later_does_not_win(revised):
    assert latest(revised, "drops").loc["A3"].to_dict() == {
        "offense_code": "03",
        "ucr_category": "violent",
        "neighborhood_id": "N02",
        "updated_at": T("2024-02-20 09:00"),
    }


def test_a_record_revised_on_the_portal_ends_as_one_row_with_the_new_values(revised):
    # The second run fetched every record again (all are within the look-back window): three loads of S1 and S3
    # in raw, one row each after de-duplication.
    assert query(revised, "SELECT count(*) AS n FROM raw.portal")["n"].item() == 6
    final = latest(revised, "portal")
    assert final.index.tolist() == ["S1", "S2", "S3"]
    assert final.loc["S2"].to_dict() == {
        "offense_code": "04B",
        "ucr_category": "violent",
        "neighborhood_id": "N01",
        "updated_at": T("2024-03-20 09:00"),
    }
    assert final.loc["S1"][["offense_code", "ucr_category"]].tolist() == ["26", "other"]


def test_the_published_crime_table_counts_each_incident_once_with_its_latest_values(revised):
    monthly = query(
        revised,
        "SELECT neighborhood_id, month, incidents, violent_incidents, property_incidents "
        "FROM published.crime_monthly WHERE incidents > 0 ORDER BY 1, 2",
    )
    monthly["month"] = pd.to_datetime(monthly["month"])
    expected = pd.DataFrame(
        [
            # January: A1 (property) and A4 (no longer a robbery) in N01; A2 (now violent) moved to N02 beside A3.
            # March: S1 (now 'other') and the revised S2 (violent, moved from N03) in N01; S3 (burglary) in N03.
            ("N01", "2024-01-01", 2, 0, 1),
            ("N01", "2024-03-01", 2, 1, 0),
            ("N02", "2024-01-01", 2, 2, 0),
            ("N03", "2024-03-01", 1, 0, 1),
        ],
        columns=monthly.columns,
    ).assign(month=lambda f: pd.to_datetime(f["month"]))
    pd.testing.assert_frame_equal(monthly, expected, check_dtype=False)
