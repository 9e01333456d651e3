"""Programs being evaluated (CONTRACT §3.5): program_id, name, neighborhood_id, start_date[, end_date]."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

import pandas as pd

from pipelines.checks import rules
from pipelines.kinds._legacy import LegacyKind
from pipelines.kinds.base import Context, Reasons, SourceBase, blank, cite, normalize_label, parse_times
from pipelines.parsers.tables import pick_columns, read_table


class ProgramsSource(SourceBase):
    kind: Literal["programs"]


def parse(spec: ProgramsSource, file, salt: str | None = None) -> pd.DataFrame:
    header, data = read_table(file)
    names = ("program_id", "name", "neighborhood_id", "start_date", "end_date")
    return pick_columns(file, header, data, {name: name for name in names})


def validate(spec: ProgramsSource, raw: pd.DataFrame, context: Context) -> tuple[pd.DataFrame, pd.DataFrame]:
    reasons = Reasons(raw.index)
    typed = raw.copy()
    known = context.neighborhood_lookup()
    typed["program_id"] = raw["program_id"].str.strip()
    typed["neighborhood_id"] = raw["neighborhood_id"].map(lambda v: known.get(normalize_label(v)))
    typed["start_date"] = parse_times(raw["start_date"], "%Y-%m-%d").dt.date
    typed["end_date"] = parse_times(raw["end_date"], "%Y-%m-%d").dt.date
    program = cite("program_id", raw["program_id"])
    reasons.flag(blank(raw["program_id"]), "missing_program_id", program)
    reasons.flag(
        typed["neighborhood_id"].isna(),
        "unknown_neighborhood",
        cite("neighborhood_id", raw["neighborhood_id"]),
    )
    reasons.flag(typed["start_date"].isna(), "unparseable_start_date", cite("start_date", raw["start_date"]))
    reasons.flag(
        typed["end_date"].isna() & ~blank(raw["end_date"]),
        "unparseable_end_date",
        cite("end_date", raw["end_date"]),
    )
    reasons.flag(typed["program_id"].duplicated(), "duplicate_program_id", program)
    return reasons.split(raw, typed, "programs")


class ProgramsKind(LegacyKind):
    name = "programs"
    spec_type = ProgramsSource
    columns = {
        "program_id": "VARCHAR",
        "name": "VARCHAR",
        "neighborhood_id": "VARCHAR",
        "start_date": "DATE",
        "end_date": "DATE",
    }
    view = "programs"
    lookups = ("geography",)
    spatial = False
    freshness = timedelta(days=400)
    parse_frame = staticmethod(parse)
    validate_frame = staticmethod(validate)

    def expectations(self, spec, loaded_at):
        return [*rules.not_null("program_id", "neighborhood_id", "start_date"), rules.unique("program_id")]


KIND = ProgramsKind()
