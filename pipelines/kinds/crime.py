"""Crime incidents (CONTRACT §3.1): offense crosswalk, point-in-polygon location, area-code fallback.

Landing formats: CSV (a portal's "Export CSV"), Parquet, and JSON: a SODA rows list (all values text, nested
`location`), an ArcGIS FeatureServer answer (`features[].attributes`) or GeoJSON (`features[].properties`).
The network connectors hand over the same JSON records, page by page, to `parse_records`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import Field

from pipelines.kinds.base import (
    Context,
    Reasons,
    SourceBase,
    SourceError,
    _Spec,
    blank,
    parse_bool,
    parse_times,
    read_crosswalk,
)
from pipelines.parsers.tables import SchemaDriftError, pick_columns, read_json_records, read_table
from pipelines.warehouse import load_spatial

UCR_CATEGORIES = ("violent", "property", "other")
# Beside strptime formats, `timestamp_format` may name these: ISO 8601 text (SODA's 2024-02-10T00:44:00.000)
# and epoch milliseconds (ArcGIS JSON files).
ISO8601, EPOCH_MS = "iso8601", "epoch_ms"
# Columns every record must have; a page or file where no record has one is schema drift, not bad rows.
REQUIRED = ("incident_id", "occurred_at", "offense_code")


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
    timestamp_format: str = "%m/%d/%Y %I:%M:%S %p"  # a strptime format, or iso8601, or epoch_ms
    offense_crosswalk: str
    area_crosswalk: str | None = None
    max_unmapped_share: float = Field(0.01, ge=0, le=1)


def parse(spec: CrimeSource, file, salt: str | None = None) -> pd.DataFrame:
    file = Path(file)
    suffix = file.suffix.lower()
    if suffix in (".json", ".geojson"):
        return parse_records(spec, json_records(file, read_json_records(file)), str(file))
    if suffix == ".parquet":
        try:
            table = pd.read_parquet(file)
        except Exception as error:  # pyarrow raises several types for a damaged file
            raise SourceError(f"{file}: not a readable Parquet file ({error})") from None
        data = pd.DataFrame({i: table[c].map(text_value) for i, c in enumerate(table.columns)})
        data["_row"] = range(1, len(table) + 1)
        return pick_columns(file, [str(c) for c in table.columns], data, spec.columns.model_dump())
    header, data = read_table(file)
    return pick_columns(file, header, data, spec.columns.model_dump())


def json_records(where: str | Path, document: Any) -> list[dict]:
    """The records of a JSON landing file: a SODA rows list, or ArcGIS / GeoJSON features."""
    if isinstance(document, dict) and isinstance(document.get("features"), list):
        return [
            (feature or {}).get("attributes") or (feature or {}).get("properties") or {}
            for feature in document["features"]
        ]
    if isinstance(document, list) and all(isinstance(record, dict) for record in document):
        return document
    raise SourceError(f"{where}: expected a JSON list of records or an object with a 'features' list")


def text_value(value: Any) -> str:
    """A JSON or Parquet value as the text a CSV export would hold (validation types it later)."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def parse_records(spec: CrimeSource, records: list[dict], where: str, first_row: int = 1) -> pd.DataFrame:
    """JSON records (a file or a page of a connector) -> the mapped columns as text, like `parse`.

    SODA leaves a key out when its value is null, so a mapped column absent from some records is blank there;
    a required column absent from every record means the schema changed, and fails the load."""
    mapping = spec.columns.model_dump()
    present = set().union(*(record.keys() for record in records)) if records else set()
    missing = [mapping[name] for name in REQUIRED if records and mapping[name] not in present]
    if missing:
        raise SchemaDriftError(
            f"{where}: missing required column(s) {', '.join(repr(m) for m in missing)}; found {sorted(present)[:30]}"
        )
    table = pd.DataFrame(
        {
            canonical: [text_value(record.get(source)) for record in records] if source else ""
            for canonical, source in mapping.items()
        },
        index=range(len(records)),
    ).astype("string")
    table["_row"] = range(first_row, first_row + len(records))
    return table


def parse_crime_times(series: pd.Series, fmt: str) -> pd.Series:
    if fmt.lower() == ISO8601:
        return pd.to_datetime(series.astype("string").str.strip(), format="ISO8601", errors="coerce")
    if fmt.lower() == EPOCH_MS:
        return pd.to_datetime(pd.to_numeric(series, errors="coerce"), unit="ms", errors="coerce")
    return parse_times(series, fmt)


def validate(spec: CrimeSource, raw: pd.DataFrame, context: Context) -> tuple[pd.DataFrame, pd.DataFrame]:
    reasons = Reasons(raw.index)
    typed = raw.copy()
    typed["incident_id"] = raw["incident_id"].str.strip()
    typed["occurred_at"] = parse_crime_times(raw["occurred_at"], spec.timestamp_format)
    typed["updated_at"] = parse_crime_times(raw["updated_at"], spec.timestamp_format)
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
        # Re-saved exports write area numbers as floats ("8.0"): compare them as the portal wrote them ("8").
        fallback = raw["area_code"].str.strip().str.replace(r"^(\d+)\.0+$", r"\1", regex=True).map(areas)
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
    con.register("incident_points", points)
    try:
        located = con.execute(
            f"""
            WITH shapes AS ({context.boundaries_sql()})
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


def check_sample(spec: CrimeSource, raw: pd.DataFrame) -> tuple[list[str], list[str]]:
    """What `check-source --sample` reports for a crime sample, without loading: (problems, notes).

    The rows are validated as a load would be, except for location, which needs the loaded boundaries."""
    import duckdb

    with duckdb.connect() as con:
        loaded, quarantined = validate(spec, raw, Context(con))
    problems, notes = [], []
    total = max(len(raw), 1)
    bad_times = quarantined[quarantined["_reason"] == "unparseable_occurred_at"]
    if len(bad_times):
        example = bad_times["occurred_at"].iloc[0]
        hint = (
            " (for values like 2024-02-10T00:44:00.000 use timestamp_format: iso8601)"
            if "T" in str(example)
            else ""
        )
        problems.append(
            f"{len(bad_times)} of {len(raw)} rows: occurred_at does not match timestamp_format "
            f"{spec.timestamp_format!r}, e.g. {example!r} in row {bad_times['_row'].iloc[0]}{hint}"
        )
    typed_codes = raw["offense_code"].str.strip()
    crosswalk = read_crosswalk(spec.beside(spec.offense_crosswalk), "offense_code", "ucr_category")
    unmapped = typed_codes[~typed_codes.isin(list(crosswalk))]
    if len(unmapped) / total > spec.max_unmapped_share:
        codes = ", ".join(f"{code!r} ({n})" for code, n in unmapped.value_counts().head(15).items())
        problems.append(
            f"{len(unmapped)} of {len(raw)} rows ({len(unmapped) / total:.1%}) have offense codes missing from "
            f"{spec.offense_crosswalk} (the load blocks above {spec.max_unmapped_share:.1%}): add rows "
            f"'offense_code,ucr_category' for {codes}"
        )
    others = quarantined[~quarantined["_reason"].isin(["unparseable_occurred_at", "unlocatable"])]
    for reason, count in others["_reason"].value_counts().items():
        notes.append(f"{count} rows would be quarantined as {reason}")
    placeable = (~blank(raw["latitude"]) & ~blank(raw["longitude"])) | (
        raw["area_code"].notna() & ~blank(raw["area_code"]) if spec.area_crosswalk else False
    )
    notes.append(
        f"{int(placeable.sum())} of {len(raw)} rows have coordinates"
        + (" or an area code" if spec.area_crosswalk else "")
        + " to find their neighborhood with (checked against the boundaries at load time)"
    )
    categories = loaded["ucr_category"].value_counts().to_dict() if len(loaded) else {}
    notes.append(f"categories: {categories}")
    return problems, notes
