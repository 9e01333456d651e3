"""Resident surveys (CONTRACT §3.3): Qualtrics, SurveyMonkey and Google Forms exports (CSV or XLSX), Likert items.

Personal data never leaves `parse`: only the columns the YAML maps are kept; the columns each tool fills with
personal data (IP address, recipient names and emails, location, contact fields; see parsers/surveys.py) can be
mapped only with `pii: hash`, which replaces every value by HMAC-SHA256(NBHD_PII_SALT, normalized value); free-text
answers cannot be mapped as items or demographics. A survey load without a salt stops with a clear message.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Literal

import pandas as pd
from pydantic import ConfigDict, Field, field_validator

from pipelines.checks import rules
from pipelines.kinds._legacy import LegacyKind
from pipelines.kinds.base import (
    Context,
    Reasons,
    SourceBase,
    SourceError,
    _Spec,
    blank,
    cite,
    neighborhood_matcher,
    normalize_label,
    parse_bool,
    parse_times,
)
from pipelines.parsers.surveys import detect_layout
from pipelines.parsers.tables import pick_columns, read_grid, rows_below
from pipelines.pii import normalize_email, pseudonymize, require_salt

LIKERT_5 = {
    "strongly disagree": 1,
    "disagree": 2,
    "neither agree nor disagree": 3,
    "agree": 4,
    "strongly agree": 5,
}

# Answers that mean "no answer" (case and spacing ignored): the item is skipped, not refused. A source's
# `missing` list adds to these.
MISSING_ANSWERS = ("", "don't know", "dont know", "prefer not to say", "n/a")


def _one_to_five(scale: dict[str, int] | None) -> dict[str, int] | None:
    # Reverse coding (6 − score) and the 0–100 rescaling of CONTRACT §4 assume a 1–5 scale.
    if scale is not None and not all(1 <= score <= 5 for score in scale.values()):
        raise ValueError("scores must be between 1 and 5")
    return scale


class HashedColumn(_Spec):
    """A column that links records but identifies a person (an email, a panel id): loaded only as a keyed hash."""

    column: str
    pii: Literal["hash"]


class SurveyColumns(_Spec):
    # A response id is loaded only as a keyed hash. Without one (Google Forms has none) a response is identified
    # by a keyed hash of its mapped answers and timestamp, so the same response in two cumulative exports is
    # counted once.
    response_id: str | HashedColumn | None = None
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
    # This item's own label -> score map (1..5), when it differs from the source's `scale`.
    scale: dict[str, int] | None = None

    @field_validator("scale")
    @classmethod
    def _scores_one_to_five(cls, value):
        return _one_to_five(value)

    @property
    def item_id(self) -> str:
        return re.sub(r"[^a-z0-9]+", "_", self.column.lower()).strip("_")[:60]


class SurveySource(SourceBase):
    kind: Literal["survey"]
    # `auto` accepts any known layout (parsers/surveys.py); naming a tool also refuses the other tools' files.
    export_format: Literal["auto", "qualtrics", "surveymonkey", "google_forms"] = "auto"
    columns: SurveyColumns
    timestamp_format: str
    items: list[SurveyItem] = Field(min_length=1)
    # Answer label (case-insensitive) -> score 1..5. Numeric codes can be listed too. A `scale` given replaces
    # this default (an item's own `scale` replaces the source's for that item).
    scale: dict[str, int] = Field(default_factory=lambda: dict(LIKERT_5))
    # More answers meaning "no answer" (a tool's code for "Don't know", say), in addition to MISSING_ANSWERS.
    missing: list[str] = Field(default_factory=list)
    # Optional CSV `answer,neighborhood_id`; answers also match neighborhood ids and names directly.
    neighborhood_crosswalk: str | None = None

    def files_beside(self) -> dict[str, str]:
        return {"neighborhood_crosswalk": self.neighborhood_crosswalk} if self.neighborhood_crosswalk else {}

    # neighborhood_id -> other answers meaning it (abbreviations, old names, ZIP codes).
    neighborhood_aliases: dict[str, list[str]] = Field(default_factory=dict)

    @field_validator("scale")
    @classmethod
    def _scores_one_to_five(cls, value):
        return _one_to_five(value)

    @property
    def missing_answers(self) -> set[str]:
        """Every answer that means "no answer", normalized: the defaults and this source's `missing`."""
        return {normalize_label(label) for label in (*MISSING_ANSWERS, *self.missing)}

    @property
    def response_id_column(self) -> str:
        """The file's column identifying a response, as details name it."""
        column = self.columns.response_id
        if column is None:
            return "response id (a digest of the answers)"
        return column.column if isinstance(column, HashedColumn) else column


def _hash_identifier(value: str, salt: str) -> str:
    text = str(value).strip()
    if not text:
        return ""
    return pseudonymize(normalize_email(text) or " ".join(text.lower().split()), salt)


def parse(spec: SurveySource, file, salt: str | None = None) -> pd.DataFrame:
    salt = require_salt(salt, f"{spec.name}: {file}")
    grid = read_grid(file)
    export = detect_layout(file, grid)
    if spec.export_format not in ("auto", export.tool):
        raise SourceError(
            f"{file}: source {spec.name} reads {spec.export_format} exports, but this file is laid out as "
            f"{export.layout}"
        )
    hashed = isinstance(spec.columns.response_id, HashedColumn)
    mapping: dict[str, str | None] = spec.columns.model_dump() | {
        "response_id": spec.columns.response_id.column if hashed else spec.columns.response_id
    }
    mapping |= {f"item:{item.item_id}": item.column for item in spec.items}

    for canonical, column in mapping.items():
        if not column:
            continue
        position = export.position(column)
        if position is None:
            continue  # pick_columns names every missing column at once
        name = export.header[position]
        if export.is_personal(name) and not (canonical == "response_id" and hashed):
            raise SourceError(
                f"{file}: column {name!r} (mapped to {canonical}) holds personal data in {export.tool} "
                "exports and is never loaded; to link records by it, map response_id to it with `pii: hash`"
            )
        if position in export.free_text and canonical not in ("neighborhood", "response_id"):
            raise SourceError(
                f"{file}: column {name!r} (mapped to {canonical}) is a free-text answer; free text is never "
                "loaded, only closed answers can be items or demographics"
            )
        mapping[canonical] = name

    table = pick_columns(file, export.header, rows_below(grid, export.header_rows), mapping)
    if hashed:
        table["response_id"] = table["response_id"].map(lambda v: _hash_identifier(v, salt)).astype("string")
    elif spec.columns.response_id:
        # A survey tool's response id links back to the named respondent inside the tool: only its keyed hash
        # is kept (exact text: ids differing in case are different responses).
        table["response_id"] = (
            table["response_id"]
            .map(
                lambda v: (
                    pseudonymize(f"response_id:{v.strip()}", salt) if isinstance(v, str) and v.strip() else ""
                )
            )
            .astype("string")
        )
    else:
        answers = table.drop(columns=["response_id", "_row"]).fillna("")
        table["response_id"] = pd.array(
            [pseudonymize(f"response:{chr(31).join(row)}", salt) for row in answers.itertuples(index=False)],
            dtype="string",
        )
    return table


def _neighborhood_lookup(spec: SurveySource, context: Context):
    """Answer -> neighborhood_id, tolerant of case and spacing, through ids, names, the crosswalk and aliases;
    a ZIP+4 answer also matches its 5-digit ZIP."""
    match = neighborhood_matcher(spec, context)
    known = set(context.neighborhood_lookup().values())
    aliases = {
        normalize_label(alias): nbhd
        for nbhd, names in spec.neighborhood_aliases.items()
        if nbhd in known
        for alias in names
    }

    def lookup(value: object) -> str | None:
        label = normalize_label(value)
        candidates = [label] + ([label[:5]] if re.fullmatch(r"\d{5}-\d{4}", label) else [])
        for candidate in candidates:
            if found := match(candidate) or aliases.get(candidate):
                return found
        return None

    return lookup


def validate(spec: SurveySource, raw: pd.DataFrame, context: Context) -> tuple[pd.DataFrame, pd.DataFrame]:
    reasons = Reasons(raw.index)
    typed = raw.copy()
    typed["response_id"] = raw["response_id"].str.strip()
    typed["submitted_at"] = parse_times(raw["submitted_at"], spec.timestamp_format)
    typed["neighborhood_id"] = raw["neighborhood"].map(_neighborhood_lookup(spec, context))
    missing = spec.missing_answers
    for column in ("age_group", "gender"):
        values = raw[column].str.strip()
        typed[column] = values.where(~values.map(normalize_label).isin(missing) & ~blank(values))

    # A row's first answer neither on its item's scale nor a missing code, cited by the file's column.
    invalid_answer = pd.Series(pd.NA, index=raw.index, dtype="string")
    for item in spec.items:
        scale = {normalize_label(label): score for label, score in (item.scale or spec.scale).items()}
        answers = raw[f"item:{item.item_id}"].map(normalize_label)
        scores = answers.map(scale).astype("Float64")
        off_scale = scores.isna() & ~answers.isin(missing) & invalid_answer.isna()
        invalid_answer = invalid_answer.mask(off_scale, cite(item.column, raw[f"item:{item.item_id}"]))
        typed[f"item:{item.item_id}"] = 6 - scores if item.reverse else scores

    columns = spec.columns
    if columns.finished:
        finished = parse_bool(raw["finished"])
        reasons.flag(finished != True, "incomplete_response", cite(columns.finished, raw["finished"]))  # noqa: E712
    reasons.flag(
        blank(raw["response_id"]), "missing_response_id", cite(spec.response_id_column, raw["response_id"])
    )
    submitted = cite(columns.submitted_at, raw["submitted_at"])
    reasons.flag(typed["submitted_at"].isna(), "unparseable_submitted_at", submitted)
    reasons.flag(typed["submitted_at"] > context.now, "submitted_at_in_future", submitted)
    reasons.flag(
        typed["neighborhood_id"].isna(),
        "unknown_neighborhood",
        cite(columns.neighborhood, raw["neighborhood"]),
    )
    reasons.flag(invalid_answer.notna(), "invalid_answer", invalid_answer)
    # Duplicate response ids keep the latest submission.
    latest_first = typed.sort_values(["submitted_at", "_row"], ascending=False)
    superseded = latest_first.duplicated("response_id").reindex(typed.index)
    reasons.flag(
        superseded,
        "duplicate_response_superseded",
        f"{spec.response_id_column}: repeated; the latest submission is kept",
    )

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
    return long[[*KIND.columns, "_row"]], reasons.quarantined(raw)


def check_sample(spec: SurveySource, sample, con) -> list[tuple[str, str]]:
    """What `check-source` adds for a survey sample: the scale and the missing codes in effect."""

    def labels(scale: dict[str, int]) -> str:
        return ", ".join(f"{label!r} = {score}" for label, score in scale.items())

    notes = [f"scale: {labels(spec.scale)}"]
    notes += [f"scale of {item.column}: {labels(item.scale)}" for item in spec.items if item.scale]
    notes.append(f"missing codes (skipped, never refused): {sorted(spec.missing_answers)}")
    return [("note", note) for note in notes]


class SurveyKind(LegacyKind):
    name = "survey"
    spec_type = SurveySource
    columns = {
        "response_id": "VARCHAR",
        "submitted_at": "TIMESTAMP",
        "neighborhood_id": "VARCHAR",
        "age_group": "VARCHAR",
        "gender": "VARCHAR",
        "construct": "VARCHAR",
        "item": "VARCHAR",
        "score": "DOUBLE",
    }
    view = "survey_answers"
    lookups = ("geography",)
    spatial = False
    freshness = timedelta(days=100)
    parse_frame = staticmethod(parse)
    validate_frame = staticmethod(validate)

    def check_sample(self, spec, sample, con):
        return check_sample(spec, sample, con)

    def expectations(self, spec, loaded_at):
        return [
            # score is null for a don't-know or skipped item (counted by the half-items rule in dbt)
            *rules.not_null("response_id", "submitted_at", "neighborhood_id", "construct", "item"),
            rules.between("score", 1, 5),
            rules.not_after("submitted_at", loaded_at),
            rules.unique("response_id", "item"),
        ]


KIND = SurveyKind()
