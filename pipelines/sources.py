"""Source definitions: one YAML file per source, loaded into typed specs.

Adding a city, a survey wave format or a roster format is a new YAML file (plus a crosswalk CSV beside it),
never a code change. Errors name the file and the field, so a newcomer can fix them.
"""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

SOURCE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
ENV_REFERENCE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}")

LIKERT_5 = {
    "strongly disagree": 1,
    "disagree": 2,
    "neither agree nor disagree": 3,
    "agree": 4,
    "strongly agree": 5,
}
MISSING_ANSWERS = ["", "don't know", "dont know", "prefer not to say", "n/a"]


class SourceError(ValueError):
    """A source definition or a file it points at is unusable; the message says where and why."""


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Source(_Spec):
    name: str
    connector: Literal["file"] = "file"
    # Glob relative to the data home; defaults to landing/<name>/*
    path: str | None = None
    # Load-level gate: above this share of quarantined rows the load's blocking check fails.
    max_quarantine_share: float = Field(0.05, ge=0, le=1)
    # Filled in by the loader: the YAML's own folder, where crosswalks live.
    definition_dir: Path = Field(Path("."), exclude=True)

    @field_validator("name")
    @classmethod
    def _name_is_identifier(cls, value: str) -> str:
        if not SOURCE_NAME.match(value):
            raise ValueError("must be lower-case letters, digits and underscores, starting with a letter")
        return value

    @property
    def landing_glob(self) -> str:
        return self.path or f"landing/{self.name}/*"

    def beside(self, relative: str) -> Path:
        """A file named in the YAML (a crosswalk), resolved next to the YAML and not outside its folder."""
        candidate = (self.definition_dir / relative).resolve()
        if not candidate.is_relative_to(self.definition_dir.resolve()):
            raise SourceError(f"{self.name}: {relative!r} points outside {self.definition_dir}")
        return candidate


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


class CrimeSource(_Source):
    kind: Literal["crime"]
    columns: CrimeColumns
    timestamp_format: str = "%m/%d/%Y %I:%M:%S %p"
    offense_crosswalk: str
    area_crosswalk: str | None = None
    max_unmapped_share: float = Field(0.01, ge=0, le=1)


class GeographySource(_Source):
    kind: Literal["geography"]
    id_property: str
    name_property: str


class PopulationSource(_Source):
    """Files with `neighborhood_id,population`, and optional margins `neighborhood_id,dimension,category,population`."""

    kind: Literal["population"]


class SurveyColumns(_Spec):
    response_id: str
    submitted_at: str
    neighborhood: str
    finished: str | None = None
    age_group: str | None = None
    gender: str | None = None


class SurveyItem(_Spec):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    column: str
    # `construct` in YAML; renamed here because pydantic models already have a .construct method.
    construct_name: str = Field(alias="construct")
    reverse: bool = False

    @property
    def item_id(self) -> str:
        return re.sub(r"[^a-z0-9]+", "_", self.column.lower()).strip("_")[:60]


class SurveySource(_Source):
    kind: Literal["survey"]
    export_format: Literal["qualtrics", "surveymonkey", "google_forms"]
    columns: SurveyColumns
    timestamp_format: str
    items: list[SurveyItem] = Field(min_length=1)
    # Answer label (case-insensitive) -> score 1..5. Numeric codes can be listed too.
    scale: dict[str, int] = Field(default_factory=lambda: dict(LIKERT_5))
    missing: list[str] = Field(default_factory=lambda: list(MISSING_ANSWERS))
    # Optional CSV `answer,neighborhood_id`; answers also match neighborhood ids and names directly.
    neighborhood_crosswalk: str | None = None


class EventColumns(_Spec):
    event_id: str
    title: str
    starts_at: str
    neighborhood: str
    program_id: str | None = None


class EventTypeRule(_Spec):
    pattern: str
    type: str


class EventsSource(_Source):
    kind: Literal["events"]
    columns: EventColumns
    timestamp_format: str
    event_types: list[EventTypeRule] = Field(default_factory=list)
    default_event_type: str = "other"
    neighborhood_crosswalk: str | None = None


class RosterColumns(_Spec):
    event_id: str
    email: str | None = None
    phone: str | None = None
    name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    zip: str | None = None
    age_group: str | None = None
    status: str | None = None


class RosterSource(_Source):
    kind: Literal["roster"]
    columns: RosterColumns
    # Values of the status column that mean the person was there (e.g. Eventbrite "Checked In").
    # Without a status column every listed person was present (a sign-in sheet).
    present_statuses: list[str] = Field(default_factory=list)
    phone_region: str = "US"


class ProgramsSource(_Source):
    kind: Literal["programs"]


SourceSpec = Annotated[
    CrimeSource
    | GeographySource
    | PopulationSource
    | SurveySource
    | EventsSource
    | RosterSource
    | ProgramsSource,
    Field(discriminator="kind"),
]
KINDS = ("geography", "population", "crime", "survey", "events", "roster", "programs")
_adapter: TypeAdapter[SourceSpec] = TypeAdapter(SourceSpec)


def expand_env(value):
    """Expand ${VAR} and ${VAR:-default} in every string of a parsed YAML document."""
    if isinstance(value, dict):
        return {key: expand_env(item) for key, item in value.items()}
    if isinstance(value, list):
        return [expand_env(item) for item in value]
    if isinstance(value, str):

        def substitute(match: re.Match) -> str:
            name, default = match.group("name"), match.group("default")
            if name in os.environ:
                return os.environ[name]
            if default is not None:
                return default
            raise SourceError(f"environment variable {name} is not set and has no default")

        return ENV_REFERENCE.sub(substitute, value)
    return value


def load_source(path: Path) -> SourceSpec:
    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise SourceError(f"{path}: cannot read YAML: {error}") from error
    if not isinstance(document, dict):
        raise SourceError(f"{path}: expected a mapping of fields, found {type(document).__name__}")
    try:
        document = expand_env(document)
    except SourceError as error:
        raise SourceError(f"{path}: {error}") from error
    if document.get("kind") not in KINDS:
        raise SourceError(
            f"{path}: field 'kind': must be one of {', '.join(KINDS)}, got {document.get('kind')!r}"
        )
    try:
        spec = _adapter.validate_python({**document, "definition_dir": path.parent})
    except ValidationError as error:
        problems = "; ".join(
            f"field '{'.'.join(str(part) for part in issue['loc'][1:])}': {issue['msg']}"
            for issue in error.errors()
        )
        raise SourceError(f"{path}: {problems}") from None
    for crosswalk in ("offense_crosswalk", "area_crosswalk", "neighborhood_crosswalk"):
        relative = getattr(spec, crosswalk, None)
        if relative and not spec.beside(relative).is_file():
            raise SourceError(f"{path}: field '{crosswalk}': no file {spec.beside(relative)}")
    return spec


def load_sources(directory: Path) -> list[SourceSpec]:
    directory = Path(directory)
    files = sorted(directory.glob("*.yml")) + sorted(directory.glob("*.yaml"))
    if not files:
        raise SourceError(f"{directory}: no source definitions (*.yml) found")
    specs = [load_source(file) for file in files]
    seen: dict[str, Path] = {}
    for spec, file in zip(specs, files, strict=True):
        if spec.name in seen:
            raise SourceError(f"{file}: source name {spec.name!r} is already used by {seen[spec.name]}")
        seen[spec.name] = file
    return specs


def read_crosswalk(path: Path, key: str, value: str) -> dict[str, str]:
    """A two-column crosswalk CSV as a dict; errors name the file and the row."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or not {key, value} <= set(reader.fieldnames):
            raise SourceError(f"{path}: expected columns {key!r} and {value!r}, found {reader.fieldnames}")
        mapping = {}
        for line, row in enumerate(reader, start=2):
            if not row[key] or not row[value]:
                raise SourceError(f"{path}: row {line}: {key!r} and {value!r} must both be filled")
            mapping[row[key].strip()] = row[value].strip()
    return mapping
