"""The warehouse's storage format (pipelines/warehouse.py: STORAGE_VERSION): a file `connect` creates is in DuckDB
1.5's format, written faster; a file that exists keeps the format it was created in."""

from __future__ import annotations

import duckdb

from pipelines.warehouse import connect


def storage_version(con: duckdb.DuckDBPyConnection) -> str:
    return con.execute(
        "SELECT tags['storage_version'] FROM duckdb_databases() WHERE NOT internal"
    ).fetchone()[0]


def test_a_new_warehouse_is_in_duckdb_15s_format(tmp_path):
    with connect(tmp_path / "warehouse.duckdb", allowed=[tmp_path]) as con:
        con.execute("CREATE TABLE t AS SELECT 'a' AS label")
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        assert storage_version(con) == "v1.5.0+"


def test_an_existing_warehouse_keeps_its_format(tmp_path):
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        con.execute("CREATE TABLE t AS SELECT 'a' AS label")
        created = storage_version(con)
    assert created != "v1.5.0+"
    with connect(tmp_path / "warehouse.duckdb", allowed=[tmp_path]) as con:
        con.execute("INSERT INTO t VALUES ('b')")
        assert storage_version(con) == created
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("SELECT list(label ORDER BY label) FROM t").fetchone()[0] == ["a", "b"]
