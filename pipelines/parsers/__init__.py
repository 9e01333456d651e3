"""Landing file -> table of canonical text columns, with personal data already removed.

This is what lands under raw/: only the columns a source YAML maps survive (names, emails, IP addresses,
free text and everything else unmapped are never written), and roster identities become keyed hashes.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from pipelines.parsers.tables import (
    SchemaDriftError,
    normalize_header,
    pick_columns,
    read_grid,
    read_json_records,
    read_table,
    rows_below,
)
from pipelines.pii import person_key, pseudonymize, require_salt
from pipelines.sources import (
    CrimeSource,
    EventsSource,
    GeographySource,
    PopulationSource,
    ProgramsSource,
    RosterSource,
    SourceError,
    SourceSpec,
    SurveySource,
)

__all__ = ["SchemaDriftError", "SourceError", "parse_landing_file"]


def parse_landing_file(spec: SourceSpec, file: Path, salt: str | None = None) -> pd.DataFrame:
    match spec:
        case CrimeSource() | EventsSource():
            header, data = read_table(file)
            return pick_columns(file, header, data, spec.columns.model_dump())
        case GeographySource():
            return _parse_geojson(spec, file)
        case PopulationSource():
            return _parse_population(file)
        case ProgramsSource():
            header, data = read_table(file)
            names = ("program_id", "name", "neighborhood_id", "start_date", "end_date")
            return pick_columns(file, header, data, {name: name for name in names})
        case SurveySource():
            return _parse_survey(spec, file)
        case RosterSource():
            return _parse_roster(spec, file, require_salt(salt, spec.name))
    raise SourceError(f"{file}: no parser for source kind {spec.kind!r}")


def _parse_geojson(spec: GeographySource, file: Path) -> pd.DataFrame:
    document = read_json_records(file)
    features = document.get("features") if isinstance(document, dict) else None
    if not isinstance(features, list):
        raise SourceError(f"{file}: not a GeoJSON FeatureCollection (no 'features' list)")
    rows = []
    for index, feature in enumerate(features, start=1):
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


def _parse_population(file: Path) -> pd.DataFrame:
    header, data = read_table(file)
    if "dimension" in header:  # demographic margins used for survey weighting
        names = ("neighborhood_id", "dimension", "category", "population")
        return pick_columns(file, header, data, {name: name for name in names})
    table = pick_columns(
        file, header, data, {"neighborhood_id": "neighborhood_id", "population": "population"}
    )
    table["dimension"] = table["category"] = "total"
    return table.astype({"dimension": "string", "category": "string"})


SURVEY_HEADER_ROWS = {"qualtrics": 3, "surveymonkey": 2, "google_forms": 1}


def _survey_header(spec: SurveySource, file: Path, grid: pd.DataFrame) -> tuple[list[str], int]:
    """Column names and how many header rows the export has, per tool layout."""
    first = [str(cell) for cell in grid.iloc[0]]
    if spec.export_format == "qualtrics":
        # Current exports have a third row of {"ImportId": ...}; legacy ones stop after the question texts.
        import_row = len(grid) > 2 and any(str(cell).startswith('{"ImportId"') for cell in grid.iloc[2])
        return first, 3 if import_row else 2
    if spec.export_format == "surveymonkey":
        if len(grid) < 2:
            raise SourceError(f"{file}: a SurveyMonkey export has 2 header rows, found {len(grid)} row(s)")
        names, question = [], ""
        for top, sub in zip(first, grid.iloc[1], strict=True):
            question = top if str(top).strip() else question
            sub = str(sub).strip()
            names.append(
                question if sub in ("", "Response", "Open-Ended Response") else f"{question} - {sub}"
            )
        return names, 2
    if "Timestamp" not in [cell.strip() for cell in first]:
        raise SourceError(
            f"{file}: a Google Forms export starts with a 'Timestamp' column; found {first[:5]}"
        )
    return first, 1


def _parse_survey(spec: SurveySource, file: Path) -> pd.DataFrame:
    grid = read_grid(file)
    header, header_rows = _survey_header(spec, file, grid)
    mapping = spec.columns.model_dump() | {f"item:{item.item_id}": item.column for item in spec.items}
    header = [normalize_header(name) for name in header]
    return pick_columns(file, header, rows_below(grid, header_rows), mapping)


def _parse_roster(spec: RosterSource, file: Path, salt: str) -> pd.DataFrame:
    header, data = read_table(file)
    columns = spec.columns.model_dump()
    table = pick_columns(file, header, data, columns)
    full_names = (
        table["name"]
        if spec.columns.name
        else (table["first_name"].fillna("") + " " + table["last_name"].fillna("")).str.strip()
    )
    keys = [
        person_key(email, phone, name, zip_code, spec.phone_region)
        for email, phone, name, zip_code in zip(
            table["email"], table["phone"], full_names, table["zip"], strict=True
        )
    ]
    table["person_id"] = pd.array([pseudonymize(key, salt) if key else "" for key in keys], dtype="string")
    # The identifying columns end here: only the keyed hash goes on to raw/.
    return table.drop(columns=["email", "phone", "name", "first_name", "last_name", "zip"])
