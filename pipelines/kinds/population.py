"""Population per neighborhood, and demographic margins for survey weighting; see docs/sources.md for the files'
columns."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

import pyarrow as pa

from pipelines.checks import rules
from pipelines.kinds import base
from pipelines.kinds.sql import cited, label, number_sql, record_json, strip
from pipelines.parsers.tables import read_columns, read_header

# The parsed file of every population load: these columns as text, then `_row`.
TEXT_COLUMNS = ("neighborhood_id", "dimension", "category", "population")
DIMENSIONS = ("total", "age_group", "gender")
# The temporary relations `validate` leaves on the connection.
VALIDATED = "population_validated"


class PopulationColumns(base.Spec):
    """The file's columns holding the neighborhood (its id or its name) and the population, where its header
    names them otherwise (a census table's `NID,POP2010`)."""

    neighborhood_id: str = "neighborhood_id"
    population: str = "population"


class PopulationSource(base.SourceBase):
    """Files with `neighborhood_id,population`, and optional margins `neighborhood_id,dimension,category,population`."""

    kind: Literal["population"]
    columns: PopulationColumns = PopulationColumns()


class PopulationKind(base.Kind):
    name = "population"
    spec_type = PopulationSource
    columns = base.column_types(
        "neighborhood_id VARCHAR, dimension VARCHAR, category VARCHAR, population BIGINT"
    )
    view = "population"
    lookups = ("geography",)
    freshness = timedelta(days=400)

    def land(self, spec, file, destination, metadata, con, salt) -> None:
        """A totals file (`neighborhood_id,population`) is parsed as the margins of dimension and category 'total'."""
        header = read_header(file)
        margins = "dimension" in header
        mapping = {
            "neighborhood_id": spec.columns.neighborhood_id,
            "dimension": "dimension" if margins else None,
            "category": "category" if margins else None,
            "population": spec.columns.population,
        }
        table = read_columns(file, header, mapping, con)
        if not margins:
            total = pa.array(["total"] * table.num_rows, pa.string())
            table = table.set_column(1, "dimension", total).set_column(2, "category", total)
        base.write_parsed(con, table, destination, metadata)

    def validate(self, spec: PopulationSource, incoming: str, context: base.Context) -> base.Validated:
        """The first failing rule of a row names its reason, in this order: unknown_neighborhood (neither a loaded
        boundary's id nor its name), unknown_dimension (not total, age_group or gender), invalid_population (not a
        whole number of at least 0), duplicate_population_row (the same neighborhood, dimension and category earlier
        in the file, whatever that earlier row's own fate)."""
        con = context.con
        con.execute(
            f"""
        CREATE OR REPLACE TEMP TABLE {VALIDATED} AS
        WITH
            typed AS (
                SELECT i._load, i._row, i._position, {", ".join(f"i.{name} AS o_{name}" for name in TEXT_COLUMNS)},
                       n.neighborhood_id, lower({strip("i.dimension")}) AS dimension, {strip("i.category")} AS category,
                       {number_sql("i.population")} AS population
                FROM ({incoming}) i
                LEFT JOIN ({context.neighborhoods_sql()}) n ON n.label = {label("i.neighborhood_id")}
            ),
            decided AS (
                SELECT *,
                    CASE
                        WHEN neighborhood_id IS NULL THEN 'unknown_neighborhood'
                        WHEN dimension IS NULL OR NOT list_contains($dimensions, dimension) THEN 'unknown_dimension'
                        WHEN population IS NULL OR population < 0 OR population % 1 <> 0 THEN 'invalid_population'
                        WHEN row_number() OVER (
                            PARTITION BY _load, neighborhood_id, dimension, category ORDER BY _position
                        ) > 1 THEN 'duplicate_population_row'
                    END AS _reason
                FROM typed
            )
        SELECT neighborhood_id, dimension, category, population, _load, _row, _position, _reason,
               CASE WHEN _reason IS NOT NULL THEN {record_json(TEXT_COLUMNS, prefix="o_")} END AS record,
               CASE _reason
                   WHEN 'unknown_neighborhood' THEN {cited("neighborhood_id", "o_neighborhood_id")}
                   WHEN 'unknown_dimension' THEN {cited("dimension", "o_dimension")}
                   WHEN 'invalid_population' THEN {cited("population", "o_population")}
                   WHEN 'duplicate_population_row' THEN {cited("neighborhood_id", "o_neighborhood_id")} || ', '
                       || {cited("dimension", "o_dimension")} || ', ' || {cited("category", "o_category")}
               END AS detail
        FROM decided
        """,
            {"dimensions": list(DIMENSIONS)},
        )
        return base.split_validated(con, VALIDATED, PopulationKind.columns)

    def expectations(self, spec, loaded_at):
        return [
            *rules.not_null("neighborhood_id", "dimension", "category", "population"),
            rules.in_set("dimension", set(DIMENSIONS)),
            rules.between("population", 0, None),
            rules.unique("neighborhood_id", "dimension", "category"),
        ]


KIND = PopulationKind()
