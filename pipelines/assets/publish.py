"""Publish: each run's marts as <table>.parquet|.csv and a read-only metrics.duckdb snapshot, in a version
folder of their own, published/versions/<version>/, which the `published/current` link then points at.

A version is complete before the link moves to it, and the link is replaced in one rename (os.replace), so a
reader that resolves `published/current` once sees every table of one run, never two runs' files mixed; a
reader holding a file of the previous version open keeps reading it. The previous version is kept for a
rollback (point `current` back at it); older ones are removed. The run's docs site and report are added to
its version right after its tables, from them.
"""

import json
import os
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource

from pipelines.assets.dbt import dbt_vars, model_key, published_models
from pipelines.report import publish_folder, publish_report
from pipelines.report.dictionary import UNDESCRIBED, data_dictionary, write_dictionary
from pipelines.resources import DataHome
from pipelines.warehouse import connect, literal, quote

SNAPSHOT = "metrics.duckdb"
CURRENT = "current"  # the link readers follow: published/current/<table>.parquet
VERSIONS = "versions"
# BI tools embed older DuckDB releases (connectors lag a year or more): the snapshot is written in the storage
# format that DuckDB 1.1 and every later release reads (tests/ops/test_snapshot_duckdb11.py opens it with 1.1).
SNAPSHOT_STORAGE_VERSION = "v1.1.0"
# What the layout before versions left at the top of the publish folder: removed, so that nobody keeps
# reading a table that no run updates any more.
UNVERSIONED = ("*.parquet", "*.csv", SNAPSHOT, "docs", "report")


def current_version(publish_dir: Path) -> Path:
    """The folder `published/current` points at (resolve it once, then read every table from it)."""
    return (publish_dir / CURRENT).resolve(strict=True)


def _switch(publish_dir: Path, version: Path) -> None:
    link = publish_dir / f".{CURRENT}-{uuid.uuid4().hex}"
    link.symlink_to(version.relative_to(publish_dir))  # relative: the data home can be moved or copied
    os.replace(link, publish_dir / CURRENT)


def _remove_unversioned(publish_dir: Path) -> None:
    for pattern in UNVERSIONED:
        for left in publish_dir.glob(pattern):
            if left.is_dir():
                shutil.rmtree(left)
            else:
                left.unlink()


def publish(warehouse: Path, publish_dir: Path, tables: list[str]) -> dict[str, int]:
    versions = publish_dir / VERSIONS
    versions.mkdir(parents=True, exist_ok=True)
    for left in [*publish_dir.glob(f".{CURRENT}-*"), *versions.glob(".staging-*")]:
        # a killed run's; one run publishes at a time (run lock)
        if left.is_symlink() or not left.is_dir():
            left.unlink()
        else:
            shutil.rmtree(left)
    previous = current_version(publish_dir) if (publish_dir / CURRENT).exists() else None
    # Names sort by publication time; the suffix keeps two versions published in one microsecond apart.
    version = versions / f"{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}-{uuid.uuid4().hex[:6]}"
    staging = versions / f".staging-{version.name}"
    staging.mkdir()
    counts = {}
    try:
        with connect(warehouse) as con:
            con.execute(
                f"ATTACH {literal(staging / SNAPSHOT)} AS snapshot "
                f"(STORAGE_VERSION {literal(SNAPSHOT_STORAGE_VERSION)})"
            )
            for table in tables:
                # Rows in key order, so that the same warehouse publishes byte-identical CSV files.
                ordered = f"SELECT * FROM published.{quote(table)} ORDER BY ALL"
                con.execute(f"CREATE TABLE snapshot.main.{quote(table)} AS {ordered}")
                con.execute(f"COPY ({ordered}) TO {literal(staging / f'{table}.parquet')} (FORMAT parquet)")
                con.execute(f"COPY ({ordered}) TO {literal(staging / f'{table}.csv')} (FORMAT csv, HEADER)")
                counts[table] = con.execute(f"SELECT count(*) FROM published.{quote(table)}").fetchone()[0]
            con.execute("DETACH snapshot")
        staging.rename(version)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    _switch(publish_dir, version)
    _remove_unversioned(publish_dir)
    for old in versions.iterdir():
        if old.resolve() not in (version, previous):
            shutil.rmtree(old)
    return counts


def publish_asset() -> dg.AssetsDefinition:
    tables = published_models()

    @dg.asset(
        key=["published_files"],
        deps=[model_key(table) for table in tables],
        group_name="published",
        kinds={"parquet", "csv", "duckdb"},
        description=(
            "published/current/<table>.parquet|.csv and published/current/metrics.duckdb: a new version "
            "folder, switched to in one rename."
        ),
    )
    def published_files(context: dg.AssetExecutionContext, data_home: DataHome) -> dg.MaterializeResult:
        paths = data_home.paths
        counts = publish(paths.warehouse, paths.publish_dir, tables)
        version = current_version(paths.publish_dir)
        context.log.info(f"published {len(counts)} tables to {version}")
        return dg.MaterializeResult(
            metadata={"version": str(version), **{f"rows_{t}": n for t, n in counts.items()}}
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
            "published/current/docs/index.html (dbt docs, works offline) and data_dictionary.md|.csv: every "
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

        publish_folder(current_version(data_home.paths.publish_dir), "docs", build)
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
            "published/current/report/index.html: city overview (maps, trends), one page per neighborhood, program "
            "evaluation and the dictionary. Static HTML + inline SVG: opens offline from the file system."
        ),
    )
    def published_report(context: dg.AssetExecutionContext, data_home: DataHome) -> dg.MaterializeResult:
        version = current_version(data_home.paths.publish_dir)
        written = publish_report(version)
        index = data_home.paths.publish_dir / CURRENT / "report" / "index.html"
        context.log.info(f"report: {index} ({len(written)} pages)")
        return dg.MaterializeResult(metadata={"index": str(index), "pages": len(written)})

    return published_report
