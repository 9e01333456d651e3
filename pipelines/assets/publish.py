"""Publish: each run's marts as <table>.parquet|.csv and a read-only metrics.duckdb snapshot, in a version
folder of their own, published/versions/<version>/, which the `published/current` link then points at.

A version is complete before the link moves to it, and the link is replaced in one rename (os.replace), so a
reader that resolves `published/current` once sees every table of one run, never two runs' files mixed; a
reader holding a file of the previous version open keeps reading it. The previous version is kept for a
rollback (point `current` back at it); older ones are removed. The run's docs site and report are added to
its version right after its tables, from them.

Nothing is published again that did not change. Each version holds digests.json: every table's content digest
(its columns and types, then its rows in key order as CSV). A run whose tables all have the digests of the
current version publishes no new version, and then builds neither docs nor report: the current version already
has them. A new version gets a new report (it shows the rows); its docs (the dbt docs site and the data
dictionary, which describe the columns, not the rows) are copied from the previous version when they were built
from the same dbt project and the same warehouse columns, and built by dbt otherwise. The weekly build always
builds both again.
"""

import hashlib
import json
import os
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource

from pipelines.assets.dbt import dbt_environment, dbt_target, model_key, published_models
from pipelines.report import publish_folder
from pipelines.report.build import build_report
from pipelines.report.dictionary import UNDESCRIBED, data_dictionary, write_dictionary
from pipelines.resources import DataHome
from pipelines.schedules import full_build_job
from pipelines.settings import DBT_PROJECT_DIR, Paths
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
# In each version: {"tables": {table: content digest}, "docs": docs key, "report": docs key}, the last two being
# what its docs/ and report/ folders were built from (see docs_key).
DIGESTS = "digests.json"
DOCS, REPORT = "docs", "report"


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


def table_digest(con, table: str, csv_file: Path) -> str:
    """A published table's content: its columns and their types, then its rows in key order (the CSV file)."""
    columns = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'published' AND table_name = ? ORDER BY ordinal_position",
        [table],
    ).fetchall()
    digest = hashlib.sha256(json.dumps(columns).encode())
    with csv_file.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def published_digests(version: Path) -> dict[str, str]:
    """The content digests of a version's tables; none for a version published before they were recorded."""
    try:
        return json.loads((version / DIGESTS).read_text())["tables"]
    except (OSError, ValueError, KeyError):
        return {}


def publish(warehouse: Path, publish_dir: Path, tables: list[str]) -> tuple[dict[str, int], bool]:
    """Publish `tables` as a new version, unless every one has the content of the current version's; returns the
    row counts and whether a new version was published."""
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
    counts, digests = {}, {}
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
                digests[table] = table_digest(con, table, staging / f"{table}.csv")
            con.execute("DETACH snapshot")
        if previous is not None and published_digests(previous) == digests:
            return counts, False  # the current version has these very tables (and its docs and report)
        (staging / DIGESTS).write_text(json.dumps({"tables": digests}, indent=2, sort_keys=True) + "\n")
        staging.rename(version)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    _switch(publish_dir, version)
    _remove_unversioned(publish_dir)
    for old in versions.iterdir():
        if old.resolve() not in (version, previous):
            shutil.rmtree(old)
    return counts, True


def previous_version(publish_dir: Path) -> Path | None:
    """The version kept for a rollback: the newest complete one that `current` does not point at."""
    current = current_version(publish_dir)
    kept = [
        v
        for v in (publish_dir / VERSIONS).iterdir()
        if not v.name.startswith(".") and v.is_dir() and v.resolve() != current
    ]
    return max(kept, key=lambda v: v.name) if kept else None


def docs_key(paths: Paths) -> str:
    """What the docs are built from: the dbt project's files (models and their descriptions, macros, seeds, tests)
    and the warehouse's columns (dbt's catalog). Rows play no part: the docs describe columns."""
    digest = hashlib.sha256()
    project_files = [DBT_PROJECT_DIR / "dbt_project.yml"] + sorted(
        p
        for folder in ("models", "macros", "seeds", "tests")
        for p in (DBT_PROJECT_DIR / folder).rglob("*")
        if p.is_file()
    )
    for path in project_files:
        digest.update(path.relative_to(DBT_PROJECT_DIR).as_posix().encode() + b"\0" + path.read_bytes())
    with connect(paths.warehouse, read_only=True) as con:
        columns = con.execute(
            "SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_catalog = current_database() ORDER BY ALL"
        ).fetchall()
    digest.update(json.dumps(columns).encode())
    return digest.hexdigest()


def built_from(version: Path, part: str) -> str | None:
    """The docs key a version's docs/ or report/ folder was built from; None when it has none."""
    if not (version / part).is_dir():
        return None
    try:
        return json.loads((version / DIGESTS).read_text()).get(part)
    except (OSError, ValueError):
        return None


def record_built(version: Path, part: str, key: str) -> None:
    """After the folder is in place (a run stopped before this builds it again next time)."""
    for left in version.glob(f".{DIGESTS}-*"):  # a killed run's
        left.unlink()
    recorded = json.loads((version / DIGESTS).read_text()) | {part: key}
    temporary = version / f".{DIGESTS}-{uuid.uuid4().hex}"
    temporary.write_text(json.dumps(recorded, indent=2, sort_keys=True) + "\n")
    os.replace(temporary, version / DIGESTS)


def is_full_build(context: dg.AssetExecutionContext) -> bool:
    """The weekly build rebuilds the docs and the report whatever changed (a new dbt or report version, say)."""
    return context.job_name == full_build_job().name


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
        counts, changed = publish(paths.warehouse, paths.publish_dir, tables)
        version = current_version(paths.publish_dir)
        if changed:
            context.log.info(f"published {len(counts)} tables to {version}")
        else:
            context.log.info(f"the {len(counts)} tables are those of {version}: no new version")
        return dg.MaterializeResult(
            metadata={
                "version": str(version),
                "new_version": changed,
                **{f"rows_{t}": n for t, n in counts.items()},
            }
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
        paths = data_home.paths
        version = current_version(paths.publish_dir)
        key = docs_key(paths)
        full = is_full_build(context)
        if not full and built_from(version, DOCS) == key:
            context.log.info(f"docs: those of {version} are up to date")
            return dg.MaterializeResult(metadata={"built": "kept"})
        previous = previous_version(paths.publish_dir)
        if not full and previous is not None and built_from(previous, DOCS) == key:

            def carry_over(folder: Path) -> list[Path]:
                shutil.copytree(previous / DOCS, folder, dirs_exist_ok=True)
                return sorted(p for p in folder.rglob("*") if p.is_file())

            publish_folder(version, DOCS, carry_over)
            record_built(version, DOCS, key)
            context.log.info(f"docs: copied from {previous.name} (same dbt project, same columns)")
            return dg.MaterializeResult(metadata={"built": f"copied from {previous.name}"})

        with dbt_environment(paths.warehouse):
            invocation = dbt.cli(["docs", "generate", "--static"], target_path=dbt_target(paths)).wait()
        built = invocation.target_path
        manifest = json.loads((built / "manifest.json").read_text())
        catalog = json.loads((built / "catalog.json").read_text())
        entries = data_dictionary(manifest, catalog, tables)

        def build(folder: Path) -> list[Path]:
            shutil.copy(built / "static_index.html", folder / "index.html")
            return [folder / "index.html", *write_dictionary(entries, folder)]

        publish_folder(version, DOCS, build)
        record_built(version, DOCS, key)
        undescribed = [f"{e.table}.{e.column}" for e in entries if e.description == UNDESCRIBED]
        if undescribed:
            context.log.warning(f"published columns without a description: {', '.join(undescribed)}")
        return dg.MaterializeResult(
            metadata={
                "built": "dbt docs generate",
                "columns": len(entries),
                "undescribed_columns": len(undescribed),
            }
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
        index = data_home.paths.publish_dir / CURRENT / REPORT / "index.html"
        # A new version has no report yet; an older one keeps its report while its docs are those it was built
        # with (its dictionary page is theirs).
        docs = built_from(version, DOCS)
        if not is_full_build(context) and docs is not None and built_from(version, REPORT) == docs:
            context.log.info(f"report: that of {version} is up to date")
            return dg.MaterializeResult(metadata={"index": str(index), "built": False})
        written = publish_folder(version, REPORT, lambda folder: build_report(version, folder))
        if docs is not None:
            record_built(version, REPORT, docs)
        context.log.info(f"report: {index} ({len(written)} pages)")
        return dg.MaterializeResult(metadata={"index": str(index), "pages": len(written), "built": True})

    return published_report
