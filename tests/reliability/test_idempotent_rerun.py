"""Property 1: running the same loads again leaves every table identical, and every key unique."""

from __future__ import annotations

import duckdb

# The key of every published table (CONTRACT §4). A table missing here fails the test until declared.
PUBLISHED_KEYS = {
    "neighborhoods": ["neighborhood_id"],
    "crime_monthly": ["neighborhood_id", "month"],
    "engagement_monthly": ["neighborhood_id", "month"],
    "trust_quarterly": ["neighborhood_id", "quarter"],
    "neighborhood_scorecard": ["neighborhood_id", "quarter"],
    "program_evaluation": ["program_id", "metric"],
    "program_event_study": ["program_id", "metric", "relative_period"],
    "survey_constructs_quarterly": ["neighborhood_id", "quarter", "construct"],
    "survey_by_group": ["neighborhood_id", "quarter", "construct", "dimension", "category"],
    "data_quality": ["source", "load_id"],
    "data_quality_reasons": ["source", "load_id", "reason"],
}
# Loaded rows are keyed by the load and the source record; a survey record becomes one row per item.
WAREHOUSE_KEYS = {"raw": ["load_id", "_row"], "quarantine": ["load_id", "_row"]}


def test_rerun_changes_no_table_and_no_file(reruns):
    assert reruns.exit_codes == [0, 0], "\n".join(log[-3000:] for log in reruns.logs)
    assert reruns.after["published"] == reruns.before["published"]  # byte for byte
    assert reruns.after["warehouse"] == reruns.before["warehouse"]
    assert reruns.after["snapshot"] == reruns.before["snapshot"]
    assert reruns.after["raw_files"] == reruns.before["raw_files"]


def duplicates(con, table: str, key: list[str]) -> int:
    columns = ", ".join(key)
    return con.execute(
        f"SELECT count(*) FROM (SELECT {columns} FROM {table} GROUP BY {columns} HAVING count(*) > 1)"
    ).fetchone()[0]


def test_every_key_is_unique_after_the_rerun(reruns):
    with duckdb.connect(str(reruns.home / "published" / "current" / "metrics.duckdb"), read_only=True) as con:
        tables = {
            name for (name,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
        }
        assert tables == set(PUBLISHED_KEYS)
        for table, key in PUBLISHED_KEYS.items():
            assert duplicates(con, table, key) == 0, table
    with duckdb.connect(str(reruns.home / "warehouse.duckdb"), read_only=True) as con:
        for schema, table in con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema IN ('raw', 'quarantine')"
        ).fetchall():
            key = WAREHOUSE_KEYS[schema] + (
                ["item"] if table.startswith("demo_survey") and schema == "raw" else []
            )
            assert duplicates(con, f'{schema}."{table}"', key) == 0, f"{schema}.{table}"
        assert duplicates(con, "meta.loads", ["source", "load_id"]) == 0
