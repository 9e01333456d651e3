"""great-expectations suites, one per source kind (declared by the kind), run on every load's loaded rows.

Row validation (pipelines/kinds) already quarantined each bad row with its reason; the suite checks the rows
that were let in against the contract of their kind (columns, nulls, ranges, allowed values, key uniqueness,
no date after the load). A failed expectation means the validation let something through — a bug or a
config change — so the `expectations` check blocks everything downstream of the source.

Results are kept in meta.load_expectations per (load, loaded_at): a load is validated once, again when it is
re-written (a corrected file, a quarantine replay), and a run killed in between validates it next time.

A load is validated in batches of about BATCH_ROWS rows, so that memory stays flat whatever a load's size (a
portal's first pull is the whole history in one load). Every expectation but uniqueness holds row by row; the
rows are split by a hash of the suite's unique key, so that all rows sharing a key value are in one batch and the
key is unique in the load exactly when it is in every batch. Small loads written together are validated together
in batches of up to BATCH_ROWS rows (`validate_group`), each alone only when the batch breaks an expectation. Groups,
and the batches of a load too large for one, are validated side by side in the validation worker's processes
(pipelines/validation_worker.py).
"""

from __future__ import annotations

import functools
import gc
import itertools
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd

from pipelines.checks.rules import Expectation
from pipelines.kinds import kind_of
from pipelines.sources import SourceSpec
from pipelines.warehouse import connect, quote

# A batch of this many crime rows is about 50 MB as a DataFrame, and great-expectations holds a few copies.
BATCH_ROWS = 500_000
UNIQUENESS = ("ExpectColumnValuesToBeUnique", "ExpectCompoundColumnsToBeUnique")
# A batch at least this large is followed by a garbage collection (`run_suite`).
COLLECT_AFTER_ROWS = 50_000


def suite_for(spec: SourceSpec, loaded_at: datetime) -> list[Expectation]:
    """The expectations of a load of `spec` written at `loaded_at`: its canonical columns exactly, then its
    kind's own (`Kind.expectations`)."""
    kind = kind_of(spec)
    columns = list(kind.columns)
    schema = Expectation(
        f"columns are exactly {columns}",
        "ExpectTableColumnsToMatchSet",
        {"column_set": columns, "exact_match": True},
    )
    return [schema, *kind.expectations(spec, loaded_at)]


@dataclass(frozen=True)
class Outcome:
    label: str
    success: bool
    unexpected: int | None  # rows breaking a row-level expectation
    observed: str | None  # what an aggregate expectation saw (a max, a column list)


def batch_key(expectations: list[Expectation]) -> list[str]:
    """The columns rows are split into batches by: those every uniqueness expectation of the suite includes
    (none: any split)."""
    keys = [
        e.kwargs["column_list"] if "column_list" in e.kwargs else [e.kwargs["column"]]
        for e in expectations
        if e.gx_class in UNIQUENESS
    ]
    if not keys:
        return []
    return [column for column in keys[0] if all(column in key for key in keys[1:])]


def combine(batches: list[list[Outcome]]) -> list[Outcome]:
    """One outcome per expectation from those of every batch: met when met in every batch, the rows breaking it
    summed, what a failing batch observed (else the first batch's)."""
    combined = []
    for outcomes in zip(*batches, strict=True):
        failed = [o for o in outcomes if not o.success]
        counts = [o.unexpected for o in outcomes if o.unexpected is not None]
        combined.append(
            Outcome(
                outcomes[0].label,
                not failed,
                sum(counts) if counts else None,
                (failed or outcomes)[0].observed,
            )
        )
    return combined


def validate_load(
    con: duckdb.DuckDBPyConnection,
    spec: SourceSpec,
    load_id: str,
    expectations: list[Expectation],
    batch_rows: int = BATCH_ROWS,
) -> list[Outcome]:
    """Run `expectations` on the loaded rows of one load, in batches of about `batch_rows` rows (a hash splits
    them: a batch may hold a few more)."""
    rows = con.execute(
        f"SELECT count(*) FROM raw.{quote(spec.name)} WHERE load_id = ?", [load_id]
    ).fetchone()[0]
    batches = batch_count(rows, batch_rows)
    return combine(
        [validate_batch(con, spec, load_id, expectations, batch, batches) for batch in range(batches)]
    )


def batch_count(rows: int, batch_rows: int) -> int:
    return max(1, -(-rows // batch_rows))


def validate_batch(
    con: duckdb.DuckDBPyConnection,
    spec: SourceSpec,
    load_id: str,
    expectations: list[Expectation],
    batch: int,
    batches: int,
) -> list[Outcome]:
    """Run `expectations` on batch `batch` of `batches` of the loaded rows of one load (`validate_load`)."""
    if batches == 1:
        return run_suite(
            expectations, frame(con, f"{loaded_rows(spec)} WHERE load_id = $load_id", {"load_id": load_id})
        )
    key = batch_key(expectations)
    # The remainder of an unsigned hash by an unsigned count: with integer parameters, DuckDB computed it in HUGEINT,
    # and each half of a crime load of 640,000 rows took 0.7 s to read instead of 0.15 s.
    split = f"hash({', '.join(quote(c) for c in key) if key else '_row'})"
    rows = frame(
        con,
        f"{loaded_rows(spec)} WHERE load_id = $load_id "
        f"AND {split} % CAST($batches AS UBIGINT) = CAST($batch AS UBIGINT)",
        {"load_id": load_id, "batches": batches, "batch": batch},
    )
    return run_suite(expectations, rows)


def loaded_rows(spec: SourceSpec) -> str:
    """The query of the loaded rows of `spec` in its kind's canonical columns, for a WHERE clause to follow."""
    return f"SELECT {', '.join(kind_of(spec).columns)} FROM raw.{quote(spec.name)}"


def frame(con: duckdb.DuckDBPyConnection, query: str, parameters: dict) -> pd.DataFrame:
    """A query's rows as a DataFrame through Arrow: the same columns and types as DuckDB's own `.df()` (dates as
    datetime64), about three times faster on a load of 380,000 crime rows (0.15 s against 0.45 s)."""
    return con.execute(query, parameters).fetch_arrow_table().to_pandas(date_as_object=False)


def _nanoseconds(rows: pd.DataFrame) -> pd.DataFrame:
    """Timestamps as nanoseconds, the resolution great-expectations compares in bulk (others row by row); a
    column with a value beyond what nanoseconds reach (before 1677, after 2262) stays as it is."""
    for column in rows.columns:
        if pd.api.types.is_datetime64_dtype(rows[column].dtype):
            try:
                rows[column] = rows[column].astype("datetime64[ns]")
            except (OverflowError, pd.errors.OutOfBoundsDatetime):
                continue
    return rows


def run_suite(expectations: list[Expectation], rows: pd.DataFrame) -> list[Outcome]:
    """Validate a DataFrame with great-expectations (an ephemeral context: nothing written to disk)."""
    try:
        return validate_frame(expectations, rows)
    finally:
        # great-expectations' objects of one validation reference each other, and hold copies of the batch: left
        # to Python's infrequent full collections, they piled up load after load. Measured on loads of 380,000
        # crime rows: the process peaked at 953 MB after 10 loads without this collection, 753 MB with it. A
        # collection traverses every object of the process (~0.2 s, less under `validate_new_loads`, which sets
        # the older ones aside), so small batches (a roster file) leave theirs to Python.
        if len(rows) >= COLLECT_AFTER_ROWS:
            gc.collect()


@functools.cache
def great_expectations_context():
    """great-expectations' ephemeral context (nothing written to disk) and the batch definition of a pandas data
    source whose one batch is a whole DataFrame, made once per process: setting them up saves the context's
    settings and data source as YAML, about 0.1 s, and a run validates a dozen groups of loads or more."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig
    from great_expectations.execution_engine import pandas_execution_engine

    # great-expectations fingerprints every pandas batch by hashing all its rows, for batch markers nothing here
    # reads, unless the frame is larger than this threshold (in bytes). Without it, the 8.4 M city's 39 crime loads
    # took 8.1-8.7 s instead of 9.9-10.7 s (19.5-20.6 s of CPU instead of 23.0-24.7 s).
    pandas_execution_engine.HASH_THRESHOLD = 0

    context = gx.get_context(mode="ephemeral")
    context.enable_analytics(False)  # never phone home: the pipeline runs offline
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_pandas("load")
    return context, source.add_dataframe_asset("rows").add_batch_definition_whole_dataframe("whole")


def validate_frame(expectations: list[Expectation], rows: pd.DataFrame) -> list[Outcome]:
    import great_expectations as gx

    context, whole = great_expectations_context()
    suite = context.suites.add(
        gx.ExpectationSuite(
            "load",
            expectations=[
                getattr(gx.expectations, e.gx_class)(**e.kwargs, meta={"label": e.label})
                for e in expectations
            ],
        )
    )
    try:
        # A validation definition reads the batch once; getting the batch, then validating it, read it twice.
        validation = context.validation_definitions.add(
            gx.ValidationDefinition(name="load", data=whole, suite=suite)
        )
        try:
            # BASIC has all an `Outcome` reads (the rows breaking an expectation, what an aggregate one observed).
            # SUMMARY adds counts of the unexpected values and their rows' positions, which nothing here reads: the
            # 8.4 M city's 26 crime loads took 19.2-22.6 s of CPU with BASIC, 19.9-24.4 s with SUMMARY (3 pairs).
            results = validation.run(
                batch_parameters={"dataframe": _nanoseconds(rows)}, result_format="BASIC"
            )
        finally:
            context.validation_definitions.delete("load")
    finally:
        # The context is the process's: the next validation adds its own suite, and the results the run kept in
        # the context's (in-memory) store would pile up in a long-lived process.
        context.suites.delete("load")
        store = context.validation_results_store
        for key in store.list_keys():
            store.remove_key(key)
    outcomes = []
    for r in results.results:
        label = r.expectation_config.meta["label"]
        if r.exception_info.get("raised_exception"):
            raise RuntimeError(
                f"expectation '{label}' could not run: {r.exception_info['exception_message']}"
            )
        observed = r.result.get("observed_value")
        outcomes.append(
            Outcome(
                label,
                bool(r.success),
                r.result.get("unexpected_count"),
                None if observed is None else str(observed)[:200],
            )
        )
    return outcomes


def ensure_results_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS meta")
    con.execute(
        "CREATE TABLE IF NOT EXISTS meta.load_expectations (source VARCHAR, load_id VARCHAR, loaded_at TIMESTAMP, "
        "expectation VARCHAR, success BOOLEAN, unexpected_rows BIGINT, observed VARCHAR)"
    )


def groups_of_loads(loads: list[tuple], bound: int) -> list[list[tuple]]:
    """Consecutive `loads` (load_id, loaded_at, rows in raw or None) in groups written at the same moment (one
    suite) of at most `bound` rows, or of one larger load."""
    groups: list[list[tuple]] = []
    total = 0
    for load in loads:
        rows = load[2] or 0
        if not groups or total + rows > bound or load[1] != groups[-1][0][1]:
            groups.append([])
            total = 0
        groups[-1].append(load)
        total += rows
    return groups


def validate_group(
    con: duckdb.DuckDBPyConnection, spec: SourceSpec, group: list[tuple]
) -> dict[str, list[Outcome]]:
    """The outcomes of each load of a group (`groups_of_loads`). Every expectation of a suite that holds on a set
    of rows holds on each part of it (row by row; a key unique in all the rows is unique in each load), with no
    row breaking it: so the loads are validated together first, one great-expectations run where a roster source's
    312 files took 312. Only when the rows together break an expectation is each load validated alone, to say which
    loads break it and with how many rows."""
    suite = suite_for(spec, group[0][1])
    load_ids = [load_id for load_id, _, _ in group]
    if len(group) > 1:
        rows = frame(
            con, f"{loaded_rows(spec)} WHERE load_id IN (SELECT unnest($load_ids))", {"load_ids": load_ids}
        )
        together = run_suite(suite, rows)
        if all(outcome.success for outcome in together):
            return dict.fromkeys(load_ids, together)
    return {load_id: validate_load(con, spec, load_id, suite) for load_id in load_ids}


def validate_new_loads(warehouse: Path, spec: SourceSpec, pool: Executor | None = None) -> int:
    """Run the suite on every current load of `spec` not yet validated as it is now; returns how many. `pool`: where
    groups of loads, and the batches of a load too large for one, are validated side by side (the expectations
    worker's processes); else one after another.

    Results of a load that is gone or was written again (a corrected file, a replay) are dropped first, so
    meta.load_expectations holds exactly the results of the current loads. The results are written once every group
    is validated: a run killed before validates the loads again next time."""
    with connect(warehouse) as con:
        ensure_results_table(con)
        con.execute(
            """
            DELETE FROM meta.load_expectations e WHERE e.source = $source AND NOT EXISTS (
                SELECT 1 FROM meta.loads l
                WHERE l.source = e.source AND l.load_id = e.load_id AND l.loaded_at = e.loaded_at)
            """,
            {"source": spec.name},
        )
        # Each load with the rows it holds in raw (a survey response is a row per answer there).
        pending = con.execute(
            f"""
            SELECT l.load_id, l.loaded_at, (SELECT count(*) FROM raw.{quote(spec.name)} r WHERE r.load_id = l.load_id)
            FROM meta.loads l
            WHERE l.source = $source AND NOT EXISTS (
                SELECT 1 FROM meta.load_expectations e
                WHERE e.source = l.source AND e.load_id = l.load_id AND e.loaded_at = l.loaded_at)
            ORDER BY l.load_id
            """,
            {"source": spec.name},
        ).fetchall()
    groups = groups_of_loads(pending, BATCH_ROWS)
    if not groups:
        return 0
    # What is validated side by side: a group of loads, or a batch of a load too large for one, each on a connection
    # of its own (`task_outcomes`). The 17 batches of a city's whole history in one file, one after another on one
    # connection, took the process to 917 MB with what DuckDB kept of its reads; as tasks, its processes peak at 739.
    tasks = [
        (group, batch, batches)
        for group in groups
        for batches in [batch_count(group[0][2], BATCH_ROWS) if len(group) == 1 else 1]
        for batch in range(batches)
    ]
    # The objects of the process older than these validations (great-expectations' own in the expectations
    # worker; in a pipeline process Dagster's, dbt's and the definitions' too, about 460,000) are set aside while
    # they run, so that each batch's collection (`run_suite`) traverses only what came after: measured in a
    # pipeline process on six loads of 356,000 crime rows, 0.27 s less per load, a quarter of its validation.
    gc.freeze()
    try:
        run = pool.map if pool is not None and len(tasks) > 1 else map
        by_task = list(run(task_outcomes, itertools.repeat(warehouse), itertools.repeat(spec), tasks))
    finally:
        gc.unfreeze()  # back among the oldest objects, collected as before
    # A load's outcomes, from its group's or from each of its batches'.
    parts: dict[str, list[list[Outcome]]] = {load_id: [] for load_id, _, _ in pending}
    for by_load in by_task:
        for load_id, outcomes in by_load.items():
            parts[load_id].append(outcomes)
    with connect(warehouse) as con:
        con.execute("BEGIN TRANSACTION")
        con.executemany(
            "INSERT INTO meta.load_expectations VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                [spec.name, load_id, loaded_at, o.label, o.success, o.unexpected, o.observed]
                for load_id, loaded_at, _ in pending
                for o in combine(parts[load_id])
            ],
        )
        con.execute("COMMIT")
    return len(pending)


def task_outcomes(warehouse: Path, spec: SourceSpec, task: tuple) -> dict[str, list[Outcome]]:
    """The outcomes of a task of `validate_new_loads` by load: `validate_group` of several loads, or `validate_batch` of
    one load's batch (its rows already counted: not again), on a read-only connection of its own. DuckDB keeps the blocks a connection has read cached up to its memory limit:
    over a city's history (26 loads of ~330,000 incidents) one connection for all took this phase's peak from 773 to
    963 MB; one per load made the 312 files of a roster source 12 s slower."""
    group, batch, batches = task
    with connect(warehouse, read_only=True) as con:
        if len(group) > 1:
            return validate_group(con, spec, group)
        ((load_id, loaded_at, _),) = group
        return {load_id: validate_batch(con, spec, load_id, suite_for(spec, loaded_at), batch, batches)}


def failed_expectations(con: duckdb.DuckDBPyConnection, source: SourceSpec) -> tuple[bool, str, dict]:
    """The `expectations` check: every current load of the source meets its suite (after
    `validate_new_loads`, which leaves only the current loads' results)."""
    ensure_results_table(con)
    failures = con.execute(
        """
        SELECT l.file, e.expectation, e.unexpected_rows, e.observed
        FROM meta.load_expectations e JOIN meta.loads l USING (source, load_id)
        WHERE e.source = ? AND NOT e.success ORDER BY l.file, e.expectation
        """,
        [source.name],
    ).fetchall()
    validated = con.execute(
        "SELECT count(DISTINCT load_id), count(*) FROM meta.load_expectations WHERE source = ?", [source.name]
    ).fetchone()
    metadata = {
        "loads_validated": validated[0],
        "expectations_evaluated": validated[1],
        "failed": len(failures),
    }
    if failures:
        lines = [
            f"{file}: expected {label}"
            + (f" — {unexpected} row(s) do not" if unexpected else "")
            + (f" (observed {observed})" if observed and not unexpected else "")
            for file, label, unexpected, observed in failures[:10]
        ]
        metadata["failures"] = "\n".join(lines)
        return False, f"{source.name}: {len(failures)} expectation(s) failed:\n" + "\n".join(lines), metadata
    return True, f"{source.name}: {validated[1]} expectations met on {validated[0]} load(s)", metadata
