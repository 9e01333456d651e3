"""The demo city's program evaluation: the built-in effects are found, and every inference column is right.

Two runs of the same generated city (pipelines/demo, seed 7, the default "small" size: four years of data, so every
program has full pre and post windows, and about 100 survey respondents per neighborhood-quarter, which is what lets
a trust change of ~6 points stand out from the placebo neighborhoods'): `neighborhood-metrics demo` (tests/conftest.py:
demo_city), with the programs' built-in effects (violent crime down up to 30 %, participation and trust up, all
ramping in over the 12 months after a start), and one generated with program_effect=0.0, where a program changes
nothing and its neighborhood is exchangeable with the comparison ones. The city has 24 neighborhoods and 3-4
programs, so every program has at least 20 comparison neighborhoods and every interval is defined. Every inference
column is recomputed in the test (tests/e2e/_placebo.py) from the published period tables and the landing
programs.csv.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest

from pipelines.demo.generate import generate_demo_city
from tests.conftest import TABLES_ONLY, run_cli
from tests.e2e._placebo import assert_frames_agree, comparison, expected_evaluation, read_programs

pytestmark = pytest.mark.runs_long

FOUND = 0.1  # a p-value at most this says the change stands out (at most one placebo of 20 changed as much)


@pytest.fixture(scope="module")
def effect_city(demo_city):
    return demo_city.home


@pytest.fixture(scope="module")
def null_city(tmp_path_factory):
    """The demo city generated with program_effect=0.0; its tables only (no test reads its report)."""
    home = tmp_path_factory.mktemp("demo_without_effects")
    generate_demo_city(home / "landing", program_effect=0.0)
    result = run_cli("run", "--home", str(home), "--select", TABLES_ONLY)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]
    return home


def evaluation(home) -> pd.DataFrame:
    frame = pd.read_parquet(home / "published" / "current" / "program_evaluation.parquet")
    frame["start_month"] = pd.to_datetime(frame["start_month"])
    return frame


@pytest.mark.parametrize("city", ["effect_city", "null_city"])
def test_inference_equals_numpy_with_20_comparisons(request, city):
    home = request.getfixturevalue(city)
    programs = read_programs(home / "landing" / "demo_programs" / "programs.csv")
    neighborhoods = sorted(
        pd.read_parquet(home / "published" / "current" / "neighborhoods.parquet")["neighborhood_id"]
    )
    assert all(len(comparison(p, programs, neighborhoods)) >= 20 for p in programs)
    expected, expected_event_study = expected_evaluation(home / "published" / "current", programs)
    published = evaluation(home)
    assert_frames_agree(published[expected.columns], expected, ["program_id", "metric"])
    assert published["did_ci_low"].notna().all() and (published["placebos"] >= 19).all()
    event_study = pd.read_parquet(home / "published" / "current" / "program_event_study.parquet")
    event_study["period_start"] = pd.to_datetime(event_study["period_start"])
    assert_frames_agree(
        event_study[expected_event_study.columns],
        expected_event_study,
        ["program_id", "metric", "relative_period"],
    )


@pytest.mark.parametrize("metric", ["participants_per_1k", "trust_index"])
def test_built_in_effects_are_found(effect_city, null_city, metric):
    """Participation and trust rise in every program's neighborhood; for most programs the rise stands out from
    the placebo neighborhoods (p-value and interval), and its p-value is smaller than in the same city generated
    without the effect."""
    rows = evaluation(effect_city).query("metric == @metric").set_index("program_id")
    without = evaluation(null_city).query("metric == @metric").set_index("program_id")
    shown = rows[["pre", "post", "comparison_pre", "comparison_post", "did", "did_p_value", "did_ci_low"]]
    assert len(rows) >= 3, "the demo city has 3-4 programs"
    assert rows["did"].notna().all() and (rows["did"] > 0).all(), shown
    assert (rows["did_p_value"] <= FOUND).sum() > len(rows) / 2, shown
    assert (rows["did_ci_low"] > 0).sum() > len(rows) / 2, shown
    assert (rows["did_p_value"] < without["did_p_value"]).sum() > len(rows) / 2, (shown, without)


def test_violent_crime_falls(effect_city, null_city):
    """A program neighborhood has about 4-10 violent incidents a month at this size, so one program's fall
    (30 % at full ramp, about 15 % on average over the post window) is within Poisson noise: no single program's
    estimate stands out from the placebos, and some are positive. Across programs the fall must show, and against
    the same city generated without the effect."""
    rows = evaluation(effect_city).query("metric == 'violent_per_1k'")
    without = evaluation(null_city).query("metric == 'violent_per_1k'")
    assert rows["did"].notna().all(), rows
    assert rows["did"].mean() < 0, rows
    assert rows["did"].mean() < without["did"].mean(), (rows, without)


def test_windows_are_full_on_the_demo_city(effect_city):
    rows = evaluation(effect_city).set_index(["program_id", "metric"])
    monthly = rows.drop(index="trust_index", level="metric")
    assert (monthly["months_pre"] == 12).all() and (monthly["months_post"] == 12).all()
    trust = rows.xs("trust_index", level="metric")
    assert trust["months_pre"].between(2, 4).all() and trust["months_post"].between(2, 4).all()


def test_no_effect_is_not_found(null_city):
    """Without an effect a program's neighborhood is one more exchangeable neighborhood: its p-value is uniform
    on {1/21, ..., 1}, so each row exceeds 0.1 with probability 19/21. The test asks that for most rows and, per
    metric, for most programs: the per-metric condition is what the city with effects fails (participation and
    trust are found at p <= 0.1 there). The city is deterministic (seed 7)."""
    rows = evaluation(null_city)
    assert rows["did_p_value"].notna().all()
    assert (rows["did_p_value"] > FOUND).sum() > len(rows) / 2, rows
    for metric, programs in rows.groupby("metric"):
        assert (programs["did_p_value"] > FOUND).sum() > len(programs) / 2, (metric, programs)


def test_program_page_says_how_sure(effect_city):
    """With 20 placebos every estimate has an interval: the published report's page gives it, says "no change
    distinguishable from the placebo neighborhoods" exactly where it covers 0, and shades the placebo band of every
    chart."""
    html = (effect_city / "published" / "current" / "report" / "programs.html").read_text(encoding="utf-8")
    sections = dict(re.findall(r'<section class="program" id="program-([^"]+)"(.*?)</section>', html, re.S))
    rows = evaluation(effect_city)
    for row in rows.itertuples():
        decimals = 1 if row.metric == "trust_index" else 2
        paragraph = re.search(
            rf'<p>(?:(?!</p>).)*data-metric="{row.metric}" data-field="did".*?</p>',
            sections[row.program_id],
            re.S,
        ).group(0)
        for field in ("did", "did_ci_low", "did_ci_high"):
            value = getattr(row, field)
            assert f'data-field="{field}">{value:+,.{decimals}f}</span>' in paragraph, (field, paragraph)
        covers_zero = row.did_ci_low <= 0 <= row.did_ci_high
        assert ("no change distinguishable from the placebo neighborhoods" in paragraph) == covers_zero
        chart = re.search(
            rf'<svg class="event-study" data-program="{row.program_id}" data-metric="{row.metric}".*?</svg>',
            sections[row.program_id],
            re.S,
        ).group(0)
        assert 'class="placebo-band"' in chart and 'class="start"' in chart
    assert (rows["did_ci_low"] > 0).any() and (rows["did_ci_low"] <= 0).any(), "both verdicts occur"
