"""Attendance rosters (docs/sources.md): Eventbrite attendee reports, sign-in sheets (CSV and XLSX) and Google Forms
registrations. A person is a keyed hash (pipelines.pii.person_key); an event is named by its id, or by its name and
date, matched to the calendars' titles and start dates, or (a report of one event) by the source's `event_id`."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Literal

import pyarrow as pa
from pydantic import Field, model_validator

from pipelines.checks import rules
from pipelines.kinds import base
from pipelines.kinds.sql import blank, cited, label, record_json, strip, time_parameters, time_sql
from pipelines.parsers.landing import column_positions, csv_sql, read_csv_header, read_landing
from pipelines.parsers.tables import pick_columns, read_table
from pipelines.pii import person_key, pseudonymize, require_salt
from pipelines.warehouse import literal, quote


class RosterColumns(base.Spec):
    # The event: its calendar id, or (sheets and forms that have none) its name and date; or neither, for a
    # report of one event (the source's `event_id`).
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


class RosterSource(base.SourceBase):
    kind: Literal["roster"]
    columns: RosterColumns
    # Values of the status column that mean the person was there (e.g. Eventbrite "Checked In").
    # Without a status column every listed person was present (a sign-in sheet).
    present_statuses: list[str] = Field(default_factory=list)
    phone_region: str = "US"
    # Format of the event_date column (the date part is compared with the calendar's starts_at).
    event_date_format: str = "%m/%d/%Y"
    # The calendar id of the one event every row attends, for a report exported per event (an Eventbrite
    # attendee report has no event column): instead of the event columns.
    event_id: str | None = None

    @model_validator(mode="after")
    def _event_named(self) -> RosterSource:
        columns = self.columns
        if self.event_id is not None:
            if columns.event_id or columns.event_name or columns.event_date:
                raise ValueError(
                    "event_id names the one event of every row: leave columns.event_id, event_name and "
                    "event_date unmapped"
                )
        elif not columns.event_id and not (columns.event_name and columns.event_date):
            raise ValueError(
                "map columns.event_id, or both columns.event_name and columns.event_date, or give the "
                "source's event_id for a report of one event"
            )
        return self


# The columns of a roster's parsed file beside `person_id` (the identity columns never reach it), as text.
KEPT_COLUMNS = ("event_id", "event_name", "event_date", "age_group", "status")
TEXT_COLUMNS = (*KEPT_COLUMNS, "person_id")
# The identity columns a roster may map, read only to key the person ...
IDENTITY_COLUMNS = ("email", "phone", "name", "first_name", "last_name", "zip")
# ... as these inputs of pii.person_key (the full name: `name`, or first and last name).
KEY_INPUTS = ("email", "phone", "full_name", "zip")
# Rows per batch keyed in Python: memory stays flat whatever the roster's size.
BATCH_ROWS = 65_536
# The temporary relations `validate` leaves on the connection.
VALIDATED = "roster_validated"


# ---- landing files -> text columns, identities keyed


def keyed_schema(schema: pa.Schema) -> pa.Schema:
    """The schema of `keyed_batch`'s batches."""
    return pa.schema(
        [
            *(field for field in schema if field.name not in KEY_INPUTS),
            pa.field("person_id", pa.string()),
        ]
    )


def keyed_batch(batch: pa.RecordBatch, spec: RosterSource, salt: str) -> pa.RecordBatch:
    """A batch with its identity columns replaced by `person_id`: HMAC-SHA256 of the person key (pii.person_key:
    normalized email, else phone, else name + ZIP), '' where none. A person listed often is keyed once."""
    keys: dict[tuple, str] = {}
    person_ids = []
    for identity in zip(*(batch.column(name).to_pylist() for name in KEY_INPUTS), strict=True):
        if identity not in keys:
            key = person_key(*identity, spec.phone_region)
            keys[identity] = pseudonymize(key, salt) if key else ""
        person_ids.append(keys[identity])
    kept = [name for name in batch.schema.names if name not in KEY_INPUTS]
    return pa.RecordBatch.from_arrays(
        [*(batch.column(name) for name in kept), pa.array(person_ids, pa.string())], [*kept, "person_id"]
    )


# ---- validation, in SQL


def match_events(context: base.Context) -> str:
    """A query of the calendars' events by (title, day): the title as compared (`sql.label`), the start's date,
    how many events share them (`events`), and the event's id where that is one."""
    calendar = (
        " UNION ALL ".join(
            f"SELECT event_id, {label('title')} AS title, CAST(starts_at AS DATE) AS day FROM raw.{quote(source)}"
            for source in context.event_sources
        )
        or "SELECT CAST(NULL AS VARCHAR) AS event_id, '' AS title, CAST(NULL AS DATE) AS day WHERE false"
    )
    return (
        "SELECT title, day, min(event_id) AS event_id, count(DISTINCT event_id) AS events "
        f"FROM ({calendar}) GROUP BY title, day"
    )


def known_events(context: base.Context) -> str:
    """A query of the event ids in any calendar, quarantined ones included: an attendance record of an event whose
    calendar row was refused is itself fine, and counts as soon as that row is corrected."""
    known = (
        " UNION ".join(
            f"SELECT event_id FROM raw.{quote(source)} UNION "
            f"SELECT json_extract_string(record, '$.event_id') FROM quarantine.{quote(source)}"
            for source in context.event_sources
        )
        or "SELECT CAST(NULL AS VARCHAR) AS event_id"
    )
    return f"SELECT event_id FROM ({known}) WHERE event_id IS NOT NULL"


def event_detail(spec: RosterSource) -> str:
    """SQL for the event a refused row names, as its file names it: the id, else the name and date; or the
    source's event id."""
    if spec.event_id is not None:
        return literal(f"event_id: {spec.event_id!r} (the source's, for every row)")
    columns = spec.columns
    named = (
        f"{cited(columns.event_name, 'o_event_name')} || ', ' || {cited(columns.event_date or 'event_date', 'o_event_date')}"
        if columns.event_name
        else None
    )
    if not columns.event_id:
        return named
    by_id = cited(columns.event_id, "o_event_id")
    return by_id if named is None else f"CASE WHEN event_id_blank THEN {named} ELSE {by_id} END"


def no_identity_detail(spec: RosterSource) -> str:
    """A no_identity row's detail: the identity columns, blank (never their values: they identify a person, and
    only their keyed hash was kept)."""
    columns = spec.columns
    mapped = (columns.email, columns.phone, columns.name, columns.first_name, columns.last_name)
    return ", ".join(column for column in mapped if column) + ": blank"


class RosterKind(base.Kind):
    name = "roster"
    spec_type = RosterSource
    columns = base.column_types("event_id VARCHAR, person_id VARCHAR, age_group VARCHAR, present BOOLEAN")
    view = "attendances"
    lookups = ("events",)
    freshness = timedelta(days=8)

    def land(self, spec, file, destination, metadata, con, salt) -> None:
        """Write a roster's mapped columns as parsed Parquet, streaming: email, phone, name and ZIP are read, replaced
        by one keyed hash (`person_id`, '' where nothing identifies the person) batch by batch, and never written."""
        salt = require_salt(salt, f"{spec.name}: {file}")
        file = Path(file)
        mapping = spec.columns.model_dump()
        columns = spec.columns
        full_name = "name" if columns.name else "first_name || ' ' || last_name"
        identity = f"email, phone, {full_name} AS full_name, zip"
        if file.suffix.lower() in (".xlsx", ".xlsm"):
            header, data = read_table(file)
            rows = pa.Table.from_pandas(pick_columns(file, header, data, mapping), preserve_index=False)
            first_row = None
        else:
            header = read_csv_header(file)
            positions = column_positions(file, header, mapping)
            rows, first_row = None, 2

        def copy(parallel: bool) -> None:
            # The keyed batches are read on a cursor of their own: `con` runs the COPY that writes them.
            with con.cursor() as reading:
                if rows is None:
                    query = csv_sql(
                        file, len(header), positions, [*KEPT_COLUMNS, *IDENTITY_COLUMNS], parallel
                    )
                    numbered = ""
                else:
                    reading.register("roster_rows", rows)
                    query, numbered = "SELECT * FROM roster_rows", ", _row"
                batches = reading.execute(
                    f"SELECT {', '.join(KEPT_COLUMNS)}{numbered}, {identity} FROM ({query})"
                ).to_arrow_reader(BATCH_ROWS)
                keyed = pa.RecordBatchReader.from_batches(
                    keyed_schema(batches.schema), (keyed_batch(batch, spec, salt) for batch in batches)
                )
                base.write_parsed(
                    con,
                    keyed,
                    destination,
                    {**metadata, **({base.FIRST_ROW_KEY: str(first_row)} if first_row else {})},
                )

        read_landing(file, copy)

    def validate(self, spec: RosterSource, incoming: str, context: base.Context) -> base.Validated:
        """Validate the relation `incoming` (TEXT_COLUMNS, `_load`, `_row`, `_position`) into temporary views roster_loaded
        and roster_rejected on `context.con`.

        A row names its event by id, or by name and date: the calendar event of that title (case and spacing ignored)
        starting that day (`match_events`). The first failing rule names the reason, in this order: missing_event_id
        (neither an id nor a name), no_identity (no email, phone or name), ambiguous_event (several calendar events of
        that title that day: refused rather than guessed), unknown_event (in no calendar, `known_events`)."""
        con = context.con
        columns = spec.columns
        present = (
            f"list_contains(list_transform($present_statuses, s -> {label('s')}), {label('status')})"
            if columns.status
            else "true"
        )
        given_event_id = "$event_id" if spec.event_id is not None else f"nullif({strip('event_id')}, '')"
        sql = f"""
        CREATE OR REPLACE TEMP TABLE {VALIDATED} AS
        WITH
            typed AS (
                SELECT
                    _load, _row, _position, {", ".join(f"{name} AS o_{name}" for name in TEXT_COLUMNS)},
                    {blank("event_id")} AS event_id_blank,
                    {blank("event_name")} AS event_name_blank,
                    {blank("person_id")} AS person_id_blank,
                    {given_event_id} AS given_event_id,
                    nullif({strip("age_group")}, '') AS t_age_group,
                    {present} AS t_present,
                    {label("event_name")} AS event_label,
                    CAST({time_sql("event_date", spec.event_date_format, "event_date_format")} AS DATE) AS event_day
                FROM ({incoming})
            ),
            by_title AS ({context.lookup("events_by_title", match_events(context))}),
            known AS ({context.lookup("known_events", known_events(context))}),
            matched AS (
                SELECT
                    t.*,
                    coalesce(t.given_event_id, CASE WHEN m.events = 1 THEN m.event_id END) AS t_event_id,
                    t.given_event_id IS NULL AND coalesce(m.events > 1, false) AS ambiguous
                FROM typed t
                LEFT JOIN by_title m ON {"m.title = t.event_label AND m.day = t.event_day" if columns.event_name else "false"}
            ),
            decided AS (
                SELECT
                    m.*,
                    CASE
                        WHEN m.t_event_id IS NULL AND NOT m.ambiguous AND m.event_name_blank THEN 'missing_event_id'
                        WHEN m.person_id_blank THEN 'no_identity'
                        WHEN m.ambiguous THEN 'ambiguous_event'
                        WHEN k.event_id IS NULL THEN 'unknown_event'
                    END AS _reason
                FROM matched m LEFT JOIN known k ON k.event_id = m.t_event_id
            )
        SELECT
            t_event_id AS event_id, o_person_id AS person_id, t_age_group AS age_group, t_present AS present,
            _load, _row, _position, _reason,
            CASE _reason
                WHEN 'no_identity' THEN {literal(no_identity_detail(spec))}
                ELSE {event_detail(spec)}
            END AS detail,
            CASE WHEN _reason IS NOT NULL THEN {record_json(TEXT_COLUMNS, prefix="o_")} END AS record
        FROM decided
        """
        base.execute_validation(
            con,
            sql,
            {
                **time_parameters(spec.event_date_format, "event_date_format"),
                **({"present_statuses": list(spec.present_statuses)} if columns.status else {}),
                **({"event_id": spec.event_id} if spec.event_id is not None else {}),
            },
            spec,
            "event_date_format",
        )
        return base.split_validated(con, VALIDATED, RosterKind.columns)

    view_filter = "present"

    def check_sample(self, spec: RosterSource, sample, con) -> list[tuple[str, str]]:
        """What `check-source` adds for a roster sample: the attendances the loading rows come to, by event."""
        events = con.execute(
            f"SELECT event_id, count(*) FILTER (WHERE present), count(*) FROM raw.{quote(spec.name)} "
            "GROUP BY event_id ORDER BY event_id"
        ).fetchall()
        by_event = ", ".join(f"{present} of {rows} at event {event!r}" for event, present, rows in events)
        kept = (
            "status in present_statuses" if spec.columns.status else "no status column: every listed person"
        )
        return [("note", f"rows that would load as attendances ({kept}): {by_event or 'none'}")]

    def expectations(self, spec, loaded_at):
        # A person signing in twice under identity variants is one attendance: dbt deduplicates, not the load.
        return rules.not_null("event_id", "person_id")


KIND = RosterKind()
