"""Freshness per source: how long ago the source last delivered a new load (meta.loads.loaded_at).

The age of the newest *load* is what tells a data team that a feed stopped, not the age of the last Dagster
materialization: a scheduled run re-materializes `warehouse/<source>` every time, new file or not. A stale
source warns (it does not block): yesterday's tables are still correct, only not up to date.
"""

from __future__ import annotations

from datetime import datetime

import dagster as dg
import duckdb

from pipelines.kinds import kind_of
from pipelines.resources import DataHome
from pipelines.sources import SourceSpec
from pipelines.warehouse import connect


def evaluate_freshness(
    con: duckdb.DuckDBPyConnection, spec: SourceSpec, now: datetime
) -> tuple[bool, str, dict]:
    """(passed, message, metadata) for the source's newest load, as of `now` (warehouse local time)."""
    limit = kind_of(spec).freshness
    has_log = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'meta' AND table_name = 'loads'"
    ).fetchone()[0]
    newest = (
        con.execute("SELECT max(loaded_at) FROM meta.loads WHERE source = ?", [spec.name]).fetchone()[0]
        if has_log
        else None
    )
    metadata = {"max_age_hours": limit.total_seconds() / 3600}
    if newest is None:
        return False, f"{spec.name}: no load yet (expected one at least every {limit})", metadata
    age = now - newest
    metadata |= {"newest_load_at": newest.isoformat(), "age_hours": round(age.total_seconds() / 3600, 2)}
    if age > limit:
        return False, f"{spec.name}: newest load is {age} old (expected at most {limit})", metadata
    return True, f"{spec.name}: newest load is {age} old (limit {limit})", metadata


def freshness_check(spec: SourceSpec) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=dg.AssetKey(["warehouse", spec.name]),
        name="freshness",
        blocking=False,
        description=(
            f"Warns when {spec.name} has delivered no new load for more than "
            f"{kind_of(spec).freshness} ({spec.kind} sources)."
        ),
    )
    def _freshness(data_home: DataHome) -> dg.AssetCheckResult:
        warehouse = data_home.paths.warehouse
        if not warehouse.exists():
            passed, message, metadata = False, f"{spec.name}: no warehouse yet at {warehouse}", {}
        else:
            with connect(warehouse, read_only=True) as con:
                passed, message, metadata = evaluate_freshness(con, spec, datetime.now())
        return dg.AssetCheckResult(
            passed=passed, severity=dg.AssetCheckSeverity.WARN, description=message, metadata=metadata
        )

    return _freshness


def freshness_checks(specs: list[SourceSpec]) -> list[dg.AssetChecksDefinition]:
    return [freshness_check(spec) for spec in specs]
