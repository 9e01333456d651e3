"""The checks a kind declares (pipelines/kinds): great-expectations on a load's rows, and blocking load checks.

Plain data, no Dagster and no great-expectations here, so that a kind can declare its checks without importing
either; pipelines/checks/expectations.py and load_checks.py run them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd


@dataclass(frozen=True)
class Expectation:
    """One expectation (a great-expectations class and its arguments) and the sentence a data team reads when
    it fails."""

    label: str
    gx_class: str
    kwargs: dict


def not_null(*columns: str) -> list[Expectation]:
    return [
        Expectation(f"{c} is never null", "ExpectColumnValuesToNotBeNull", {"column": c}) for c in columns
    ]


def unique(*columns: str) -> Expectation:
    if len(columns) == 1:
        return Expectation(f"{columns[0]} is unique", "ExpectColumnValuesToBeUnique", {"column": columns[0]})
    return Expectation(
        f"({', '.join(columns)}) is unique", "ExpectCompoundColumnsToBeUnique", {"column_list": list(columns)}
    )


def between(column: str, low=None, high=None) -> Expectation:
    return Expectation(
        f"{column} between {low} and {high}",
        "ExpectColumnValuesToBeBetween",
        {"column": column, "min_value": low, "max_value": high},
    )


def in_set(column: str, values: Iterable) -> Expectation:
    values = sorted(values)
    return Expectation(
        f"{column} in {values}", "ExpectColumnValuesToBeInSet", {"column": column, "value_set": values}
    )


def not_after(column: str, moment: datetime) -> Expectation:
    # Each value, not the column's maximum: a load that let no row in has no maximum, and breaks nothing.
    return Expectation(
        f"{column} not after the load",  # the label names no time: it is compared across re-runs
        "ExpectColumnValuesToBeBetween",
        {"column": column, "max_value": pd.Timestamp(moment)},
    )


@dataclass(frozen=True)
class LoadCheck:
    """A blocking check over every current load of a source: `run(con, spec)` -> (passed, message, metadata)."""

    name: str
    description: str
    run: Callable[[Any, Any], tuple[bool, str, dict]]
