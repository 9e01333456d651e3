"""The same dbt project built on Spark (dbt-spark, local PySpark session) publishes the same metrics as DuckDB.

A demo city goes through the normal pipeline (DuckDB, published/<table>.parquet); its dbt sources are then
exported to Parquet and `dbt build --target spark` runs every model, test and unit test on a real Spark. Every
published mart must come out the same: same columns, same rows (sorted by the mart's grain), same values (floats
to rtol 1e-9; types may differ, e.g. Spark writes UTC timestamps), NULLs where DuckDB has NULLs. Run with
`make test-spark` (installs the `spark` extra; needs Java 17).
"""

from __future__ import annotations

import datetime as dt
import math
import os
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from pipelines.settings import DBT_PROJECT_DIR, DEMO_SOURCES_DIR, Paths
from pipelines.spark import SparkPaths, dbt_build, export_sources, source_relations
from tests.conftest import run_cli
from tests_spark.conftest import TIMINGS

# Four years of data, so that every program has full pre and post windows (program_evaluation has estimates).
DEMO_SIZE = 20000
# At this size a neighborhood-quarter has ~8 survey respondents: publish cells of 5 or more, so that
# trust_quarterly has values to compare rather than suppressed NULLs.
MIN_CELL = "5"
# Everything up to published/<table>.parquet; the docs site and the HTML report are not compared.
TABLES_ONLY = 'not key:"published_docs" and not key:"published_report"'
RTOL = 1e-9
# Differences of nearly equal rates (e.g. `did`, `*_change_qoq`) can be ~0; compare those absolutely.
ATOL = 1e-9


def published_marts() -> dict[str, list[str]]:
    """Every published mart (schema `published`) with its grain, from the marts' YAML."""
    marts = {}
    for file in (DBT_PROJECT_DIR / "models" / "marts").rglob("_*__models.yml"):
        for model in yaml.safe_load(file.read_text())["models"]:
            grain = next(
                test["unique_combination_of_columns"]["arguments"]["combination_of_columns"]
                for test in model.get("data_tests", [])
                if isinstance(test, dict) and "unique_combination_of_columns" in test
            )
            marts[model["name"]] = grain
    return marts


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Paths, Path]:
    """A demo city built by the pipeline on DuckDB, then by dbt on Spark: (its paths, Spark's published dir)."""
    from pipelines.demo.generate import generate_demo_city

    home = tmp_path_factory.mktemp("spark_demo")
    timings = TIMINGS
    start = time.monotonic()
    generate_demo_city(home / "landing", DEMO_SIZE)
    result = run_cli(
        "run",
        "--home",
        str(home),
        "--select",
        TABLES_ONLY,
        env={"NBHD_SOURCES_DIR": str(DEMO_SOURCES_DIR), "NBHD_MIN_CELL": MIN_CELL},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]
    timings["demo + DuckDB pipeline"] = time.monotonic() - start

    paths = Paths(
        home=home.resolve(),
        sources_dir=DEMO_SOURCES_DIR,
        warehouse=(home / "warehouse.duckdb").resolve(),
        publish_dir=(home / "published").resolve(),
    )
    start = time.monotonic()
    counts = export_sources(paths)
    timings["export"] = time.monotonic() - start
    assert set(counts) == {f"{schema}.{table}" for schema, table in source_relations()}
    assert counts["canonical.crime_incidents"] > 0

    start = time.monotonic()
    with pytest.MonkeyPatch.context() as env:
        for name in [name for name in os.environ if name.startswith("NBHD_SPARK_")]:
            env.delenv(name)  # the profile's defaults: a local session, everything under <home>/spark
        env.setenv("NBHD_MIN_CELL", MIN_CELL)  # as in the DuckDB run
        build = dbt_build(paths)
        spark_published = SparkPaths.of(paths).published
    timings["dbt build on Spark"] = time.monotonic() - start
    assert build.returncode == 0, build.stdout[-8000:] + build.stderr[-4000:]
    return paths, spark_published


def normalized(value):
    """A value as both engines' Parquet files can be compared: timestamps naive (Spark writes UTC instants of
    the same wall-clock values DuckDB keeps without a zone)."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def same(left, right) -> bool:
    if left is None or right is None:
        return left is None and right is None
    if isinstance(left, bool) != isinstance(right, bool):
        return False
    if isinstance(left, float) or isinstance(right, float):
        if math.isnan(left) or math.isnan(right):
            return math.isnan(left) and math.isnan(right)
        return math.isclose(left, right, rel_tol=RTOL, abs_tol=ATOL)
    return normalized(left) == normalized(right)


def read_sorted(path: Path, grain: list[str]) -> dict[str, list]:
    table = pq.read_table(path)
    table = table.sort_by([(key, "ascending") for key in grain])
    return {name: table.column(name).to_pylist() for name in table.column_names}


def test_every_published_mart_is_built_on_spark(built):
    paths, spark_published = built
    spark_tables = {p.name for p in spark_published.iterdir() if p.is_dir()}
    duckdb_tables = {p.stem for p in (paths.publish_dir / "current").glob("*.parquet")}
    assert set(published_marts()) == duckdb_tables == spark_tables


@pytest.mark.parametrize(("table", "grain"), sorted(published_marts().items()))
def test_spark_publishes_the_same_metrics_as_duckdb(built, table, grain):
    paths, spark_published = built
    duckdb = read_sorted(paths.publish_dir / "current" / f"{table}.parquet", grain)
    spark = read_sorted(spark_published / table, grain)
    assert list(spark) == list(duckdb), f"{table}: columns differ"
    rows = len(duckdb[grain[0]])
    assert rows > 0, f"{table} is empty: nothing compared"
    assert len(spark[grain[0]]) == rows, f"{table}: {len(spark[grain[0]])} rows on Spark, {rows} on DuckDB"
    for column, expected in duckdb.items():
        actual = spark[column]
        differing = [i for i in range(rows) if not same(expected[i], actual[i])]
        where = [{key: duckdb[key][i] for key in grain} for i in differing[:3]]
        assert not differing, (
            f"{table}.{column}: {len(differing)} of {rows} rows differ, e.g. at {where}: "
            f"DuckDB {[expected[i] for i in differing[:3]]}, Spark {[actual[i] for i in differing[:3]]}"
        )


@pytest.mark.parametrize(
    ("table", "column"),
    [
        ("crime_monthly", "violent_per_1k_12m"),
        ("trust_quarterly", "trust_index_ci_low"),
        ("trust_quarterly", "trust_index_weighted"),
        ("program_evaluation", "did"),
        ("neighborhood_scorecard", "trust_index_change_yoy"),
    ],
)
def test_the_comparison_covers_computed_values(built, table, column):
    """The demo is sized so that the statistics are there to compare, not all NULL."""
    paths, _ = built
    values = pq.read_table(paths.publish_dir / "current" / f"{table}.parquet").column(column)
    assert len(values) - values.null_count >= 10, f"{table}.{column}: too few values to compare"
