"""Coverage per subject: a period outside a subject's own data has no row in its table and reads NULL in the
joint tables, never 0. Two cities from the hand-sized fixture, one real run each:

- survey-only: boundaries, population, the Qualtrics survey and programs, and no crime or events source;
- late crime: every source, but incidents only from 2024-04 on, after the calendar (2024-01..03) and the
  surveys (2024-02..05) started.

Everything expected is computed here from the fixture's ground truth (the files it wrote), not from the
project's SQL.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.conftest import TABLES_ONLY, run_cli
from tests.fixtures.small_city import NEIGHBORHOODS, SOURCES, VIOLENT, build, write_sources

pytestmark = pytest.mark.runs_long

MIN_CELL = 10
SURVEY_ONLY = ("demo_neighborhoods", "demo_population", "demo_survey_qualtrics", "demo_programs")
LATE_CRIME = {"crime_start": "2024-04-01", "crime_days": 456}  # incidents 2024-04 .. 2025-06
POPULATION = pd.Series({n: v[5] for n, v in NEIGHBORHOODS.items()}, name="population")
PROGRAM = ("P1", "N01", pd.Timestamp("2024-01-01"))  # the fixture's one program: id, neighborhood, start
CRIME_COLUMNS = ["incidents", "violent_per_1k", "violent_per_1k_change_qoq", "violent_per_1k_change_yoy"]
ENGAGEMENT_COLUMNS = [
    "events_held",
    "unique_participants",
    "participants_per_1k",
    "participants_per_1k_change_qoq",
    "participants_per_1k_change_yoy",
]
TRUST_COLUMNS = ["trust_index", "safety_index", "respondents", "suppressed"]


def run_city(home, sources: tuple[str, ...], **crime_period):
    city = build(home / "landing", **crime_period)
    folder = write_sources(home / "sources", sources)
    result = run_cli(
        "run",
        "--home",
        str(home),
        "--select",
        TABLES_ONLY,
        env={
            "NBHD_SOURCES_DIR": str(folder),
            "NBHD_MIN_CELL": str(MIN_CELL),
            "NBHD_MAX_QUARANTINE_SHARE": "0.5",
        },
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]
    return home, city


@pytest.fixture(scope="module")
def survey_only(tmp_path_factory):
    return run_city(tmp_path_factory.mktemp("survey_only"), SURVEY_ONLY)


@pytest.fixture(scope="module")
def late_crime(tmp_path_factory):
    return run_city(tmp_path_factory.mktemp("late_crime"), SOURCES, **LATE_CRIME)


def published(home, table: str) -> pd.DataFrame:
    return pd.read_parquet(home / "published" / "current" / f"{table}.parquet")


def keyed(frame: pd.DataFrame, period: str) -> pd.DataFrame:
    frame = frame.assign(**{period: pd.to_datetime(frame[period])})
    return frame.set_index(["neighborhood_id", period]).sort_index()


def months_of(values) -> pd.Series:
    return pd.to_datetime(pd.Series(values)).dt.to_period("M").dt.to_timestamp()


def quarters_of(values) -> pd.Series:
    return pd.to_datetime(pd.Series(values)).dt.to_period("Q").dt.to_timestamp()


def coverage(dates, freq: str) -> pd.DatetimeIndex:
    """Every month (freq "MS") or quarter ("QS") from the first to the last of `dates`."""
    periods = months_of(dates) if freq == "MS" else quarters_of(dates)
    return pd.date_range(periods.min(), periods.max(), freq=freq)


def grid(periods, name: str) -> pd.MultiIndex:
    return pd.MultiIndex.from_product([sorted(NEIGHBORHOODS), periods], names=["neighborhood_id", name])


def respondents(city) -> pd.Series:
    return (
        city.responses.assign(quarter=quarters_of(city.responses["submitted_at"]).values)
        .groupby(["neighborhood_id", "quarter"])["response_id"]
        .size()
    )


def trust_index_published(city, nbhd: str) -> pd.Series:
    """Per quarter: whether the neighborhood's trust_index is a figure (enough respondents, one trust score)."""
    responses = city.responses[city.responses["neighborhood_id"] == nbhd]
    items = ["T1", "T2", "T3", "T4"]
    scored = responses[items].notna().sum(axis=1) * 2 >= len(items)
    quarter = quarters_of(responses["submitted_at"]).values
    cells = pd.DataFrame({"quarter": quarter, "scored": scored.values}).groupby("quarter")
    return (cells.size() >= MIN_CELL) & cells["scored"].any()


# ------------------------------------------------------------------ survey-only city


def test_survey_only_city_publishes_no_crime_or_engagement_row(survey_only):
    home, _ = survey_only
    for table in ("crime_monthly", "engagement_monthly"):
        frame = published(home, table)
        assert len(frame) == 0, f"{table} invents figures for a city without its source:\n{frame.head()}"
        assert {"neighborhood_id", "month"} <= set(frame.columns), "the empty table keeps its columns"


def test_survey_only_trust_covers_the_survey_quarters(survey_only):
    home, city = survey_only
    expected = grid(coverage(city.responses["submitted_at"], "QS"), "quarter")
    actual = keyed(published(home, "trust_quarterly"), "quarter")
    assert list(actual.index) == list(expected)
    counts = respondents(city).reindex(expected, fill_value=0)
    assert actual["respondents"].tolist() == counts.tolist()


def test_survey_only_scorecard_has_no_crime_or_engagement_figure(survey_only):
    home, city = survey_only
    quarters = coverage(city.responses["submitted_at"], "QS")
    actual = keyed(published(home, "neighborhood_scorecard"), "quarter")
    assert list(actual.index) == list(grid(quarters, "quarter"))
    assert actual[CRIME_COLUMNS + ENGAGEMENT_COLUMNS].isna().all().all(), actual[
        CRIME_COLUMNS + ENGAGEMENT_COLUMNS
    ]
    counts = respondents(city).reindex(actual.index, fill_value=0)
    assert actual["respondents"].tolist() == counts.tolist()
    assert actual["suppressed"].tolist() == (counts < MIN_CELL).tolist()


def test_survey_only_evaluation_counts_no_crime_or_engagement_period(survey_only):
    home, city = survey_only
    actual = published(home, "program_evaluation").set_index("metric")
    program, nbhd, start = PROGRAM
    assert (actual["program_id"] == program).all()
    for metric in ("violent_per_1k", "incidents_per_1k", "participants_per_1k"):
        row = actual.loc[metric]
        assert (row["months_pre"], row["months_post"]) == (0, 0), metric
        assert row[["pre", "post", "comparison_pre", "comparison_post", "did"]].isna().all(), row
    published_quarters = trust_index_published(city, nbhd)
    post = published_quarters[
        (published_quarters.index >= start) & (published_quarters.index < start + pd.DateOffset(months=12))
    ]
    pre = published_quarters[
        (published_quarters.index >= start - pd.DateOffset(months=12)) & (published_quarters.index < start)
    ]
    assert (actual.loc["trust_index", "months_pre"], actual.loc["trust_index", "months_post"]) == (
        int(pre.sum()),
        int(post.sum()),
    )
    assert int(post.sum()) >= 1  # the fixture puts a published trust figure after the start
    assert np.isnan(actual.loc["trust_index", "did"])


# ------------------------------------------------------------------ crime starting after the surveys


@pytest.fixture(scope="module")
def late_crime_truth(late_crime):
    _, city = late_crime
    months = coverage(city.incidents["occurred_at"], "MS")
    incidents = city.incidents.assign(
        month=months_of(city.incidents["occurred_at"]).values,
        violent=city.incidents["fbi_code"].isin(VIOLENT),
    )
    monthly = (
        incidents.groupby(["neighborhood_id", "month"])
        .agg(incidents=("incident_id", "size"), violent_incidents=("violent", "sum"))
        .reindex(grid(months, "month"), fill_value=0)
        .join(POPULATION, on="neighborhood_id")
    )
    rolling = monthly.groupby(level="neighborhood_id")["violent_incidents"].transform(
        lambda s: s.rolling(12).sum()
    )
    monthly["violent_per_1k_12m"] = rolling / monthly["population"] * 1000
    monthly["violent_per_1k"] = monthly["violent_incidents"] / monthly["population"] * 1000
    monthly["incidents_per_1k"] = monthly["incidents"] / monthly["population"] * 1000
    return monthly


def test_late_crime_has_no_row_before_its_first_month(late_crime, late_crime_truth):
    home, city = late_crime
    first_crime = months_of(city.incidents["occurred_at"]).min()
    # the scenario: crime starts after the calendar and the surveys did
    assert first_crime > months_of(city.events["starts_at"]).min()
    assert first_crime > months_of(city.responses["submitted_at"]).min()
    actual = keyed(published(home, "crime_monthly"), "month")
    assert actual.index.get_level_values("month").min() == first_crime
    assert list(actual.index) == list(late_crime_truth.index), (
        "every neighborhood x crime month, nothing else"
    )
    assert actual["incidents"].tolist() == late_crime_truth["incidents"].tolist()
    assert actual["violent_incidents"].tolist() == late_crime_truth["violent_incidents"].tolist()


def test_late_crime_rolling_rate_waits_for_12_months_of_crime(late_crime, late_crime_truth):
    home, _ = late_crime
    actual = keyed(published(home, "crime_monthly"), "month")
    expected = late_crime_truth["violent_per_1k_12m"]
    months = sorted(set(expected.index.get_level_values("month")))
    assert len(months) >= 13  # the fixture has months with a 12-month figure
    first_eleven = actual.index.get_level_values("month").isin(months[:11])
    assert actual.loc[first_eleven, "violent_per_1k_12m"].isna().all()
    assert actual.loc[~first_eleven, "violent_per_1k_12m"].notna().all()
    pd.testing.assert_series_equal(
        actual["violent_per_1k_12m"], expected, check_exact=False, check_index_type=False, rtol=1e-9
    )


def test_late_crime_scorecard_reads_null_outside_each_subject(late_crime, late_crime_truth):
    home, city = late_crime
    crime_quarters = set(coverage(city.incidents["occurred_at"], "QS"))
    engagement_quarters = set(coverage(city.events["starts_at"], "QS"))
    trust_quarters = set(coverage(city.responses["submitted_at"], "QS"))
    quarters = sorted(crime_quarters | engagement_quarters | trust_quarters)
    actual = keyed(published(home, "neighborhood_scorecard"), "quarter")
    assert list(actual.index) == list(grid(quarters, "quarter"))
    quarter = actual.index.get_level_values("quarter")
    for columns, covered in [
        (CRIME_COLUMNS[:2], crime_quarters),
        (ENGAGEMENT_COLUMNS[:3], engagement_quarters),
        (TRUST_COLUMNS[2:], trust_quarters),
    ]:
        inside = quarter.isin(list(covered))
        assert actual.loc[~inside, columns].isna().all().all(), columns
        assert actual.loc[inside, columns].notna().all().all(), columns
    # the crime quarters hold the truth's counts; a change needs both quarters covered
    truth = late_crime_truth.reset_index()
    truth["quarter"] = quarters_of(truth["month"]).values
    incidents = truth.groupby(["neighborhood_id", "quarter"])["incidents"].sum()
    covered = actual.loc[quarter.isin(list(crime_quarters))]
    assert covered["incidents"].tolist() == incidents.reindex(covered.index).tolist()
    first = min(crime_quarters)
    assert actual.loc[quarter == first, "violent_per_1k_change_qoq"].isna().all()
    assert actual.loc[quarter == first + pd.DateOffset(months=3), "violent_per_1k_change_qoq"].notna().all()


def test_late_crime_evaluation_has_no_pre_period_of_zeros(late_crime, late_crime_truth):
    home, _ = late_crime
    actual = published(home, "program_evaluation").set_index("metric")
    program, nbhd, start = PROGRAM
    comparison = sorted(set(NEIGHBORHOODS) - {nbhd})  # the fixture's only program is in N01
    end = start + pd.DateOffset(months=12)
    for metric in ("violent_per_1k", "incidents_per_1k"):
        values = late_crime_truth[metric].unstack("neighborhood_id")
        post = values[(values.index >= start) & (values.index < end)]
        pre = values[(values.index >= start - pd.DateOffset(months=12)) & (values.index < start)]
        weighted = (post[comparison] * POPULATION[comparison]).sum(axis=1) / POPULATION[comparison].sum()
        row = actual.loc[metric]
        assert (row["months_pre"], row["months_post"]) == (len(pre), len(post)) == (0, 9), metric
        assert np.isnan(row["pre"]) and np.isnan(row["comparison_pre"]) and np.isnan(row["did"])
        assert row["post"] == pytest.approx(post[nbhd].mean(), rel=1e-9)
        assert row["comparison_post"] == pytest.approx(weighted.mean(), rel=1e-9)
