"""Blocking load-level checks: when one fails, nothing downstream builds on the bad load.

Each check looks at every current load of the source (not only this run's), so a bad load keeps blocking
until its file is corrected or removed.
"""

from __future__ import annotations

import dagster as dg
import duckdb

from pipelines.checks.expectations import failed_expectations
from pipelines.checks.rules import LoadCheck
from pipelines.kinds import kind_of
from pipelines.sources import SourceSpec
from pipelines.warehouse import quote

# Quarantined by design, not because the data is bad: they are counted in data_quality but never block.
EXPECTED_EXCLUSIONS = ("incomplete_response", "duplicate_response_superseded")


def _quarantine_share(con: duckdb.DuckDBPyConnection, source: SourceSpec) -> tuple[bool, str, dict]:
    worst = con.execute(
        """
        WITH bad AS (
            SELECT load_id, sum(rows) AS rows
            FROM meta.load_reasons WHERE source = $source AND reason NOT IN (SELECT unnest($expected))
            GROUP BY load_id
        )
        SELECT l.load_id, l.file, l.rows_received, coalesce(bad.rows, 0),
               coalesce(bad.rows, 0) / greatest(l.rows_received, 1) AS share
        FROM meta.loads l LEFT JOIN bad USING (load_id)
        WHERE l.source = $source ORDER BY share DESC, l.file LIMIT 1
        """,
        {"source": source.name, "expected": list(EXPECTED_EXCLUSIONS)},
    ).fetchone()
    if worst is None:
        return True, f"{source.name}: no loads yet", {}
    load_id, file, received, quarantined, share = worst
    limit = source.max_quarantine_share
    metadata = {"worst_file": file, "worst_share": float(share), "threshold": limit}
    if share > limit:
        return (
            False,
            (
                f"{source.name}: {file}: {quarantined} of {received} rows refused ({share:.1%}, above the "
                f"{limit:.1%} threshold); most common reasons: {top_reasons(con, source.name, load_id)}. "
                f"See quarantine.{source.name}."
            ),
            metadata,
        )
    return (
        True,
        f"{source.name}: at most {share:.2%} of a load's rows quarantined (threshold {limit:.1%})",
        metadata,
    )


def top_reasons(
    con: duckdb.DuckDBPyConnection, source: str, load_id: str, reasons: int = 3, values: int = 3
) -> str:
    """A load's most common refusal reasons, each with its most common details (the file's column and value):
    `invalid_answer in 34 rows: Q3: 'Somewhat agree' (30), Q5: 'Agree strongly' (4)`."""
    rows = con.execute(
        f"""
        SELECT reason, detail, count(*) AS n, min(_row) AS first_row FROM quarantine.{quote(source)}
        WHERE load_id = $load_id AND reason NOT IN (SELECT unnest($expected))
        GROUP BY reason, detail
        """,
        {"load_id": load_id, "expected": list(EXPECTED_EXCLUSIONS)},
    ).fetchall()
    by_reason: dict[str, list[tuple[str | None, int, int]]] = {}
    for reason, detail, n, first_row in rows:
        by_reason.setdefault(reason, []).append((detail, n, first_row))
    ranked = sorted(by_reason.items(), key=lambda item: (-sum(n for _, n, _ in item[1]), item[0]))
    parts = []
    for reason, details in ranked[:reasons]:
        details.sort(key=lambda d: (-d[1], d[2]))
        cited = [f"{detail} ({n})" for detail, n, _ in details if detail is not None]
        more = len(cited) - values
        listed = ", ".join(cited[:values]) + (f", and {more} more" if more > 0 else "")
        rows = sum(n for _, n, _ in details)
        parts.append(f"{reason} in {rows} row{'s' if rows != 1 else ''}" + (f": {listed}" if listed else ""))
    return "; ".join(parts)


QUARANTINE_SHARE = LoadCheck(
    "quarantine_share",
    "Blocks when any load quarantines more than the source's max_quarantine_share.",
    _quarantine_share,
)
EXPECTATIONS = LoadCheck(
    "expectations",
    "Blocks when the rows a load let in break its kind's great-expectations suite (see pipelines/checks).",
    failed_expectations,
)


def load_checks(source: SourceSpec) -> list[LoadCheck]:
    """The blocking checks of a source: those every source has, then its kind's own."""
    return [QUARANTINE_SHARE, EXPECTATIONS, *kind_of(source).load_checks(source)]


def check_spec(check: LoadCheck, source: SourceSpec) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        check.name,
        asset=dg.AssetKey(["warehouse", source.name]),
        blocking=True,
        description=check.description,
    )


def evaluate(check: LoadCheck, con: duckdb.DuckDBPyConnection, source: SourceSpec) -> dg.AssetCheckResult:
    passed, message, metadata = check.run(con, source)
    return dg.AssetCheckResult(
        check_name=check.name,
        asset_key=dg.AssetKey(["warehouse", source.name]),
        passed=passed,
        severity=dg.AssetCheckSeverity.ERROR,
        description=message,
        metadata=metadata,
    )
