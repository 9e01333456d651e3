"""Event calendars (CONTRACT §3.4): one row per event, typed from its title by the YAML's rules.

Two layouts: a table (CSV/XLSX, one row per event) and a JSON list of event records (the Chicago police CAPS
calendar). An event's neighborhood is its neighborhood column when the calendar has one; else the area it names
(a police beat, often only in the title: "Beat Meeting: 1113,14,15") mapped through a crosswalk CSV or through
the areas' own boundaries. A district-wide event (a District Advisory Committee meeting) names no beat: it is
loaded with its district and no neighborhood, so it counts per district but in no neighborhood's engagement.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Literal

import pandas as pd
from pydantic import Field, model_validator

from pipelines.checks import rules
from pipelines.kinds._legacy import LegacyKind
from pipelines.kinds.base import (
    Context,
    Reasons,
    SourceBase,
    SourceError,
    _Spec,
    blank,
    cite,
    known_targets,
    neighborhood_matcher,
    parse_times,
    read_crosswalk,
)
from pipelines.parsers.tables import pick_columns, read_json_records, read_table
from pipelines.warehouse import load_spatial


class EventColumns(_Spec):
    # Without an id column (the CAPS calendar has none) the id is a digest of district, title and start.
    event_id: str | None = None
    title: str
    starts_at: str
    neighborhood: str | None = None
    # A column holding the area code (beat) itself; without it the area is read from the title.
    area: str | None = None
    district: str | None = None
    program_id: str | None = None


class EventTypeRule(_Spec):
    pattern: str
    type: str


class AreaMapping(_Spec):
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


class EventsSource(SourceBase):
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


def parse(spec: EventsSource, file, salt: str | None = None) -> pd.DataFrame:
    header, data = _read_json(file) if Path(file).suffix.lower() == ".json" else read_table(file)
    table = pick_columns(file, header, data, spec.columns.model_dump())
    if not spec.columns.event_id:
        table["event_id"] = pd.array(
            [
                _digest(district, title, start)
                for district, title, start in zip(
                    table["district"], table["title"], table["starts_at"], strict=True
                )
            ],
            dtype="string",
        )
    return table


def _read_json(file) -> tuple[list[str], pd.DataFrame]:
    """A JSON list of flat event records as (keys, text rows), shaped like read_table's result."""
    records = read_json_records(file)
    if not isinstance(records, list) or not all(isinstance(record, dict) for record in records):
        raise SourceError(f"{file}: expected a JSON list of event records (objects)")
    header = list(dict.fromkeys(key for record in records for key in record))
    data = pd.DataFrame(
        [[_text(record.get(key)) for key in header] for record in records], columns=range(len(header))
    )
    data["_row"] = range(1, len(records) + 1)
    return header, data


def _text(value) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)


def _digest(*parts) -> str:
    # Not personal data: a stable id for calendars that publish none, so a re-published event replaces itself.
    text = "\x1f".join("" if pd.isna(part) else " ".join(str(part).split()).lower() for part in parts)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def validate(spec: EventsSource, raw: pd.DataFrame, context: Context) -> tuple[pd.DataFrame, pd.DataFrame]:
    reasons = Reasons(raw.index)
    typed = raw.copy()
    typed["event_id"] = raw["event_id"].str.strip()
    typed["starts_at"] = parse_times(raw["starts_at"], spec.timestamp_format)
    typed["program_id"] = raw["program_id"].str.strip().replace("", pd.NA)
    typed["district"] = raw["district"].str.strip().replace("", pd.NA)
    typed["event_type"] = spec.default_event_type
    for rule in reversed(spec.event_types):  # the first matching rule wins
        matches = raw["title"].str.contains(rule.pattern, flags=re.IGNORECASE, regex=True, na=False)
        typed.loc[matches, "event_type"] = rule.type

    named = raw["neighborhood"].map(neighborhood_matcher(spec, context)).astype("string")
    typed["area_code"] = area_codes(spec, raw)
    by_area = typed["area_code"].map(area_neighborhoods(spec, context)).astype("string")
    typed["neighborhood_id"] = named.fillna(by_area)

    columns = spec.columns
    event = cite(columns.event_id or "event id (a digest of district, title and start)", raw["event_id"])
    reasons.flag(blank(typed["event_id"]), "missing_event_id", event)
    reasons.flag(
        typed["starts_at"].isna(), "unparseable_starts_at", cite(columns.starts_at, raw["starts_at"])
    )
    # A neighborhood or beat that was given but matches nothing is an error; only a district-wide event (no
    # neighborhood, no beat, but a district) is loaded without a neighborhood.
    given = ~blank(raw["neighborhood"]) | typed["area_code"].notna()
    place = cite(f"area code in {columns.area or columns.title}", typed["area_code"])
    if columns.neighborhood:
        place = place.where(blank(raw["neighborhood"]), cite(columns.neighborhood, raw["neighborhood"]))
    place = place.where(
        given, f"{columns.neighborhood or 'neighborhood'}, {columns.district or 'district'}: blank"
    )
    reasons.flag(
        typed["neighborhood_id"].isna() & (given | typed["district"].isna()), "unknown_neighborhood", place
    )
    reasons.flag(typed["event_id"].duplicated(), "duplicate_event_id", event)
    return reasons.split(raw, typed, "events")


def area_codes(spec: EventsSource, raw: pd.DataFrame) -> pd.Series:
    """The area code each event names (NULL where none), zero-padded as the crosswalk or boundaries spell it."""
    if spec.area is None:
        return pd.Series(pd.NA, index=raw.index, dtype="string")
    text = raw["area"] if spec.columns.area else raw["title"]
    groups = text.str.extract(spec.area.pattern, flags=re.IGNORECASE, expand=True)
    codes = groups.bfill(axis=1).iloc[:, 0].astype("string").str.strip().replace("", pd.NA)
    if spec.area.zero_pad:
        codes = codes.str.zfill(spec.area.zero_pad)
    return codes


def area_neighborhoods(spec: EventsSource, context: Context) -> dict[str, str]:
    """Area code -> neighborhood_id, from the crosswalk or from the areas' boundaries."""
    if spec.area is None:
        return {}
    path = spec.beside(spec.area.crosswalk or spec.area.boundaries)
    if not path.is_file():
        raise SourceError(f"{spec.name}: field 'area': no file {path}")
    if spec.area.crosswalk:
        return known_targets(read_crosswalk(path, "area_code", "neighborhood_id"), context)
    return _largest_overlap(path, spec, context)


def _largest_overlap(path: Path, spec: EventsSource, context: Context) -> dict[str, str]:
    """Each area's neighborhood = the loaded neighborhood holding the largest part of the area's polygon (a beat
    rarely follows neighborhood lines exactly; its centroid can fall just over one)."""
    document = read_json_records(path)
    features = document.get("features") if isinstance(document, dict) else None
    if not isinstance(features, list):
        raise SourceError(f"{path}: not a GeoJSON FeatureCollection (no 'features' list)")
    areas = pd.DataFrame(
        [
            {
                "area_code": str((feature.get("properties") or {}).get(spec.area.id_property) or "").strip(),
                "geometry_geojson": json.dumps(feature.get("geometry")),
            }
            for feature in features
            if feature and feature.get("geometry")
        ],
        columns=["area_code", "geometry_geojson"],
    )
    if areas.empty or not context.neighborhood_sources:
        return {}
    if spec.area.zero_pad:
        areas["area_code"] = areas["area_code"].str.zfill(spec.area.zero_pad)
    con = context.con
    load_spatial(con)
    con.register("event_areas", areas)
    try:
        rows = con.execute(
            f"""
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
        ).fetchall()
    finally:
        con.unregister("event_areas")
    return dict(rows)


class EventsKind(LegacyKind):
    name = "events"
    spec_type = EventsSource
    columns = {
        "event_id": "VARCHAR",
        "title": "VARCHAR",
        "event_type": "VARCHAR",
        "starts_at": "TIMESTAMP",
        "neighborhood_id": "VARCHAR",
        "program_id": "VARCHAR",
        # The beat (or other area) the event named and its police district, where the calendar has them.
        "area_code": "VARCHAR",
        "district": "VARCHAR",
    }
    view = "events"
    lookups = ("geography",)
    spatial = True
    freshness = timedelta(days=8)
    parse_frame = staticmethod(parse)
    validate_frame = staticmethod(validate)

    def expectations(self, spec, loaded_at):
        return [
            *rules.not_null("event_id", "starts_at", "event_type"),
            rules.in_set("event_type", {spec.default_event_type, *(rule.type for rule in spec.event_types)}),
            rules.unique("event_id"),
        ]


KIND = EventsKind()
