"""Neighborhood boundaries (CONTRACT §3.2): GeoJSON, WGS84, with id and name properties."""

from __future__ import annotations

import json
from typing import Literal

import duckdb
import pandas as pd

from pipelines.kinds.base import Context, Reasons, SourceBase, SourceError, blank
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
    reasons = Reasons(raw.index)
    typed = raw.copy()
    shapes = _shapes(context.con, raw["geometry_geojson"])
    typed["area_sq_km"] = shapes["area"].to_numpy()
    reasons.flag(blank(raw["neighborhood_id"]), "missing_neighborhood_id")
    reasons.flag(pd.Series(shapes["valid"].to_numpy() != True, index=raw.index), "invalid_geometry")  # noqa: E712
    reasons.flag(raw["neighborhood_id"].duplicated(), "duplicate_neighborhood_id")
    return reasons.split(raw, typed, "geography")


SHAPES_SQL = """
SELECT _position,
       TRY(ST_IsValid(ST_GeomFromGeoJSON(geometry_geojson))) AS valid,
       TRY(ST_Area_Spheroid(ST_FlipCoordinates(ST_GeomFromGeoJSON(geometry_geojson)))) / 1e6 AS area
FROM incoming_shapes
"""
SHAPE_SQL = """
SELECT TRY(ST_IsValid(geom)) AS valid, TRY(ST_Area_Spheroid(ST_FlipCoordinates(geom))) / 1e6 AS area
FROM (SELECT ST_GeomFromGeoJSON(?) AS geom)
"""


def _shapes(con, geometries: pd.Series) -> pd.DataFrame:
    """Per row: is the geometry valid, and its area in km². Some malformed GeoJSON (an empty text, coordinates
    that are not numbers) makes ST_GeomFromGeoJSON raise rather than return NULL, even under TRY: then the rows
    are read one by one, and a geometry DuckDB cannot read at all is invalid."""
    load_spatial(con)
    incoming = pd.DataFrame({"geometry_geojson": geometries.to_numpy()}).reset_index(names="_position")
    con.register("incoming_shapes", incoming)
    try:
        return con.execute(SHAPES_SQL).df().set_index("_position").reindex(range(len(incoming)))
    except duckdb.Error:
        pass
    finally:
        con.unregister("incoming_shapes")
    rows = []
    for text in incoming["geometry_geojson"]:
        try:
            valid, area = con.execute(SHAPE_SQL, [text]).fetchone() if text else (False, None)
        except duckdb.Error:
            valid, area = False, None
        rows.append({"valid": valid, "area": area})
    return pd.DataFrame(rows, columns=["valid", "area"], index=range(len(incoming)))
