"""Nothing is published again that did not change (pipelines/assets/publish.py): the same tables publish no new
version and rebuild neither docs nor report; a changed table publishes a new version with a new report, and
the docs, which describe columns and not rows, are carried over from the previous version."""

from __future__ import annotations

import json

import duckdb
import pytest

from pipelines.assets.publish import DIGESTS, publish
from tests.conftest import run_cli

TABLES = ["crime_monthly", "neighborhoods"]
PUBLISH_STEPS = 'key:"published_files" or key:"published_docs" or key:"published_report"'


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("NBHD_HOME", str(tmp_path))  # the folders a warehouse connection may touch
    return tmp_path


def versions(publish_dir) -> list[str]:
    return sorted(v.name for v in (publish_dir / "versions").iterdir())


def test_the_same_tables_publish_no_new_version(home):
    warehouse, publish_dir = home / "warehouse.duckdb", home / "published"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("CREATE SCHEMA published")
        con.execute(
            "CREATE TABLE published.crime_monthly AS SELECT range AS id, range * 2 AS n FROM range(50)"
        )
        con.execute("CREATE TABLE published.neighborhoods AS SELECT 'N01' AS neighborhood_id")
    counts, changed = publish(warehouse, publish_dir, TABLES)
    assert changed and counts == {"crime_monthly": 50, "neighborhoods": 1}
    first = versions(publish_dir)
    digests = json.loads((publish_dir / "current" / DIGESTS).read_text())["tables"]
    assert sorted(digests) == TABLES

    assert publish(warehouse, publish_dir, TABLES) == (counts, False)
    assert versions(publish_dir) == first

    with duckdb.connect(str(warehouse)) as con:  # one value of one row
        con.execute("UPDATE published.crime_monthly SET n = n + 1 WHERE id = 49")
    assert publish(warehouse, publish_dir, TABLES)[1]
    assert len(versions(publish_dir)) == 2 and versions(publish_dir)[0] == first[0]
    after = json.loads((publish_dir / "current" / DIGESTS).read_text())["tables"]
    assert after["neighborhoods"] == digests["neighborhoods"]
    assert after["crime_monthly"] != digests["crime_monthly"]

    with duckdb.connect(str(warehouse)) as con:  # the same values as text, in another type: another table
        con.execute(
            "CREATE OR REPLACE TABLE published.crime_monthly AS "
            "SELECT range::INTEGER AS id, (range * 2 + CASE WHEN range = 49 THEN 1 ELSE 0 END)::INTEGER AS n "
            "FROM range(50)"
        )
    assert publish(warehouse, publish_dir, TABLES)[1]
    assert (
        json.loads((publish_dir / "current" / DIGESTS).read_text())["tables"]["crime_monthly"]
        != (after["crime_monthly"])
    )


def test_docs_and_report_are_rebuilt_only_for_changed_tables(demo_city, tmp_path):
    home = demo_city.copy_to(tmp_path / "home")
    publish_dir = home / "published"
    before = versions(publish_dir)
    current = (publish_dir / "current").resolve()
    stamps = {
        p: p.stat().st_mtime_ns for p in (current / "docs" / "index.html", current / "report" / "index.html")
    }

    unchanged = run_cli("run", "--home", str(home), "--select", PUBLISH_STEPS)
    assert unchanged.returncode == 0, unchanged.stdout + unchanged.stderr
    assert versions(publish_dir) == before
    assert (publish_dir / "current").resolve() == current
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps, "docs and report were written again"

    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        con.execute(
            "UPDATE published.crime_monthly SET incidents = incidents + 1 "
            "WHERE (neighborhood_id, month) = (SELECT (neighborhood_id, month) FROM published.crime_monthly "
            "ORDER BY ALL LIMIT 1)"
        )
    changed = run_cli("run", "--home", str(home), "--select", PUBLISH_STEPS)
    assert changed.returncode == 0, changed.stdout + changed.stderr
    new = (publish_dir / "current").resolve()
    assert new != current and new.parent == current.parent
    # The docs describe the columns, which are the same: the previous version's, byte for byte.
    for name in ("index.html", "data_dictionary.md", "data_dictionary.csv"):
        assert (new / "docs" / name).read_bytes() == (current / "docs" / name).read_bytes()
    # The report shows the rows: built for the new version.
    assert (new / "report" / "index.html").stat().st_mtime_ns > stamps[current / "report" / "index.html"]
    recorded = json.loads((new / DIGESTS).read_text())
    assert recorded["report"] == recorded["docs"] == json.loads((current / DIGESTS).read_text())["docs"]
