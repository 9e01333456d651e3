"""Placebo inference, event study, weighted intervals, every construct and group breakdowns on a hand-sized city.

The small city (tests/fixtures/small_city.py) plus, written here: a second Qualtrics source whose YAML names a
third construct (procedural_justice, one item reverse-coded) with two years of quarterly waves, age × gender
margins so that respondents get raking weights, and a second program that ended before any data. Every
expected figure is computed in this module with plain numpy/pandas loops: the evaluation from the published
period tables (tests/e2e/_placebo.py), the survey figures from the loaded answers and the raking weights,
never from the project's SQL.
"""

from __future__ import annotations

import json
import shutil

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from tests.conftest import REPO, TABLES_ONLY, run_cli
from tests.e2e._placebo import assert_frames_agree, expected_evaluation, read_programs
from tests.fixtures.small_city import NEIGHBORHOODS, QUALTRICS_META, _qualtrics_row, _write_csv, build

MIN_CELL = (
    3  # small enough that most neighborhood-quarters publish, large enough that some groups are suppressed
)
NORMAL_975 = 1.959963984540054
PJ_ITEMS = ["PJ1", "PJ2", "PJ3"]
ITEMS = ["T1", "T2", "T3", "T4", "S1", "S2", "S3", *PJ_ITEMS]
CONSTRUCTS = {"trust": ["T1", "T2", "T3", "T4"], "safety": ["S1", "S2", "S3"], "procedural_justice": PJ_ITEMS}
AGES, GENDERS = ["18-24", "25-34", "35-54", "55+"], ["Female", "Male"]
PJ_SOURCE = """name: demo_survey_pj
kind: survey
export_format: qualtrics
path: landing/demo_survey_pj/*.csv
timestamp_format: "%Y-%m-%d %H:%M:%S"
columns:
  response_id: ResponseId
  submitted_at: RecordedDate
  finished: Finished
  neighborhood: Q_NBHD
  age_group: Q_AGE
  gender: Q_GENDER
scale: {"1": 1, "2": 2, "3": 3, "4": 4, "5": 5}
missing: ["", "6"]
items:
  - {column: T1, construct: trust}
  - {column: T2, construct: trust}
  - {column: T3, construct: trust}
  - {column: T4, construct: trust}
  - {column: S1, construct: safety}
  - {column: S2, construct: safety}
  - {column: S3, construct: safety, reverse: true}
  - {column: PJ1, construct: procedural_justice}
  - {column: PJ2, construct: procedural_justice, reverse: true}
  - {column: PJ3, construct: procedural_justice}
"""


def write_pj_waves(landing, rng) -> None:
    """2023 Q1 .. 2024 Q4, 9-15 respondents per neighborhood and quarter; 18-24 is rare and some leave age or
    gender blank, so that small groups (suppressed) and 'unknown' occur; every answer may be skipped."""
    rows = []
    for nbhd, (name, *_rest) in NEIGHBORHOODS.items():
        for quarter in pd.date_range("2023-01-01", "2024-10-01", freq="QS"):
            for k in range(int(rng.integers(9, 16))):
                age = rng.choice(["", *AGES], p=[0.05, 0.1, 0.3, 0.3, 0.25])
                gender = rng.choice(["", *GENDERS], p=[0.05, 0.5, 0.45])
                answers = [
                    rng.choice(["1", "2", "3", "4", "5", "6", ""], p=[0.1, 0.15, 0.2, 0.25, 0.2, 0.05, 0.05])
                    for _ in ITEMS
                ]
                submitted = quarter + pd.Timedelta(days=20, hours=k)
                rows.append(
                    _qualtrics_row(
                        f"R_pj_{nbhd}_{quarter:%Y%m}_{k}", submitted, "1", name, age, gender, answers
                    )
                )
    header = QUALTRICS_META + ["Q_NBHD", "Q_AGE", "Q_GENDER", *ITEMS, "Q_COMMENT"]
    _write_csv(
        landing / "demo_survey_pj" / "waves.csv",
        [header, header, [json.dumps({"ImportId": h}) for h in header]] + rows,
    )


def write_margins(landing) -> None:
    rows = [["neighborhood_id", "dimension", "category", "population"]]
    for nbhd, (*_rest, population) in NEIGHBORHOODS.items():
        adults = round(0.8 * population)
        ages = [round(adults * share) for share in (0.15, 0.25, 0.35)]
        rows += [
            [nbhd, "age_group", a, str(v)] for a, v in zip(AGES, [*ages, adults - sum(ages)], strict=True)
        ]
        rows += [
            [nbhd, "gender", "Female", str(adults // 2)],
            [nbhd, "gender", "Male", str(adults - adults // 2)],
        ]
    _write_csv(landing / "demo_population" / "margins.csv", rows)


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    home = tmp_path_factory.mktemp("inference_city")
    landing = home / "landing"
    build(landing)
    write_margins(landing)
    write_pj_waves(landing, np.random.default_rng(5))
    _write_csv(
        landing / "demo_programs" / "programs.csv",
        [
            ["program_id", "name", "neighborhood_id", "start_date", "end_date"],
            ["P1", "Beat Meetings Plus", "N01", "2024-01-01", ""],
            ["P2", "Safe Streets", "N03", "2021-01-01", "2022-06-30"],  # over before any data: no estimate
        ],
    )
    sources = home / "sources"
    shutil.copytree(REPO / "sources" / "demo", sources)
    (sources / "demo_survey_pj.yml").write_text(PJ_SOURCE)
    result = run_cli(
        "run",
        "--home",
        str(home),
        "--sources",
        str(sources),
        "--select",
        TABLES_ONLY,
        env={"NBHD_MIN_CELL": str(MIN_CELL), "NBHD_MAX_QUARANTINE_SHARE": "0.5"},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]
    return home


def published(home, table: str) -> pd.DataFrame:
    frame = pd.read_parquet(home / "published" / "current" / f"{table}.parquet")
    for column in ("quarter", "start_month", "period_start"):
        if column in frame:
            frame[column] = pd.to_datetime(frame[column])
    return frame


# ---------------------------------------------------------------- evaluation


def test_placebo_inference_equals_numpy(home):
    programs = read_programs(home / "landing" / "demo_programs" / "programs.csv")
    expected, _ = expected_evaluation(home / "published" / "current", programs)
    evaluation = published(home, "program_evaluation")
    assert_frames_agree(evaluation[expected.columns], expected, ["program_id", "metric"])
    # P1: N02 and N03 are its comparison, so two placebos at most, too few for an interval.
    p1 = evaluation[evaluation["program_id"] == "P1"].set_index("metric")
    assert p1.loc["violent_per_1k", "placebos"] == 2  # its p-value is numpy's, above
    assert p1["did_ci_low"].isna().all()
    assert dict(zip(evaluation["program_id"], evaluation["program_name"], strict=True)) == {
        "P1": "Beat Meetings Plus",
        "P2": "Safe Streets",
    }
    assert evaluation.loc[evaluation["program_id"] == "P2", "did_p_value"].isna().all()
    # what decides the comparison neighborhoods is published too, so anyone can recompute the placebos
    for program in programs:
        rows = evaluation[evaluation["program_id"] == program.program_id]
        assert (rows["neighborhood_id"] == program.neighborhood_id).all()
        assert (rows["start_month"] == program.start).all()
        if program.end_date is None:
            assert rows["end_date"].isna().all()
        else:
            assert (pd.to_datetime(rows["end_date"]) == program.end_date).all()


def test_event_study_equals_numpy(home):
    programs = read_programs(home / "landing" / "demo_programs" / "programs.csv")
    _, expected = expected_evaluation(home / "published" / "current", programs)
    event_study = published(home, "program_event_study")
    assert_frames_agree(event_study[expected.columns], expected, ["program_id", "metric", "relative_period"])
    trust = event_study[(event_study["program_id"] == "P1") & (event_study["metric"] == "trust_index")]
    assert sorted(trust["relative_period"]) == [-4, -3, -2, -1, 0, 1, 2, 3]


# ---------------------------------------------------------------- survey


@pytest.fixture(scope="module")
def respondents(home) -> pd.DataFrame:
    """Per located, complete response: its construct scores (0-100 index), weight and demographics, computed
    here from the loaded answer rows (latest submission per response) and the raking weights."""
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        answers = con.sql("SELECT * FROM canonical.survey_answers").df()
        weights = con.sql("SELECT source, response_id, weight FROM weights.survey_respondents").df()
    answers = answers.sort_values(["submitted_at", "loaded_at", "load_id"])
    latest = answers.groupby(["source", "response_id"])[["submitted_at", "loaded_at", "load_id"]].transform(
        "last"
    )
    answers = answers[(answers[["submitted_at", "loaded_at", "load_id"]] == latest).all(axis=1)]
    answers = answers[answers["neighborhood_id"].notna()]
    rows = []
    for (source, response_id), items in answers.groupby(["source", "response_id"]):
        first = items.iloc[0]
        row = {
            "source": source,
            "response_id": response_id,
            "neighborhood_id": first["neighborhood_id"],
            "quarter": pd.Timestamp(first["submitted_at"]).to_period("Q").to_timestamp(),
            "age_group": first["age_group"] if isinstance(first["age_group"], str) else "unknown",
            "gender": first["gender"] if isinstance(first["gender"], str) else "unknown",
        }
        for construct, construct_items in items.groupby("construct"):
            scores = construct_items["score"].dropna()
            if len(scores) > 0 and 2 * len(scores) >= len(construct_items):
                row[construct] = (scores.mean() - 1) / 4 * 100
                row[f"{construct}_raw"] = scores.mean()
        rows.append(row)
    frame = pd.DataFrame(rows).merge(weights, on=["source", "response_id"], how="left")
    assert frame["procedural_justice"].notna().sum() > 100
    return frame


def t_975(n: int) -> float:
    return float(stats.t.ppf(0.975, n - 1)) if n - 1 <= 5000 else NORMAL_975


def t_interval(values: np.ndarray) -> tuple[float, float, float]:
    n = len(values)
    mean = float(np.mean(values)) if n else np.nan
    if n < 2:
        return mean, np.nan, np.nan
    half = t_975(n) * float(np.std(values, ddof=1)) / np.sqrt(n)
    return mean, mean - half, mean + half


def weighted_interval(values: np.ndarray, weights: np.ndarray) -> tuple[float, float, float]:
    """survey::svymean with svydesign(ids = ~1, weights = ~w), written out."""
    n = len(values)
    mean = float(np.sum(weights * values) / np.sum(weights))
    if n < 2:
        return mean, np.nan, np.nan
    variance = n / (n - 1) * float(np.sum((weights * (values - mean)) ** 2)) / float(np.sum(weights)) ** 2
    half = t_975(n) * np.sqrt(variance)
    return mean, mean - half, mean + half


def expected_constructs(respondents: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for (nbhd, quarter), cell in respondents.groupby(["neighborhood_id", "quarter"]):
        weighted = cell["weight"].notna().all()
        for construct in CONSTRUCTS:
            scored = cell[cell[construct].notna()]
            row = {
                "neighborhood_id": nbhd,
                "quarter": quarter,
                "construct": construct,
                "respondents": len(cell),
            }
            suppressed = len(cell) < MIN_CELL
            mean, low, high = t_interval(scored[construct].to_numpy())
            w_mean, w_low, w_high = (
                weighted_interval(scored[construct].to_numpy(), scored["weight"].to_numpy())
                if weighted and len(scored)
                else (np.nan, np.nan, np.nan)
            )
            for column, value in {
                "construct_index": mean,
                "construct_index_ci_low": low,
                "construct_index_ci_high": high,
                "construct_index_weighted": w_mean,
                "construct_index_weighted_ci_low": w_low,
                "construct_index_weighted_ci_high": w_high,
            }.items():
                row[column] = np.nan if suppressed else value
            row["pct_weighted"] = (
                np.nan
                if suppressed or not weighted or not len(scored)
                else 100
                * scored.loc[scored[f"{construct}_raw"] >= 4, "weight"].sum()
                / scored["weight"].sum()
            )
            row["suppressed"] = suppressed
            rows.append(row)
    return pd.DataFrame(rows)


def test_every_construct_is_published(home, respondents):
    expected = expected_constructs(respondents).drop(columns="pct_weighted")
    table = published(home, "survey_constructs_quarterly")
    assert set(table["construct"]) == set(CONSTRUCTS)
    answered = table.merge(expected[["neighborhood_id", "quarter"]].drop_duplicates())
    assert_frames_agree(answered[expected.columns], expected, ["neighborhood_id", "quarter", "construct"])
    # rows without any respondent are the trust_quarterly rows without one: respondents 0, suppressed
    empty = table.merge(
        expected[["neighborhood_id", "quarter"]].drop_duplicates(), how="left", indicator=True
    )
    empty = empty[empty["_merge"] == "left_only"]
    assert (empty["respondents"] == 0).all() and empty["suppressed"].all()
    published_pj = table[(table["construct"] == "procedural_justice") & table["construct_index"].notna()]
    assert len(published_pj) >= 20


def test_weighted_intervals_follow_the_linearization_formula(home, respondents):
    expected = expected_constructs(respondents)
    trust = published(home, "trust_quarterly").set_index(["neighborhood_id", "quarter"])
    checked = 0
    for row in expected[expected["construct"].isin(["trust", "safety"])].itertuples():
        got = trust.loc[(row.neighborhood_id, row.quarter)]
        prefix = f"{row.construct}_index_weighted"
        for suffix, want in (
            ("", row.construct_index_weighted),
            ("_ci_low", row.construct_index_weighted_ci_low),
            ("_ci_high", row.construct_index_weighted_ci_high),
        ):
            if np.isnan(want):
                assert pd.isna(got[prefix + suffix]), (row, suffix)
            else:
                assert abs(got[prefix + suffix] - want) <= 1e-9, (row, suffix, got[prefix + suffix], want)
        if row.construct == "trust":
            if np.isnan(row.pct_weighted):
                assert pd.isna(got["pct_trust_weighted"]), row
            else:
                assert abs(got["pct_trust_weighted"] - row.pct_weighted) <= 1e-9, row
        if not np.isnan(row.construct_index_weighted_ci_low):
            assert got[prefix + "_ci_low"] <= got[prefix] <= got[prefix + "_ci_high"]
            checked += 1
    assert checked >= 10, "too few weighted cells to test the interval"
    assert (
        trust.loc[trust["suppressed"], ["trust_index_weighted_ci_low", "pct_trust_weighted"]]
        .isna()
        .all()
        .all()
    )


# ---------------------------------------------------------------- groups


def expected_groups(respondents: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for (nbhd, quarter), cell in respondents.groupby(["neighborhood_id", "quarter"]):
        total_published = len(cell) >= MIN_CELL
        for construct in CONSTRUCTS:
            for dimension in ("age_group", "gender"):
                groups = {category: members for category, members in cell.groupby(dimension)}
                sizes = {category: len(members) for category, members in groups.items()}
                suppressed = {category for category, size in sizes.items() if size < MIN_CELL}
                if total_published and len(suppressed) == 1:
                    others = sorted(
                        (size, category) for category, size in sizes.items() if category not in suppressed
                    )
                    suppressed.add(others[0][1])
                for category, members in groups.items():
                    mean, low, high = t_interval(members[construct].dropna().to_numpy())
                    hidden = category in suppressed
                    rows.append(
                        {
                            "neighborhood_id": nbhd,
                            "quarter": quarter,
                            "construct": construct,
                            "dimension": dimension,
                            "category": category,
                            "respondents": len(members),
                            "construct_index": np.nan if hidden else mean,
                            "construct_index_ci_low": np.nan if hidden else low,
                            "construct_index_ci_high": np.nan if hidden else high,
                            "suppressed": hidden,
                        }
                    )
    return pd.DataFrame(rows)


def test_survey_by_group_equals_numpy(home, respondents):
    expected = expected_groups(respondents)
    table = published(home, "survey_by_group")
    assert_frames_agree(
        table[expected.columns],
        expected,
        ["neighborhood_id", "quarter", "construct", "dimension", "category"],
    )
    assert {"unknown", *AGES} <= set(table.loc[table["dimension"] == "age_group", "category"])
    # the categories of a dimension partition the neighborhood's respondents
    totals = table.groupby(["neighborhood_id", "quarter", "construct", "dimension"])["respondents"].sum()
    cells = published(home, "survey_constructs_quarterly").set_index(
        ["neighborhood_id", "quarter", "construct"]
    )
    for (nbhd, quarter, construct, _), total in totals.items():
        assert total == cells.loc[(nbhd, quarter, construct), "respondents"]


def test_no_suppressed_group_mean_can_be_recovered(home):
    """The attack: within a neighborhood × quarter × construct × dimension whose total is published, a lone
    suppressed category's sum is the total's sum minus the published categories' sums. Suppression must never
    leave a category alone; and the rule has to have been needed (complementary suppression happened)."""
    groups = published(home, "survey_by_group")
    totals = published(home, "survey_constructs_quarterly").set_index(
        ["neighborhood_id", "quarter", "construct"]
    )
    complementary = 0
    for (nbhd, quarter, construct, _), cells in groups.groupby(
        ["neighborhood_id", "quarter", "construct", "dimension"]
    ):
        hidden = cells[cells["suppressed"]]
        if hidden.empty or totals.loc[(nbhd, quarter, construct), "suppressed"]:
            continue
        assert len(hidden) >= 2, cells
        assert cells.loc[cells["suppressed"], "construct_index"].isna().all()
        complementary += int((hidden["respondents"] >= MIN_CELL).any())
    assert complementary > 0, "no group needed complementary suppression: the fixture does not test the rule"
