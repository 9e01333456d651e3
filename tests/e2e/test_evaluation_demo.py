"""On the demo city the built-in program effects (pipelines/demo: violent crime down up to 30 %, participation and
trust up, ramping in over the 12 months after a start) come out of program_evaluation with the right sign."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.conftest import run_cli

DEMO_SIZE = "20000"  # four years of data: every program has full pre and post windows
# At this size a neighborhood-quarter has ~8 survey respondents: the default cell size (10) would suppress most
# quarters and leave trust without an estimate, so this run publishes cells of 5 or more.
MIN_CELL = "5"


@pytest.fixture(scope="module")
def evaluation(tmp_path_factory) -> pd.DataFrame:
    home = tmp_path_factory.mktemp("demo_evaluation")
    result = run_cli("demo", "--size", DEMO_SIZE, "--home", str(home), env={"NBHD_MIN_CELL": MIN_CELL})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]
    frame = pd.read_parquet(home / "published" / "program_evaluation.parquet")
    return frame.set_index(["program_id", "metric"])


@pytest.mark.parametrize("metric", ["participants_per_1k", "trust_index"])
def test_participation_and_trust_rise_in_every_program(evaluation, metric):
    rows = evaluation.xs(metric, level="metric")
    assert len(rows) >= 3, "the demo city has 3-4 programs"
    assert rows["did"].notna().all(), rows
    assert (rows["did"] > 0).all(), rows[["pre", "post", "comparison_pre", "comparison_post", "did"]]


def test_violent_crime_falls(evaluation):
    rows = evaluation.xs("violent_per_1k", level="metric")
    assert rows["did"].notna().all(), rows
    # A demo neighborhood has about two violent incidents a month at this size, so one program's estimate is
    # within Poisson noise of its (ramping, on average ~15 %) effect; across programs the fall must show.
    assert rows["did"].mean() < 0, rows
    assert (rows["did"] < 0).sum() > len(rows) / 2, rows


def test_windows_are_full_on_the_demo_city(evaluation):
    monthly = evaluation.drop(index="trust_index", level="metric")
    assert (monthly["months_pre"] == 12).all() and (monthly["months_post"] == 12).all()
    trust = evaluation.xs("trust_index", level="metric")
    assert trust["months_pre"].between(2, 4).all() and trust["months_post"].between(2, 4).all()
