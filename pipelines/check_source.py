"""`neighborhood-metrics check-source YAML [--sample FILE]`: what a load of the sample would do, before any run.

The sample is parsed and validated by its kind's own code, against the deployment's own lookups (the
boundaries and calendars defined beside the YAML, read from the data home's files), into an in-memory
warehouse; the run's own blocking load checks then decide. Nothing is written and no portal is called.

Exit 0 when the sample would load, 1 when the run would block on it, 2 when the YAML or the sample cannot be
read.
"""

from __future__ import annotations

import os
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import pyarrow.parquet as pq

from pipelines.ingest import FILE_KEY, validate_file
from pipelines.kinds import kind_of
from pipelines.kinds.base import Context
from pipelines.settings import Paths
from pipelines.sources import SourceError, SourceSpec, load_source, load_sources

# Distinct values listed per reason; the rest are counted.
VALUES_SHOWN = 10
# What each refusal means, after `<column>: <value> in <n> of <m> rows`.
MEANING = {
    "invalid_answer": "is not on the scale nor a missing code",
    "unknown_neighborhood": "matches no neighborhood id or name of the boundaries (nor the crosswalk or aliases)",
    "unparseable_submitted_at": "does not match timestamp_format",
    "unparseable_occurred_at": "does not match timestamp_format",
    "unparseable_starts_at": "does not match timestamp_format",
    "submitted_at_in_future": "is in the future",
    "occurred_at_in_future": "is in the future",
    "unknown_event": "is in no event calendar of the deployment",
    "ambiguous_event": "matches several calendar events that day",
}
SAMPLE_LOAD = "check-source-sample"


def check_source(file: str, sample: str | None, home: str | None = None) -> int:
    """Validate a source YAML (and a sample file against it). Exit 0 when usable, 1 when the run would block on
    the sample, 2 when the YAML or the sample is unusable."""
    try:
        spec = load_source(Path(file))
        print(f"{file}: OK ({describe(spec)})")
        if not sample:
            return 0
        paths = Paths.from_env()
        if home is not None:
            paths = replace(paths, home=Path(home).resolve())
        return check_sample(spec, Path(sample), paths)
    except SourceError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def describe(spec: SourceSpec) -> str:
    if spec.connector == "file":
        return f"{spec.kind} source {spec.name!r}, files {spec.landing_glob!r}"
    connector = spec.connector
    cursor = (
        f"incremental on {connector.cursor_field} with a {connector.lookback_days:g}-day look-back"
        if connector.cursor_field
        else "the whole dataset every run"
    )
    token = getattr(connector, "app_token_env", None)
    return (
        f"{spec.kind} source {spec.name!r}, {connector.type} {connector.url}, pages of {connector.page_size} "
        f"ordered by {connector.order_by}, {cursor}"
        + (
            f", app token from ${token}{'' if os.environ.get(token) else ' (not set: anonymous, rate-limited)'}"
            if token
            else ""
        )
    )


def check_sample(spec: SourceSpec, sample: Path, paths: Paths) -> int:
    from pipelines.checks.load_checks import EXPECTED_EXCLUSIONS, load_checks
    from pipelines.warehouse import connect, quote

    kind = kind_of(spec)
    salt = os.environ.get("NBHD_PII_SALT") or "check-source-only"
    with (
        tempfile.TemporaryDirectory(prefix="check-source-") as scratch,
        connect(None, spatial=True, allowed=[Path(scratch), sample.resolve().parent, paths.home]) as con,
    ):
        parsed = Path(scratch) / f"{SAMPLE_LOAD}.parquet"
        kind.land(spec, sample, parsed, {}, con, salt)
        schema = pq.read_schema(parsed)
        rows = pq.read_metadata(parsed).num_rows
        print(f"{sample}: {rows} rows with columns {[c for c in schema.names if c != '_row']}")
        context = deployment_lookups(con, spec, paths, salt, Path(scratch))
        summary = validate_file(spec, parsed, SAMPLE_LOAD, str(sample), context)
        received = summary.rows_received
        notes = con.execute(
            "SELECT note, rows FROM meta.load_notes WHERE source = ? ORDER BY note", [spec.name]
        )
        for note, count in notes.fetchall():
            print(f"  {note}: {count} rows would be loaded changed (see docs/data-quality.md)")
        refusals = con.execute(
            f"SELECT reason, detail, count(*), min(_row) FROM quarantine.{quote(spec.name)} "
            "GROUP BY reason, detail ORDER BY reason, count(*) DESC, min(_row)"
        ).fetchall()
        # The run's own blocking checks, on a warehouse holding the sample as its one load (the expectations
        # suite is left out: it catches validation bugs, not bad rows).
        verdicts = [
            (check.name, *check.run(con, spec)[:2])
            for check in load_checks(spec)
            if check.name != "expectations"
        ]
        findings = kind.check_sample(spec, sample, con)

    blocked = any(not passed for _, passed, _ in verdicts)
    # The refusals are errors when their share blocks the load, warnings when it does not.
    level = (
        "error"
        if any(name == "quarantine_share" and not passed for name, passed, _ in verdicts)
        else "warning"
    )
    by_reason: dict[str, list[tuple[str | None, int]]] = {}
    for reason, detail, count, _ in refusals:
        by_reason.setdefault(reason, []).append((detail, count))
    for reason, details in sorted(by_reason.items(), key=lambda item: -sum(n for _, n in item[1])):
        total = sum(count for _, count in details)
        if reason in EXPECTED_EXCLUSIONS:
            print(f"  {total} of {received} rows would be set aside as {reason} (by design: never blocks)")
            continue
        meaning = MEANING.get(reason, "")
        for detail, count in details[:VALUES_SHOWN]:
            print(
                f"{level}: {sample}: {reason}{f': {detail}' if detail else ''} in {count} of {received} rows"
                + (f" {meaning}" if meaning else ""),
                file=sys.stderr,
            )
        if len(details) > VALUES_SHOWN:
            rest = details[VALUES_SHOWN:]
            print(
                f"{level}: {sample}: {reason}: {len(rest)} more values in {sum(c for _, c in rest)} rows",
                file=sys.stderr,
            )
    for level, text in findings:
        if level == "note":
            print(f"  {text}")
        else:
            print(f"{level}: {sample}: {text}", file=sys.stderr)
    for name, passed, message in verdicts:
        message = message.removesuffix(f" See quarantine.{spec.name}.")  # nothing is written here
        if passed:
            print(f"  check {name}: {message}")
        else:
            print(f"error: {sample}: check {name} would block the load: {message}", file=sys.stderr)
    return 1 if blocked or any(level == "error" for level, _ in findings) else 0


def lookups_in_load_order(kind: str) -> list[str]:
    """The kinds a run validates `kind` against (`Kind.lookups`), with theirs first: a roster needs the
    calendars, which are themselves located in the boundaries."""
    from pipelines.kinds import KINDS

    order: list[str] = []
    for lookup in KINDS[kind].lookups:
        order += [k for k in [*lookups_in_load_order(lookup), lookup] if k not in order]
    return order


def deployment_lookups(con, spec: SourceSpec, paths: Paths, salt: str, scratch: Path) -> Context:
    """The boundaries and calendars the run would validate `spec`'s rows against: the sources of those kinds
    defined beside the YAML, loaded (validated as a run would) from their files in the data home into `con`."""
    from pipelines.warehouse import ensure_tables, quote

    wanted = lookups_in_load_order(spec.kind)
    siblings = [s for s in load_sources(spec.definition_dir) if s.kind in wanted and s.name != spec.name]
    loaded_lookups: dict[str, list[str]] = {}
    for kind in wanted:
        for lookup in (s for s in siblings if s.kind == kind):
            ensure_tables(con, lookup.name, kind_of(lookup).columns)
            context = Context(con, loaded_lookups)
            files = lookup_files(con, lookup, paths, salt, scratch)
            received = loaded = 0
            for number, (label, parsed) in enumerate(files):
                summary = validate_file(lookup, parsed, f"{lookup.name}-{number}", label, context)
                received += summary.rows_received
                loaded += summary.rows_loaded
            loaded_lookups.setdefault(kind, []).append(lookup.name)
            where = f"{paths.home / lookup.landing_glob}" + (
                f" or {paths.parsed / lookup.name}" if lookup.connector != "file" else ""
            )
            print(
                f"  {kind} lookup {lookup.name}: {loaded} of {received} rows loaded from {len(files)} file(s) in {where}"
                if files
                else f"  {kind} lookup {lookup.name}: no files in {where}: nothing to match against"
            )
            notes = con.execute(
                "SELECT note, sum(rows) FROM meta.load_notes WHERE source = ? GROUP BY note ORDER BY note",
                [lookup.name],
            ).fetchall()
            for note, count in notes:
                print(f"    {note}: {count} rows (loaded, see docs/data-quality.md)")
            # What is refused in a lookup refuses what it would have matched: a point in a refused boundary.
            refused = con.execute(
                f"SELECT reason, detail FROM quarantine.{quote(lookup.name)} ORDER BY _file, _row"
            ).fetchall()
            for reason, detail in refused:
                print(f"    refused {reason}" + (f": {detail}" if detail else ""))
    return Context(con, loaded_lookups)


def lookup_files(con, spec: SourceSpec, paths: Paths, salt: str, scratch: Path) -> list[tuple[str, Path]]:
    """A lookup source's parsed files as a run would load them: every parsed file an earlier run kept (a network
    source's pages), and the landing files not landed yet, parsed into `scratch`; each with the landing file it
    came from."""
    from pipelines.connectors.files import landing_files

    files: dict[str, tuple[str, Path]] = {}
    for parsed_file in sorted((paths.parsed / spec.name).glob("*.parquet")):
        label = (pq.read_schema(parsed_file).metadata or {}).get(FILE_KEY, parsed_file.name.encode()).decode()
        files[parsed_file.stem] = (label, parsed_file)
    if spec.connector == "file":
        for landing in landing_files(paths.home, spec.landing_glob):
            if landing.load_id in files:
                continue
            parsed = scratch / spec.name / f"{landing.load_id}.parquet"
            parsed.parent.mkdir(parents=True, exist_ok=True)
            try:
                kind_of(spec).land(spec, landing.path, parsed, {}, con, salt)
            except SourceError as error:  # the run would not load it either: the others still count
                print(f"warning: {spec.name}: {error} (not used)", file=sys.stderr)
                continue
            files[landing.load_id] = (landing.relative, parsed)
    return list(files.values())
