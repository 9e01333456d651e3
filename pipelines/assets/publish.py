"""Publish: the marts as published/<table>.parquet|.csv and a read-only published/metrics.duckdb snapshot.

Everything is written into a staging folder first and then moved into place with os.replace, so a reader
sees either the previous complete file or the new one, never a half-written table. Readers holding the old
metrics.duckdb open keep their snapshot; the next open sees the new one.
"""

import os
import shutil
import uuid
from pathlib import Path

import dagster as dg
from dagster_dbt import get_asset_key_for_model

from pipelines.assets.dbt import dbt_models, published_models
from pipelines.resources import DataHome
from pipelines.warehouse import connect, literal, quote

SNAPSHOT = "metrics.duckdb"


def publish(warehouse: Path, publish_dir: Path, tables: list[str]) -> dict[str, int]:
    publish_dir.mkdir(parents=True, exist_ok=True)
    staging = publish_dir / f".staging-{uuid.uuid4().hex}"
    staging.mkdir()
    counts = {}
    try:
        with connect(warehouse) as con:
            con.execute(f"ATTACH {literal(staging / SNAPSHOT)} AS snapshot")
            for table in tables:
                # Rows in key order, so that the same warehouse publishes byte-identical CSV files.
                ordered = f"SELECT * FROM published.{quote(table)} ORDER BY ALL"
                con.execute(f"CREATE TABLE snapshot.main.{quote(table)} AS {ordered}")
                con.execute(f"COPY ({ordered}) TO {literal(staging / f'{table}.parquet')} (FORMAT parquet)")
                con.execute(f"COPY ({ordered}) TO {literal(staging / f'{table}.csv')} (FORMAT csv, HEADER)")
                counts[table] = con.execute(f"SELECT count(*) FROM published.{quote(table)}").fetchone()[0]
            con.execute("DETACH snapshot")
        for file in sorted(staging.iterdir(), key=lambda f: f.name == SNAPSHOT):  # the snapshot last
            os.replace(file, publish_dir / file.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return counts


def publish_asset() -> dg.AssetsDefinition:
    tables = published_models()

    @dg.asset(
        key=["published_files"],
        deps=[get_asset_key_for_model([dbt_models], table) for table in tables],
        group_name="published",
        kinds={"parquet", "csv", "duckdb"},
        description="published/<table>.parquet|.csv and published/metrics.duckdb, swapped in atomically.",
    )
    def published_files(context: dg.AssetExecutionContext, data_home: DataHome) -> dg.MaterializeResult:
        paths = data_home.paths
        counts = publish(paths.warehouse, paths.publish_dir, tables)
        context.log.info(f"published {len(counts)} tables to {paths.publish_dir}")
        return dg.MaterializeResult(
            metadata={"publish_dir": str(paths.publish_dir), **{f"rows_{t}": n for t, n in counts.items()}}
        )

    return published_files
