"""The two steps of every load, the same for every kind, with no Dagster in them: landing -> parsed Parquet (`land`,
the kind's parser) -> warehouse (`validate`, the kind's rules, then `warehouse.write_loads`).

parsed/<source>/<load_id>.parquet is written once per definition of the source and is already free of personal
data; the warehouse can be rebuilt from parsed/ alone. Both steps skip what they have already done, so re-running
changes nothing. A changed definition (`SourceBase.definition_digest`: a column mapping, a crosswalk, a time format)
parses a source's files and validates its loads again: every load then reads as a full rebuild would.

A landing file has one current version: the one landed last. A corrected file dropped under the same name lands
as a new parsed file (its load id holds the digest of its bytes), the older raw versions of that file are then
removed, and `load` reads only the newest version of each landing file, so a run stopped between the two steps
still loads the right one, and the loaded rows and quarantine of the older version are replaced.

A load validated against a lookup (boundaries, calendars) is validated again when that lookup's loads change
after it: see `stale_loads`.

Network sources (socrata, arcgis) land one parsed file per run: pages stream into it as they arrive, so memory
stays flat. Their cursor lives in state/<source>.json under the data home and moves only after the parsed file
is in place; a run that fails on page N keeps pages 1..N-1 and records where to resume, so the next run
continues at page N with the same lower bound: no gap, no duplicate.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.parquet as pq

from pipelines.connectors import arcgis, socrata
from pipelines.connectors.files import LandingFile, landing_files
from pipelines.connectors.http import ConnectorError
from pipelines.errors import SourceError
from pipelines.kinds import SourceSpec, kind_of
from pipelines.kinds.base import Context, parsed_files_sql
from pipelines.settings import Paths
from pipelines.warehouse import (
    LoadSummary,
    connect,
    data_home_folders,
    ensure_tables,
    loaded_ids,
    write_loads,
)

# In parsed/<source>/: the digest of the source definition its parsed files were written under.
DEFINITION_FILE = "definition"
FILE_KEY = b"neighborhood_metrics.landing_file"  # Parquet metadata: which landing file a raw load came from
# Parquet metadata: when that version of the landing file was landed (UTC); the latest is the current one.
LANDED_KEY = b"neighborhood_metrics.landed_at"
# A source's new files are parsed two at a time, each on a cursor of its own: one file's COPY at a time kept two cores
# about 1.7 busy. The 8.4 M city's 27 crime files took 7.1-7.4 s instead of 8.4-8.7 s, for the same 14 s of CPU. (A
# roster's files gain nothing: keying its people holds Python's lock.)
LANDING_THREADS = 2


def landed_at(parsed_file: Path) -> int:
    """When a parsed file's version of its landing file was landed, in nanoseconds. Raw files written before this
    was recorded fall back to the time the file was written."""
    stamp = (pq.read_schema(parsed_file).metadata or {}).get(LANDED_KEY)
    return pd.Timestamp(stamp.decode()).value if stamp else parsed_file.stat().st_mtime_ns


def parsed_versions(folder: Path) -> tuple[list[Path], list[Path]]:
    """A source's parsed files split into (current, superseded): the newest landed version of each landing file,
    and its older versions.

    Versions of one file share the load id's stem (`<stem>-<digest>`); only where a stem has several parsed files is
    their metadata read, so a source of thousands of files is not scanned on every run."""
    by_stem: dict[str, list[Path]] = defaultdict(list)
    for parsed_file in sorted(folder.glob("*.parquet")):
        by_stem[parsed_file.stem.rsplit("-", 1)[0]].append(parsed_file)
    current, superseded = [], []
    for files in by_stem.values():
        if len(files) == 1:
            current += files
            continue
        by_landing_file: dict[bytes, list[Path]] = defaultdict(list)
        for parsed_file in files:
            by_landing_file[pq.read_schema(parsed_file).metadata[FILE_KEY]].append(parsed_file)
        for versions in by_landing_file.values():
            *older, newest = sorted(versions, key=lambda f: (landed_at(f), f.name))
            current.append(newest)
            superseded += older
    return sorted(current), sorted(superseded)


def land(spec: SourceSpec, paths: Paths, salt: str | None, app_token: str | None = None) -> list[Path]:
    """Parse new landing files into parsed Parquet (`Kind.land`). One bad file does not stop the others; all errors
    are raised together at the end, each naming its file. A network source fetches its new pages instead."""
    if spec.connector != "file":
        written = land_pages(spec, paths, app_token)
        return [written] if written else []
    kind = kind_of(spec)
    target = paths.parsed / spec.name
    target.mkdir(parents=True, exist_ok=True)
    # The definition the source's parsed files were written under: under another one (a changed column mapping,
    # say), every landing file is parsed again, each over its parsed file.
    definition, parsed_under = spec.definition_digest(), target / DEFINITION_FILE
    redefined = not parsed_under.exists() or parsed_under.read_text() != definition
    pending = [
        (landing, target / f"{landing.load_id}.parquet")
        for landing in landing_files(paths.home, spec.landing_glob)
        if redefined or not (target / f"{landing.load_id}.parquet").exists()
    ]
    with connect(None, allowed=[paths.home]) as con:

        def land_file(item: tuple[LandingFile, Path]) -> tuple[Path | None, str | None]:
            """(`destination`, None) once the landing file is parsed there; (None, why) if it could not be read."""
            landing, destination = item
            temporary = destination.with_suffix(".parquet.tmp")
            stamps = {
                FILE_KEY.decode(): landing.relative,
                LANDED_KEY.decode(): pd.Timestamp.now(tz="UTC").isoformat(),
            }
            with con.cursor() as cursor:
                try:
                    kind.land(spec, landing.path, temporary, stamps, cursor, salt)
                except SourceError as error:
                    temporary.unlink(missing_ok=True)
                    return None, str(error)
            os.replace(temporary, destination)  # atomic: a parsed file is complete or absent
            return destination, None

        with ThreadPoolExecutor(LANDING_THREADS) as pool:
            landed = list(pool.map(land_file, pending))
    written = [destination for destination, _ in landed if destination is not None]
    errors = [error for _, error in landed if error is not None]
    # Only once the new versions are in place are the older ones removed; a run stopped in between leaves both,
    # `validate` reads the newest, and the next run removes the older.
    for superseded in parsed_versions(target)[1]:
        superseded.unlink()
    # Unless a file that failed still has a parsed file of the older definition: then every file is parsed again
    # next time. (A marker half-written names no definition: the same.)
    if redefined and not any(
        destination.exists() for (_, destination), (_, error) in zip(pending, landed, strict=True) if error
    ):
        parsed_under.write_text(definition)
    if errors:
        raise SourceError(f"{spec.name}: {len(errors)} file(s) could not be read:\n" + "\n".join(errors))
    return written


# A source's small files are validated together, up to this many rows a batch: one validation statement and one
# transaction a batch, instead of one each per file. A roster file of some 700 rows took 22 ms to validate and write,
# 5 ms of it planning the validation statement and 3 ms its commit: a roster source's 312 files took 6.4 s, and take
# 1.2 s in batches. Larger batches gain little more and cost memory: the 8.4 M city's 15 survey files of 6,000 rows
# took a process to 412 MB in batches of 25,000 rows and 644 MB in one batch, against 365 MB one file at a time. A
# larger file is a batch of its own, as before.
BATCH_ROWS = 25_000


@dataclass(frozen=True)
class ParsedLoad:
    """A parsed file to validate as load `load_id`, from landing file `file` (as data_quality names it)."""

    parsed_file: Path
    load_id: str
    file: str
    rows: int = 0


def validate(
    spec: SourceSpec,
    specs: list[SourceSpec],
    paths: Paths,
    redo: Collection[str] = (),
    batch_rows: int = BATCH_ROWS,
) -> list[LoadSummary]:
    """Validate every current parsed file (the newest version of each landing file) not yet in the warehouse, and
    again the loads named in `redo`, those validated against older lookups (`stale_loads`) and those validated
    under another definition of the source (`redefined_loads`) (`Kind.validate`, in SQL, files of up to
    `batch_rows` rows together: `batches`), and write each batch (loaded rows + quarantine) atomically in place of
    its loads' earlier versions."""
    kind = kind_of(spec)
    lookups = [s for s in specs if s.kind in kind.lookups]
    folders = data_home_folders(paths)
    with connect(paths.warehouse, allowed=folders) as con:
        for each in [spec, *lookups]:
            ensure_tables(con, each.name, kind_of(each).columns)
        done = loaded_ids(con, spec.name)
        # The loads written already (all in meta.loads) that are validated again, with why (for the run's log).
        again = dict.fromkeys(redefined_loads(con, spec), "the source's definition changed")
        again |= dict.fromkeys(stale_loads(con, spec, specs), "a lookup it was validated against changed")
        again |= dict.fromkeys(redo, "its quarantine was replayed")
    current, _ = parsed_versions(paths.parsed / spec.name)
    pending = []
    for parsed_file in current:
        if parsed_file.stem in done and parsed_file.stem not in again:
            continue
        metadata = pq.read_metadata(parsed_file)
        file = metadata.metadata[FILE_KEY].decode()
        pending.append(ParsedLoad(parsed_file, parsed_file.stem, file, metadata.num_rows))
    if not pending:
        return []
    summaries = []
    # Rows are validated and written in SQL; no reader depends on the order they are stored in (dbt orders and
    # aggregates them explicitly, and within a load a row's number is kept in `_row`).
    with connect(paths.warehouse, spatial=kind.spatial, allowed=folders, ordered=False) as con:
        context = Context(con, {name: [s.name for s in lookups if s.kind == name] for name in kind.lookups})
        for batch in batches(pending, batch_rows):
            summaries += validate_files(spec, batch, context)
    return [replace(summary, again=again.get(summary.load_id)) for summary in summaries]


def batches(loads: list[ParsedLoad], batch_rows: int) -> list[list[ParsedLoad]]:
    """`loads` in order, in batches of at most `batch_rows` rows (a larger file alone)."""
    grouped: list[list[ParsedLoad]] = []
    rows = 0
    for load in loads:
        if not grouped or rows + load.rows > batch_rows:
            grouped.append([])
            rows = 0
        grouped[-1].append(load)
        rows += load.rows
    return grouped


def validate_files(spec: SourceSpec, loads: Sequence[ParsedLoad], context: Context) -> list[LoadSummary]:
    """Validate parsed files as one batch of loads of `spec` and write them into the warehouse of `context.con`, in
    one transaction."""
    kind = kind_of(spec)
    if spec.name not in context.tables_ensured:
        ensure_tables(context.con, spec.name, kind.columns)
        context.tables_ensured.add(spec.name)
    validated = kind.validate(spec, parsed_files_sql([load.parsed_file for load in loads]), context)
    return write_loads(
        context.con,
        source=spec.name,
        kind=kind,
        loads=[(load.load_id, load.file) for load in loads],
        loaded_at=context.now,
        definition=spec.definition_digest(),
        validated=validated,
    )


def validate_file(
    spec: SourceSpec, parsed_file: Path, load_id: str, file: str, context: Context
) -> LoadSummary:
    """Validate one parsed file as load `load_id` of `spec` (from landing file `file`): a batch of one."""
    return validate_files(spec, [ParsedLoad(parsed_file, load_id, file)], context)[0]


def stale_loads(con: duckdb.DuckDBPyConnection, spec: SourceSpec, specs: list[SourceSpec]) -> list[str]:
    """Loads of `spec` validated before the latest load of one of its lookup sources (`Kind.lookups`): a corrected
    boundary file or a replayed calendar may locate, or refuse, their rows differently. Validating one again
    stamps it with a later `loaded_at`, so it is not stale on the next run."""
    lookup_sources = [s.name for s in specs if s.kind in kind_of(spec).lookups]
    if not lookup_sources:
        return []
    rows = con.execute(
        "SELECT load_id FROM meta.loads WHERE source = ? AND loaded_at < "
        "(SELECT max(loaded_at) FROM meta.loads WHERE list_contains(?, source))",
        [spec.name, lookup_sources],
    ).fetchall()
    return [load_id for (load_id,) in rows]


NETWORK_CONNECTORS = {"socrata": socrata, "arcgis": arcgis}


def redefined_loads(con: duckdb.DuckDBPyConnection, spec: SourceSpec) -> list[str]:
    """Loads of `spec` validated under another definition than its current one (`SourceBase.definition_digest`: a
    corrected crosswalk, time format or null marker), or before definitions were kept. Validated again, they read
    as a full rebuild under the current definition would: no table mixes rows read under two."""
    rows = con.execute(
        "SELECT load_id FROM meta.loads WHERE source = ? AND definition IS DISTINCT FROM ?",
        [spec.name, spec.definition_digest()],
    ).fetchall()
    return [load_id for (load_id,) in rows]


def state_file(paths: Paths, source: str) -> Path:
    return paths.home / "state" / f"{source}.json"


def read_state(paths: Paths, source: str) -> dict:
    """{"cursor": ISO timestamp or None, "resume": where an interrupted run stopped, or None}."""
    file = state_file(paths, source)
    if not file.exists():
        return {"cursor": None, "resume": None}
    return json.loads(file.read_text())


def write_state(paths: Paths, source: str, state: dict) -> None:
    file = state_file(paths, source)
    file.parent.mkdir(parents=True, exist_ok=True)
    temporary = file.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(state, indent=2))
    os.replace(temporary, file)  # atomic: the old cursor or the new one, never half of each


def later(first: str | None, second: str | None) -> str | None:
    candidates = [pd.Timestamp(value) for value in (first, second) if value]
    return max(candidates).isoformat() if candidates else None


def land_pages(spec: SourceSpec, paths: Paths, app_token: str | None) -> Path | None:
    """Fetch what changed since the cursor (minus the look-back) into one parsed file; None when nothing did."""
    config = spec.connector
    connector = NETWORK_CONNECTORS[config.type]
    kind = kind_of(spec)
    state = read_state(paths, spec.name)
    if state.get("resume"):
        resume = state["resume"]
        lower, offset, high_water = resume["since"], resume["offset"], resume["high_water"]
    else:
        lower, offset, high_water = connector.since(config, state["cursor"]), 0, state["cursor"]
    target = paths.parsed / spec.name
    target.mkdir(parents=True, exist_ok=True)
    load_id = f"{pd.Timestamp.now(tz='UTC'):%Y%m%dT%H%M%S%f}-{offset}"
    destination = target / f"{load_id}.parquet"
    temporary = destination.with_suffix(".parquet.tmp")
    # What data_quality shows as the load's file; unique per load, so no load replaces another.
    label = f"{config.url}?since={lower or ''}&offset={offset}#{load_id}"
    writer, rows, failure = None, 0, None
    http = connector.session(config, app_token)
    try:
        for page in connector.pages(config, http, since=lower, offset=offset):
            table = kind.parse_records(
                spec, page.records, f"{config.url} (offset {page.offset})", page.offset + 1
            )
            if table.num_rows:
                if writer is None:
                    schema = table.schema.with_metadata({FILE_KEY: label})
                    writer = pq.ParquetWriter(temporary, schema)
                writer.write_table(table.cast(schema))
            rows += table.num_rows
            offset = page.offset + len(page.records)
            high_water = later(high_water, page.max_cursor)
    except (ConnectorError, SourceError) as error:
        failure = error
    except Exception as error:  # anything else still leaves a consistent resume point behind
        failure = error
    finally:
        http.close()
        if writer is not None:
            writer.close()
            os.replace(temporary, destination)  # the pages fetched so far, complete
    if failure is not None:
        write_state(
            paths,
            spec.name,
            {
                "cursor": state["cursor"],
                "resume": {"since": lower, "offset": offset, "high_water": high_water},
            },
        )
        kept = (
            f"{rows} rows fetched before it are kept in parsed/{spec.name}/{destination.name}; "
            if rows
            else ""
        )
        raise SourceError(f"{spec.name}: {failure}\n  {kept}the next run resumes at offset {offset}.")
    write_state(paths, spec.name, {"cursor": high_water, "resume": None})
    return destination if writer is not None else None
