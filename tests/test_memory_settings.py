"""The pipeline's DuckDB memory per connection (docs/settings.md): 384MB unless NBHD_DUCKDB_MEMORY_LIMIT sets another
size, and a value that is not a size is refused naming the variable, before any connection works with it."""

from __future__ import annotations

import pytest

from pipelines.warehouse import connect


def memory_limit(tmp_path) -> str:
    with connect(tmp_path / "warehouse.duckdb", allowed=[tmp_path]) as con:
        return con.execute("SELECT current_setting('memory_limit')").fetchone()[0]


@pytest.mark.parametrize(
    ("setting", "limit"),
    [(None, "366.2 MiB"), ("1GB", "953.6 MiB"), ("512 MiB", "512.0 MiB"), ("1.5gb", "1.3 GiB")],
)
def test_the_limit_is_the_setting(tmp_path, monkeypatch, setting, limit):
    if setting is None:
        monkeypatch.delenv("NBHD_DUCKDB_MEMORY_LIMIT", raising=False)
    else:
        monkeypatch.setenv("NBHD_DUCKDB_MEMORY_LIMIT", setting)
    assert memory_limit(tmp_path) == limit


@pytest.mark.parametrize("setting", ["2 gigs", "-5MB", "", "512"])
def test_a_value_that_is_not_a_size_is_refused(tmp_path, monkeypatch, setting):
    monkeypatch.setenv("NBHD_DUCKDB_MEMORY_LIMIT", setting)
    with pytest.raises(ValueError, match=f"NBHD_DUCKDB_MEMORY_LIMIT={setting!r} is not a memory size"):
        memory_limit(tmp_path)
