"""Attendance rosters (CONTRACT §3.4): Eventbrite reports and sign-in sheets; a person is a keyed hash."""

from __future__ import annotations

from typing import Literal

import pandas as pd
from pydantic import Field

from pipelines.kinds.base import Context, Reasons, SourceBase, _Spec, blank, normalize_label
from pipelines.parsers.tables import pick_columns, read_table
from pipelines.pii import person_key, pseudonymize


class RosterColumns(_Spec):
    event_id: str
    email: str | None = None
    phone: str | None = None
    name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    zip: str | None = None
    age_group: str | None = None
    status: str | None = None


class RosterSource(SourceBase):
    kind: Literal["roster"]
    columns: RosterColumns
    # Values of the status column that mean the person was there (e.g. Eventbrite "Checked In").
    # Without a status column every listed person was present (a sign-in sheet).
    present_statuses: list[str] = Field(default_factory=list)
    phone_region: str = "US"


def parse(spec: RosterSource, file, salt: str | None = None) -> pd.DataFrame:
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
    typed["event_id"] = raw["event_id"].str.strip()
    typed["age_group"] = raw["age_group"].str.strip().replace("", pd.NA)
    if spec.columns.status:
        present = {normalize_label(status) for status in spec.present_statuses}
        typed["present"] = raw["status"].map(normalize_label).isin(present)
    else:
        typed["present"] = True
    reasons.flag(blank(raw["event_id"]), "missing_event_id")
    reasons.flag(blank(raw["person_id"]), "no_identity")
    reasons.flag(~typed["event_id"].isin(context.known_events()), "unknown_event")
    return reasons.split(raw, typed, "roster")
