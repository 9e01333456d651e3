"""What every source kind shares: the `Kind` interface, the spec base class, and what validation looks up.

A kind (crime, geography, population, survey, events, roster, programs) is one module beside this one that
defines its YAML spec and one `Kind` instance, registered in `pipelines.kinds.KINDS`. Every load of every kind
takes the same way, in DuckDB (see pipelines/ingest.py):

    landing file --Kind.land--> parsed Parquet (the mapped columns as text, `_row`; personal data removed)
    parsed files --Kind.validate--> loaded rows + quarantined rows, each with its reason and its load
                 --write_loads--> warehouse

A source's parsed files are validated a batch at a time, each file one load of the batch (see `parsed_files_sql`).

Nothing is dropped: `received = loaded + quarantined` for every load, and the first failing rule names the
reason, with a detail naming the file's column and the value that failed it (see `sql.cited`).
"""

from __future__ import annotations

import csv
import hashlib
import json
import uuid
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Annotated, ClassVar, Literal

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field, field_validator

from pipelines.connectors.arcgis import ArcgisConnector
from pipelines.connectors.socrata import SocrataConnector
from pipelines.errors import SourceError
from pipelines.kinds import locate
from pipelines.warehouse import IDENTIFIER, literal, quote

if TYPE_CHECKING:
    from pipelines.checks.rules import Expectation, LoadCheck


class Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceBase(Spec):
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
        if not IDENTIFIER.match(value):  # a source's name is its tables' name
            raise ValueError("must be lower-case letters, digits and underscores, starting with a letter")
        return value

    # Settings that name the source, say where its files come from or when a load check fails, not what a file's
    # rows become: changing one parses and validates nothing again (`definition_digest`).
    not_in_rows: ClassVar[frozenset[str]] = frozenset({"name", "connector", "path", "max_quarantine_share"})

    @property
    def landing_glob(self) -> str:
        return self.path or f"landing/{self.name}/*"

    def definition_digest(self) -> str:
        """A digest of what this definition makes of a file's rows: its settings but `not_in_rows`, and the bytes of
        the files it names beside its YAML (crosswalks). Files parsed, or loads validated, under another digest are
        parsed or validated again (`ingest.land`, `ingest.validate`): a corrected crosswalk or time format applies
        to every load of the source, not only to the files dropped after it."""
        settings = self.model_dump(mode="json", exclude=set(self.not_in_rows))
        digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
        for field_name, relative in sorted(self.files_beside().items()):
            digest.update(f"\n{field_name}\n".encode())
            digest.update(self.beside(relative).read_bytes())
        return digest.hexdigest()[:16]

    def files_beside(self) -> dict[str, str]:
        """The files this definition names beside its YAML (crosswalks), by field: checked when it is loaded."""
        return {}

    def beside(self, relative: str) -> Path:
        """A file named in the YAML (a crosswalk), resolved next to the YAML and not outside its folder."""
        candidate = (self.definition_dir / relative).resolve()
        if not candidate.is_relative_to(self.definition_dir.resolve()):
            raise SourceError(f"{self.name}: {relative!r} points outside {self.definition_dir}")
        return candidate


# Parsed Parquet metadata of a file without a `_row` column: the `_row` of its first row (the others follow in
# the file's order). Numbering rows in DuckDB would read a CSV file on one thread and hold it whole.
FIRST_ROW_KEY = "neighborhood_metrics.first_row"


@dataclass(frozen=True)
class Validated:
    """A batch of loads validated, as relations on the validating connection (temporary views or tables), which
    `warehouse.write_loads` writes in one transaction. A load is a file of the batch, named by `_load`, its place in
    the batch (see `parsed_files_sql`).

    `received`: the rows each load received (`_load` -> rows; a load without rows is left out). `loaded`: the kind's
    canonical columns, `_load` and `_row` (the record's number in its file). `rejected`: `_load`, `_row`, `reason`,
    `record` (the row's original text values as JSON) and `detail` (the file's column and value that failed it).
    `records_loaded` is the SQL aggregate over a load's rows of `loaded` counting the source records they stand for
    (a survey response is one record loaded as one row per item; a merged boundary is several records in one row).
    `notes`: loaded rows changed on the way, per load (`_load` -> note -> rows), shown to users, never a refusal."""

    received: Mapping[int, int]
    loaded: str
    rejected: str
    records_loaded: str = "count(DISTINCT _row)"
    notes: Mapping[int, Mapping[str, int]] = field(default_factory=dict)


def execute_validation(
    con: duckdb.DuckDBPyConnection,
    sql: str,
    parameters: Mapping[str, object],
    spec: SourceBase,
    format_field: str,
) -> None:
    """Run a kind's validation statement. A time format the YAML gives (`format_field`) that DuckDB's strptime
    cannot read is the definition's error, named, not a failure of the load."""
    try:
        con.execute(sql, dict(parameters))
    except duckdb.InvalidInputException as error:
        if "format specifier" in str(error):
            problem = str(error).strip().splitlines()[0][:300]
            raise SourceError(
                f"{spec.name}: {format_field} {getattr(spec, format_field)!r} is not a strptime format: {problem}"
            ) from None
        raise


def rows_by_load(con: duckdb.DuckDBPyConnection, relation: str) -> dict[int, int]:
    """The rows of `relation` (a query or a table with `_load`) per load."""
    return dict(con.execute(f"SELECT _load, count(*) FROM ({relation}) GROUP BY _load").fetchall())


def split_validated(
    con: duckdb.DuckDBPyConnection, validated: str, columns: Mapping[str, str], **counts
) -> Validated:
    """The `Validated` of a temporary table `validated` holding every received row: the kind's canonical
    `columns`, `_load`, `_row`, `_reason` (NULL where the row loads), `record` and `detail` (set where it does
    not). `counts`: `Validated`'s other fields (records_loaded, notes), where the kind has them."""
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW {validated}_loaded AS SELECT {', '.join(columns)}, _load, _row "
        f"FROM {validated} WHERE _reason IS NULL"
    )
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW {validated}_rejected AS SELECT _load, _row, _reason AS reason, record, detail "
        f"FROM {validated} WHERE _reason IS NOT NULL"
    )
    return Validated(
        rows_by_load(con, f"SELECT _load FROM {validated}"),
        f"{validated}_loaded",
        f"{validated}_rejected",
        **counts,
    )


class Kind(ABC):
    """What a source kind provides. `ingest`, `check_source` and the checks call only this."""

    # The YAML's `kind:` and the pydantic model of its source definitions.
    name: ClassVar[str]
    spec_type: ClassVar[type[SourceBase]]
    # The canonical columns every source of the kind is loaded into, in order, with their DuckDB types.
    columns: ClassVar[Mapping[str, str]]
    # The view dbt reads (canonical.<view>: every source of the kind), and the condition its rows meet.
    view: ClassVar[str]
    view_filter: ClassVar[str | None] = None
    # Kinds whose loads validation looks up (their sources load first; a load is validated again when theirs
    # change after it).
    lookups: ClassVar[tuple[str, ...]] = ()
    # Sources of this kind may be pulled by a network connector (`parse_records`), not only dropped as files.
    network: ClassVar[bool] = False
    # Validation places points or shapes: the connection loads DuckDB spatial.
    spatial: ClassVar[bool] = False
    # How long after its last load a source of this kind is stale, and whether the daily job refreshes it (the
    # weekly job refreshes every source).
    freshness: ClassVar[timedelta]
    daily: ClassVar[bool] = False
    # meta.loads columns this kind fills: column -> SQL aggregate over the loaded rows.
    load_counts: ClassVar[Mapping[str, str]] = MappingProxyType({})

    @abstractmethod
    def land(
        self,
        spec: SourceBase,
        file: Path,
        destination: Path,
        metadata: Mapping[str, str],
        con: duckdb.DuckDBPyConnection,
        salt: str | None,
    ) -> None:
        """Write a landing file as parsed Parquet at `destination`, streaming (see `write_parsed`): the mapped
        columns as text, `_row`, personal data removed or keyed-hashed with `salt`; `metadata` goes into the
        file's key-value metadata. Raises SourceError naming the file when it cannot be read."""

    def parse_records(self, spec: SourceBase, records: list, where: str, first_row: int = 1) -> pa.Table:
        """A network connector's page of JSON records as `land` would write them; kinds that only come as file
        drops refuse."""
        raise SourceError(
            f"{spec.name}: {self.name} sources can only be file drops, not {spec.connector.type}"
        )

    @abstractmethod
    def validate(self, spec: SourceBase, incoming: str, context: Context) -> Validated:
        """Validate the relation `incoming` (parsed files' columns, `_load`, `_row` and `_position`: see
        `parsed_files_sql`) on `context.con`, first failing rule naming the reason. A rule about a file's rows (a
        duplicate earlier in the file) compares the rows of one load: `_load` is in its partition."""

    def expectations(self, spec: SourceBase, loaded_at: datetime) -> list[Expectation]:
        """Great Expectations run on each load's loaded rows (blocking)."""
        return []

    def load_checks(self, spec: SourceBase) -> list[LoadCheck]:
        """Blocking checks of this kind beside those every source has."""
        return []

    def check_sample(
        self, spec: SourceBase, sample: Path, con: duckdb.DuckDBPyConnection
    ) -> list[tuple[str, str]]:
        """What `check-source --sample` adds once the sample was validated and written as the warehouse's one
        load on `con`: (level, text) findings."""
        return []


def column_types(columns: str) -> dict[str, str]:
    """Canonical columns written as SQL declares them, `name TYPE, ...`, as a dict, in order."""
    return dict(column.split() for column in columns.split(","))


def parsed_files_sql(parsed_files: Sequence[Path]) -> str:
    """Parsed Parquet files as `Kind.validate` reads them, each one load: their columns, `_load` (the file's place in
    `parsed_files`, from 0), `_row` (the record's number in its file) and `_position` (the row's place among all the
    files' rows: the files in order, each in its own order)."""
    entries, offset, numbered = [], 0, False
    for load, parsed_file in enumerate(parsed_files):
        metadata = pq.read_metadata(parsed_file)
        numbered |= "_row" in metadata.schema.names
        first = int((metadata.metadata or {}).get(FIRST_ROW_KEY.encode(), b"1"))
        entries.append(f"({literal(parsed_file)}, {load}, {first}, {offset})")
        offset += metadata.num_rows
    if len(parsed_files) == 1:
        # One file's numbers are its row numbers plus constants, not joined to its entry: a filter on `_position` then
        # reaches the Parquet reader (a validation window, `kinds.crime.validate`), and 500,000 rows of a file of 8.4 M
        # are read in 0.05 s instead of 0.63 s.
        load, first_row, first_position = "0", str(first), "0"
        files = f"read_parquet([{literal(parsed_files[0])}], file_row_number = true) p"
        excluded = "file_row_number"
    else:
        load, first_row, first_position = "f._load", "f.first_row", "f.first_position"
        files = (
            f"read_parquet([{', '.join(literal(parsed_file) for parsed_file in parsed_files)}], "
            "file_row_number = true, filename = true, union_by_name = true) p "
            f"JOIN (VALUES {', '.join(entries)}) f(filename, _load, first_row, first_position) USING (filename)"
        )
        excluded = "file_row_number, filename"
    # A file without `_row` numbers its rows from its first row's (FIRST_ROW_KEY).
    row = f"file_row_number + {first_row}"
    return (
        f"SELECT p.* EXCLUDE ({excluded}{', _row' if numbered else ''}), {load} AS _load, "
        f"CAST({f'coalesce(p._row, {row})' if numbered else row} AS BIGINT) AS _row, "
        f"CAST(file_row_number + {first_position} AS BIGINT) AS _position FROM {files}"
    )


# Rows per row group of a parsed file DuckDB writes: its writer holds a group's rows until the group is full. At its
# default (122,880) the 8.4 M city's 27 crime files, parsed two at a time, took a process to 647-739 MB, and the
# pipeline's to 993 MB; in groups of 30,000, 520-560 MB, in files 0.3% larger. Validation reads them as fast.
PARSED_ROW_GROUP = 30_000


def write_parsed(
    con: duckdb.DuckDBPyConnection,
    rows: str | pa.Table | pa.RecordBatchReader,
    destination: Path,
    metadata: Mapping[str, str],
) -> None:
    """Write a parsed file (a query on `con`, or Arrow data) as Parquet with `metadata`, streaming. A query is
    written by DuckDB; Arrow data by pyarrow, as a network source's pages are (`ingest.land_pages`): 800 roster rows
    took 5.3 ms to write through DuckDB's COPY and 0.9 ms through pyarrow, and a roster source has hundreds of files
    (the 8.4 M city's sign-in sheets: 11.5 ms a file to parse instead of 14.1 ms)."""
    if isinstance(rows, str):
        pairs = ", ".join(f"{literal(key)}: {literal(value)}" for key, value in metadata.items())
        options = f"FORMAT parquet, ROW_GROUP_SIZE {PARSED_ROW_GROUP}" + (
            f", KV_METADATA {{{pairs}}}" if pairs else ""
        )
        con.execute(f"COPY ({rows}) TO {literal(destination)} ({options})")
        return
    with pq.ParquetWriter(destination, rows.schema.with_metadata(dict(metadata))) as writer:
        for batch in pa.RecordBatchReader.from_stream(rows):
            writer.write_batch(batch)


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
    """What validation looks up in the warehouse: the loaded sources of the kinds a kind looks up
    (`Kind.lookups`), by kind; the neighborhoods, their shapes, the known events."""

    con: duckdb.DuckDBPyConnection
    lookup_sources: Mapping[str, list[str]] = field(default_factory=dict)
    now: pd.Timestamp = field(default_factory=lambda: pd.Timestamp.now().floor("s"))
    # The sources whose warehouse tables were made sure of on `con` (`ingest.validate_files`): once per source, not
    # per batch, as that takes about 20 statements (6 ms).
    tables_ensured: set[str] = field(default_factory=set)
    # The lookups this context has made into temporary tables on `con` (`lookup`): name -> table.
    lookups_made: dict[str, str] = field(default_factory=dict)

    def lookup(self, name: str, query: str) -> str:
        """A query of `query`'s rows, made into a temporary table at its first use by this context and read by every
        load it validates after. The sources a kind looks up load before it and do not change while it validates;
        a roster source of 312 files computed its calendar's lookups once per file (5 ms a file)."""
        if name not in self.lookups_made:
            table = f"lookup_{name}_{uuid.uuid4().hex}"  # unique: several contexts may share a connection
            self.con.execute(f"CREATE TEMP TABLE {table} AS {query}")
            self.lookups_made[name] = table
        return f"SELECT * FROM {self.lookups_made[name]}"

    @property
    def neighborhood_sources(self) -> list[str]:
        return list(self.lookup_sources.get("geography", []))

    @property
    def event_sources(self) -> list[str]:
        return list(self.lookup_sources.get("events", []))

    def neighborhoods_sql(self) -> str:
        """A query of (label, neighborhood_id): each loaded neighborhood's id and name as compared (`sql.label`);
        an id wins over a name spelt the same, and of two ids or two names the smaller neighborhood id."""
        from pipelines.kinds.sql import label

        entries = " UNION ALL ".join(
            f"SELECT {label('neighborhood_id')} AS label, neighborhood_id, 0 AS by_name FROM raw.{quote(source)} "
            f"UNION ALL SELECT {label('name')}, neighborhood_id, 1 FROM raw.{quote(source)}"
            for source in self.neighborhood_sources
        )
        if not entries:
            return (
                "SELECT CAST(NULL AS VARCHAR) AS label, CAST(NULL AS VARCHAR) AS neighborhood_id WHERE false"
            )
        return (
            f"SELECT label, arg_min(neighborhood_id, (by_name, neighborhood_id)) AS neighborhood_id "
            f"FROM ({entries}) WHERE label <> '' GROUP BY label"
        )

    def boundaries_sql(self) -> str:
        """A query of every loaded boundary, (neighborhood_id, geom), for DuckDB spatial joins."""
        union = " UNION ALL ".join(
            f"SELECT neighborhood_id, geometry_geojson FROM raw.{quote(source)}"
            for source in self.neighborhood_sources
        )
        return f"SELECT neighborhood_id, ST_GeomFromGeoJSON(geometry_geojson) AS geom FROM ({union})"

    def located_sql(self, points: str, count: int) -> str:
        """A query of (_position, neighborhood_id) for the points of `points` (_position, x, y: no NULLs) that a
        loaded boundary contains (pipelines/kinds/locate.py); `count`, how many points there are, sets the depth
        of the grid. The boundaries and their grid are made once per context."""
        shapes = self.lookup("boundaries", self.boundaries_sql())
        frame = self.lookup("boundary_frame", locate.frame_sql(shapes))
        levels = locate.levels_for(count)
        grid = self.lookup(f"boundary_grid_{levels}", locate.grid_sql(shapes, frame, levels))
        return locate.located_sql(points, shapes, frame, grid, levels)

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


def known_targets(crosswalk: dict[str, str], context: Context) -> dict[str, str]:
    """The entries of a crosswalk whose neighborhood has a loaded boundary: a row mapped to any other id would be
    counted in no published neighborhood, so it is refused as unknown_neighborhood instead."""
    known = {
        nbhd
        for (nbhd,) in context.con.execute(
            f"SELECT neighborhood_id FROM ({context.neighborhoods_sql()})"
        ).fetchall()
    }
    return {key: nbhd for key, nbhd in crosswalk.items() if nbhd in known}
