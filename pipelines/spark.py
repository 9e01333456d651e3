"""The same dbt project on Spark (dbt-spark, profile target `spark`), for when one machine is not enough.

Spark cannot read the DuckDB warehouse, so the dbt sources (canonical.*, meta.*, weights.*: everything
_staging__sources.yml declares) are exported to Parquet first; dbt's on-run-start hook registers them as
Parquet tables of the same names (dbt_project/macros/spark.sql), every model then runs unchanged, and the
on-run-end hook writes the published marts out as Parquet. Neighborhood assignment (DuckDB spatial) has
already happened before dbt, in the canonical rows, so nothing here needs spatial functions.

Layout under the Spark home (default $NBHD_HOME/spark):
    sources/<schema>/<table>/part-0.parquet   the dbt sources, exported from the warehouse
    published/<table>/part-*.parquet          the published marts as Spark built them
    warehouse/                                Spark's tables (and metastore_db/ with NBHD_SPARK_CATALOG=hive)
    dbt/target, dbt/logs                      dbt's artifacts, apart from the DuckDB build's

    python -m pipelines.spark --home DIR      # export, then dbt build --target spark (needs `.[spark]`)
    python -m pipelines.spark --home DIR --export-only   # the Parquet sources only (to copy to a cluster)
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from pipelines.settings import DBT_EXECUTABLE, DBT_PROJECT_DIR, Paths
from pipelines.warehouse import connect, literal, quote

SOURCES_YML = DBT_PROJECT_DIR / "models" / "staging" / "_staging__sources.yml"


@dataclass(frozen=True)
class SparkPaths:
    """Where the Spark target reads and writes; each overridable from the environment, as in the profile."""

    home: Path
    sources: Path
    published: Path | None  # None: the marts are not written out (NBHD_SPARK_PUBLISH_DIR set empty)

    @classmethod
    def of(cls, paths: Paths) -> SparkPaths:
        home = Path(os.environ.get("NBHD_SPARK_HOME") or paths.home / "spark").resolve()
        published = os.environ.get("NBHD_SPARK_PUBLISH_DIR", str(home / "published"))
        return cls(
            home=home,
            sources=Path(os.environ.get("NBHD_SPARK_SOURCES") or home / "sources").resolve(),
            published=Path(published).resolve() if published else None,
        )

    def env(self) -> dict[str, str]:
        """What the profile's `spark` output and macros/spark.sql read."""
        return {
            "NBHD_SPARK_HOME": str(self.home),
            "NBHD_SPARK_SOURCES": str(self.sources),
            "NBHD_SPARK_PUBLISH_DIR": str(self.published or ""),
        }


def source_relations() -> list[tuple[str, str]]:
    """(schema, table) of every dbt source, as _staging__sources.yml declares them."""
    relations = []
    for source in yaml.safe_load(SOURCES_YML.read_text())["sources"]:
        schema = source.get("schema", source["name"])
        relations += [(schema, table.get("identifier", table["name"])) for table in source["tables"]]
    return relations


def export_sources(paths: Paths) -> dict[str, int]:
    """Write every dbt source relation of the warehouse to <spark home>/sources/<schema>/<table>/part-0.parquet.

    Returns the row count of each, by `schema.table`."""
    root = SparkPaths.of(paths).sources
    root.mkdir(parents=True, exist_ok=True)
    counts = {}
    # DuckDB may write the export folder (which NBHD_SPARK_HOME may put outside the data home) and nothing else.
    with connect(paths.warehouse, read_only=True, allowed=[paths.home, paths.warehouse.parent, root]) as con:
        for schema, table in source_relations():
            folder = root / schema / table
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            relation = f"{quote(schema)}.{quote(table)}"
            con.execute(
                f"COPY (SELECT * FROM {relation}) TO {literal(folder / 'part-0.parquet')} (FORMAT parquet)"
            )
            counts[f"{schema}.{table}"] = con.execute(f"SELECT count(*) FROM {relation}").fetchone()[0]
    return counts


def dbt_build(
    paths: Paths, *args: str, capture_output: bool = True, timeout: int = 1800
) -> subprocess.CompletedProcess:
    """`dbt build --target spark` (plus `args`) on the exported sources. Never raises on a failed build."""
    spark = SparkPaths.of(paths)
    spark.home.mkdir(parents=True, exist_ok=True)
    if os.environ.get("NBHD_SPARK_CATALOG", "in-memory") == "in-memory":
        # The in-memory catalog forgot the previous run's tables, but not their files, which would block
        # creating them again (LOCATION_ALREADY_EXISTS).
        shutil.rmtree(spark.home / "warehouse", ignore_errors=True)
    env = (
        os.environ
        | {
            "NBHD_HOME": str(paths.home),
            "NBHD_WAREHOUSE": str(paths.warehouse),
            "PATH": f"{DBT_EXECUTABLE.parent}{os.pathsep}{os.environ.get('PATH', '')}",
        }
        | spark.env()
    )
    command = [
        str(DBT_EXECUTABLE),
        "build",
        "--target",
        "spark",
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        # Not dbt_project/target: that manifest is the DuckDB build's, which Dagster reads.
        "--target-path",
        str(spark.home / "dbt" / "target"),
        "--log-path",
        str(spark.home / "dbt" / "logs"),
        *args,
    ]
    # Spark's working directory: anything it writes relative to it stays in the Spark home.
    return subprocess.run(
        command, cwd=spark.home, env=env, capture_output=capture_output, text=True, timeout=timeout
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipelines.spark",
        description="Export the dbt sources of a data home to Parquet and build the dbt project on Spark.",
    )
    parser.add_argument("--home", help="the data home (default $NBHD_HOME or ./data)")
    parser.add_argument("--export-only", action="store_true", help="write the Parquet sources, build nothing")
    parser.add_argument("dbt_args", nargs="*", help="extra dbt build arguments, e.g. -- --select marts")
    args = parser.parse_args(argv)
    if args.home:
        os.environ["NBHD_HOME"] = str(Path(args.home).resolve())
    paths = Paths.from_env()
    counts = export_sources(paths)
    print(f"exported {len(counts)} sources to {SparkPaths.of(paths).sources}", flush=True)
    if args.export_only:
        return 0
    result = dbt_build(paths, *args.dbt_args, capture_output=False)
    if result.returncode == 0 and SparkPaths.of(paths).published:
        print(f"published marts built on Spark: {SparkPaths.of(paths).published}/<table>/")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
