"""program_evaluation and neighborhood_scorecard on a hand-sized city, against pandas.

The small city (tests/fixtures/small_city.py) plus three programs and a second survey wave, so that the
evaluation has a population-weighted comparison of two neighborhoods (P1), a comparison that excludes a
neighborhood with an active program (P2), windows without data (P3), and trust on both sides of P1's start.
Everything expected is computed here from the fixture's ground truth, not from the project's SQL.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tests.conftest import TABLES_ONLY, run_cli
from tests.fixtures.small_city import (
    ITEMS,
    NEIGHBORHOODS,
    QUALTRICS_META,
    VIOLENT,
    _qualtrics_row,
    _score,
    _write_csv,
    build,
)

MIN_CELL = 1  # every answered quarter counts, so trust has periods on both sides of P1's start
PROGRAMS = pd.DataFrame(
    [
        # N02 and N03 have no program active in 2023-01..2024-12: both are P1's comparison areas.
        ("P1", "Beat Meetings Plus", "N01", "2024-01-01", ""),
        # Starts after P1's windows; its own windows (2024-03..2026-02) exclude N01, where P1 is active.
        ("P2", "Youth Outreach", "N02", "2025-03-01", ""),
        # Over before any data: every value is NULL and no period counts.
        ("P3", "Safe Streets", "N03", "2021-01-01", "2022-06-30"),
    ],
    columns=["program_id", "name", "neighborhood_id", "start_date", "end_date"],
)
METRICS = ["violent_per_1k", "incidents_per_1k", "participants_per_1k", "trust_index"]


def second_wave(landing, rng) -> pd.DataFrame:
    """Survey responses in 2023 Q2/Q3 and 2024 Q3 for every neighborhood (truth: scores, S3 reverse-coded)."""
    rows, truth = [], []
    for nbhd, (name, *_rest) in NEIGHBORHOODS.items():
        for day in ("2023-05-10", "2023-08-10", "2024-08-10"):
            for k in range(3 + int(rng.integers(0, 3))):
                answers = [str(int(rng.integers(1, 6))) for _ in ITEMS]
                submitted = pd.Timestamp(day) + pd.Timedelta(hours=k)
                response_id = f"R_wave2_{nbhd}_{day}_{k}"
                rows.append(_qualtrics_row(response_id, submitted, "1", name, "35-54", "Female", answers))
                truth.append(
                    {"response_id": response_id, "submitted_at": submitted, "neighborhood_id": nbhd}
                    | {item: _score(answer) for item, answer in zip(ITEMS, answers, strict=True)}
                )
    header = QUALTRICS_META + ["Q_NBHD", "Q_AGE", "Q_GENDER", *ITEMS, "Q_COMMENT"]
    _write_csv(
        landing / "demo_survey_qualtrics" / "wave_2023.csv",
        [header, header, [json.dumps({"ImportId": name}) for name in header]] + rows,
    )
    frame = pd.DataFrame(truth)
    frame["S3"] = 6 - frame["S3"]
    return frame


@pytest.fixture(scope="module")
def city_run(tmp_path_factory):
    home = tmp_path_factory.mktemp("evaluation_city")
    city = build(home / "landing")
    _write_csv(
        home / "landing" / "demo_programs" / "programs.csv",
        [list(PROGRAMS.columns), *PROGRAMS.values.tolist()],
    )
    responses = pd.concat([city.responses, second_wave(home / "landing", np.random.default_rng(11))])
    result = run_cli(
        "run",
        "--home",
        str(home),
        "--select",
        TABLES_ONLY,
        env={"NBHD_MIN_CELL": str(MIN_CELL), "NBHD_MAX_QUARANTINE_SHARE": "0.5"},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]
    return home, city, responses


def published(home, table: str) -> pd.DataFrame:
    return pd.read_parquet(home / "published" / "current" / f"{table}.parquet")


def month_start(values) -> pd.Series:
    return pd.to_datetime(pd.Series(values)).dt.to_period("M").dt.to_timestamp()


def quarter_start(values) -> pd.Series:
    return pd.to_datetime(pd.Series(values)).dt.to_period("Q").dt.to_timestamp()


def coverage(dates, freq: str) -> pd.MultiIndex:
    """Every neighborhood × period (month "MS" or quarter "QS") from a subject's first to its last date."""
    periods = month_start(dates) if freq == "MS" else quarter_start(dates)
    return pd.MultiIndex.from_product(
        [sorted(NEIGHBORHOODS), pd.date_range(periods.min(), periods.max(), freq=freq)],
        names=["neighborhood_id", "period"],
    )


@pytest.fixture(scope="module")
def truth(city_run):
    """Per neighborhood: monthly crime and participation, quarterly trust/safety/respondents, from the truth,
    each over its own subject's coverage (NaN outside it, where the published tables have no row)."""
    _, city, responses = city_run
    population = pd.Series({n: v[5] for n, v in NEIGHBORHOODS.items()}, name="population")

    incidents = city.incidents.assign(period=month_start(city.incidents["occurred_at"]).values)
    incidents["violent"] = incidents["fbi_code"].isin(VIOLENT)
    crime = incidents.groupby(["neighborhood_id", "period"]).agg(
        incidents=("incident_id", "size"), violent=("violent", "sum")
    )
    crime = crime.reindex(coverage(city.incidents["occurred_at"], "MS"), fill_value=0)
    crime = crime.join(population, on="neighborhood_id")

    events = city.events.assign(period=month_start(city.events["starts_at"]).values)
    attended = city.attendance.drop_duplicates(["event_id", "person"]).merge(events, on="event_id")
    participants = (
        attended.groupby(["neighborhood_id", "period"])["person"]
        .nunique()
        .reindex(coverage(city.events["starts_at"], "MS"), fill_value=0)
        .to_frame("unique_participants")
        .join(population, on="neighborhood_id")
    )

    values = pd.concat(
        [
            pd.DataFrame(
                {
                    "violent_per_1k": crime["violent"] / crime["population"] * 1000,
                    "incidents_per_1k": crime["incidents"] / crime["population"] * 1000,
                }
            ),
            (participants["unique_participants"] / participants["population"] * 1000).rename(
                "participants_per_1k"
            ),
        ],
        axis=1,
    ).sort_index()

    scored = responses.assign(period=quarter_start(responses["submitted_at"]).values)
    for construct, items in (("trust", ["T1", "T2", "T3", "T4"]), ("safety", ["S1", "S2", "S3"])):
        answered = scored[items].notna().sum(axis=1)
        score = scored[items].mean(axis=1).where(answered * 2 >= len(items))
        scored[f"{construct}_index"] = (score - 1) / 4 * 100
    quarters = coverage(responses["submitted_at"], "QS")
    survey = (
        scored.groupby(["neighborhood_id", "period"])
        .agg(
            trust_index=("trust_index", "mean"),
            safety_index=("safety_index", "mean"),
            respondents=("response_id", "size"),
        )
        .reindex(quarters)
    )
    survey["respondents"] = survey["respondents"].fillna(0)
    return {
        "population": population,
        "monthly": values,
        "quarterly": survey,
        "crime": crime,
        "participants": participants,
        "attended": attended,
        "events": events,
    }


def window_mean(series: pd.Series, start, end) -> tuple[float, int]:
    inside = series[(series.index >= start) & (series.index < end)].dropna()
    return (inside.mean() if len(inside) else np.nan), len(inside)


def expected_evaluation(truth) -> pd.DataFrame:
    population = truth["population"]
    rows = []
    for program in PROGRAMS.itertuples():
        start = pd.Timestamp(program.start_date)
        pre_start, post_end = start - pd.DateOffset(months=12), start + pd.DateOffset(months=12)
        # Neighborhoods where some program is active at any time in [pre_start, post_end).
        ends = pd.to_datetime(PROGRAMS["end_date"].replace("", None))
        active = PROGRAMS[
            (pd.to_datetime(PROGRAMS["start_date"]) < post_end) & (ends.isna() | (ends >= pre_start))
        ]["neighborhood_id"]
        comparison = sorted(set(NEIGHBORHOODS) - set(active))
        for metric in METRICS:
            table = truth["quarterly"] if metric == "trust_index" else truth["monthly"]
            per_period = table[metric].unstack("neighborhood_id")
            treated = per_period[program.neighborhood_id]
            weights = per_period[comparison].notna() * population[comparison]
            weighted = (per_period[comparison].fillna(0) * population[comparison]).sum(axis=1) / weights.sum(
                axis=1
            )
            row = {"program_id": program.program_id, "metric": metric}
            for side, (low, high) in {"pre": (pre_start, start), "post": (start, post_end)}.items():
                # Quarters start on quarter days; P1's start is one, so no quarter straddles it here.
                row[side], row[f"months_{side}"] = window_mean(treated, low, high)
                row[f"comparison_{side}"], row[f"comparison_periods_{side}"] = window_mean(
                    weighted.replace([np.inf], np.nan), low, high
                )
            months_per_period = 3 if metric == "trust_index" else 1
            enough = all(
                row[key] * months_per_period >= 6
                for key in ("months_pre", "months_post", "comparison_periods_pre", "comparison_periods_post")
            )
            row["did"] = (
                (row["post"] - row["pre"]) - (row["comparison_post"] - row["comparison_pre"])
                if enough
                else np.nan
            )
            rows.append(row)
    columns = ["pre", "post", "comparison_pre", "comparison_post", "did", "months_pre", "months_post"]
    return pd.DataFrame(rows).set_index(["program_id", "metric"]).sort_index()[columns]


def test_program_evaluation_matches_pandas(city_run, truth):
    home, _, _ = city_run
    expected = expected_evaluation(truth)
    actual = published(home, "program_evaluation").set_index(["program_id", "metric"]).sort_index()
    assert list(actual.index) == list(expected.index), "every program x metric, and nothing else"
    pd.testing.assert_frame_equal(
        actual[expected.columns], expected, check_dtype=False, check_exact=False, rtol=1e-9, atol=1e-12
    )
    # The fixture exercises what it should: a full estimate, trust on both sides, and the NULL rules.
    assert expected.loc[("P1", "violent_per_1k"), ["months_pre", "months_post"]].tolist() == [12, 12]
    assert expected.loc[("P1", "trust_index"), "months_pre"] == 2
    assert not np.isnan(expected.loc[("P1", "trust_index"), "did"])
    assert expected.loc["P2", "did"].isna().all() and expected.loc["P3", "did"].isna().all()
    assert (expected.loc["P3", ["months_pre", "months_post"]] == 0).all().all()


def test_comparison_is_population_weighted_not_a_plain_mean(city_run, truth):
    home, _, _ = city_run
    actual = published(home, "program_evaluation").set_index(["program_id", "metric"])
    monthly = truth["monthly"]["violent_per_1k"].unstack("neighborhood_id")
    pre = monthly[(monthly.index >= "2023-01-01") & (monthly.index < "2024-01-01")]
    plain = pre[["N02", "N03"]].mean(axis=1).mean()
    weighted = ((pre["N02"] * 4_000 + pre["N03"] * 25_000) / 29_000).mean()
    assert abs(plain - weighted) > 1e-6  # the two readings differ on this fixture ...
    assert actual.loc[("P1", "violent_per_1k"), "comparison_pre"] == pytest.approx(weighted, rel=1e-9)


def test_neighborhood_scorecard_matches_pandas(city_run, truth):
    home, _, _ = city_run
    population = truth["population"]
    keys = ["neighborhood_id", "quarter"]
    crime = truth["crime"].reset_index()
    crime["quarter"] = quarter_start(crime["period"]).values
    crime = crime.groupby(keys)[["incidents", "violent"]].sum()
    # the quarters the calendars cover (any month of them), zero inside, absent outside
    engagement_quarters = (
        truth["participants"].reset_index().assign(quarter=lambda f: quarter_start(f["period"]).values)
    )
    engagement = engagement_quarters.groupby(keys).size().rename("months").to_frame()
    events = truth["events"].assign(quarter=quarter_start(truth["events"]["starts_at"]).values)
    attended = truth["attended"].assign(quarter=quarter_start(truth["attended"]["starts_at"]).values)
    engagement["events_held"] = events.groupby(keys).size()
    engagement["unique_participants"] = attended.groupby(keys)["person"].nunique()
    engagement = engagement.drop(columns="months").fillna(0)
    survey = truth["quarterly"].rename_axis(keys)
    # the scorecard's quarters: the union of the subjects'; a subject's columns NaN outside its own
    expected = crime.join(engagement, how="outer").join(survey, how="outer").sort_index()
    expected = expected.join(population, on="neighborhood_id")
    expected["name"] = [NEIGHBORHOODS[n][0] for n in expected.index.get_level_values(0)]
    expected["violent_per_1k"] = expected["violent"] / expected["population"] * 1000
    expected["participants_per_1k"] = expected["unique_participants"] / expected["population"] * 1000
    expected["suppressed"] = (expected["respondents"] < MIN_CELL).where(expected["respondents"].notna())
    for metric in ("violent_per_1k", "participants_per_1k", "trust_index"):
        by_nbhd = expected[metric].groupby(level="neighborhood_id")
        expected[f"{metric}_change_qoq"] = expected[metric] - by_nbhd.shift(1)
        expected[f"{metric}_change_yoy"] = expected[metric] - by_nbhd.shift(4)
    expected = expected.drop(columns="violent")

    actual = published(home, "neighborhood_scorecard")
    actual["quarter"] = pd.to_datetime(actual["quarter"])
    actual = actual.set_index(["neighborhood_id", "quarter"]).sort_index()
    assert list(actual.index) == list(expected.index)
    assert (actual["name"] == expected["name"]).all()

    def flags(values: pd.Series) -> list:
        return [None if pd.isna(value) else bool(value) for value in values]

    assert flags(actual["suppressed"]) == flags(expected["suppressed"])  # None: no survey that quarter
    numeric = [c for c in expected.columns if c not in ("name", "suppressed")]
    pd.testing.assert_frame_equal(
        actual[numeric].astype(float),
        expected[numeric].astype(float),
        check_exact=False,
        check_index_type=False,
        rtol=1e-9,
        atol=1e-12,
    )
    # Sanity of the test itself: trust changes exist both quarter on quarter and year on year.
    assert expected["trust_index_change_qoq"].notna().sum() >= 3
    assert expected["trust_index_change_yoy"].notna().sum() >= 3
    # Each subject leaves quarters uncovered here: crime 2023-2024, calendars 2024 Q1, surveys from 2023 Q2.
    assert expected["events_held"].isna().sum() > 0 and expected["incidents"].notna().all()
    assert actual.loc[("N01", pd.Timestamp("2023-01-01")), ["events_held", "respondents"]].isna().all()
    # Quarterly participants are distinct persons, not a sum of months (Rita attends N01 in Jan and Feb).
    assert actual.loc[("N01", pd.Timestamp("2024-01-01")), "unique_participants"] == 5
