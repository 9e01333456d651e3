"""Lint-time stand-in for dbt's `target`: the models are linted as DuckDB renders them."""

type = "duckdb"  # noqa: A001 (dbt's attribute name)
