"""Crime incidents (CONTRACT §3.1): offense crosswalk, point-in-polygon location, area-code fallback."""

from __future__ import annotations

from typing import Literal

import pandas as pd
from pydantic import Field

from pipelines.kinds.base import (
    Context,
    Reasons,
    SourceBase,
    _Spec,
    blank,
    parse_bool,
    parse_times,
    read_crosswalk,
)
from pipelines.parsers.tables import pick_columns, read_table
from pipelines.warehouse import load_spatial, quote

UCR_CATEGORIES = ("violent", "property", "other")


class CrimeColumns(_Spec):
    incident_id: str
    occurred_at: str
    updated_at: str | None = None
    offense_code: str
    offense_description: str | None = None
    latitude: str | None = None
    longitude: str | None = None
    arrest: str | None = None
    domestic: str | None = None
    area_code: str | None = None


class CrimeSource(SourceBase):
    kind: Literal["crime"]
    columns: CrimeColumns
    timestamp_format: str = "%m/%d/%Y %I:%M:%S %p"
    offense_crosswalk: str
    area_crosswalk: str | None = None
    max_unmapped_share: float = Field(0.01, ge=0, le=1)


def parse(spec: CrimeSource, file, salt: str | None = None) -> pd.DataFrame:
    header, data = read_table(file)
    return pick_columns(file, header, data, spec.columns.model_dump())


def validate(spec: CrimeSource, raw: pd.DataFrame, context: Context) -> tuple[pd.DataFrame, pd.DataFrame]:
    reasons = Reasons(raw.index)
    typed = raw.copy()
    typed["incident_id"] = raw["incident_id"].str.strip()
    typed["occurred_at"] = parse_times(raw["occurred_at"], spec.timestamp_format)
    typed["updated_at"] = parse_times(raw["updated_at"], spec.timestamp_format)
    typed["latitude"] = pd.to_numeric(raw["latitude"], errors="coerce")
    typed["longitude"] = pd.to_numeric(raw["longitude"], errors="coerce")
    typed["arrest"], typed["domestic"] = parse_bool(raw["arrest"]), parse_bool(raw["domestic"])
    typed["offense_code"] = raw["offense_code"].str.strip()

    crosswalk = read_crosswalk(spec.beside(spec.offense_crosswalk), "offense_code", "ucr_category")
    typed["offense_mapped"] = typed["offense_code"].isin(list(crosswalk))
    typed["ucr_category"] = typed["offense_code"].map(crosswalk).fillna("other")

    typed["neighborhood_id"] = locate(context, typed)
    if spec.area_crosswalk:
        areas = read_crosswalk(spec.beside(spec.area_crosswalk), "area_code", "neighborhood_id")
        fallback = raw["area_code"].str.strip().map(areas)
        typed["neighborhood_id"] = typed["neighborhood_id"].fillna(fallback)

    reasons.flag(blank(raw["incident_id"]), "missing_incident_id")
    reasons.flag(typed["occurred_at"].isna(), "unparseable_occurred_at")
    reasons.flag(typed["occurred_at"] > context.now, "occurred_at_in_future")
    reasons.flag(typed["updated_at"].isna() & ~blank(raw["updated_at"]), "unparseable_updated_at")
    reasons.flag(~typed["ucr_category"].isin(UCR_CATEGORIES), "invalid_ucr_category_in_crosswalk")
    reasons.flag(typed["neighborhood_id"].isna(), "unlocatable")
    # The same incident version listed twice in one file (same id, update time and offense) counts once.
    reasons.flag(typed.duplicated(["incident_id", "updated_at", "offense_code"]), "duplicate_incident")
    return reasons.split(raw, typed, "crime")


def locate(context: Context, incidents: pd.DataFrame) -> pd.Series:
    """Point in polygon against every loaded neighborhood boundary (DuckDB spatial); NULL where none."""
    points = incidents[["latitude", "longitude"]].reset_index(names="_position")
    if not context.neighborhood_sources or points.empty:
        return pd.Series(pd.NA, index=incidents.index, dtype="string")
    con = context.con
    load_spatial(con)
    boundaries = " UNION ALL ".join(
        f"SELECT neighborhood_id, geometry_geojson FROM raw.{quote(source)}"
        for source in context.neighborhood_sources
    )
    con.register("incident_points", points)
    try:
        located = con.execute(
            f"""
            WITH shapes AS (
                SELECT neighborhood_id, ST_GeomFromGeoJSON(geometry_geojson) AS geom FROM ({boundaries})
            )
            SELECT p._position, min(s.neighborhood_id) AS neighborhood_id
            FROM incident_points p
            JOIN shapes s ON ST_Contains(s.geom, ST_Point(p.longitude, p.latitude))
            WHERE p.latitude IS NOT NULL AND p.longitude IS NOT NULL
            GROUP BY p._position
            """
        ).df()
    finally:
        con.unregister("incident_points")
    return (
        located.set_index("_position")["neighborhood_id"]
        .reindex(range(len(incidents)))
        .astype("string")
        .set_axis(incidents.index)
    )
