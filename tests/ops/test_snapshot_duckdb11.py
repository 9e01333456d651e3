"""BI connectors embed older DuckDB releases: the published metrics.duckdb opens in DuckDB 1.1, and every
table reads whole there. DuckDB 1.1.3 is installed from the package index into a virtual environment of its
own, kept in pytest's cache folder between sessions."""

from __future__ import annotations

import json
import subprocess
import venv

import pyarrow.parquet as pq
import pytest

OLD_DUCKDB = "1.1.3"

READ_EVERY_TABLE = """
import json, sys
import duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
tables = [t for (t,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall()]
print(json.dumps({"version": duckdb.__version__,
                  "rows": {t: len(con.execute(f'SELECT * FROM "{t}"').fetchall()) for t in tables}}))
"""


@pytest.fixture(scope="session")
def old_duckdb_python(request):
    folder = request.config.cache.mkdir(f"duckdb-{OLD_DUCKDB}")
    python = folder / "bin" / "python"
    done = folder / ".installed"
    if not done.exists():
        venv.create(folder, with_pip=True, clear=True)
        subprocess.run(
            [python, "-m", "pip", "install", "--quiet", f"duckdb=={OLD_DUCKDB}"],
            check=True,
            capture_output=True,
            timeout=600,
        )
        done.touch()
    return python


def test_duckdb_1_1_reads_every_table_of_the_published_snapshot(demo_city, old_duckdb_python):
    current = demo_city.home / "published" / "current"
    reading = subprocess.run(
        [old_duckdb_python, "-c", READ_EVERY_TABLE, str(current / "metrics.duckdb")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert reading.returncode == 0, reading.stderr[-3000:]
    seen = json.loads(reading.stdout)
    assert seen["version"] == OLD_DUCKDB
    # The same tables and row counts as the Parquet files published beside the snapshot.
    expected = {f.stem: pq.ParquetFile(f).metadata.num_rows for f in current.glob("*.parquet")}
    assert seen["rows"] == expected
