"""Attendance rosters (CONTRACT §3.4): Eventbrite attendee reports, sign-in sheets (CSV/XLSX) and Google Forms
registrations. A person is a keyed hash (pipelines.pii.person_key); an event is named by its id, or by its name and
date, matched to the calendars' titles and start dates."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

import pandas as pd
from pydantic import Field, model_validator

from pipelines.checks import rules
from pipelines.kinds._legacy import LegacyKind
from pipelines.kinds.base import (
    Context,
    Reasons,
    SourceBase,
    _Spec,
    blank,
    cite,
    normalize_label,
    parse_times,
)
from pipelines.parsers.tables import pick_columns, read_table
from pipelines.pii import person_key, pseudonymize, require_salt
from pipelines.warehouse import quote


class RosterColumns(_Spec):
    # The event: its calendar id, or (sheets and forms that have none) its name and date.
    event_id: str | None = None
    event_name: str | None = None
    event_date: str | None = None
    email: str | None = None
    phone: str | None = None
    name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    zip: str | None = None
    age_group: str | None = None
    status: str | None = None

    @model_validator(mode="after")
    def _event_named(self) -> RosterColumns:
        if not self.event_id and not (self.event_name and self.event_date):
            raise ValueError("map 'event_id', or both 'event_name' and 'event_date'")
        return self


class RosterSource(SourceBase):
    kind: Literal["roster"]
    columns: RosterColumns
    # Values of the status column that mean the person was there (e.g. Eventbrite "Checked In").
    # Without a status column every listed person was present (a sign-in sheet).
    present_statuses: list[str] = Field(default_factory=list)
    phone_region: str = "US"
    # Format of the event_date column (the date part is compared with the calendar's starts_at).
    event_date_format: str = "%m/%d/%Y"


def parse(spec: RosterSource, file, salt: str | None = None) -> pd.DataFrame:
    salt = require_salt(salt, f"{spec.name}: {file}")
    header, data = read_table(file)
    columns = spec.columns.model_dump()
    table = pick_columns(file, header, data, columns)
    full_names = (
        table["name"]
        if spec.columns.name
        else (table["first_name"].fillna("") + " " + table["last_name"].fillna("")).str.strip()
    )
    keys = [
        person_key(email, phone, name, zip_code, spec.phone_region)
        for email, phone, name, zip_code in zip(
            table["email"], table["phone"], full_names, table["zip"], strict=True
        )
    ]
    table["person_id"] = pd.array([pseudonymize(key, salt) if key else "" for key in keys], dtype="string")
    # The identifying columns end here: only the keyed hash goes on to raw/.
    return table.drop(columns=["email", "phone", "name", "first_name", "last_name", "zip"])


def validate(spec: RosterSource, raw: pd.DataFrame, context: Context) -> tuple[pd.DataFrame, pd.DataFrame]:
    reasons = Reasons(raw.index)
    typed = raw.copy()
    typed["event_id"] = raw["event_id"].str.strip().replace("", pd.NA)
    typed["age_group"] = raw["age_group"].str.strip().replace("", pd.NA)
    if spec.columns.status:
        present = {normalize_label(status) for status in spec.present_statuses}
        typed["present"] = raw["status"].map(normalize_label).isin(present)
    else:
        typed["present"] = True
    ambiguous = pd.Series(False, index=raw.index)
    if spec.columns.event_name:
        by_name, ambiguous = match_events(spec, raw, context)
        typed["event_id"] = typed["event_id"].fillna(by_name)
        ambiguous &= typed["event_id"].isna()
    columns = spec.columns
    # The event as the file names it: its id, else its name and date.
    event = cite(columns.event_id, raw["event_id"]) if columns.event_id else None
    if columns.event_name:
        named = (
            cite(columns.event_name, raw["event_name"])
            + ", "
            + cite(columns.event_date or "event_date", raw["event_date"])
        )
        event = named if event is None else event.where(~blank(raw["event_id"]), named)
    identity = ", ".join(
        column
        for column in (columns.email, columns.phone, columns.name, columns.first_name, columns.last_name)
        if column
    )
    reasons.flag(blank(typed["event_id"]) & ~ambiguous & blank(raw["event_name"]), "missing_event_id", event)
    # Never the values: they identify a person (and are gone by now: only their keyed hash is kept).
    reasons.flag(blank(raw["person_id"]), "no_identity", f"{identity}: blank")
    reasons.flag(ambiguous, "ambiguous_event", event)
    reasons.flag(~typed["event_id"].isin(context.known_events()), "unknown_event", event)
    return reasons.split(raw, typed, "roster")


def match_events(spec: RosterSource, raw: pd.DataFrame, context: Context) -> tuple[pd.Series, pd.Series]:
    """Event ids for rows naming an event by title and date (case and spacing ignored), and which rows match
    more than one calendar event that day (those are refused rather than guessed)."""
    calendar = [
        context.con.execute(
            f"SELECT event_id, title, CAST(starts_at AS DATE) AS day FROM raw.{quote(source)}"
        ).df()
        for source in context.event_sources
    ]
    events = pd.concat(calendar, ignore_index=True) if calendar else pd.DataFrame()
    # Days as ISO text on both sides: a roster whose dates are all unreadable has no date values to compare.
    keys = pd.DataFrame(
        {
            "title": raw["event_name"].map(normalize_label),
            "day": parse_times(raw["event_date"], spec.event_date_format).dt.strftime("%Y-%m-%d"),
        },
        index=raw.index,
    )
    if events.empty:
        return pd.Series(pd.NA, index=raw.index, dtype="string"), pd.Series(False, index=raw.index)
    events["title"] = events["title"].map(normalize_label)
    events["day"] = pd.to_datetime(events["day"]).dt.strftime("%Y-%m-%d")
    grouped = events.groupby(["title", "day"])["event_id"].agg(["first", "nunique"])
    found = keys.join(grouped, on=["title", "day"])
    unique = found["nunique"] == 1
    return found["first"].where(unique).astype("string"), found["nunique"].fillna(0) > 1


class RosterKind(LegacyKind):
    name = "roster"
    spec_type = RosterSource
    columns = {"event_id": "VARCHAR", "person_id": "VARCHAR", "age_group": "VARCHAR", "present": "BOOLEAN"}
    view = "attendances"
    lookups = ("events",)
    spatial = False
    freshness = timedelta(days=8)
    parse_frame = staticmethod(parse)
    validate_frame = staticmethod(validate)
    view_filter = "present"

    def expectations(self, spec, loaded_at):
        # A person signing in twice under identity variants is one attendance: dbt deduplicates, not the load.
        return rules.not_null("event_id", "person_id")


KIND = RosterKind()
