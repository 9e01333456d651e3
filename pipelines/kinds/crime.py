"""Crime incidents (docs/sources.md#crime): offense crosswalk, point-in-polygon location, area-code fallback.

A city's whole history is millions of rows, so nothing holds a file whole: landing streams a file's mapped
columns through DuckDB into parsed Parquet (pipelines/parsers/landing.py), and `validate` types and checks them
in SQL, in windows of at most WINDOW_ROWS rows, into the rows to load and the rows to quarantine
(`warehouse.write_loads` writes both in one transaction).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb
import pandas as pd
import pyarrow as pa
from pydantic import Field, field_validator

from pipelines.checks import rules
from pipelines.errors import SourceError
from pipelines.kinds import base
from pipelines.kinds.sql import (
    blank,
    bool_sql,
    cited,
    integer_text,
    number_sql,
    record_json,
    strip,
    thousands_parameters,
    time_parameters,
    time_sql,
    ungrouped,
    whole_number_text,
)
from pipelines.parsers.landing import Columns, land_columns, records_table
from pipelines.warehouse import literal, quote

UCR_CATEGORIES = ("violent", "property", "other")
# Columns every record must have; a page or file where no record has one is schema drift, not bad rows.
REQUIRED = ("incident_id", "occurred_at", "offense_code")
# The temporary relations `validate` leaves on the connection.
VALIDATED, LOADED, REJECTED, REPEATED = "crime_validated", "crime_loaded", "crime_rejected", "crime_repeated"
# The most rows one validation statement reads (`validate`). A yearly file of a large city (330,000 rows) validates in
# one, in memory. Chicago's whole history as one file (8.4 M rows) took 30 s in one statement, which spilled to disk;
# in windows of this size it takes 10 s, and 3.5 s more to find its repeated versions first.
WINDOW_ROWS = 500_000


class CrimeColumns(base.Spec):
    incident_id: str
    occurred_at: str
    # A separate time-of-day column: read as `occurred_at`, a space, then this (timestamp_format covers both).
    occurred_time: str | None = None
    updated_at: str | None = None
    offense_code: str
    offense_description: str | None = None
    latitude: str | None = None
    longitude: str | None = None
    arrest: str | None = None
    domestic: str | None = None
    area_code: str | None = None


# The raw Parquet of every crime load: these columns as text (blank where unmapped), then `_row`.
TEXT_COLUMNS = tuple(CrimeColumns.model_fields)
# Thousands separators a number may be grouped by (the decimal mark being a point).
THOUSANDS_SEPARATORS = (",", " ", "'", "_")


class CrimeSource(base.SourceBase):
    kind: Literal["crime"]
    columns: CrimeColumns
    timestamp_format: str = "%m/%d/%Y %I:%M:%S %p"  # a strptime format, or iso8601, or epoch_ms
    offense_crosswalk: str
    area_crosswalk: str | None = None
    max_unmapped_share: float = Field(0.01, ge=0, le=1)
    # The city's IANA zone: times with a UTC offset or Z are converted to it, times without are local already.
    timezone: str | None = None
    # Values that mean "no value" (e.g. NA), read as blank in every mapped column.
    null_markers: tuple[str, ...] = ()
    # Numbers grouped by thousands, e.g. "1,035,836" with ",": coordinates, and ids and area codes read as numbers.
    thousands_separator: Literal[THOUSANDS_SEPARATORS] | None = None
    # (latitude, longitude) pairs an export writes for "not geocoded": read as no coordinates.
    no_coordinates: tuple[tuple[float, float], ...] = ((0.0, 0.0),)
    # The earliest plausible occurrence: an earlier one (a placeholder like 1970-01-01) is refused.
    earliest_occurred_at: date | None = None
    # "number": an incident id written as a decimal (202515001499.0) is read as its whole number (leading zeros
    # are kept: they are part of ids like 07006630).
    incident_ids: Literal["text", "number"] = "text"
    # "number": area codes that are whole numbers compare as numbers, in the file and in area_crosswalk.
    area_codes: Literal["text", "number"] = "text"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(
                    f"{value!r} is not an IANA time zone name (Area/Location, as in the tz database)"
                ) from None
        return value

    not_in_rows = base.SourceBase.not_in_rows | {"max_unmapped_share"}  # a load check's bound

    def files_beside(self) -> dict[str, str]:
        return {
            "offense_crosswalk": self.offense_crosswalk,
            **({"area_crosswalk": self.area_crosswalk} if self.area_crosswalk else {}),
        }


# ---- landing files -> text columns


def file_columns(spec: CrimeSource) -> Columns:
    """What a crime source reads from its files: TEXT_COLUMNS, each from the file column the YAML maps it to."""
    return Columns(spec.columns.model_dump(), REQUIRED)


def validate(spec: CrimeSource, incoming: str, context: base.Context) -> base.Validated:
    """Validate the relation `incoming` (TEXT_COLUMNS, `_load`, `_row` and `_position`: see
    `base.parsed_files_sql`) into two temporary views on the connection: crime_loaded (canonical columns, `_load`
    and `_row`) and crime_rejected (`_load`, `_row`, `reason`, `record`: the original values as JSON, `detail`),
    as the `Validated` that `warehouse.write_loads` writes. A batch validated in windows (WINDOW_ROWS) also leaves
    its repeated versions in the temporary table crime_repeated.

    The first failing rule of a row names its reason, in this order: missing_incident_id,
    unparseable_occurred_at, occurred_at_in_future, unparseable_updated_at, invalid_ucr_category_in_crosswalk,
    unknown_neighborhood (no boundary contains the point and the area crosswalk names a neighborhood no
    boundary defines), unlocatable (no boundary contains the point and no area-code fallback), duplicate_incident
    (the same id, update time and offense code earlier in the file, whatever that earlier row's own fate). A
    refused row's `detail` names the file's column and value that failed it.

    Coordinates that are not a point on Earth (latitude outside [-90, 90], longitude outside [-180, 180]) or
    one of `no_coordinates` ((0, 0) by default), which exports write for "not geocoded", are no coordinates: the
    row is placed by its area code, or is unlocatable, and is loaded without them.

    The spec's reading options (docs/sources.md#crime) apply here: `null_markers` are blanks in every column,
    `occurred_time` is appended to `occurred_at`, `timezone` converts times with an offset, an occurrence before
    `earliest_occurred_at` is refused as occurred_at_before_earliest (after occurred_at_in_future), and
    `incident_ids`/`area_codes` "number" compare whole numbers by their digits."""
    con = context.con
    offenses = base.read_crosswalk(spec.beside(spec.offense_crosswalk), "offense_code", "ucr_category")
    con.register(
        "crime_offenses",
        pa.table({"offense_code": list(offenses), "ucr_category": list(offenses.values())}),
    )
    areas = (
        base.read_crosswalk(spec.beside(spec.area_crosswalk), "area_code", "neighborhood_id")
        if spec.area_crosswalk
        else {}
    )
    areas = area_codes_compared(spec, areas)
    known = base.known_targets(areas, context)
    con.register(
        "crime_areas",
        pa.table(
            {
                "area_code": pa.array(list(areas), pa.string()),
                "neighborhood_id": pa.array(list(areas.values()), pa.string()),
                "has_boundary": pa.array([code in known for code in areas], pa.bool_()),
            }
        ),
    )
    # The rows each load received, counted in the files themselves (`write_loads` checks they are all loaded or
    # refused); together, how many points the batch may hold: a grid locates many at a fraction of a spatial join's
    # cost (pipelines/kinds/locate.py), but building it costs what the join costs on some 100,000.
    received = base.rows_by_load(con, incoming)
    points = (
        "SELECT _position, t_longitude AS x, t_latitude AS y FROM typed "
        "WHERE t_latitude IS NOT NULL AND t_longitude IS NOT NULL"
    )
    located = (
        f"""
        located AS ({context.located_sql(points, sum(received.values()))}),"""
        if context.neighborhood_sources
        else """
        located AS (SELECT CAST(NULL AS BIGINT) AS _position, CAST(NULL AS VARCHAR) AS neighborhood_id WHERE false),"""
    )
    # A number grouped by thousands ("1,035,836") is read without the separator where numbers are read.
    separator = "thousands" if spec.thousands_separator else None

    def as_number(column: str) -> str:
        return ungrouped(strip(column), separator) if separator else strip(column)

    # Re-saved exports write area numbers as floats ("8.0"): compare them as the portal wrote them ("8"); with
    # area_codes "number", zero-padded ones too ("08"), on both sides.
    if spec.area_codes == "number":
        area_code = whole_number_text(as_number("i.o_area_code"))
    else:
        area_code = integer_text(strip("i.o_area_code"))
    incident_id = (
        integer_text(as_number("incident_id")) if spec.incident_ids == "number" else strip("incident_id")
    )
    occurred = (
        f"{strip('occurred_at')} || ' ' || {strip('occurred_time')}"
        if spec.columns.occurred_time
        else "occurred_at"
    )
    record_columns = [name for name in TEXT_COLUMNS if name != "occurred_time" or spec.columns.occurred_time]
    no_point = (
        " OR ".join(
            f"(n_latitude = $no_latitude_{i} AND n_longitude = $no_longitude_{i})"
            for i in range(len(spec.no_coordinates))
        )
        or "false"
    )
    too_early = (
        "WHEN t_occurred_at < $earliest THEN 'occurred_at_before_earliest'"
        if spec.earliest_occurred_at
        else ""
    )
    placeable = "coalesce(on_earth, false)" + (
        f" OR NOT {blank('o_area_code')}" if spec.area_crosswalk else ""
    )
    # The file's text as read (`o_`: null markers blank, the time joined to the date) beside the text as written
    # (`r_`, for a refused row's record) where reading changes it; elsewhere the record is of `o_`. Both copies of
    # every column doubled what the statement holds: a yearly file of 670,000 rows spilled to disk, and took 1.75 s
    # instead of 1.07 s.
    rewritten = record_columns if spec.null_markers else ["occurred_at"] if spec.columns.occurred_time else []
    marked = ", ".join(
        f"CASE WHEN list_contains($null_markers, {strip(name)}) THEN '' ELSE {name} END AS {name}"
        if spec.null_markers
        else name
        for name in TEXT_COLUMNS
    )
    # A batch of more than WINDOW_ROWS rows (a city's whole history in one file) is validated in windows of
    # consecutive rows, each a statement the size of a yearly file's.
    total = sum(received.values())
    windows = [(start, min(start + WINDOW_ROWS, total)) for start in range(0, total, WINDOW_ROWS)] or [(0, 0)]
    reading = {
        **time_parameters(spec.timestamp_format, timezone=spec.timezone),
        **({"null_markers": list(spec.null_markers)} if spec.null_markers else {}),
        **(thousands_parameters(spec.thousands_separator, separator) if separator else {}),
    }

    def read_values(rows: str) -> str:
        """The text of `rows` (`incoming` or a part of it) as read, typed where a rule reads it."""
        return f"""
            SELECT
                _load, _row, _position, {", ".join(f"{name} AS o_{name}" for name in TEXT_COLUMNS)},
                {"".join(f"r_{name}, " for name in rewritten)}{blank("incident_id")} AS incident_id_blank,
                {blank("updated_at")} AS updated_at_blank,
                {incident_id} AS t_incident_id,
                {time_sql("occurred_at", spec.timestamp_format, timezone=spec.timezone)} AS t_occurred_at,
                {time_sql("updated_at", spec.timestamp_format, timezone=spec.timezone)} AS t_updated_at,
                {strip("offense_code")} AS t_offense_code,
                {number_sql("latitude", separator)} AS n_latitude,
                {number_sql("longitude", separator)} AS n_longitude,
                {bool_sql("arrest")} AS t_arrest,
                {bool_sql("domestic")} AS t_domestic
            FROM (
                SELECT * EXCLUDE (occurred_at), {occurred} AS occurred_at
                FROM (
                    SELECT _load, _row, _position, {"".join(f"{name} AS r_{name}, " for name in rewritten)}{marked}
                    FROM ({rows})
                )
            )"""

    def repeated(rows: str) -> str:
        """The incident versions (id, update time, offense code) `rows` list more than once in a file, with the
        position of the first."""
        return (
            "SELECT _load, t_incident_id, t_updated_at, t_offense_code, min(_position) AS first_position "
            f"FROM {rows} GROUP BY ALL HAVING count(*) > 1"
        )

    detail = rejection_detail(spec, context)  # it looks up the boundaries: once, not once a window

    def statement(rows: str) -> str:
        """One narrow row per record of `rows`: the typed columns, the reason (NULL = loaded), and the original text
        values as JSON for the refused ones only."""
        return f"""
    WITH
        read_values AS ({read_values(rows)}),
        earth AS (
            SELECT *, n_latitude BETWEEN -90 AND 90 AND n_longitude BETWEEN -180 AND 180
                      AND NOT ({no_point}) AS on_earth
            FROM read_values
        ),
        typed AS (
            SELECT *, {placeable} AS placeable,
                   CASE WHEN on_earth THEN n_latitude END AS t_latitude,
                   CASE WHEN on_earth THEN n_longitude END AS t_longitude
            FROM earth
        ),
        {located}
        repeated AS ({f"SELECT * FROM {REPEATED}" if len(windows) > 1 else repeated("typed")}),
        classified AS (
            SELECT
                i.*,
                o.offense_code IS NOT NULL AS offense_mapped,
                coalesce(o.ucr_category, 'other') AS t_ucr_category,
                coalesce(l.neighborhood_id, CASE WHEN a.has_boundary THEN a.neighborhood_id END)
                    AS t_neighborhood_id,
                a.neighborhood_id IS NOT NULL AND NOT a.has_boundary AS area_without_boundary,
                a.neighborhood_id AS area_neighborhood_id,
                coalesce(i._position > r.first_position, false) AS repeated
            FROM typed i
            LEFT JOIN located l ON l._position = i._position
            LEFT JOIN crime_offenses o ON o.offense_code = i.t_offense_code
            LEFT JOIN crime_areas a ON a.area_code = {area_code}
            LEFT JOIN repeated r
                ON r._load = i._load
                AND r.t_incident_id IS NOT DISTINCT FROM i.t_incident_id
                AND r.t_updated_at IS NOT DISTINCT FROM i.t_updated_at
                AND r.t_offense_code IS NOT DISTINCT FROM i.t_offense_code
        ),
        decided AS (
            SELECT
                *, {"".join(f"o_{name} AS r_{name}, " for name in record_columns if name not in rewritten)}
                CASE
                    WHEN incident_id_blank THEN 'missing_incident_id'
                    WHEN t_occurred_at IS NULL THEN 'unparseable_occurred_at'
                    WHEN t_occurred_at > $now THEN 'occurred_at_in_future'
                    {too_early}
                    WHEN t_updated_at IS NULL AND NOT updated_at_blank THEN 'unparseable_updated_at'
                    WHEN NOT list_contains($categories, t_ucr_category) THEN 'invalid_ucr_category_in_crosswalk'
                    WHEN t_neighborhood_id IS NULL AND area_without_boundary THEN 'unknown_neighborhood'
                    WHEN t_neighborhood_id IS NULL THEN 'unlocatable'
                    WHEN repeated THEN 'duplicate_incident'
                END AS _reason
            FROM classified
        )
    SELECT
        {detail} AS detail,
        t_incident_id AS incident_id, t_occurred_at AS occurred_at, t_updated_at AS updated_at,
        t_offense_code AS offense_code, o_offense_description AS offense_description, t_ucr_category AS ucr_category, offense_mapped,
        t_latitude AS latitude, t_longitude AS longitude, t_neighborhood_id AS neighborhood_id,
        t_arrest AS arrest, t_domestic AS domestic, _load, _row, _position, placeable, _reason,
        CASE WHEN _reason IS NOT NULL THEN {record_json(record_columns, prefix="r_")} END AS record
    FROM decided
    """

    try:
        # The same incident version listed twice in one file counts once: the first row, whatever that row's own
        # fate. Grouping finds the few repeated versions: in the statement that reads the whole batch, or once over
        # the whole batch before its windows (grouping a window's own rows would miss a repeat of an earlier window's).
        if len(windows) > 1:
            base.execute_validation(
                con,
                f"CREATE OR REPLACE TEMP TABLE {REPEATED} AS {repeated(f'({read_values(incoming)})')}",
                reading,
                spec,
                "timestamp_format",
            )
        parameters = {
            **reading,
            "now": pd.Timestamp(context.now).to_pydatetime(),
            "categories": list(UCR_CATEGORIES),
            **(
                {"earliest": datetime.combine(spec.earliest_occurred_at, datetime.min.time())}
                if too_early
                else {}
            ),
            **{f"no_latitude_{i}": lat for i, (lat, _) in enumerate(spec.no_coordinates)},
            **{f"no_longitude_{i}": lon for i, (_, lon) in enumerate(spec.no_coordinates)},
        }
        for number, (start, end) in enumerate(windows):
            # The window's rows by position: for a single file, the filter reaches the Parquet reader, which reads
            # only their row groups (see `base.parsed_files_sql`).
            rows = (
                f"SELECT * FROM ({incoming}) WHERE _position >= {start} AND _position < {end}"
                if len(windows) > 1
                else incoming
            )
            write = (
                f"CREATE OR REPLACE TEMP TABLE {VALIDATED} AS" if number == 0 else f"INSERT INTO {VALIDATED}"
            )
            base.execute_validation(con, f"{write} {statement(rows)}", parameters, spec, "timestamp_format")
    finally:
        con.unregister("crime_offenses")
        con.unregister("crime_areas")
    columns = ", ".join(CrimeKind.columns)
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW {LOADED} AS SELECT {columns}, _load, _row FROM {VALIDATED} WHERE _reason IS NULL"
    )
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW {REJECTED} AS SELECT _load, _row, _reason AS reason, record, detail, _position "
        f"FROM {VALIDATED} WHERE _reason IS NOT NULL"
    )
    return base.Validated(received, LOADED, REJECTED)


def area_codes_compared(spec: CrimeSource, areas: dict[str, str]) -> dict[str, str]:
    """The area crosswalk by its codes as they are compared with the file's: with area_codes "number", a code
    writing a whole number by its digits ("01" -> "1"); two codes writing the same number must name the same
    neighborhood."""
    if spec.area_codes != "number" or not areas:
        return areas
    with duckdb.connect() as con:
        con.register("codes", pa.table({"code": list(areas), "neighborhood_id": list(areas.values())}))
        compared = con.execute(
            f"SELECT {whole_number_text('code')} AS compared, list(DISTINCT neighborhood_id ORDER BY neighborhood_id),"
            " list(code ORDER BY code) FROM codes GROUP BY compared ORDER BY compared"
        ).fetchall()
    clashes = [codes for _, targets, codes in compared if len(targets) > 1]
    if clashes:
        listed = "; ".join(" and ".join(repr(code) for code in codes) for codes in clashes)
        raise SourceError(
            f"{spec.beside(spec.area_crosswalk)}: {listed} are the same area code (area_codes: number) but name "
            "different neighborhoods"
        )
    return {code: targets[0] for code, targets, _ in compared}


def rejection_detail(spec: CrimeSource, context: base.Context) -> str:
    """SQL (over `decided`) for a refused row's detail: the file's column and value that failed it."""
    columns = spec.columns
    point = f"{columns.latitude or 'latitude'}, {columns.longitude or 'longitude'}"
    code = columns.area_code or "area_code"
    occurred = (
        f"{columns.occurred_at} {columns.occurred_time}" if columns.occurred_time else columns.occurred_at
    )
    if not context.neighborhood_sources:
        nowhere = " (no boundary source)"
    elif not context.boundary_count():
        nowhere = " (no boundaries loaded)"
    else:
        refused = context.refused_boundaries()
        nowhere = (
            f" (boundaries refused: {'; '.join(refused[:5])}{'; ...' if len(refused) > 5 else ''})"
            if refused
            else ""
        )
    where = f"""CASE
            WHEN on_earth THEN {literal(f"{point}: a point in no boundary{nowhere}")}
            WHEN {blank("o_latitude")} AND {blank("o_longitude")} THEN {literal(f"{point}: blank")}
            WHEN n_latitude BETWEEN -90 AND 90 AND n_longitude BETWEEN -180 AND 180
                THEN {literal(f"{point}: (")} || printf('%g', n_latitude) || ', ' || printf('%g', n_longitude)
                || {literal("), read as no coordinates")}
            ELSE {literal(f"{point}: '")} || o_latitude || ', ' || o_longitude || {literal("' is not a point on Earth")}
        END""" + (
        f""" || CASE WHEN {blank("o_area_code")} THEN {literal(f"; {code}: blank")}
            ELSE {literal(f"; {code}: '")} || {strip("o_area_code")} || {literal(f"' is not in {spec.area_crosswalk}")} END"""
        if spec.area_crosswalk
        else ""
    )
    return f"""CASE _reason
        WHEN 'missing_incident_id' THEN {literal(f"{columns.incident_id}: blank")}
        WHEN 'unparseable_occurred_at' THEN {cited(occurred, "o_occurred_at")}
        WHEN 'occurred_at_in_future' THEN {cited(occurred, "o_occurred_at")}
        WHEN 'occurred_at_before_earliest' THEN {cited(occurred, "o_occurred_at")}
            || {literal(f" is before earliest_occurred_at {spec.earliest_occurred_at}")}
        WHEN 'unparseable_updated_at' THEN {cited(columns.updated_at or "updated_at", "o_updated_at")}
        WHEN 'invalid_ucr_category_in_crosswalk' THEN {cited(columns.offense_code, "o_offense_code")}
            || {literal(f" has a category other than {', '.join(UCR_CATEGORIES)} in {spec.offense_crosswalk}")}
        WHEN 'unknown_neighborhood' THEN {cited(code, "o_area_code")} || {literal(" is mapped to " + chr(39))}
            || area_neighborhood_id || {literal(chr(39) + f" in {spec.area_crosswalk}, which no boundary defines")}
        WHEN 'unlocatable' THEN {where}
        WHEN 'duplicate_incident' THEN {cited(columns.incident_id, "o_incident_id")} || ' repeated'
    END"""


def parse_crime_times(values: list[str | None], fmt: str) -> list[pd.Timestamp | None]:
    """Text values typed as a load types them (for tests and messages)."""
    with duckdb.connect() as con:
        con.register("times", pa.table({"value": pa.array(values, pa.string())}))
        rows = con.execute(
            f"SELECT {time_sql('value', fmt)} FROM times",
            time_parameters(fmt),
        ).fetchall()
    return [None if value is None else pd.Timestamp(value) for (value,) in rows]


def check_sample(spec: CrimeSource, sample: Path, con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """What `check-source` adds for a crime sample, once `stage` validated it on `con` and the sample was written
    as the warehouse's one load: (level, text) findings on timestamps, offense codes missing from the crosswalk
    and the categories of the rows that would load."""
    table = quote(spec.name)
    received, loaded = con.execute(
        "SELECT sum(rows_received), sum(rows_loaded) FROM meta.loads WHERE source = ?", [spec.name]
    ).fetchone()
    findings = []
    unparseable, example, row = con.execute(
        f"SELECT count(*), arg_min(json_extract_string(record, '$.occurred_at'), _row), min(_row) "
        f"FROM quarantine.{table} WHERE reason = 'unparseable_occurred_at'"
    ).fetchone()
    if unparseable:
        hint = (
            " (for values like 2024-02-10T00:44:00.000 use timestamp_format: iso8601)"
            if "T" in (example or "")
            else ""
        )
        findings.append(
            (
                "warning",
                f"{unparseable} of {received} rows: occurred_at does not match timestamp_format "
                f"{spec.timestamp_format!r}, e.g. {example!r} in row {row}{hint}",
            )
        )
    # Every row's code, whether or not the row would load: the crosswalk is fixed whatever else is wrong.
    unmapped = con.execute(
        f"SELECT offense_code, count(*) FROM {VALIDATED} WHERE NOT offense_mapped "
        "GROUP BY offense_code ORDER BY count(*) DESC, min(_position)"
    ).fetchall()
    if unmapped:
        rows = sum(n for _, n in unmapped)
        share = rows / max(received, 1)
        codes = ", ".join(f"{code!r} ({n})" for code, n in unmapped)
        findings.append(
            (
                "error" if share > spec.max_unmapped_share else "warning",
                f"{rows} of {received} rows ({share:.1%}) have offense codes missing from "
                f"{spec.offense_crosswalk}, loaded as 'other' (the load blocks above "
                f"{spec.max_unmapped_share:.1%}): add rows 'offense_code,ucr_category' for {codes}",
            )
        )
    categories = con.execute(
        f"SELECT ucr_category, count(*) FROM raw.{table} GROUP BY ucr_category ORDER BY count(*) DESC, ucr_category"
    ).fetchall()
    if categories:
        listed = ", ".join(f"{category} {n}" for category, n in categories)
        findings.append(("note", f"categories of the {loaded} rows that would load: {listed}"))
    return findings


def unmapped_offense_share(con: duckdb.DuckDBPyConnection, source: CrimeSource) -> tuple[bool, str, dict]:
    rows, unmapped = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE NOT offense_mapped) FROM raw.{quote(source.name)}"
    ).fetchone()
    by_code = con.execute(
        f"SELECT offense_code, count(*) FROM raw.{quote(source.name)} WHERE NOT offense_mapped "
        "GROUP BY offense_code ORDER BY count(*) DESC, offense_code LIMIT 21"
    ).fetchall()
    codes = ", ".join(f"{code!r} ({n})" for code, n in by_code[:20]) + (", ..." if len(by_code) > 20 else "")
    share = unmapped / rows if rows else 0.0
    limit = source.max_unmapped_share
    metadata = {"unmapped_rows": unmapped, "unmapped_share": share, "threshold": limit}
    if share > limit:
        return (
            False,
            (
                f"{source.name}: {unmapped} of {rows} incidents ({share:.1%}) have offense codes missing from "
                f"{source.offense_crosswalk} (threshold {limit:.1%}): {codes}"
            ),
            metadata,
        )
    return (
        True,
        f"{source.name}: {share:.2%} of incidents have unmapped offense codes (threshold {limit:.1%})",
        metadata,
    )


UNMAPPED_OFFENSE_SHARE = rules.LoadCheck(
    "unmapped_offense_share",
    "Blocks when more than max_unmapped_share of incidents have codes missing from the offense crosswalk.",
    unmapped_offense_share,
)


class CrimeKind(base.Kind):
    name = "crime"
    spec_type = CrimeSource
    columns = base.column_types(
        "incident_id VARCHAR, occurred_at TIMESTAMP, updated_at TIMESTAMP, offense_code VARCHAR, offense_description VARCHAR, ucr_category VARCHAR, offense_mapped BOOLEAN, latitude DOUBLE, longitude DOUBLE, neighborhood_id VARCHAR, arrest BOOLEAN, domestic BOOLEAN"
    )
    view = "crime_incidents"
    lookups = ("geography",)
    network = True
    spatial = True
    freshness = timedelta(days=2)
    daily = True
    # Incidents loaded as 'other' because their offense code is missing from the crosswalk.
    load_counts = {"rows_unmapped_offense": "count(*) FILTER (WHERE NOT offense_mapped)"}

    def land(self, spec, file, destination, metadata, con, salt):
        land_columns(file, destination, metadata, con, file_columns(spec))

    def parse_records(self, spec, records, where, first_row=1):
        return records_table(file_columns(spec), records, where, first_row)

    def validate(self, spec, incoming, context):
        return validate(spec, incoming, context)

    def check_sample(self, spec, sample, con):
        return check_sample(spec, sample, con)

    def expectations(self, spec, loaded_at):
        return [
            *rules.not_null("incident_id", "occurred_at", "offense_code", "ucr_category", "neighborhood_id"),
            rules.in_set("ucr_category", UCR_CATEGORIES),
            rules.between("latitude", -90, 90),
            rules.between("longitude", -180, 180),
            rules.not_after("occurred_at", loaded_at),
            rules.unique("incident_id", "updated_at", "offense_code"),
        ]

    def load_checks(self, spec):
        return [UNMAPPED_OFFENSE_SHARE]


KIND = CrimeKind()
