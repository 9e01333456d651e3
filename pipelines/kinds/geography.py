"""Neighborhood boundaries: GeoJSON, WGS84, with id and name properties; see docs/data-quality.md for what is
repaired, merged or refused."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Literal

import pyarrow as pa

from pipelines.checks import rules
from pipelines.errors import SourceError
from pipelines.kinds import base
from pipelines.kinds.sql import blank, cited, label, record_json
from pipelines.parsers.tables import read_json_records
from pipelines.warehouse import literal

# The parsed file of every boundary load: these columns as text, then `_row` (the feature's number in its file).
TEXT_COLUMNS = ("neighborhood_id", "name", "geometry_geojson")
# The temporary tables `validate` leaves on the connection.
VALIDATED, LOADED, REJECTED = "geography_validated", "geography_loaded", "geography_rejected"


class GeographySource(base.SourceBase):
    kind: Literal["geography"]
    id_property: str
    name_property: str


def features_of(file: Path) -> list:
    document = read_json_records(file)
    features = document.get("features") if isinstance(document, dict) else None
    if not isinstance(features, list):
        raise SourceError(f"{file}: not a GeoJSON FeatureCollection (no 'features' list)")
    return features


def parse_records(spec: GeographySource, features: list, where: str, first_row: int = 1) -> pa.Table:
    """GeoJSON features (a file's, or a page of a portal's `.geojson` endpoint) -> id, name, geometry as text, and
    `_row`. A feature or its properties that are not objects give a row with blanks: refused in validation."""
    columns: dict[str, list[str]] = {name: [] for name in TEXT_COLUMNS}
    for feature in features:
        feature = feature if isinstance(feature, dict) else {}
        properties = feature.get("properties") if isinstance(feature.get("properties"), dict) else {}
        geometry = feature.get("geometry")
        columns["neighborhood_id"].append(str(properties.get(spec.id_property) or ""))
        columns["name"].append(str(properties.get(spec.name_property) or ""))
        columns["geometry_geojson"].append(json.dumps(geometry) if geometry else "")
    return pa.table(
        {
            **{name: pa.array(values, pa.string()) for name, values in columns.items()},
            "_row": pa.array(range(first_row, first_row + len(features)), pa.int64()),
        }
    )


def check_sample(spec: GeographySource, sample: Path) -> list[tuple[str, str]]:
    """What `check-source` adds for a boundary file: an `id_property` or `name_property` that no feature has
    (every id or name would be blank), naming the properties the features do have."""
    properties: dict[str, None] = {}
    for feature in features_of(sample):
        if isinstance(feature, dict) and isinstance(feature.get("properties"), dict):
            properties |= dict.fromkeys(feature["properties"])
    return [
        (
            "error",
            f"{field} {value!r}: no feature has this property; the features' properties are "
            f"{list(properties)[:40]}",
        )
        for field, value in (("id_property", spec.id_property), ("name_property", spec.name_property))
        if value not in properties
    ]


def area_km2(shape: str) -> str:
    """SQL for the area of a WGS84 shape in km² (on the spheroid: ST_FlipCoordinates gives it latitude first)."""
    return f"ST_Area_Spheroid(ST_FlipCoordinates({shape})) / 1e6"


def validate(spec: GeographySource, incoming: str, context: base.Context) -> base.Validated:
    """Boundaries as GIS tools use them, validated in one SQL pipeline over `incoming`.

    A shape that is invalid as given (a ring crossing itself, a bow-tie) is repaired with ST_MakeValid (its
    polygonal part: a bow-tie becomes two triangles, a stray line is dropped) and loaded, counted as the note
    `repaired_geometry`. Features that share an id and a name are parts of one neighborhood (a police district
    in several pieces): loaded as one boundary, their union, on the row of the first part, counted as the note
    `merged_boundary_parts`. Only what cannot be used is refused, the first failing rule naming the reason:
    `missing_neighborhood_id`, `empty_geometry` (no geometry, or an empty one), `unreadable_geometry` (GeoJSON
    that DuckDB cannot read), `unrepairable_geometry` (no area left after the repair: a line, a point, a ring
    that is not closed) and `duplicate_neighborhood_id` (an id that an earlier usable feature of another name
    claims).

    The loaded rows carry `_parts`, the features each is made of: what the load counts as records loaded."""
    con = context.con
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE {VALIDATED} AS
    WITH
        given AS (
            SELECT _load, _row, _position, neighborhood_id, name, geometry_geojson,
                   {blank("geometry_geojson")} AS no_geometry,
                   -- NULL for GeoJSON DuckDB cannot read (coordinates that are not numbers).
                   TRY(ST_GeomFromGeoJSON(CASE WHEN NOT {blank("geometry_geojson")} THEN geometry_geojson END))
                       AS geom
            FROM ({incoming})
        ),
        checked AS (
            SELECT *, ST_IsValid(geom) AND ST_GeometryType(geom) IN ('POLYGON', 'MULTIPOLYGON') AS as_given
            FROM given
        ),
        repaired AS (
            -- ST_MakeValid raises on a ring that is not closed: under TRY such a shape has no repair.
            SELECT *, CASE WHEN as_given THEN geom ELSE TRY(ST_CollectionExtract(ST_MakeValid(geom), 3)) END
                          AS shape
            FROM checked
        ),
        shaped AS (
            SELECT *,
                CASE
                    WHEN {blank("neighborhood_id")} THEN 'missing_neighborhood_id'
                    WHEN no_geometry OR coalesce(ST_IsEmpty(geom), false) THEN 'empty_geometry'
                    WHEN geom IS NULL THEN 'unreadable_geometry'
                    WHEN NOT coalesce(NOT ST_IsEmpty(shape) AND ST_IsValid(shape), false)
                        THEN 'unrepairable_geometry'
                END AS shape_reason
            FROM repaired
        ),
        named AS (
            -- Among the usable features of an id, the first one's name is the neighborhood's.
            SELECT *, first_value(name) OVER usable_of_id AS first_name,
                      first_value({label("name")}) OVER usable_of_id AS first_label
            FROM shaped
            WINDOW usable_of_id AS (PARTITION BY _load, shape_reason IS NULL, neighborhood_id ORDER BY _position)
        ),
        decided AS (
            SELECT *,
                coalesce(
                    shape_reason,
                    CASE WHEN {label("name")} <> first_label THEN 'duplicate_neighborhood_id' END
                ) AS _reason
            FROM named
        )
    SELECT _load, _row, _position, _reason, neighborhood_id, name,
           CASE WHEN as_given THEN geometry_geojson ELSE CAST(ST_AsGeoJSON(shape) AS VARCHAR) END AS part_geojson,
           {area_km2("shape")} AS part_area,
           NOT as_given AS repaired,
           CASE WHEN _reason IS NOT NULL THEN {record_json(TEXT_COLUMNS)} END AS record,
           {rejection_detail(spec)} AS detail
    FROM decided
    """)
    # One row per neighborhood: the first part's row, with the union of its parts when there are several.
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE {LOADED} AS
    WITH
        parts AS (
            SELECT *, count(*) OVER (PARTITION BY _load, neighborhood_id) AS _parts,
                   row_number() OVER (PARTITION BY _load, neighborhood_id ORDER BY _position) AS part
            FROM {VALIDATED} WHERE _reason IS NULL
        ),
        unions AS (
            SELECT _load, neighborhood_id, ST_Union_Agg(ST_GeomFromGeoJSON(part_geojson) ORDER BY _position) AS shape
            FROM parts WHERE _parts > 1 GROUP BY _load, neighborhood_id
        )
    SELECT p.neighborhood_id, p.name,
           CASE WHEN u.shape IS NULL THEN p.part_area ELSE {area_km2("u.shape")} END AS area_sq_km,
           coalesce(CAST(ST_AsGeoJSON(u.shape) AS VARCHAR), p.part_geojson) AS geometry_geojson,
           p._load, p._row, p._parts
    FROM parts p LEFT JOIN unions u ON u._load = p._load AND u.neighborhood_id = p.neighborhood_id
    WHERE p.part = 1
    """)
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW {REJECTED} AS SELECT _load, _row, _reason AS reason, record, detail "
        f"FROM {VALIDATED} WHERE _reason IS NOT NULL"
    )
    counted = con.execute(
        f"""SELECT _load, count(*), count(*) FILTER (WHERE _reason IS NULL AND repaired),
               (SELECT coalesce(sum(_parts) FILTER (WHERE _parts > 1), 0) FROM {LOADED} l WHERE l._load = v._load)
        FROM {VALIDATED} v GROUP BY _load"""
    ).fetchall()
    notes = {
        load: {
            note: int(rows)
            for note, rows in (("repaired_geometry", repaired), ("merged_boundary_parts", merged))
            if rows
        }
        for load, _, repaired, merged in counted
    }
    return base.Validated(
        {load: received for load, received, _, _ in counted},
        LOADED,
        REJECTED,
        # A boundary merged from several features counts each of them as a record loaded.
        records_loaded="coalesce(sum(_parts), 0)",
        notes=notes,
    )


def rejection_detail(spec: GeographySource) -> str:
    """SQL (over `decided`) for a refused feature's detail: the property or the geometry that failed it."""
    shape_type = "CAST(ST_GeometryType(geom) AS VARCHAR)"
    return f"""CASE _reason
        WHEN 'missing_neighborhood_id' THEN {literal(spec.id_property + ": blank")}
        WHEN 'empty_geometry' THEN
            CASE WHEN no_geometry THEN 'geometry: none' ELSE 'geometry: an empty ' || {shape_type} END
        WHEN 'unreadable_geometry' THEN 'geometry: not readable as GeoJSON'
        WHEN 'unrepairable_geometry' THEN 'geometry: a ' || {shape_type} || ' with no area'
        WHEN 'duplicate_neighborhood_id' THEN {cited(spec.id_property, "neighborhood_id")}
            || {literal(" is the id of " + chr(39))} || first_name || {literal(chr(39) + " earlier in the file")}
    END"""


class GeographyKind(base.Kind):
    name = "geography"
    spec_type = GeographySource
    columns = base.column_types(
        "neighborhood_id VARCHAR, name VARCHAR, area_sq_km DOUBLE, geometry_geojson VARCHAR"
    )
    view = "neighborhoods"
    lookups = ()
    network = True
    spatial = True
    freshness = timedelta(days=400)

    def land(self, spec, file, destination, metadata, con, salt):
        base.write_parsed(con, parse_records(spec, features_of(file), str(file)), destination, metadata)

    def parse_records(self, spec, records, where, first_row=1):
        return parse_records(spec, records, where, first_row)

    def validate(self, spec, incoming, context):
        return validate(spec, incoming, context)

    def check_sample(self, spec, sample, con):
        return check_sample(spec, sample)

    def expectations(self, spec, loaded_at):
        return [
            *rules.not_null("neighborhood_id", "geometry_geojson"),
            rules.between("area_sq_km", 0, None),
            rules.unique("neighborhood_id"),
        ]


KIND = GeographyKind()
