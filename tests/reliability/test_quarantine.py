"""Reliability property 4 (docs/reliability.md): quarantine, not drop. Every refused row is kept with its reason and original values, every
load adds up (received = loaded + quarantined), and after a fix `replay-quarantine` loads the rows that now
pass and rebuilds what depends on them."""

from __future__ import annotations

import json
import shutil

import duckdb
import pandas as pd

from pipelines.settings import DEMO_SOURCES_DIR
from tests.conftest import SMALL_CITY_ENV, run_cli
from tests.reliability.conftest import published_tables


def quarantined(home, source: str) -> pd.DataFrame:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(f'SELECT _row, reason, record FROM quarantine."{source}" ORDER BY _row').df()


def test_every_load_adds_up_and_every_refused_row_is_kept_with_its_reason(small_city):
    home = small_city.home
    quality = pd.read_parquet(home / "published" / "current" / "data_quality.parquet")
    reasons = pd.read_parquet(home / "published" / "current" / "data_quality_reasons.parquet")
    assert len(quality) > 0
    assert (quality["rows_received"] == quality["rows_loaded"] + quality["rows_quarantined"]).all()
    per_load = reasons[reasons["refused"]].groupby(["source", "load_id"])["rows"].sum()
    refused = quality.set_index(["source", "load_id"])["rows_quarantined"]
    pd.testing.assert_series_equal(
        per_load.reindex(refused.index, fill_value=0), refused, check_names=False, check_dtype=False
    )
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        for source, load_id, rows in quality[["source", "load_id", "rows_quarantined"]].itertuples(
            index=False
        ):
            kept = con.execute(
                f'SELECT count(*), count(reason), count(record) FROM quarantine."{source}" WHERE load_id = ?',
                [load_id],
            ).fetchone()
            assert kept == (rows, rows, rows), f"{source}/{load_id}"
    # The original text of a refused row is kept: the fixture's unparseable date, as the file wrote it.
    bad_date = quarantined(home, "demo_crimes").query("reason == 'unparseable_occurred_at'")
    assert [json.loads(record)["occurred_at"] for record in bad_date["record"]] == ["13/45/2024 99:00:00 PM"]


def test_replay_after_a_crosswalk_fix_loads_the_rows_that_now_pass(small_city, tmp_path):
    home = small_city.copy_to(tmp_path / "home")
    before = quarantined(home, "demo_crimes")
    unlocatable = before[before["reason"] == "unlocatable"]
    # The fixture's two incidents outside every boundary: one without coordinates, one far away, both in
    # community area 1, which the fix maps to N01.
    assert len(unlocatable) == 2
    records = [json.loads(r) for r in unlocatable["record"]]
    sources = shutil.copytree(DEMO_SOURCES_DIR, tmp_path / "sources")
    (sources / "community_areas.csv").write_text("area_code,neighborhood_id\n1,N01\n")
    with open(sources / "demo_crimes.yml", "a") as spec:
        spec.write("area_crosswalk: community_areas.csv\n")

    result = run_cli(
        "replay-quarantine", "demo_crimes", "--home", str(home), "--sources", str(sources), env=SMALL_CITY_ENV
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    assert "2 now loaded" in result.stdout

    after = quarantined(home, "demo_crimes")
    pd.testing.assert_frame_equal(after, before[before["reason"] != "unlocatable"].reset_index(drop=True))
    quality = pd.read_parquet(home / "published" / "current" / "data_quality.parquet").set_index("file")
    old_quality = pd.read_parquet(
        small_city.home / "published" / "current" / "data_quality.parquet"
    ).set_index("file")
    crimes = "landing/demo_crimes/crimes_2023_2024.csv"
    assert quality.loc[crimes, "rows_loaded"] == old_quality.loc[crimes, "rows_loaded"] + 2
    assert quality.loc[crimes, "rows_quarantined"] == old_quality.loc[crimes, "rows_quarantined"] - 2

    # The two incidents now count in N01's month, by their crosswalk category; nothing else moved.
    old = published_tables(small_city.home)["crime_monthly"].set_index(["neighborhood_id", "month"])
    new = published_tables(home)["crime_monthly"].set_index(["neighborhood_id", "month"])
    change = (
        new[["incidents", "violent_incidents", "property_incidents"]]
        - old[["incidents", "violent_incidents", "property_incidents"]]
    )
    moved = change[(change != 0).any(axis=1)].reset_index()
    moved = moved.assign(month=pd.to_datetime(moved["month"]).astype("datetime64[us]"))
    moved = moved.set_index(["neighborhood_id", "month"])
    crosswalk = pd.read_csv(DEMO_SOURCES_DIR / "fbi_code_crosswalk.csv", dtype=str).set_index("offense_code")
    expected = pd.DataFrame(
        [
            {
                "neighborhood_id": "N01",
                "month": pd.Timestamp(record["occurred_at"]).to_period("M").to_timestamp(),
                "incidents": 1,
                "violent_incidents": int(crosswalk.loc[record["offense_code"], "ucr_category"] == "violent"),
                "property_incidents": int(
                    crosswalk.loc[record["offense_code"], "ucr_category"] == "property"
                ),
            }
            for record in records
        ]
    )
    expected["month"] = expected["month"].astype("datetime64[us]")
    expected = expected.groupby(["neighborhood_id", "month"]).sum()
    pd.testing.assert_frame_equal(moved, expected, check_dtype=False)
