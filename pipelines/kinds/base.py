"""What every source kind shares: the spec base class, the error type, and the row-validation toolkit.

Each kind (crime, geography, population, survey, events, roster, programs) is one module beside this one with
its spec (the YAML's fields), `parse` (landing file -> text columns, personal data removed) and `validate`
(text columns -> loaded rows + quarantined rows with a reason). Nothing is dropped: `received = loaded +
quarantined` for every load, and the first failing rule names the reason, with a detail naming the file's
column and the value that failed it (see `cite`).

Crime files run to millions of rows, so that kind does the same in DuckDB instead of pandas: `land_file` (landing
file -> raw Parquet) and `stage` (raw Parquet -> loaded and quarantined rows, in SQL); see pipelines/kinds/crime.py.
The small kinds use the pandas toolkit below.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

import duckdb
import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from pipelines.connectors.arcgis import ArcgisConnector
from pipelines.connectors.socrata import SocrataConnector
from pipelines.warehouse import CANONICAL_COLUMNS, quote

SOURCE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")

TRUE_VALUES, FALSE_VALUES = {"true", "t", "y", "yes", "1"}, {"false", "f", "n", "no", "0"}


class SourceError(ValueError):
    """A source definition or a file it points at is unusable; the message says where and why."""


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceBase(_Spec):
    name: str
    # "file" (drops in the landing folder) or a network connector's settings, told apart by `type`.
    connector: (
        Literal["file"] | Annotated[SocrataConnector | ArcgisConnector, Field(discriminator="type")]
    ) = "file"
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


@dataclass
class Context:
    """What validation looks up in the warehouse (known neighborhoods, their shapes, known events), and the notes
    it leaves about the load it validates: rows loaded but changed on the way (a boundary repaired), which
    users see beside the quarantine reasons without the load being refused for them."""

    con: duckdb.DuckDBPyConnection
    neighborhood_sources: list[str] = field(default_factory=list)
    event_sources: list[str] = field(default_factory=list)
    now: pd.Timestamp = field(default_factory=lambda: pd.Timestamp.now().floor("s"))
    notes: dict[str, int] = field(default_factory=dict)

    def note(self, note: str, rows: int) -> None:
        """Count `rows` loaded rows of the current load under `note` (zero counts are not kept)."""
        if rows:
            self.notes[note] = self.notes.get(note, 0) + rows

    def take_notes(self) -> dict[str, int]:
        """The notes of the load just validated; the next load starts with none."""
        notes, self.notes = self.notes, {}
        return notes

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

    def boundaries_sql(self) -> str:
        """A query of every loaded boundary, (neighborhood_id, geom), for DuckDB spatial joins."""
        union = " UNION ALL ".join(
            f"SELECT neighborhood_id, geometry_geojson FROM raw.{quote(source)}"
            for source in self.neighborhood_sources
        )
        return f"SELECT neighborhood_id, ST_GeomFromGeoJSON(geometry_geojson) AS geom FROM ({union})"

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

    def boundary_count(self) -> int:
        return sum(
            self.con.execute(f"SELECT count(*) FROM raw.{quote(source)}").fetchone()[0]
            for source in self.neighborhood_sources
        )

    def refused_boundaries(self) -> list[str]:
        """The boundaries the geography loads refused, as `source: 'id' name (reason)`: a point in such a
        neighborhood is in no loaded boundary."""
        refused = []
        for source in self.neighborhood_sources:
            refused += [
                f"{source}: "
                + (repr(nbhd_id) if nbhd_id else "(no id)")
                + (f" {name}" if name else "")
                + f" ({reason})"
                for nbhd_id, name, reason in self.con.execute(
                    "SELECT json_extract_string(record, '$.neighborhood_id'), json_extract_string(record, "
                    f"'$.name'), reason FROM quarantine.{quote(source)} ORDER BY _file, _row"
                ).fetchall()
            ]
        return refused


def normalize_label(value: object) -> str:
    return " ".join(str(value if value is not None and not pd.isna(value) else "").lower().split())


def cite(column: str, values: pd.Series) -> pd.Series:
    """Per row, the file's column and its value, as a quarantined row's detail: `Q3: 'Somewhat agree'`, or
    `Q3: blank`. `column` is the name the file uses (the YAML's mapping), not the canonical one."""
    return pd.Series(
        [
            f"{column}: blank"
            if value is None or pd.isna(value) or not str(value).strip()
            else f"{column}: {value!r}"
            for value in values.astype(object)
        ],
        index=values.index,
        dtype="string",
    )


class Reasons:
    """Collects the first failing rule per row, and what failed it (the detail)."""

    def __init__(self, index: pd.Index):
        self.series = pd.Series(pd.NA, index=index, dtype="string")
        self.details = pd.Series(pd.NA, index=index, dtype="string")

    def flag(self, mask: pd.Series, reason: str, detail: pd.Series | str | None = None) -> None:
        """`reason` for the rows of `mask` not refused yet; `detail` (per row, or one text for all) says which
        column and value failed, as `cite` writes it."""
        newly = mask.fillna(False).astype(bool) & self.series.isna()
        self.series[newly] = reason
        if detail is not None:
            self.details[newly] = detail[newly] if isinstance(detail, pd.Series) else detail

    @property
    def kept(self) -> pd.Series:
        return self.series.isna()

    def quarantined(self, raw: pd.DataFrame) -> pd.DataFrame:
        """The refused rows with their original text values, the reason and its detail."""
        refused = ~self.kept
        return (
            raw.loc[refused]
            .assign(_reason=self.series[refused], _detail=self.details[refused])
            .reset_index(drop=True)
        )

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


def known_targets(crosswalk: dict[str, str], context: Context) -> dict[str, str]:
    """The entries of a crosswalk whose neighborhood has a loaded boundary: a row mapped to any other id would be
    counted in no published neighborhood, so it is refused as unknown_neighborhood instead."""
    known = set(context.neighborhood_lookup().values())
    return {key: nbhd for key, nbhd in crosswalk.items() if nbhd in known}


def neighborhood_matcher(spec, context: Context):
    known = context.neighborhood_lookup()
    if spec.neighborhood_crosswalk:
        crosswalk = read_crosswalk(spec.beside(spec.neighborhood_crosswalk), "answer", "neighborhood_id")
        known |= {normalize_label(answer): nbhd for answer, nbhd in known_targets(crosswalk, context).items()}
    return lambda value: known.get(normalize_label(value))
