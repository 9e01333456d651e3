"""Reliability property 14 (docs/reliability.md): DuckDB is opened with external access limited to the data home.

Every connection the pipeline opens comes from `pipelines.warehouse.connect`: it may read and write inside the
data home (landing files, raw Parquet, the warehouse, published files) and nothing else, may not load another
extension, and no query can lift those limits. (dbt opens its own connection to the same file: see
dbt_project/profiles.yml.)"""

from __future__ import annotations

import duckdb
import pytest

from pipelines.settings import Paths
from pipelines.warehouse import connect, literal

CSV = "a,b\n1,2\n"


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A data home (as the CLI configures it, from the environment) and a folder beside it, outside it."""
    home, outside = tmp_path / "home", tmp_path / "outside"
    for folder in (home / "landing", outside):
        folder.mkdir(parents=True)
    (home / "landing" / "inside.csv").write_text(CSV)
    (outside / "secret.csv").write_text(CSV)
    monkeypatch.setenv("NBHD_HOME", str(home))
    for variable in ("NBHD_WAREHOUSE", "NBHD_PUBLISH_DIR"):
        monkeypatch.delenv(variable, raising=False)
    return Paths.from_env(), outside


def refused(con: duckdb.DuckDBPyConnection, sql: str) -> str:
    with pytest.raises(duckdb.PermissionException) as error:
        con.execute(sql).fetchall()
    return str(error.value)


def test_a_warehouse_connection_reads_inside_the_data_home_and_nothing_outside(home):
    paths, outside = home
    with connect(paths.warehouse) as con:
        inside = con.execute(f"SELECT * FROM read_csv({literal(paths.landing / 'inside.csv')})").fetchall()
        assert inside == [(1, 2)]
        message = refused(con, f"SELECT * FROM read_csv({literal(outside / 'secret.csv')})")
        assert "secret.csv" in message and "disabled by configuration" in message
        refused(con, "SELECT * FROM read_text('/etc/passwd')")
        # No way round it: a relative escape, a glob, a symbolic link inside the home pointing out.
        refused(
            con, f"SELECT * FROM read_csv({literal(paths.landing / '..' / '..' / 'outside' / 'secret.csv')})"
        )
        refused(con, f"SELECT * FROM glob({literal(outside / '*')})")
        (paths.landing / "link.csv").symlink_to(outside / "secret.csv")
        refused(con, f"SELECT * FROM read_csv({literal(paths.landing / 'link.csv')})")


def test_writing_attaching_and_loading_extensions_outside_are_refused(home):
    paths, outside = home
    with connect(paths.warehouse) as con:
        con.execute(f"COPY (SELECT 1 AS x) TO {literal(paths.home / 'published.parquet')} (FORMAT parquet)")
        refused(con, f"COPY (SELECT 1 AS x) TO {literal(outside / 'leak.parquet')} (FORMAT parquet)")
        con.execute(f"ATTACH {literal(paths.home / 'snapshot.duckdb')} AS snapshot")
        refused(con, f"ATTACH {literal(outside / 'other.duckdb')} AS other")
        refused(con, "INSTALL httpfs")
        refused(con, "LOAD httpfs")
    assert not (outside / "leak.parquet").exists() and not (outside / "other.duckdb").exists()


def test_no_query_can_lift_the_limits(home):
    paths, outside = home
    with connect(paths.warehouse) as con:
        for setting in (
            "SET enable_external_access = true",
            f"SET allowed_directories = [{literal(outside)}]",
            "SET lock_configuration = false",
            "RESET enable_external_access",
        ):
            with pytest.raises(duckdb.Error, match="locked"):
                con.execute(setting)
        refused(con, f"SELECT * FROM read_csv({literal(outside / 'secret.csv')})")


def test_spatial_and_in_memory_connections_are_limited_too(home, tmp_path):
    paths, outside = home
    with connect(paths.warehouse, spatial=True) as con:
        assert con.execute(
            "SELECT ST_Contains(ST_GeomFromText('POLYGON((0 0,1 0,1 1,0 1,0 0))'), ST_Point(0.5, 0.5))"
        ).fetchone() == (True,)
        refused(con, f"SELECT * FROM read_csv({literal(outside / 'secret.csv')})")
    with connect(None, allowed=[paths.home]) as con:  # what landing files are read with
        assert con.execute(
            f"SELECT count(*) FROM read_csv({literal(paths.landing / 'inside.csv')})"
        ).fetchone() == (1,)
        refused(con, f"SELECT * FROM read_csv({literal(outside / 'secret.csv')})")
    # A folder whose name merely starts like the home's is outside it.
    sibling = tmp_path / "home-other"
    sibling.mkdir()
    (sibling / "x.csv").write_text(CSV)
    with connect(paths.warehouse) as con:
        refused(con, f"SELECT * FROM read_csv({literal(sibling / 'x.csv')})")
