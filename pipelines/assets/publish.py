"""Publish: the marts as published/<table>.parquet|.csv and a read-only published/metrics.duckdb snapshot.

Everything is written into a staging folder first and then moved into place with os.replace, so a reader
sees either the previous complete file or the new one, never a half-written table. Readers holding the old
metrics.duckdb open keep their snapshot; the next open sees the new one.
"""

import json
import os
import shutil
import uuid
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource

from pipelines.assets.dbt import dbt_vars, model_key, published_models
from pipelines.report import publish_folder, publish_report
from pipelines.report.dictionary import UNDESCRIBED, data_dictionary, write_dictionary
from pipelines.resources import DataHome
from pipelines.warehouse import connect, literal, quote

SNAPSHOT = "metrics.duckdb"


def publish(warehouse: Path, publish_dir: Path, tables: list[str]) -> dict[str, int]:
    publish_dir.mkdir(parents=True, exist_ok=True)
    for left in publish_dir.glob(".staging-*"):  # a killed run's; one run publishes at a time (run lock)
        shutil.rmtree(left, ignore_errors=True)
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
        deps=[model_key(table) for table in tables],
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


def docs_asset() -> dg.AssetsDefinition:
    """published/docs/: the dbt docs site (one self-contained index.html) and the data dictionary."""
    tables = published_models()

    # After published_files: dbt's catalog query opens the warehouse, which publishing holds while it copies.
    @dg.asset(
        key=["published_docs"],
        deps=[dg.AssetKey(["published_files"])],
        group_name="published",
        kinds={"dbt", "html"},
        description=(
            "published/docs/index.html (dbt docs, works offline) and data_dictionary.md|.csv: every "
            "published column with its type, unit and definition."
        ),
    )
    def published_docs(
        context: dg.AssetExecutionContext, dbt: DbtCliResource, data_home: DataHome
    ) -> dg.MaterializeResult:
        invocation = dbt.cli(["docs", "generate", "--static", *dbt_vars(data_home.paths)]).wait()
        built = invocation.target_path
        manifest = json.loads((built / "manifest.json").read_text())
        catalog = json.loads((built / "catalog.json").read_text())
        entries = data_dictionary(manifest, catalog, tables)

        def build(folder: Path) -> list[Path]:
            shutil.copy(built / "static_index.html", folder / "index.html")
            return [folder / "index.html", *write_dictionary(entries, folder)]

        publish_folder(data_home.paths.publish_dir, "docs", build)
        undescribed = [f"{e.table}.{e.column}" for e in entries if e.description == UNDESCRIBED]
        if undescribed:
            context.log.warning(f"published columns without a description: {', '.join(undescribed)}")
        return dg.MaterializeResult(
            metadata={"columns": len(entries), "undescribed_columns": len(undescribed)}
        )

    return published_docs


def report_asset() -> dg.AssetsDefinition:
    @dg.asset(
        key=["published_report"],
        deps=[dg.AssetKey(["published_files"]), dg.AssetKey(["published_docs"])],
        group_name="published",
        kinds={"html"},
        description=(
            "published/report/index.html: city overview (maps, trends), one page per neighborhood, program "
            "evaluation and the dictionary. Static HTML + inline SVG: opens offline from the file system."
        ),
    )
    def published_report(context: dg.AssetExecutionContext, data_home: DataHome) -> dg.MaterializeResult:
        written = publish_report(data_home.paths.publish_dir)
        index = data_home.paths.publish_dir / "report" / "index.html"
        context.log.info(f"report: {index} ({len(written)} pages)")
        return dg.MaterializeResult(metadata={"index": str(index), "pages": len(written)})

    return published_report
