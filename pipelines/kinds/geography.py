"""Neighborhood boundaries (CONTRACT §3.2): GeoJSON, WGS84, with id and name properties."""

from __future__ import annotations

import json
from typing import Literal

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


def parse_records(spec: GeographySource, features: list, where: str, first_row: int = 1) -> pd.DataFrame:
    """GeoJSON features (a file's, or a page of a portal's `.geojson` endpoint) -> id, name, geometry as text."""
    rows = []
    for index, feature in enumerate(features, start=first_row):
        properties = (feature or {}).get("properties") or {}
        geometry = (feature or {}).get("geometry")
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
    con = context.con
    load_spatial(con)
    con.register("incoming_shapes", raw[["geometry_geojson"]].reset_index(names="_position"))
    try:
        shapes = (
            con.execute(
                """
            SELECT _position,
                   TRY(ST_IsValid(ST_GeomFromGeoJSON(geometry_geojson))) AS valid,
                   TRY(ST_Area_Spheroid(ST_FlipCoordinates(ST_GeomFromGeoJSON(geometry_geojson)))) / 1e6 AS area
            FROM incoming_shapes
            """
            )
            .df()
            .set_index("_position")
            .reindex(range(len(raw)))
        )
    finally:
        con.unregister("incoming_shapes")
    typed["area_sq_km"] = shapes["area"].to_numpy()
    reasons.flag(blank(raw["neighborhood_id"]), "missing_neighborhood_id")
    reasons.flag(pd.Series(shapes["valid"].to_numpy() != True, index=raw.index), "invalid_geometry")  # noqa: E712
    reasons.flag(raw["neighborhood_id"].duplicated(), "duplicate_neighborhood_id")
    return reasons.split(raw, typed, "geography")
