"""Event calendars (docs/sources.md): one row per event, typed from its title by the YAML's rules.

Two layouts: a table (CSV/XLSX, one row per event) and a JSON list of event records (the Chicago police CAPS
calendar). An event's neighborhood is its neighborhood column when the calendar has one; else the area it names
(a police beat, often only in the title: "Beat Meeting: 1113,14,15") mapped through a crosswalk CSV or through
the areas' own boundaries. A district-wide event (a District Advisory Committee meeting) names no beat: it is
loaded with its district and no neighborhood, so it counts per district but in no neighborhood's engagement.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Literal

import duckdb
import pyarrow as pa
from pydantic import Field, model_validator

from pipelines.checks import rules
from pipelines.errors import SourceError
from pipelines.kinds import base
from pipelines.kinds.sql import blank, cited, label, record_json, strip, time_parameters, time_sql
from pipelines.parsers.landing import (
    column_positions,
    csv_sql,
    first_line,
    read_csv_header,
    read_landing,
    text_value,
)
from pipelines.parsers.tables import pick_columns, read_json_records, read_table
from pipelines.warehouse import literal, load_spatial


class EventColumns(base.Spec):
    # Without an id column (the CAPS calendar has none) the id is a digest of district, title and start.
    event_id: str | None = None
    title: str
    starts_at: str
    neighborhood: str | None = None
    # A column holding the area code (beat) itself; without it the area is read from the title.
    area: str | None = None
    district: str | None = None
    program_id: str | None = None


class EventTypeRule(base.Spec):
    pattern: str
    type: str


class AreaMapping(base.Spec):
    """How a beat (or any smaller area) named by an event becomes a neighborhood."""

    # Regex whose first matching group is the area code (alternatives may each have a group); applied to the
    # area column, else to the title. A title naming several beats ("813/833 Beat Meeting") is placed by the
    # beat the pattern finds first.
    pattern: str = r"(\d+)"
    zero_pad: int | None = Field(None, ge=1, le=12)
    # CSV `area_code,neighborhood_id` beside the YAML ...
    crosswalk: str | None = None
    # ... or the areas' GeoJSON beside the YAML: an area belongs to the neighborhood covering most of it.
    boundaries: str | None = None
    id_property: str | None = None

    @model_validator(mode="after")
    def _one_way(self) -> AreaMapping:
        if bool(self.crosswalk) == bool(self.boundaries):
            raise ValueError("give exactly one of 'crosswalk' and 'boundaries'")
        if self.boundaries and not self.id_property:
            raise ValueError("'boundaries' needs 'id_property' (the GeoJSON property holding the area code)")
        try:
            if re.compile(self.pattern).groups < 1:
                raise ValueError("'pattern' needs one capturing group: the area code")
        except re.error as error:
            raise ValueError(f"'pattern' is not a regular expression: {error}") from None
        return self


class EventsSource(base.SourceBase):
    kind: Literal["events"]
    columns: EventColumns
    timestamp_format: str
    event_types: list[EventTypeRule] = Field(default_factory=list)
    default_event_type: str = "other"
    neighborhood_crosswalk: str | None = None
    area: AreaMapping | None = None

    def files_beside(self) -> dict[str, str]:
        files = {"neighborhood_crosswalk": self.neighborhood_crosswalk}
        if self.area is not None:
            files |= {"area.crosswalk": self.area.crosswalk, "area.boundaries": self.area.boundaries}
        return {field: name for field, name in files.items() if name}


# The parsed file of every events load: these columns as text ('' where blank or unmapped), then `_row`.
TEXT_COLUMNS = tuple(EventColumns.model_fields)
# The temporary relations `validate` leaves on the connection.
VALIDATED = "events_validated"
# The whitespace Python's str.split() splits on, as an RE2 class: the id digest folds it as it always has.
PYTHON_SPACE = (
    r"[\t\n\x{0b}\x{0c}\r\x{1c}-\x{1f} \x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}"
    r"\x{205f}\x{3000}]"
)


# ---- landing files -> text columns


def _json_rows(file: Path, mapping: dict[str, str | None]) -> pa.Table:
    """A JSON list of flat event records: the mapped keys as text ('' where a record lacks one), and `_row`."""
    records = read_json_records(file)
    if not isinstance(records, list) or not all(isinstance(record, dict) for record in records):
        raise SourceError(f"{file}: expected a JSON list of event records (objects)")
    keys = list(dict.fromkeys(key for record in records for key in record))
    positions = column_positions(file, keys, mapping)
    columns = {
        name: pa.array(
            [text_value(record.get(keys[positions[name]])) for record in records]
            if name in positions
            else [""] * len(records),
            pa.string(),
        )
        for name in TEXT_COLUMNS
    }
    return pa.table({**columns, "_row": pa.array(range(1, len(records) + 1), pa.int64())})


def _digest_sql(*columns: str) -> str:
    """A stable id for calendars that publish none, so that a re-published event replaces itself (not personal
    data): SHA-256 of the columns' text, whitespace-folded and lower-cased, joined by a unit separator."""
    folded = [
        f"lower(regexp_replace(regexp_replace({column}, '^{PYTHON_SPACE}+|{PYTHON_SPACE}+$', '', 'g'), "
        f"'{PYTHON_SPACE}+', ' ', 'g'))"
        for column in columns
    ]
    return f"left(sha256({' || chr(31) || '.join(folded)}), 20)"


# ---- validation, in SQL


def check_patterns(spec: EventsSource, con: duckdb.DuckDBPyConnection) -> None:
    """Refuse, naming the field, a pattern that DuckDB's regular expressions (RE2) cannot read: Python's
    look-arounds and back-references are not among them."""
    patterns = {f"event_types[{index}].pattern": rule.pattern for index, rule in enumerate(spec.event_types)}
    if spec.area is not None:
        patterns["area.pattern"] = spec.area.pattern
    for field, pattern in patterns.items():
        try:
            con.execute("SELECT regexp_matches('', $pattern)", {"pattern": pattern})
        except duckdb.InvalidInputException as error:
            raise SourceError(
                f"{spec.name}: field '{field}': {pattern!r} is not a regular expression DuckDB reads "
                f"({first_line(error)})"
            ) from None


# How a refused row's detail names the id of a calendar that has none.
DIGESTED_ID = "event id (a digest of district, title and start)"


def place_detail(spec: EventsSource) -> str:
    """SQL (over `decided`) for an unknown_neighborhood row's detail: the neighborhood or area code given, or
    that neither a place nor a district was given."""
    columns = spec.columns
    nothing = f"{columns.neighborhood or 'neighborhood'}, {columns.district or 'district'}: blank"
    named = (
        f"WHEN NOT neighborhood_blank THEN {cited(columns.neighborhood, 'o_neighborhood')} "
        if columns.neighborhood
        else ""
    )
    return (
        f"CASE WHEN NOT place_given THEN {literal(nothing)} {named}"
        f"ELSE {cited(f'area code in {columns.area or columns.title}', 't_area_code')} END"
    )


def area_code_sql(spec: EventsSource) -> str:
    """SQL for the area code an event names (NULL where none): the first group of the area pattern that matched
    in the area column, else in the title; zero-padded as the crosswalk or boundaries spell it."""
    if spec.area is None:
        return "CAST(NULL AS VARCHAR)"
    text = "area" if spec.columns.area else "title"
    groups = ", ".join(
        f"nullif(regexp_extract({text}, $area_pattern, {group}, 'i'), '')"
        for group in range(1, re.compile(spec.area.pattern).groups + 1)
    )
    code = f"nullif({strip(f'coalesce({groups})')}, '')"
    if not spec.area.zero_pad:
        return code
    width = spec.area.zero_pad
    return f"CASE WHEN length({code}) < {width} THEN lpad({code}, {width}, '0') ELSE {code} END"


# The temporary table of area code -> neighborhood_id `area_neighborhoods` leaves on the connection.
AREAS = "event_area_neighborhoods"


def area_neighborhoods(spec: EventsSource, context: base.Context) -> None:
    """Area code -> neighborhood_id (temporary table AREAS), from the crosswalk (its entries whose neighborhood is
    loaded) or from the areas' boundaries."""
    con = context.con
    if spec.area is None:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {AREAS} (area_code VARCHAR, neighborhood_id VARCHAR)")
        return
    path = spec.beside(spec.area.crosswalk or spec.area.boundaries)
    if not path.is_file():
        raise SourceError(f"{spec.name}: field 'area': no file {path}")
    if spec.area.crosswalk:
        areas = base.read_crosswalk(path, "area_code", "neighborhood_id")
        con.register(
            "event_area_crosswalk",
            pa.table(
                {
                    "area_code": pa.array(list(areas), pa.string()),
                    "neighborhood_id": pa.array(list(areas.values()), pa.string()),
                }
            ),
        )
        try:
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE {AREAS} AS SELECT area_code, neighborhood_id "
                f"FROM event_area_crosswalk WHERE neighborhood_id IN "
                f"(SELECT neighborhood_id FROM ({context.neighborhoods_sql()}))"
            )
        finally:
            con.unregister("event_area_crosswalk")
        return
    _largest_overlap(path, spec, context)


def _largest_overlap(path: Path, spec: EventsSource, context: base.Context) -> None:
    """Each area's neighborhood = the loaded neighborhood holding the largest part of the area's polygon (a beat
    rarely follows neighborhood lines exactly; its centroid can fall just over one)."""
    document = read_json_records(path)
    features = document.get("features") if isinstance(document, dict) else None
    if not isinstance(features, list):
        raise SourceError(f"{path}: not a GeoJSON FeatureCollection (no 'features' list)")
    shaped = [feature for feature in features if feature and feature.get("geometry")]
    codes = [
        str((feature.get("properties") or {}).get(spec.area.id_property) or "").strip() for feature in shaped
    ]
    if spec.area.zero_pad:
        codes = [code.zfill(spec.area.zero_pad) for code in codes]
    con = context.con
    if not codes or not context.neighborhood_sources:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {AREAS} (area_code VARCHAR, neighborhood_id VARCHAR)")
        return
    load_spatial(con)
    con.register(
        "event_areas",
        pa.table(
            {
                "area_code": pa.array(codes, pa.string()),
                "geometry_geojson": pa.array(
                    [json.dumps(feature["geometry"]) for feature in shaped], pa.string()
                ),
            }
        ),
    )
    try:
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE {AREAS} AS
            WITH areas AS (
                SELECT area_code, ST_MakeValid(ST_GeomFromGeoJSON(geometry_geojson)) AS geom FROM event_areas
            ), shapes AS (
                SELECT neighborhood_id, ST_MakeValid(geom) AS geom FROM ({context.boundaries_sql()})
            ), shared_areas AS (
                SELECT a.area_code, s.neighborhood_id, ST_Area(ST_Intersection(a.geom, s.geom)) AS shared
                FROM areas a JOIN shapes s ON ST_Intersects(a.geom, s.geom)
            )
            SELECT area_code, arg_max(neighborhood_id, (shared, neighborhood_id)) AS neighborhood_id
            FROM shared_areas WHERE shared > 0 GROUP BY area_code
            """
        )
    finally:
        con.unregister("event_areas")


class EventsKind(base.Kind):
    name = "events"
    spec_type = EventsSource
    # The beat (or other area) the event named and its police district, where the calendar has them.
    columns = base.column_types(
        "event_id VARCHAR, title VARCHAR, event_type VARCHAR, starts_at TIMESTAMP, neighborhood_id VARCHAR, program_id VARCHAR, area_code VARCHAR, district VARCHAR"
    )
    view = "events"
    lookups = ("geography",)
    spatial = True
    freshness = timedelta(days=8)

    def land(
        self,
        spec: EventsSource,
        file: Path,
        destination: Path,
        metadata: Mapping[str, str],
        con: duckdb.DuckDBPyConnection,
        salt,
    ) -> None:
        """Write a calendar's mapped columns as parsed Parquet (see `base.write_parsed`); a calendar without an id
        column gets a digest of district, title and start as its ids."""
        file = Path(file)
        mapping = spec.columns.model_dump()
        suffix = file.suffix.lower()
        if suffix == ".json":
            rows, first_row = _json_rows(file, mapping), None
        elif suffix in (".xlsx", ".xlsm"):
            header, data = read_table(file)
            rows, first_row = (
                pa.Table.from_pandas(pick_columns(file, header, data, mapping), preserve_index=False),
                None,
            )
        else:
            header = read_csv_header(file)
            positions = column_positions(file, header, mapping)
            rows, first_row = None, 2

        def copy(parallel: bool) -> None:
            if rows is None:
                source = csv_sql(file, len(header), positions, TEXT_COLUMNS, parallel)
            else:
                con.register("event_rows", rows)
                source = f"SELECT {', '.join(TEXT_COLUMNS)}, _row FROM event_rows"
            if not spec.columns.event_id:
                source = f"SELECT * REPLACE ({_digest_sql('district', 'title', 'starts_at')} AS event_id) FROM ({source})"
            try:
                base.write_parsed(
                    con,
                    source,
                    destination,
                    {**metadata, **({base.FIRST_ROW_KEY: str(first_row)} if first_row else {})},
                )
            finally:
                if rows is not None:
                    con.unregister("event_rows")

        read_landing(file, copy)

    def validate(self, spec: EventsSource, incoming: str, context: base.Context) -> base.Validated:
        """Validate the relation `incoming` (TEXT_COLUMNS, `_load`, `_row`, `_position`) into temporary views events_loaded
        and events_rejected on `context.con`.

        An event's type is the type of the first of the YAML's rules whose pattern its title contains (case ignored),
        else `default_event_type`. Its neighborhood is the one its neighborhood column names (an id or a name, or an
        answer of the neighborhood crosswalk, which wins), else the one its area code is mapped to.

        The first failing rule of a row names its reason, in this order: missing_event_id, unparseable_starts_at,
        unknown_neighborhood (a neighborhood or area code given that matches no loaded neighborhood, or neither given
        nor a district: only a district-wide event is loaded without a neighborhood), duplicate_event_id (an id
        earlier in the file, whatever that earlier row's own fate)."""
        con = context.con
        check_patterns(spec, con)
        rules_table = pa.table(
            {
                "rule": pa.array(range(len(spec.event_types)), pa.int64()),
                "pattern": pa.array([rule.pattern for rule in spec.event_types], pa.string()),
                "event_type": pa.array([rule.type for rule in spec.event_types], pa.string()),
            }
        )
        answers = (
            base.read_crosswalk(spec.beside(spec.neighborhood_crosswalk), "answer", "neighborhood_id")
            if spec.neighborhood_crosswalk
            else {}
        )
        answers_table = pa.table(
            {
                "entry": pa.array(range(len(answers)), pa.int64()),
                "answer": pa.array(list(answers), pa.string()),
                "neighborhood_id": pa.array(list(answers.values()), pa.string()),
            }
        )
        registered = {"event_rules": rules_table, "event_answers": answers_table}
        area_neighborhoods(spec, context)
        for name, table in registered.items():
            con.register(name, table)
        neighborhoods = context.neighborhoods_sql()
        columns = spec.columns
        sql = f"""
        CREATE OR REPLACE TEMP TABLE {VALIDATED} AS
        WITH
            typed AS (
                SELECT
                    _load, _row, _position, {", ".join(f"{name} AS o_{name}" for name in TEXT_COLUMNS)},
                    {blank("event_id")} AS event_id_blank,
                    {blank("neighborhood")} AS neighborhood_blank,
                    {strip("event_id")} AS t_event_id,
                    {time_sql("starts_at", spec.timestamp_format)} AS t_starts_at,
                    nullif({strip("program_id")}, '') AS t_program_id,
                    nullif({strip("district")}, '') AS t_district,
                    {label("neighborhood")} AS neighborhood_label,
                    {area_code_sql(spec)} AS t_area_code
                FROM ({incoming})
            ),
            typed_by_rule AS (
                SELECT t._position, arg_min(r.event_type, r.rule) AS event_type
                FROM typed t JOIN event_rules r ON regexp_matches(t.o_title, r.pattern, 'i')
                GROUP BY t._position
            ),
            -- The crosswalk's answers whose neighborhood is loaded (one mapped to any other would be counted in no
            -- published neighborhood): they win over the ids and names; of two answers spelt alike, the later.
            neighborhoods AS ({neighborhoods}),
            answers AS (
                SELECT {label("answer")} AS label, arg_max(neighborhood_id, entry) AS neighborhood_id
                FROM event_answers WHERE neighborhood_id IN (SELECT neighborhood_id FROM neighborhoods)
                GROUP BY ALL
            ),
            named AS (
                SELECT label, neighborhood_id FROM answers
                UNION ALL
                SELECT label, neighborhood_id FROM neighborhoods WHERE label NOT IN (SELECT label FROM answers)
            ),
            classified AS (
                SELECT
                    t.*,
                    coalesce(r.event_type, $default_event_type) AS t_event_type,
                    coalesce(n.neighborhood_id, a.neighborhood_id) AS t_neighborhood_id,
                    NOT t.neighborhood_blank OR t.t_area_code IS NOT NULL AS place_given,
                    row_number() OVER (PARTITION BY t._load, t.t_event_id ORDER BY t._position) > 1 AS repeated
                FROM typed t
                LEFT JOIN typed_by_rule r ON r._position = t._position
                LEFT JOIN named n ON n.label = t.neighborhood_label
                LEFT JOIN {AREAS} a ON a.area_code = t.t_area_code
            ),
            decided AS (
                SELECT
                    *,
                    CASE
                        WHEN event_id_blank THEN 'missing_event_id'
                        WHEN t_starts_at IS NULL THEN 'unparseable_starts_at'
                        WHEN t_neighborhood_id IS NULL AND (place_given OR t_district IS NULL)
                            THEN 'unknown_neighborhood'
                        WHEN repeated THEN 'duplicate_event_id'
                    END AS _reason
                FROM classified
            )
        SELECT
            t_event_id AS event_id, o_title AS title, t_event_type AS event_type, t_starts_at AS starts_at,
            t_neighborhood_id AS neighborhood_id, t_program_id AS program_id, t_area_code AS area_code,
            t_district AS district, _load, _row, _position, _reason,
            CASE _reason
                WHEN 'missing_event_id' THEN {cited(columns.event_id or DIGESTED_ID, "o_event_id")}
                WHEN 'unparseable_starts_at' THEN {cited(columns.starts_at, "o_starts_at")}
                WHEN 'unknown_neighborhood' THEN {place_detail(spec)}
                WHEN 'duplicate_event_id' THEN {cited(columns.event_id or DIGESTED_ID, "o_event_id")}
            END AS detail,
            CASE WHEN _reason IS NOT NULL THEN {record_json(TEXT_COLUMNS, prefix="o_")} END AS record
        FROM decided
        """
        parameters = {
            **time_parameters(spec.timestamp_format),
            "default_event_type": spec.default_event_type,
            **({"area_pattern": spec.area.pattern} if spec.area else {}),
        }
        try:
            base.execute_validation(con, sql, parameters, spec, "timestamp_format")
        finally:
            for name in registered:
                con.unregister(name)
        return base.split_validated(con, VALIDATED, EventsKind.columns)

    def expectations(self, spec, loaded_at):
        return [
            *rules.not_null("event_id", "starts_at", "event_type"),
            rules.in_set("event_type", {spec.default_event_type, *(rule.type for rule in spec.event_types)}),
            rules.unique("event_id"),
        ]


KIND = EventsKind()
