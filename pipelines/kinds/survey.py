"""Resident surveys (CONTRACT §3.3): Qualtrics, SurveyMonkey and Google Forms exports, Likert items."""

from __future__ import annotations

import re
from typing import Literal

import pandas as pd
from pydantic import ConfigDict, Field

from pipelines.kinds.base import (
    Context,
    Reasons,
    SourceBase,
    SourceError,
    _Spec,
    blank,
    neighborhood_matcher,
    normalize_label,
    parse_bool,
    parse_times,
)
from pipelines.parsers.tables import normalize_header, pick_columns, read_grid, rows_below
from pipelines.warehouse import CANONICAL_COLUMNS

LIKERT_5 = {
    "strongly disagree": 1,
    "disagree": 2,
    "neither agree nor disagree": 3,
    "agree": 4,
    "strongly agree": 5,
}

MISSING_ANSWERS = ["", "don't know", "dont know", "prefer not to say", "n/a"]


class SurveyColumns(_Spec):
    response_id: str
    submitted_at: str
    neighborhood: str
    finished: str | None = None
    age_group: str | None = None
    gender: str | None = None


class SurveyItem(_Spec):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    column: str
    # `construct` in YAML; renamed here because pydantic models already have a .construct method.
    construct_name: str = Field(alias="construct")
    reverse: bool = False

    @property
    def item_id(self) -> str:
        return re.sub(r"[^a-z0-9]+", "_", self.column.lower()).strip("_")[:60]


class SurveySource(SourceBase):
    kind: Literal["survey"]
    export_format: Literal["qualtrics", "surveymonkey", "google_forms"]
    columns: SurveyColumns
    timestamp_format: str
    items: list[SurveyItem] = Field(min_length=1)
    # Answer label (case-insensitive) -> score 1..5. Numeric codes can be listed too.
    scale: dict[str, int] = Field(default_factory=lambda: dict(LIKERT_5))
    missing: list[str] = Field(default_factory=lambda: list(MISSING_ANSWERS))
    # Optional CSV `answer,neighborhood_id`; answers also match neighborhood ids and names directly.
    neighborhood_crosswalk: str | None = None


def _survey_header(spec: SurveySource, file, grid: pd.DataFrame) -> tuple[list[str], int]:
    """Column names and how many header rows the export has, per tool layout."""
    first = [str(cell) for cell in grid.iloc[0]]
    if spec.export_format == "qualtrics":
        # Current exports have a third row of {"ImportId": ...}; legacy ones stop after the question texts.
        import_row = len(grid) > 2 and any(str(cell).startswith('{"ImportId"') for cell in grid.iloc[2])
        return first, 3 if import_row else 2
    if spec.export_format == "surveymonkey":
        if len(grid) < 2:
            raise SourceError(f"{file}: a SurveyMonkey export has 2 header rows, found {len(grid)} row(s)")
        names, question = [], ""
        for top, sub in zip(first, grid.iloc[1], strict=True):
            question = top if str(top).strip() else question
            sub = str(sub).strip()
            names.append(
                question if sub in ("", "Response", "Open-Ended Response") else f"{question} - {sub}"
            )
        return names, 2
    if "Timestamp" not in [cell.strip() for cell in first]:
        raise SourceError(
            f"{file}: a Google Forms export starts with a 'Timestamp' column; found {first[:5]}"
        )
    return first, 1


def parse(spec: SurveySource, file, salt: str | None = None) -> pd.DataFrame:
    grid = read_grid(file)
    header, header_rows = _survey_header(spec, file, grid)
    mapping = spec.columns.model_dump() | {f"item:{item.item_id}": item.column for item in spec.items}
    header = [normalize_header(name) for name in header]
    return pick_columns(file, header, rows_below(grid, header_rows), mapping)


def validate(spec: SurveySource, raw: pd.DataFrame, context: Context) -> tuple[pd.DataFrame, pd.DataFrame]:
    reasons = Reasons(raw.index)
    typed = raw.copy()
    typed["response_id"] = raw["response_id"].str.strip()
    typed["submitted_at"] = parse_times(raw["submitted_at"], spec.timestamp_format)
    typed["neighborhood_id"] = raw["neighborhood"].map(neighborhood_matcher(spec, context))
    missing = {normalize_label(label) for label in spec.missing}
    for column in ("age_group", "gender"):
        values = raw[column].str.strip()
        typed[column] = values.where(~values.map(normalize_label).isin(missing) & ~blank(values))

    scale = {normalize_label(label): score for label, score in spec.scale.items()}
    invalid_answer = pd.Series(False, index=raw.index)
    for item in spec.items:
        answers = raw[f"item:{item.item_id}"].map(normalize_label)
        scores = answers.map(scale).astype("Float64")
        invalid_answer |= scores.isna() & ~answers.isin(missing)
        typed[f"item:{item.item_id}"] = 6 - scores if item.reverse else scores

    if spec.columns.finished:
        finished = parse_bool(raw["finished"])
        reasons.flag(finished != True, "incomplete_response")  # noqa: E712
    reasons.flag(blank(raw["response_id"]), "missing_response_id")
    reasons.flag(typed["submitted_at"].isna(), "unparseable_submitted_at")
    reasons.flag(typed["submitted_at"] > context.now, "submitted_at_in_future")
    reasons.flag(typed["neighborhood_id"].isna(), "unknown_neighborhood")
    reasons.flag(invalid_answer, "invalid_answer")
    # Duplicate response ids keep the latest submission.
    latest_first = typed.sort_values(["submitted_at", "_row"], ascending=False)
    superseded = latest_first.duplicated("response_id").reindex(typed.index)
    reasons.flag(superseded, "duplicate_response_superseded")

    # One row per (response, item): the shape trust metrics are computed from.
    kept = typed.loc[reasons.kept]
    long = pd.concat(
        [
            kept[["response_id", "submitted_at", "neighborhood_id", "age_group", "gender", "_row"]].assign(
                construct=item.construct_name, item=item.item_id, score=kept[f"item:{item.item_id}"]
            )
            for item in spec.items
        ],
        ignore_index=True,
    )
    return long[[*CANONICAL_COLUMNS["survey"], "_row"]], reasons.quarantined(raw)
