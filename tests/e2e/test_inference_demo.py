"""Placebo inference on the demo city: at least 20 comparison neighborhoods, so every interval is defined.

Two runs of the same generated city (pipelines/demo, seed 7): one with the programs' built-in effects and one
generated with program_effect=0.0, where a program changes nothing and its neighborhood is exchangeable with
the comparison ones. Every inference column is recomputed in the test (tests/e2e/_placebo.py) from the
published period tables and the landing programs.csv.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest

from pipelines.demo.generate import generate_demo_city
from pipelines.report import build_report
from tests.conftest import run_cli
from tests.e2e._placebo import assert_frames_agree, comparison, expected_evaluation, read_programs

# 150,000 incidents: the survey grows with the size (about 60 respondents per neighborhood-quarter here, 8 at
# 20,000), which is what lets a trust change of ~7 points stand out from the placebo neighborhoods' changes.
DEMO_SIZE = 150_000
TABLES_ONLY = 'not key:"published_docs" and not key:"published_report"'


def run_demo(home, program_effect: float):
    generate_demo_city(home / "landing", DEMO_SIZE, program_effect=program_effect)
    result = run_cli("run", "--home", str(home), "--select", TABLES_ONLY)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]
    return home


@pytest.fixture(scope="module")
def effect_city(tmp_path_factory):
    return run_demo(tmp_path_factory.mktemp("demo_with_effects"), 1.0)


@pytest.fixture(scope="module")
def null_city(tmp_path_factory):
    return run_demo(tmp_path_factory.mktemp("demo_without_effects"), 0.0)


def evaluation(home) -> pd.DataFrame:
    frame = pd.read_parquet(home / "published" / "program_evaluation.parquet")
    frame["start_month"] = pd.to_datetime(frame["start_month"])
    return frame


@pytest.mark.parametrize("city", ["effect_city", "null_city"])
def test_inference_equals_numpy_with_20_comparisons(request, city):
    home = request.getfixturevalue(city)
    programs = read_programs(home / "landing" / "demo_programs" / "programs.csv")
    neighborhoods = sorted(pd.read_parquet(home / "published" / "neighborhoods.parquet")["neighborhood_id"])
    assert all(len(comparison(p, programs, neighborhoods)) >= 20 for p in programs)
    expected, expected_event_study = expected_evaluation(home / "published", programs)
    published = evaluation(home)
    assert_frames_agree(published[expected.columns], expected, ["program_id", "metric"])
    assert published["did_ci_low"].notna().all() and (published["placebos"] >= 19).all()
    event_study = pd.read_parquet(home / "published" / "program_event_study.parquet")
    event_study["period_start"] = pd.to_datetime(event_study["period_start"])
    assert_frames_agree(
        event_study[expected_event_study.columns],
        expected_event_study,
        ["program_id", "metric", "relative_period"],
    )


def test_built_in_trust_effect_is_found(effect_city):
    trust = evaluation(effect_city).query("metric == 'trust_index'")
    assert len(trust) >= 3
    assert (trust["did"] > 0).all(), trust
    assert (trust["did_p_value"] <= 0.1).sum() > len(trust) / 2, trust
    # the interval excludes 0 where the p-value is at its smallest
    assert (trust["did_ci_low"] > 0).sum() > len(trust) / 2, trust


def test_built_in_participation_effect_shows(effect_city, null_city):
    """Participation rises in every program neighborhood, and its placebo p-values are smaller than in the same
    city generated without the effect."""
    with_effect = evaluation(effect_city).query("metric == 'participants_per_1k'").set_index("program_id")
    without = evaluation(null_city).query("metric == 'participants_per_1k'").set_index("program_id")
    assert (with_effect["did"] > 0).all(), with_effect
    assert (with_effect["did_p_value"] < without["did_p_value"]).sum() > len(with_effect) / 2


def test_no_effect_is_not_found(null_city):
    """Without an effect a program's neighborhood is one more exchangeable neighborhood: its p-value is uniform
    on {1/21, ..., 1}, so each row exceeds 0.1 with probability 19/21. The test asks that for most rows and, per
    metric, for most programs: the per-metric condition is what the city with effects fails (trust is found at
    p <= 0.1 in every program there, while its crime rows stay above 0.1). The city is deterministic (seed 7)."""
    rows = evaluation(null_city)
    assert rows["did_p_value"].notna().all()
    assert (rows["did_p_value"] > 0.1).sum() > len(rows) / 2, rows
    for metric, programs in rows.groupby("metric"):
        assert (programs["did_p_value"] > 0.1).sum() > len(programs) / 2, (metric, programs)


def test_program_page_says_how_sure(effect_city, tmp_path):
    """With 20 placebos every estimate has an interval: the page gives it, says "no change distinguishable from
    the placebo neighborhoods" exactly where it covers 0, and shades the placebo band of every chart."""
    build_report(effect_city / "published", tmp_path)
    html = (tmp_path / "programs.html").read_text(encoding="utf-8")
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
