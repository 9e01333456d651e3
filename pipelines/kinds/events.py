"""Event calendars (CONTRACT §3.4): one row per event, typed from its title by the YAML's rules."""

from __future__ import annotations

import re
from typing import Literal

import pandas as pd
from pydantic import Field

from pipelines.kinds.base import Context, Reasons, SourceBase, _Spec, blank, neighborhood_matcher, parse_times
from pipelines.parsers.tables import pick_columns, read_table


class EventColumns(_Spec):
    event_id: str
    title: str
    starts_at: str
    neighborhood: str
    program_id: str | None = None


class EventTypeRule(_Spec):
    pattern: str
    type: str


class EventsSource(SourceBase):
    kind: Literal["events"]
    columns: EventColumns
    timestamp_format: str
    event_types: list[EventTypeRule] = Field(default_factory=list)
    default_event_type: str = "other"
    neighborhood_crosswalk: str | None = None


def parse(spec: EventsSource, file, salt: str | None = None) -> pd.DataFrame:
    header, data = read_table(file)
    return pick_columns(file, header, data, spec.columns.model_dump())


def validate(spec: EventsSource, raw: pd.DataFrame, context: Context) -> tuple[pd.DataFrame, pd.DataFrame]:
    reasons = Reasons(raw.index)
    typed = raw.copy()
    typed["event_id"] = raw["event_id"].str.strip()
    typed["starts_at"] = parse_times(raw["starts_at"], spec.timestamp_format)
    typed["neighborhood_id"] = raw["neighborhood"].map(neighborhood_matcher(spec, context))
    typed["program_id"] = raw["program_id"].str.strip().replace("", pd.NA)
    typed["event_type"] = spec.default_event_type
    for rule in reversed(spec.event_types):  # the first matching rule wins
        matches = raw["title"].str.contains(rule.pattern, flags=re.IGNORECASE, regex=True, na=False)
        typed.loc[matches, "event_type"] = rule.type
    reasons.flag(blank(raw["event_id"]), "missing_event_id")
    reasons.flag(typed["starts_at"].isna(), "unparseable_starts_at")
    reasons.flag(typed["neighborhood_id"].isna(), "unknown_neighborhood")
    reasons.flag(typed["event_id"].duplicated(), "duplicate_event_id")
    return reasons.split(raw, typed, "events")
