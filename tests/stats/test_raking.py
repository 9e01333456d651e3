"""Raking weights against a direct iterative-proportional-fitting loop written here, independently of
pipelines/stats/raking.py (its own loop, its own stopping rule)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipelines.stats.raking import (
    cell_weights,
    effective_n,
    neighborhood_targets,
    rake,
    survey_weights,
    trim_and_renormalise,
)

AGE_MARGIN = {"18-34": 3000, "35-54": 5000, "55+": 2000}
GENDER_MARGIN = {"Female": 5200, "Male": 4800}


def margins_frame(neighborhood: str = "N1", age=AGE_MARGIN, gender=GENDER_MARGIN) -> pd.DataFrame:
    rows = [(neighborhood, "age_group", c, p) for c, p in age.items()]
    rows += [(neighborhood, "gender", c, p) for c, p in gender.items()]
    rows += [(neighborhood, "total", "total", sum(age.values()))]
    return pd.DataFrame(rows, columns=["neighborhood_id", "dimension", "category", "population"])


def targets(margins: pd.DataFrame) -> dict:
    return neighborhood_targets(margins).get("N1", {})


def direct_ipf(age: list[str], gender: list[str], age_margin: dict, gender_margin: dict) -> np.ndarray:
    """Textbook raking: alternate the two margins until the weights stop moving."""
    n = len(age)
    w = np.ones(n)
    age, gender = np.array(age), np.array(gender)
    for _ in range(100_000):
        before = w.copy()
        for labels, margin in ((age, age_margin), (gender, gender_margin)):
            total = sum(margin.values())
            for category, population in margin.items():
                w[labels == category] *= n * population / total / w[labels == category].sum()
        if np.max(np.abs(w - before)) < 1e-15:
            break
    return w


def trimmed(w: np.ndarray) -> np.ndarray:
    m = w.mean()
    t = np.minimum(np.maximum(w, 0.2 * m), 5 * m)
    return t / t.sum() * len(t)


def sample(n: int, seed: int, p_age=(0.5, 0.3, 0.2), p_female=0.65) -> tuple[list[str], list[str]]:
    rng = np.random.default_rng(seed)
    age = rng.choice(list(AGE_MARGIN), n, p=p_age).tolist()
    gender = np.where(rng.random(n) < p_female, "Female", "Male").tolist()
    return age, gender


def test_rake_matches_a_direct_ipf_loop_and_meets_the_margins():
    age, gender = sample(40, seed=1)
    weights = rake(
        pd.DataFrame({"age_group": age, "gender": gender}).map(str.lower),
        {
            "age_group": pd.Series(AGE_MARGIN).rename(index=str.lower),
            "gender": pd.Series(GENDER_MARGIN).rename(index=str.lower),
        },
    )
    expected = direct_ipf(age, gender, AGE_MARGIN, GENDER_MARGIN)
    np.testing.assert_allclose(weights, expected, rtol=1e-12, atol=1e-12)
    frame = pd.DataFrame({"age": age, "gender": gender, "w": weights})
    shares = frame.groupby("age")["w"].sum() / 40
    np.testing.assert_allclose(
        shares[list(AGE_MARGIN)], np.array(list(AGE_MARGIN.values())) / 10_000, rtol=1e-12
    )
    shares = frame.groupby("gender")["w"].sum() / 40
    np.testing.assert_allclose(shares[list(GENDER_MARGIN)], [0.52, 0.48], rtol=1e-12)
    assert not np.allclose(weights, 1), "the sample is unbalanced: weights must differ from 1"


def test_trimming_bounds_then_renormalises_to_mean_one():
    weights = np.array([0.05, 0.5, 1.0, 1.0, 30.0, 0.45])
    result = trim_and_renormalise(weights)
    mean = weights.mean()
    clipped = np.clip(weights, 0.2 * mean, 5 * mean)
    np.testing.assert_allclose(result, clipped * len(weights) / clipped.sum(), rtol=1e-15)
    assert result.sum() == pytest.approx(len(weights), rel=1e-15)
    assert clipped[0] == 0.2 * mean and clipped[4] == 5 * mean, "both bounds are exercised"
    assert effective_n(np.ones(7)) == 7
    assert effective_n(np.array([1.0, 3.0])) == pytest.approx(16 / 10)


def test_cell_weights_rake_trim_and_keep_unplaceable_respondents_at_the_mean_weight():
    # A skewed sample (mostly young women) so that trimming bites.
    age, gender = sample(30, seed=4, p_age=(0.8, 0.15, 0.05), p_female=0.85)
    age[3], gender[7], age[11] = "Prefer not to say", None, "under 18"  # not placeable in the margins
    respondents = pd.DataFrame({"age_group": age, "gender": gender})
    weights, raked, status = cell_weights(respondents, targets(margins_frame()))
    assert status == "raked"
    placeable = np.ones(30, dtype=bool)
    placeable[[3, 7, 11]] = False
    np.testing.assert_array_equal(raked, placeable)
    raw = np.ones(30)
    raw[placeable] = direct_ipf(
        [a for a, keep in zip(age, placeable, strict=True) if keep],
        [g for g, keep in zip(gender, placeable, strict=True) if keep],
        AGE_MARGIN,
        GENDER_MARGIN,
    )
    expected = trimmed(raw)
    np.testing.assert_allclose(weights, expected, rtol=1e-12)
    assert (raw > 5 * raw.mean()).any(), "the fixture must exercise trimming (its upper bound)"
    assert weights.sum() == pytest.approx(30, rel=1e-12)


def test_labels_match_margins_ignoring_case_and_spacing():
    age, gender = sample(25, seed=5)
    shouted = pd.DataFrame({"age_group": [f" {a} " for a in age], "gender": [g.upper() for g in gender]})
    plain = pd.DataFrame({"age_group": age, "gender": gender})
    np.testing.assert_allclose(
        cell_weights(shouted, targets(margins_frame()))[0], cell_weights(plain, targets(margins_frame()))[0]
    )


def test_no_weights_without_margins_or_with_an_empty_margin_category():
    age, gender = sample(20, seed=6)
    respondents = pd.DataFrame({"age_group": age, "gender": gender})
    assert cell_weights(respondents, targets(margins_frame().iloc[0:0]))[::2] == (None, "no_margins")
    only_two_ages = respondents.assign(age_group=["18-34", "35-54"] * 10)
    assert cell_weights(only_two_ages, targets(margins_frame()))[::2] == (None, "empty_margin_category")
    # A category without population needs no respondent.
    margins = margins_frame(age=AGE_MARGIN | {"55+": 0})
    weights, _, status = cell_weights(only_two_ages, targets(margins))
    assert status == "raked" and weights is not None
    # Only one dimension with margins: raked on that one alone.
    weights, _, status = cell_weights(
        respondents, targets(margins_frame()[lambda f: f["dimension"] != "gender"])
    )
    assert status == "raked"
    shares = pd.Series(weights).groupby(np.array(age)).sum() / 20
    np.testing.assert_allclose(shares[list(AGE_MARGIN)], [0.3, 0.5, 0.2], rtol=1e-12)


def test_survey_weights_rakes_each_neighborhood_quarter_on_its_own():
    age1, gender1 = sample(15, seed=7)
    age2, gender2 = sample(12, seed=8)
    respondents = pd.DataFrame(
        {
            "neighborhood_id": ["N1"] * 27 + ["N2"] * 3,
            "quarter": ["2024-01-01"] * 15 + ["2024-04-01"] * 12 + ["2024-01-01"] * 3,
            "age_group": age1 + age2 + ["18-34"] * 3,
            "gender": gender1 + gender2 + ["Male"] * 3,
        }
    )
    result = survey_weights(respondents, margins_frame("N1"))
    assert len(result) == 30
    q1 = result[(result["neighborhood_id"] == "N1") & (result["quarter"] == "2024-01-01")]
    np.testing.assert_allclose(
        q1["weight"], trimmed(direct_ipf(age1, gender1, AGE_MARGIN, GENDER_MARGIN)), rtol=1e-12
    )
    n2 = result[result["neighborhood_id"] == "N2"]
    assert n2["weight"].isna().all() and (n2["weighting_status"] == "no_margins").all()


def test_margins_the_sample_cannot_meet_are_reported_not_converged():
    # Every young respondent is a woman and every older one a man, but the margins want 50 % young and 30 %
    # women: no weights can give both.
    respondents = pd.DataFrame(
        {"age_group": ["18-34"] * 6 + ["35-54"] * 4 + ["55+"] * 4, "gender": ["Female"] * 6 + ["Male"] * 8}
    )
    margins = margins_frame(
        age={"18-34": 5000, "35-54": 2500, "55+": 2500}, gender={"Female": 3000, "Male": 7000}
    )
    assert cell_weights(respondents, targets(margins))[::2] == (None, "not_converged")
