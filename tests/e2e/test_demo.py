"""`neighborhood-metrics demo` end to end in a temporary data home (tests/conftest.py: demo_city, shared with the
program evaluation's tests)."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

# Every published table's columns and types (docs/published-tables.md).
PUBLISHED_COLUMNS = {
    "neighborhoods": {
        "neighborhood_id": "VARCHAR",
        "name": "VARCHAR",
        "population": "INTEGER",
        "area_sq_km": "DOUBLE",
        "geometry_geojson": "VARCHAR",
    },
    "crime_monthly": {
        "neighborhood_id": "VARCHAR",
        "month": "DATE",
        "incidents": "INTEGER",
        "violent_incidents": "INTEGER",
        "property_incidents": "INTEGER",
        "population": "INTEGER",
        "incidents_per_1k": "DOUBLE",
        "violent_per_1k": "DOUBLE",
        "property_per_1k": "DOUBLE",
        "violent_per_1k_12m": "DOUBLE",
    },
    "engagement_monthly": {
        "neighborhood_id": "VARCHAR",
        "month": "DATE",
        "events_held": "INTEGER",
        "attendances": "INTEGER",
        "unique_participants": "INTEGER",
        "new_participants": "INTEGER",
        "returning_participants": "INTEGER",
        "youth_participants": "INTEGER",
        "participants_per_1k": "DOUBLE",
    },
    "trust_quarterly": {
        "neighborhood_id": "VARCHAR",
        "quarter": "DATE",
        "respondents": "INTEGER",
        **{f"{c}_index{s}": "DOUBLE" for c in ("trust", "safety") for s in ("", "_ci_low", "_ci_high")},
        "pct_trust": "DOUBLE",
        "pct_trust_ci_low": "DOUBLE",
        "pct_trust_ci_high": "DOUBLE",
        "trust_index_weighted": "DOUBLE",
        "safety_index_weighted": "DOUBLE",
        "effective_n": "DOUBLE",
        "design_effect": "DOUBLE",
        "suppressed": "BOOLEAN",
    },
    "program_evaluation": {
        "program_id": "VARCHAR",
        "metric": "VARCHAR",
        **{name: "DOUBLE" for name in ("pre", "post", "comparison_pre", "comparison_post", "did")},
        "months_pre": "INTEGER",
        "months_post": "INTEGER",
    },
    "neighborhood_scorecard": {
        "neighborhood_id": "VARCHAR",
        "quarter": "DATE",
        "name": "VARCHAR",
        "population": "INTEGER",
        "incidents": "INTEGER",
        "violent_per_1k": "DOUBLE",
        "events_held": "INTEGER",
        "unique_participants": "INTEGER",
        "participants_per_1k": "DOUBLE",
        "trust_index": "DOUBLE",
        "safety_index": "DOUBLE",
        "respondents": "INTEGER",
        "suppressed": "BOOLEAN",
        **{
            f"{m}_change_{c}": "DOUBLE"
            for m in ("violent_per_1k", "participants_per_1k", "trust_index")
            for c in ("qoq", "yoy")
        },
    },
    "data_quality": {
        "source": "VARCHAR",
        "load_id": "VARCHAR",
        "rows_received": "BIGINT",
        "rows_loaded": "BIGINT",
        "rows_quarantined": "BIGINT",
        "rows_unmapped_offense": "BIGINT",
        "unmapped_offense_share": "DOUBLE",
    },
    "data_quality_reasons": {
        "source": "VARCHAR",
        "load_id": "VARCHAR",
        "reason": "VARCHAR",
        "refused": "BOOLEAN",
        "rows": "BIGINT",
    },
}


@pytest.fixture(scope="module")
def demo_home(demo_city):
    return demo_city.home


def test_the_demo_prints_where_the_outputs_are(demo_city):
    assert str(demo_city.home / "published" / "current" / "metrics.duckdb") in demo_city.stdout


def test_published_tables_follow_the_contract(demo_home):
    with duckdb.connect(str(demo_home / "published" / "current" / "metrics.duckdb"), read_only=True) as con:
        for table, columns in PUBLISHED_COLUMNS.items():
            actual = dict(
                con.execute(
                    "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? "
                    "ORDER BY ordinal_position",
                    [table],
                ).fetchall()
            )
            assert {name: actual.get(name) for name in columns} == columns, table
    for table in PUBLISHED_COLUMNS:
        assert (demo_home / "published" / "current" / f"{table}.parquet").is_file()
        assert (demo_home / "published" / "current" / f"{table}.csv").is_file()


def landing_dates(home, folder: str, column: str, timestamp_format: str, skiprows=None) -> pd.Series:
    """The readable dates of one column across a source's landing files (refused rows' bad dates dropped)."""
    frames = [
        pd.read_csv(file, dtype=str, usecols=[column], skiprows=skiprows, encoding="utf-8-sig")
        for file in sorted((home / "landing" / folder).glob("*.csv"))
    ]
    dates = pd.to_datetime(pd.concat(frames)[column], format=timestamp_format, errors="coerce")
    return dates.dropna()


# Per table: the landing files whose dates make its coverage (formats as in sources/demo/*.yml).
COVERAGE_DATES = {
    "crime_monthly": ("month", "demo_crimes", "Date", "%m/%d/%Y %I:%M:%S %p", None),
    "engagement_monthly": ("month", "demo_events", "Start", "%Y-%m-%d %H:%M", None),
    "trust_quarterly": ("quarter", "demo_survey_qualtrics", "RecordedDate", "%Y-%m-%d %H:%M:%S", [1, 2]),
}


@pytest.mark.parametrize("table", sorted(COVERAGE_DATES))
def test_every_neighborhood_and_period_of_the_coverage_has_one_row(demo_home, table):
    period, folder, column, timestamp_format, skiprows = COVERAGE_DATES[table]
    frame = pd.read_parquet(demo_home / "published" / "current" / f"{table}.parquet")
    neighborhoods = pd.read_parquet(demo_home / "published" / "current" / "neighborhoods.parquet")[
        "neighborhood_id"
    ]
    dates = landing_dates(demo_home, folder, column, timestamp_format, skiprows)
    step = "MS" if period == "month" else "QS"
    periods = dates.dt.to_period("M" if period == "month" else "Q").dt.to_timestamp()
    expected = pd.MultiIndex.from_product(
        [sorted(neighborhoods), pd.date_range(periods.min(), periods.max(), freq=step)]
    )
    actual = pd.MultiIndex.from_arrays(
        [frame["neighborhood_id"], pd.to_datetime(frame[period])]
    ).sort_values()
    assert len(neighborhoods) >= 20
    assert list(actual) == list(expected)
    assert len(expected) >= len(neighborhoods) * (36 if period == "month" else 12)


def test_the_demos_bad_rows_are_quarantined_for_their_reasons(demo_home):
    quality = pd.read_parquet(demo_home / "published" / "current" / "data_quality.parquet")
    reasons = pd.read_parquet(demo_home / "published" / "current" / "data_quality_reasons.parquet")
    seen = set(reasons["reason"])
    assert {
        "unparseable_occurred_at",
        "unlocatable",
        "duplicate_incident",
        "invalid_answer",
        "unknown_neighborhood",
        "duplicate_response_superseded",
    } <= seen
    crimes = quality[quality["source"] == "demo_crimes"]
    assert 0.003 < crimes["rows_quarantined"].sum() / crimes["rows_received"].sum() < 0.03
