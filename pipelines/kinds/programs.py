"""Programs being evaluated: program_id, name, neighborhood_id, start_date[, end_date]; see docs/sources.md."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pipelines.checks import rules
from pipelines.kinds import base
from pipelines.kinds.sql import blank, cited, label, record_json, strip, time_sql
from pipelines.parsers.tables import read_columns, read_header

# The parsed file of every programs load: these columns as text, then `_row`.
TEXT_COLUMNS = ("program_id", "name", "neighborhood_id", "start_date", "end_date")
DATE_FORMAT = "%Y-%m-%d"
# The temporary relations `validate` leaves on the connection.
VALIDATED = "programs_validated"


class ProgramsSource(base.SourceBase):
    kind: Literal["programs"]


class ProgramsKind(base.Kind):
    name = "programs"
    spec_type = ProgramsSource
    columns = base.column_types(
        "program_id VARCHAR, name VARCHAR, neighborhood_id VARCHAR, start_date DATE, end_date DATE"
    )
    view = "programs"
    lookups = ("geography",)
    freshness = timedelta(days=400)

    def land(self, spec, file, destination, metadata, con, salt) -> None:
        header = read_header(file)
        table = read_columns(file, header, {name: name for name in TEXT_COLUMNS}, con)
        base.write_parsed(con, table, destination, metadata)

    def validate(self, spec: ProgramsSource, incoming: str, context: base.Context) -> base.Validated:
        """The first failing rule of a row names its reason, in this order: missing_program_id,
        unknown_neighborhood (neither a loaded boundary's id nor its name), unparseable_start_date (blank, or not
        YYYY-MM-DD), unparseable_end_date (given, and not YYYY-MM-DD), duplicate_program_id (the same id earlier in
        the file, whatever that earlier row's own fate)."""
        con = context.con
        con.execute(
            f"""
        CREATE OR REPLACE TEMP TABLE {VALIDATED} AS
        WITH
            typed AS (
                SELECT i._load, i._row, i._position, {", ".join(f"i.{name} AS o_{name}" for name in TEXT_COLUMNS)},
                       {strip("i.program_id")} AS program_id, i.name, n.neighborhood_id,
                       CAST({time_sql("i.start_date", DATE_FORMAT, "date_format")} AS DATE) AS start_date,
                       CAST({time_sql("i.end_date", DATE_FORMAT, "date_format")} AS DATE) AS end_date
                FROM ({incoming}) i
                LEFT JOIN ({context.neighborhoods_sql()}) n ON n.label = {label("i.neighborhood_id")}
            ),
            decided AS (
                SELECT *,
                    CASE
                        WHEN {blank("o_program_id")} THEN 'missing_program_id'
                        WHEN neighborhood_id IS NULL THEN 'unknown_neighborhood'
                        WHEN start_date IS NULL THEN 'unparseable_start_date'
                        WHEN end_date IS NULL AND NOT {blank("o_end_date")} THEN 'unparseable_end_date'
                        WHEN row_number() OVER (PARTITION BY _load, program_id ORDER BY _position) > 1
                            THEN 'duplicate_program_id'
                    END AS _reason
                FROM typed
            )
        SELECT program_id, name, neighborhood_id, start_date, end_date, _load, _row, _position, _reason,
               CASE WHEN _reason IS NOT NULL THEN {record_json(TEXT_COLUMNS, prefix="o_")} END AS record,
               CASE _reason
                   WHEN 'missing_program_id' THEN {cited("program_id", "o_program_id")}
                   WHEN 'unknown_neighborhood' THEN {cited("neighborhood_id", "o_neighborhood_id")}
                   WHEN 'unparseable_start_date' THEN {cited("start_date", "o_start_date")}
                   WHEN 'unparseable_end_date' THEN {cited("end_date", "o_end_date")}
                   WHEN 'duplicate_program_id' THEN {cited("program_id", "o_program_id")}
               END AS detail
        FROM decided
        """,
            {"date_format": DATE_FORMAT},
        )
        return base.split_validated(con, VALIDATED, ProgramsKind.columns)

    def expectations(self, spec, loaded_at):
        return [*rules.not_null("program_id", "neighborhood_id", "start_date"), rules.unique("program_id")]


KIND = ProgramsKind()
