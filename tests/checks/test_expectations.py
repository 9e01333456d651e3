"""The great-expectations suites: a clean load meets its kind's suite, and each expectation fails, naming
itself, on a load that breaks it (so a check that cannot fail would show here)."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest

from pipelines.checks.expectations import run_suite, suite_for
from pipelines.settings import DEMO_SOURCES_DIR
from pipelines.sources import load_source

LOADED_AT = datetime(2025, 1, 31, 12, 0)


def demo_spec(name: str):
    return load_source(DEMO_SOURCES_DIR / f"{name}.yml")


def crime_rows() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "incident_id": ["1", "2", "2"],
            "occurred_at": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-02-01"]),
            "updated_at": pd.to_datetime(
                ["2024-01-02", "2024-02-02", "2024-03-01"]
            ),  # 2 revised: two versions
            "offense_code": ["01A", "06", "06"],
            "offense_description": ["HOMICIDE", "THEFT", "THEFT"],
            "ucr_category": ["violent", "property", "property"],
            "offense_mapped": [True, True, True],
            "latitude": [41.8, 41.9, 41.9],
            "longitude": [-87.6, -87.7, -87.7],
            "neighborhood_id": ["N01", "N02", "N02"],
            "arrest": [False, True, True],
            "domestic": [False, False, False],
        }
    )


def survey_rows() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "response_id": ["R1", "R1", "R2"],
            "submitted_at": pd.to_datetime(["2024-05-01", "2024-05-01", "2024-05-02"]),
            "neighborhood_id": ["N01", "N01", "N02"],
            "age_group": ["18-24", "18-24", None],
            "gender": ["Female", "Female", None],
            "construct": ["trust", "safety", "trust"],
            "item": ["t1", "s1", "t1"],
            "score": [4.0, None, 1.0],  # a don't-know answer has no score
        }
    )


def failures(spec, rows) -> set[str]:
    return {o.label for o in run_suite(suite_for(spec, LOADED_AT), rows) if not o.success}


def test_clean_loads_meet_their_suites():
    assert failures(demo_spec("demo_crimes"), crime_rows()) == set()
    assert failures(demo_spec("demo_survey_qualtrics"), survey_rows()) == set()


@pytest.mark.parametrize(
    ("column", "value", "row", "expected"),
    [
        ("neighborhood_id", None, 0, "neighborhood_id is never null"),
        ("incident_id", None, 1, "incident_id is never null"),
        ("ucr_category", "arson", 0, "ucr_category in ['other', 'property', 'violent']"),
        ("latitude", 141.8, 0, "latitude between -90 and 90"),
        ("occurred_at", pd.Timestamp("2025-02-01"), 0, "occurred_at not after the load"),
        ("updated_at", pd.Timestamp("2024-02-02"), 2, "(incident_id, updated_at, offense_code) is unique"),
    ],
)
def test_each_crime_expectation_fails_on_a_row_that_breaks_it(column, value, row, expected):
    rows = crime_rows()
    rows[column] = rows[column].astype(object)
    rows.loc[row, column] = value
    assert failures(demo_spec("demo_crimes"), rows) == {expected}


def test_survey_expectations_fail_on_duplicates_and_out_of_scale_scores():
    rows = survey_rows()
    rows.loc[2, ["response_id", "item"]] = ["R1", "t1"]
    rows.loc[1, "score"] = 7.0
    assert failures(demo_spec("demo_survey_qualtrics"), rows) == {
        "(response_id, item) is unique",
        "score between 1 and 5",
    }


def test_a_missing_or_extra_column_fails_the_schema_expectation():
    rows = crime_rows().drop(columns=["arrest"]).assign(beat="0111")
    (label,) = failures(demo_spec("demo_crimes"), rows)
    assert label.startswith("columns are exactly ['incident_id'")


def test_a_load_that_let_no_row_in_breaks_no_expectation():
    """A header-only file, or one whose every row was refused: nothing got through, so nothing can be wrong
    (the refusals themselves are the quarantine share's business)."""
    for name, rows in (("demo_crimes", crime_rows()), ("demo_survey_qualtrics", survey_rows())):
        assert failures(demo_spec(name), rows.iloc[0:0]) == set()
