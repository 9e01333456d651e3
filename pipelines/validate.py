"""Row-level validation: each raw row is either loaded (typed, canonical) or quarantined with a reason.

Nothing is dropped: `received = loaded + quarantined` for every load. The first failing rule names the reason.
Load-level gates (quarantine share, unmapped offense share) are the blocking checks in pipelines/checks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pandas as pd

from pipelines.sources import (
    CrimeSource,
    EventsSource,
    GeographySource,
    PopulationSource,
    ProgramsSource,
    RosterSource,
    SourceSpec,
    SurveySource,
    read_crosswalk,
)
from pipelines.warehouse import CANONICAL_COLUMNS, load_spatial, quote

UCR_CATEGORIES = ("violent", "property", "other")
TRUE_VALUES, FALSE_VALUES = {"true", "t", "y", "yes", "1"}, {"false", "f", "n", "no", "0"}


@dataclass
class Context:
    """What validation looks up in the warehouse: known neighborhoods, their shapes, known events."""

    con: duckdb.DuckDBPyConnection
    neighborhood_sources: list[str] = field(default_factory=list)
    event_sources: list[str] = field(default_factory=list)
    now: pd.Timestamp = field(default_factory=lambda: pd.Timestamp.now().floor("s"))

    def neighborhood_lookup(self) -> dict[str, str]:
        """Normalized id or name -> neighborhood_id."""
        lookup: dict[str, str] = {}
        for source in self.neighborhood_sources:
            for nbhd_id, name in self.con.execute(
                f"SELECT neighborhood_id, name FROM raw.{quote(source)}"
            ).fetchall():
                lookup[normalize_label(nbhd_id)] = nbhd_id
                lookup.setdefault(normalize_label(name), nbhd_id)
        return lookup

    def known_events(self) -> set[str]:
        """Event ids in any calendar, quarantined ones included: an attendance record of an event whose calendar
        row was refused is itself fine, and counts as soon as that row is corrected."""
        known = set()
        for source in self.event_sources:
            known |= {
                row[0] for row in self.con.execute(f"SELECT event_id FROM raw.{quote(source)}").fetchall()
            }
            known |= {
                row[0]
                for row in self.con.execute(
                    f"SELECT json_extract_string(record, '$.event_id') FROM quarantine.{quote(source)}"
                ).fetchall()
            }
        return known - {None}


def normalize_label(value: object) -> str:
    return " ".join(str(value if value is not None and not pd.isna(value) else "").lower().split())


class Reasons:
    """Collects the first failing rule per row."""

    def __init__(self, index: pd.Index):
        self.series = pd.Series(pd.NA, index=index, dtype="string")

    def flag(self, mask: pd.Series, reason: str) -> None:
        self.series[mask.fillna(False).astype(bool) & self.series.isna()] = reason

    @property
    def kept(self) -> pd.Series:
        return self.series.isna()

    def quarantined(self, raw: pd.DataFrame) -> pd.DataFrame:
        """The refused rows with their original text values and the reason."""
        return raw.loc[~self.kept].assign(_reason=self.series[~self.kept]).reset_index(drop=True)

    def split(self, raw: pd.DataFrame, typed: pd.DataFrame, kind: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        loaded = typed.loc[self.kept, [*CANONICAL_COLUMNS[kind], "_row"]].reset_index(drop=True)
        return loaded, self.quarantined(raw)


def blank(series: pd.Series) -> pd.Series:
    return series.isna() | (series.astype("string").str.strip() == "")


def parse_times(series: pd.Series, fmt: str) -> pd.Series:
    return pd.to_datetime(series.astype("string").str.strip(), format=fmt, errors="coerce")


def parse_bool(series: pd.Series) -> pd.Series:
    lowered = series.astype("string").str.strip().str.lower()
    return pd.Series(
        np.where(lowered.isin(TRUE_VALUES), True, np.where(lowered.isin(FALSE_VALUES), False, None)),
        index=series.index,
        dtype="boolean",
    )


def validate(spec: SourceSpec, raw: pd.DataFrame, context: Context) -> tuple[pd.DataFrame, pd.DataFrame]:
    raw = raw.drop(columns=[c for c in ("_file",) if c in raw.columns]).reset_index(drop=True)
    validator = {
        "crime": _crime,
        "geography": _geography,
        "population": _population,
        "survey": _survey,
        "events": _events,
        "roster": _roster,
        "programs": _programs,
    }[spec.kind]
    return validator(spec, raw, context)


def _crime(spec: CrimeSource, raw: pd.DataFrame, context: Context) -> tuple[pd.DataFrame, pd.DataFrame]:
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


def _geography(
    spec: GeographySource, raw: pd.DataFrame, context: Context
) -> tuple[pd.DataFrame, pd.DataFrame]:
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


def _population(
    spec: PopulationSource, raw: pd.DataFrame, context: Context
) -> tuple[pd.DataFrame, pd.DataFrame]:
    reasons = Reasons(raw.index)
    typed = raw.copy()
    known = context.neighborhood_lookup()
    typed["neighborhood_id"] = raw["neighborhood_id"].map(lambda v: known.get(normalize_label(v)))
    typed["population"] = pd.to_numeric(raw["population"].str.strip(), errors="coerce")
    typed["dimension"] = raw["dimension"].str.strip().str.lower()
    typed["category"] = raw["category"].str.strip()
    reasons.flag(typed["neighborhood_id"].isna(), "unknown_neighborhood")
    reasons.flag(~typed["dimension"].isin(["total", "age_group", "gender"]), "unknown_dimension")
    population = typed["population"]
    reasons.flag(population.isna() | (population < 0) | (population % 1 != 0), "invalid_population")
    reasons.flag(typed.duplicated(["neighborhood_id", "dimension", "category"]), "duplicate_population_row")
    return reasons.split(raw, typed, "population")


def _neighborhood_matcher(spec, context: Context):
    known = context.neighborhood_lookup()
    if spec.neighborhood_crosswalk:
        crosswalk = read_crosswalk(spec.beside(spec.neighborhood_crosswalk), "answer", "neighborhood_id")
        known |= {normalize_label(answer): nbhd for answer, nbhd in crosswalk.items()}
    return lambda value: known.get(normalize_label(value))


def _survey(spec: SurveySource, raw: pd.DataFrame, context: Context) -> tuple[pd.DataFrame, pd.DataFrame]:
    reasons = Reasons(raw.index)
    typed = raw.copy()
    typed["response_id"] = raw["response_id"].str.strip()
    typed["submitted_at"] = parse_times(raw["submitted_at"], spec.timestamp_format)
    typed["neighborhood_id"] = raw["neighborhood"].map(_neighborhood_matcher(spec, context))
    missing = {normalize_label(label) for label in spec.missing}
    for column in ("age_group", "gender"):
        values = raw[column].str.strip()
        typed[column] = values.where(~values.map(normalize_label).isin(missing) & ~blank(values))

    scale = {normalize_label(label): score for label, score in spec.scale.items()}
    invalid_answer = pd.Series(False, index=raw.index)
    for item in spec.items:
        answers = raw[f"item:{item.item_id}"].map(normalize_label)
        scores = answers.map(scale).astype("Float64")
        invalid_answer |= scores.isna() & ~answers.isin(missing)
        typed[f"item:{item.item_id}"] = 6 - scores if item.reverse else scores

    if spec.columns.finished:
        finished = parse_bool(raw["finished"])
        reasons.flag(finished != True, "incomplete_response")  # noqa: E712
    reasons.flag(blank(raw["response_id"]), "missing_response_id")
    reasons.flag(typed["submitted_at"].isna(), "unparseable_submitted_at")
    reasons.flag(typed["submitted_at"] > context.now, "submitted_at_in_future")
    reasons.flag(typed["neighborhood_id"].isna(), "unknown_neighborhood")
    reasons.flag(invalid_answer, "invalid_answer")
    # Duplicate response ids keep the latest submission.
    latest_first = typed.sort_values(["submitted_at", "_row"], ascending=False)
    superseded = latest_first.duplicated("response_id").reindex(typed.index)
    reasons.flag(superseded, "duplicate_response_superseded")

    # One row per (response, item): the shape trust metrics are computed from.
    kept = typed.loc[reasons.kept]
    long = pd.concat(
        [
            kept[["response_id", "submitted_at", "neighborhood_id", "age_group", "gender", "_row"]].assign(
                construct=item.construct_name, item=item.item_id, score=kept[f"item:{item.item_id}"]
            )
            for item in spec.items
        ],
        ignore_index=True,
    )
    return long[[*CANONICAL_COLUMNS["survey"], "_row"]], reasons.quarantined(raw)


def _events(spec: EventsSource, raw: pd.DataFrame, context: Context) -> tuple[pd.DataFrame, pd.DataFrame]:
    reasons = Reasons(raw.index)
    typed = raw.copy()
    typed["event_id"] = raw["event_id"].str.strip()
    typed["starts_at"] = parse_times(raw["starts_at"], spec.timestamp_format)
    typed["neighborhood_id"] = raw["neighborhood"].map(_neighborhood_matcher(spec, context))
    typed["program_id"] = raw["program_id"].str.strip().replace("", pd.NA)
    typed["event_type"] = spec.default_event_type
    for rule in reversed(spec.event_types):  # the first matching rule wins
        matches = raw["title"].str.contains(rule.pattern, flags=re.IGNORECASE, regex=True, na=False)
        typed.loc[matches, "event_type"] = rule.type
    reasons.flag(blank(raw["event_id"]), "missing_event_id")
    reasons.flag(typed["starts_at"].isna(), "unparseable_starts_at")
    reasons.flag(typed["neighborhood_id"].isna(), "unknown_neighborhood")
    reasons.flag(typed["event_id"].duplicated(), "duplicate_event_id")
    return reasons.split(raw, typed, "events")


def _roster(spec: RosterSource, raw: pd.DataFrame, context: Context) -> tuple[pd.DataFrame, pd.DataFrame]:
    reasons = Reasons(raw.index)
    typed = raw.copy()
    typed["event_id"] = raw["event_id"].str.strip()
    typed["age_group"] = raw["age_group"].str.strip().replace("", pd.NA)
    if spec.columns.status:
        present = {normalize_label(status) for status in spec.present_statuses}
        typed["present"] = raw["status"].map(normalize_label).isin(present)
    else:
        typed["present"] = True
    reasons.flag(blank(raw["event_id"]), "missing_event_id")
    reasons.flag(blank(raw["person_id"]), "no_identity")
    reasons.flag(~typed["event_id"].isin(context.known_events()), "unknown_event")
    return reasons.split(raw, typed, "roster")


def _programs(spec: ProgramsSource, raw: pd.DataFrame, context: Context) -> tuple[pd.DataFrame, pd.DataFrame]:
    reasons = Reasons(raw.index)
    typed = raw.copy()
    known = context.neighborhood_lookup()
    typed["program_id"] = raw["program_id"].str.strip()
    typed["neighborhood_id"] = raw["neighborhood_id"].map(lambda v: known.get(normalize_label(v)))
    typed["start_date"] = parse_times(raw["start_date"], "%Y-%m-%d").dt.date
    typed["end_date"] = parse_times(raw["end_date"], "%Y-%m-%d").dt.date
    reasons.flag(blank(raw["program_id"]), "missing_program_id")
    reasons.flag(typed["neighborhood_id"].isna(), "unknown_neighborhood")
    reasons.flag(typed["start_date"].isna(), "unparseable_start_date")
    reasons.flag(typed["end_date"].isna() & ~blank(raw["end_date"]), "unparseable_end_date")
    reasons.flag(typed["program_id"].duplicated(), "duplicate_program_id")
    return reasons.split(raw, typed, "programs")
