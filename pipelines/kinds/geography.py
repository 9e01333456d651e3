"""Neighborhood boundaries: GeoJSON, WGS84, with id and name properties; see docs/data-quality.md for what is
repaired, merged or refused."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Literal

import duckdb
import pandas as pd
import pyarrow as pa

from pipelines.checks import rules
from pipelines.kinds._legacy import LegacyKind
from pipelines.kinds.base import Context, Reasons, SourceBase, SourceError, blank, normalize_label
from pipelines.parsers.tables import read_json_records
from pipelines.warehouse import load_spatial


class GeographySource(SourceBase):
    kind: Literal["geography"]
    id_property: str
    name_property: str


def parse(spec: GeographySource, file, salt: str | None = None) -> pd.DataFrame:
    document = read_json_records(file)
    features = document.get("features") if isinstance(document, dict) else None
    if not isinstance(features, list):
        raise SourceError(f"{file}: not a GeoJSON FeatureCollection (no 'features' list)")
    return parse_records(spec, features, str(file))


def check_sample(spec: GeographySource, sample, con) -> list[tuple[str, str]]:
    """What `check-source` adds for a boundary file: an `id_property` or `name_property` that no feature has
    (every id or name would be blank), naming the properties the features do have."""
    document = read_json_records(sample)
    properties: dict[str, None] = {}
    for feature in document.get("features") or []:
        if isinstance(feature, dict) and isinstance(feature.get("properties"), dict):
            properties |= dict.fromkeys(feature["properties"])
    return [
        (
            "error",
            f"{field} {getattr(spec, field)!r}: no feature has this property; the features' properties are "
            f"{list(properties)[:40]}",
        )
        for field in ("id_property", "name_property")
        if getattr(spec, field) not in properties
    ]


def parse_records(spec: GeographySource, features: list, where: str, first_row: int = 1) -> pd.DataFrame:
    """GeoJSON features (a file's, or a page of a portal's `.geojson` endpoint) -> id, name, geometry as text."""
    rows = []
    for index, feature in enumerate(features, start=first_row):
        # A feature or its properties that are not objects give a row with blanks: refused in validation.
        feature = feature if isinstance(feature, dict) else {}
        properties = feature.get("properties") if isinstance(feature.get("properties"), dict) else {}
        geometry = feature.get("geometry")
        rows.append(
            {
                "neighborhood_id": str(properties.get(spec.id_property) or ""),
                "name": str(properties.get(spec.name_property) or ""),
                "geometry_geojson": json.dumps(geometry) if geometry else "",
                "_row": index,
            }
        )
    return pd.DataFrame(rows, columns=["neighborhood_id", "name", "geometry_geojson", "_row"]).astype(
        {"neighborhood_id": "string", "name": "string", "geometry_geojson": "string"}
    )


def validate(spec: GeographySource, raw: pd.DataFrame, context: Context) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Boundaries as GIS tools use them.

    A shape that is invalid as given (a ring crossing itself, a bow-tie) is repaired with ST_MakeValid and loaded,
    counted as the note `repaired_geometry`. Features that share an id and a name are parts of one neighborhood
    (a police district in several pieces): loaded as one boundary, their union, counted as the note
    `merged_boundary_parts`. Only what cannot be used is refused: `empty_geometry` (no geometry, or an empty
    one), `unreadable_geometry` (GeoJSON that DuckDB cannot read), `unrepairable_geometry` (no area left after
    the repair: a line, a point, a ring that is not closed) and `duplicate_neighborhood_id` (an id that features
    of different names claim).

    The loaded frame has one row per neighborhood, its first feature's `_row`, and `_parts`: the features it was
    made of (what the warehouse counts as loaded)."""
    reasons = Reasons(raw.index)
    shapes = shape_report(context.con, raw["geometry_geojson"]).set_index(raw.index)
    reasons.flag(blank(raw["neighborhood_id"]), "missing_neighborhood_id")
    for reason in GEOMETRY_REASONS:
        reasons.flag(shapes["reason"] == reason, reason)
    names = raw["name"].map(normalize_label)
    first_name = names[reasons.kept].groupby(raw["neighborhood_id"][reasons.kept]).transform("first")
    other_name = (names[reasons.kept] != first_name).reindex(raw.index, fill_value=False)
    reasons.flag(other_name, "duplicate_neighborhood_id")
    kept = reasons.kept
    repaired = shapes["repaired_geojson"].notna()
    typed = raw.assign(
        geometry_geojson=raw["geometry_geojson"].where(~repaired, shapes["repaired_geojson"]),
        area_sq_km=shapes["area"].astype("float64"),
    )
    context.note("repaired_geometry", int((repaired & kept).sum()))
    loaded, quarantined = reasons.split(raw, typed, "geography")
    parts = loaded.groupby("neighborhood_id", sort=False)["_row"].transform("size")
    context.note("merged_boundary_parts", int((parts > 1).sum()))
    return _merge_parts(context.con, loaded.assign(_parts=parts)), quarantined


def area_km2(shape: str) -> str:
    """SQL for the area of a WGS84 shape in km² (on the spheroid: ST_FlipCoordinates gives it latitude first)."""
    return f"ST_Area_Spheroid(ST_FlipCoordinates({shape})) / 1e6"


MERGE_SQL = f"""
SELECT neighborhood_id, CAST(ST_AsGeoJSON(shape) AS VARCHAR) AS geometry_geojson, {area_km2("shape")} AS area
FROM (
    SELECT neighborhood_id, ST_Union_Agg(ST_GeomFromGeoJSON(geometry_geojson)) AS shape
    FROM boundary_parts GROUP BY neighborhood_id
)
"""


def _merge_parts(con, loaded: pd.DataFrame) -> pd.DataFrame:
    """One row per neighborhood: the parts of a neighborhood become its first part's row, with their union."""
    several = loaded["_parts"] > 1
    if not several.any():
        return loaded
    con.register("boundary_parts", loaded.loc[several, ["neighborhood_id", "geometry_geojson"]])
    try:
        unions = {nbhd: (union, area) for nbhd, union, area in con.execute(MERGE_SQL).fetchall()}
    finally:
        con.unregister("boundary_parts")
    merged = loaded.drop_duplicates("neighborhood_id").reset_index(drop=True)
    for position in merged.index[merged["_parts"] > 1]:
        union, area = unions[merged.at[position, "neighborhood_id"]]
        merged.at[position, "geometry_geojson"] = union
        merged.at[position, "area_sq_km"] = area
    return merged


# Why a shape is refused, in the order they are checked; a shape with none of them is loaded (repaired if needed).
GEOMETRY_REASONS = ("empty_geometry", "unreadable_geometry", "unrepairable_geometry")

# Per shape: readable, empty, valid polygon(s) as given; the repair of any other shape (its polygonal part: a
# bow-tie becomes two triangles, a stray line is dropped) and the area of what is loaded.
SHAPES_SQL = f"""
WITH shapes AS (
    SELECT _position, TRY(ST_GeomFromGeoJSON(geometry_geojson)) AS geom FROM incoming_shapes
),
checked AS (
    SELECT _position, geom, ST_IsValid(geom) AND ST_GeometryType(geom) IN ('POLYGON', 'MULTIPOLYGON') AS as_given
    FROM shapes
),
repaired AS (
    SELECT _position, geom, as_given,
           CASE WHEN as_given THEN geom ELSE ST_CollectionExtract(ST_MakeValid(geom), 3) END AS shape
    FROM checked
)
SELECT _position,
       geom IS NOT NULL AS readable,
       ST_IsEmpty(geom) AS empty,
       coalesce(NOT ST_IsEmpty(shape) AND ST_IsValid(shape), false) AS usable,
       CASE WHEN NOT as_given THEN CAST(ST_AsGeoJSON(shape) AS VARCHAR) END AS repaired_geojson,
       {area_km2("shape")} AS area
FROM repaired
"""
READABLE_SQL = "SELECT TRY(ST_GeomFromGeoJSON(geometry_geojson)) IS NOT NULL AS readable FROM incoming_shapes"


def shape_report(con, geometries: pd.Series) -> pd.DataFrame:
    """Per geometry text, in order: `reason` (one of GEOMETRY_REASONS, or NA when usable), `repaired_geojson`
    (the repaired shape's GeoJSON, NA when the shape is used as given) and `area` in km² of the shape loaded.

    Some malformed GeoJSON (coordinates that are not numbers, a ring that is not closed) makes DuckDB spatial
    raise rather than return NULL, even under TRY: then the shapes are read one by one, and one that still raises
    is unreadable if DuckDB cannot read it at all, otherwise unrepairable."""
    load_spatial(con)
    blank_text = blank(geometries).to_numpy()
    # No geometry at all is NULL to DuckDB (an empty text would make ST_GeomFromGeoJSON raise).
    texts = [None if empty else str(text) for text, empty in zip(geometries, blank_text, strict=True)]
    try:
        found = _run(con, SHAPES_SQL, texts).sort_values("_position", ignore_index=True)
    except duckdb.Error:
        rows = []
        for text in texts:
            try:
                rows.append(_run(con, SHAPES_SQL, [text]).iloc[0])
            except duckdb.Error:
                readable = bool(_run(con, READABLE_SQL, [text])["readable"].iloc[0])
                rows.append(pd.Series({"readable": readable, "empty": False, "usable": False}))
        found = pd.DataFrame(rows).reset_index(drop=True)
    found = found.reindex(columns=["readable", "empty", "usable", "repaired_geojson", "area"])
    readable = found["readable"].fillna(False).astype(bool)
    reason = pd.Series(pd.NA, index=found.index, dtype="string")
    reason[~found["usable"].fillna(False).astype(bool)] = "unrepairable_geometry"
    reason[~readable] = "unreadable_geometry"
    reason[blank_text | (readable & found["empty"].fillna(False).astype(bool))] = "empty_geometry"
    return pd.DataFrame(
        {
            "reason": reason,
            "repaired_geojson": found["repaired_geojson"].astype("string").where(reason.isna()),
            "area": found["area"].astype("float64").where(reason.isna()),
        }
    )


def _run(con, sql: str, texts) -> pd.DataFrame:
    incoming = pd.DataFrame({"geometry_geojson": pd.Series(list(texts), dtype="string")})
    incoming = incoming.reset_index(names="_position")
    con.register("incoming_shapes", incoming)
    try:
        return con.execute(sql).df()
    finally:
        con.unregister("incoming_shapes")


class GeographyKind(LegacyKind):
    name = "geography"
    spec_type = GeographySource
    columns = {
        "neighborhood_id": "VARCHAR",
        "name": "VARCHAR",
        "area_sq_km": "DOUBLE",
        "geometry_geojson": "VARCHAR",
    }
    view = "neighborhoods"
    lookups = ()
    network = True
    spatial = True
    freshness = timedelta(days=400)
    parse_frame = staticmethod(parse)
    validate_frame = staticmethod(validate)
    # A boundary merged from several features counts each of them as a record loaded.
    records_loaded = "count(DISTINCT _row) + coalesce(sum(_parts - 1), 0)"

    def parse_records(self, spec, records, where, first_row=1):
        return pa.Table.from_pandas(parse_records(spec, records, where, first_row), preserve_index=False)

    def check_sample(self, spec, sample, con):
        return check_sample(spec, sample, con)

    def expectations(self, spec, loaded_at):
        return [
            *rules.not_null("neighborhood_id", "geometry_geojson"),
            rules.between("area_sq_km", 0, None),
            rules.unique("neighborhood_id"),
        ]


KIND = GeographyKind()
