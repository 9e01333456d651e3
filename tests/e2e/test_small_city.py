"""The hand-sized city's shared whole run (tests/conftest.py: small_city), checked against pandas/scipy computed
from the landing files' ground truth (not from the project's SQL)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from tests.conftest import SMALL_CITY_ENV
from tests.fixtures.small_city import NEIGHBORHOODS, PROPERTY, VIOLENT

MIN_CELL = int(SMALL_CITY_ENV["NBHD_MIN_CELL"])


def published(home, table: str) -> pd.DataFrame:
    return pd.read_parquet(home / "published" / "current" / f"{table}.parquet")


def month_start(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values).dt.to_period("M").dt.to_timestamp()


def coverage(dates: pd.Series, freq: str = "MS") -> pd.DatetimeIndex:
    """A subject's own periods: every month (or quarter, "QS") from its first to its last date."""
    periods = pd.to_datetime(dates).dt.to_period("M" if freq == "MS" else "Q").dt.to_timestamp()
    return pd.date_range(periods.min(), periods.max(), freq=freq)


def population() -> pd.Series:
    return pd.Series({nbhd: values[5] for nbhd, values in NEIGHBORHOODS.items()}, name="population")


def grid(index: pd.DatetimeIndex, name: str) -> pd.MultiIndex:
    return pd.MultiIndex.from_product([sorted(NEIGHBORHOODS), index], names=["neighborhood_id", name])


def as_keyed(frame: pd.DataFrame, period: str) -> pd.DataFrame:
    frame = frame.copy()
    frame[period] = pd.to_datetime(frame[period])
    return frame.set_index(["neighborhood_id", period]).sort_index()


def test_crime_monthly_matches_pandas(small_city, small_city_truth):
    home, city = small_city.home, small_city_truth
    incidents = city.incidents.assign(month=month_start(city.incidents["occurred_at"]))
    incidents["violent"] = incidents["fbi_code"].isin(VIOLENT)
    incidents["property"] = incidents["fbi_code"].isin(PROPERTY)
    counts = incidents.groupby(["neighborhood_id", "month"]).agg(
        incidents=("incident_id", "size"),
        violent_incidents=("violent", "sum"),
        property_incidents=("property", "sum"),
    )
    expected = counts.reindex(grid(coverage(city.incidents["occurred_at"]), "month"), fill_value=0)
    expected = expected.join(population(), on="neighborhood_id")
    for measure, rate in [
        ("incidents", "incidents_per_1k"),
        ("violent_incidents", "violent_per_1k"),
        ("property_incidents", "property_per_1k"),
    ]:
        expected[rate] = expected[measure] / expected["population"] * 1000
    rolling = expected.groupby(level=0)["violent_incidents"].transform(lambda s: s.rolling(12).sum())
    expected["violent_per_1k_12m"] = rolling / expected["population"] * 1000

    actual = as_keyed(published(home, "crime_monthly"), "month")
    assert list(actual.index) == list(expected.index), "every neighborhood x month, and nothing else"
    pd.testing.assert_frame_equal(
        actual[expected.columns],
        expected,
        check_dtype=False,
        check_index_type=False,
        check_exact=False,
        rtol=1e-9,
    )


def test_engagement_monthly_matches_pandas(small_city, small_city_truth):
    home, city = small_city.home, small_city_truth
    events = city.events.assign(month=month_start(city.events["starts_at"]))
    attended = city.attendance.drop_duplicates(["event_id", "person"]).merge(events, on="event_id")
    first_month = attended.groupby("person")["month"].min().rename("first_month")
    attended = attended.join(first_month, on="person")
    attended["new"] = np.where(attended["month"] == attended["first_month"], attended["person"], None)
    attended["youth"] = np.where(attended["age_group"].isin(["under 18", "18-24"]), attended["person"], None)
    keys = ["neighborhood_id", "month"]
    expected = (
        events.groupby(keys)
        .size()
        .rename("events_held")
        .to_frame()
        .join(
            attended.groupby(keys).agg(
                attendances=("person", "size"),
                unique_participants=("person", "nunique"),
                new_participants=("new", "nunique"),
                youth_participants=("youth", "nunique"),
            ),
            how="outer",
        )
        .reindex(grid(coverage(city.events["starts_at"]), "month"))
        .fillna(0)
    )
    expected["returning_participants"] = expected["unique_participants"] - expected["new_participants"]
    expected = expected.join(population(), on="neighborhood_id")
    expected["participants_per_1k"] = expected["unique_participants"] / expected["population"] * 1000
    expected = expected.drop(columns="population")

    actual = as_keyed(published(home, "engagement_monthly"), "month")
    assert list(actual.index) == list(expected.index)
    pd.testing.assert_frame_equal(
        actual[expected.columns], expected, check_dtype=False, check_index_type=False, rtol=1e-9
    )
    assert expected["attendances"].sum() == 12  # the fixture's truth, as a sanity check of the test itself


def construct_scores(responses: pd.DataFrame, items: list[str]) -> pd.Series:
    answered = responses[items].notna().sum(axis=1)
    return responses[items].mean(axis=1).where(answered * 2 >= len(items))


def test_trust_quarterly_matches_scipy(small_city, small_city_truth):
    home, city = small_city.home, small_city_truth
    responses = city.responses.assign(
        quarter=pd.to_datetime(city.responses["submitted_at"]).dt.to_period("Q").dt.to_timestamp()
    )
    responses["trust"] = construct_scores(responses, ["T1", "T2", "T3", "T4"])
    responses["safety"] = construct_scores(responses, ["S1", "S2", "S3"])
    quarters = coverage(city.responses["submitted_at"], "QS")
    rows = []
    for nbhd, quarter in grid(quarters, "quarter"):
        group = responses[(responses["neighborhood_id"] == nbhd) & (responses["quarter"] == quarter)]
        row = {
            "neighborhood_id": nbhd,
            "quarter": quarter,
            "respondents": len(group),
            "suppressed": len(group) < MIN_CELL,
        }
        for construct in ("trust", "safety"):
            scores = (group[construct].dropna() - 1) / 4 * 100
            low, high = (
                stats.t.interval(0.95, len(scores) - 1, loc=scores.mean(), scale=stats.sem(scores))
                if len(scores) > 1
                else (np.nan, np.nan)
            )
            row |= {
                f"{construct}_index": scores.mean(),
                f"{construct}_index_ci_low": low,
                f"{construct}_index_ci_high": high,
            }
        trusting = group["trust"].dropna()
        if len(trusting):
            ci = stats.binomtest(int((trusting >= 4).sum()), len(trusting)).proportion_ci(method="wilson")
            row |= {
                "pct_trust": (trusting >= 4).mean() * 100,
                "pct_trust_ci_low": ci.low * 100,
                "pct_trust_ci_high": ci.high * 100,
            }
        rows.append(row)
    expected = pd.DataFrame(rows).set_index(["neighborhood_id", "quarter"])
    metrics = [c for c in expected.columns if c not in ("respondents", "suppressed")]
    expected.loc[expected["suppressed"], metrics] = np.nan

    actual = as_keyed(published(home, "trust_quarterly"), "quarter")
    assert list(actual.index) == list(expected.index)
    assert (actual["suppressed"] == expected["suppressed"]).all()
    assert (
        actual.loc[actual["respondents"] < MIN_CELL]
        .drop(columns=["respondents", "suppressed"])
        .isna()
        .all()
        .all()
    )
    pd.testing.assert_frame_equal(
        actual[expected.columns].astype(float),
        expected.astype(float),
        check_index_type=False,
        check_exact=False,
        rtol=1e-9,
        atol=1e-9,
    )
    assert expected["trust_index"].notna().sum() == 2  # N01 Q1 and N03 Q2 are above the cell size


def test_each_source_received_its_files_rows_and_refused_them_for_their_reasons(small_city, small_city_truth):
    home, city = small_city.home, small_city_truth
    quality = published(home, "data_quality")
    received = quality.groupby("source")["rows_received"].sum()
    for source, count in city.received.items():
        assert received[source] == count
    crimes = quality[quality["source"] == "demo_crimes"].set_index("file")
    assert crimes["rows_unmapped_offense"].to_dict() == {
        "landing/demo_crimes/crimes_2023_2024.csv": 1,
        "landing/demo_crimes/crimes_revisions.csv": 0,
    }
    assert quality.loc[quality["source"] != "demo_crimes", "rows_unmapped_offense"].isna().all()
    reasons = published(home, "data_quality_reasons")
    crime = reasons[reasons["source"] == "demo_crimes"].groupby("reason")["rows"].sum().to_dict()
    assert crime == {"unparseable_occurred_at": 1, "unlocatable": 2, "duplicate_incident": 1}
    survey = reasons[reasons["source"] == "demo_survey_qualtrics"].groupby("reason")["rows"].sum().to_dict()
    assert survey == {
        "incomplete_response": 1,
        "unknown_neighborhood": 1,
        "invalid_answer": 1,
        "duplicate_response_superseded": 1,
    }
