"""What `neighborhood-metrics run` prints without a terminal (CI, cron): a few progress lines and one summary,
Dagster's and dbt's records in a log file; a refused load: one short block naming source, file and reason.

The successful run is the session's demo city (tests/conftest.py, `demo_city`): `neighborhood-metrics demo` prints
two lines about the city it generates, then runs and prints exactly what `run` does."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.conftest import run_cli

# A Dagster console record: "2026-12-02 11:13:40 +0000 - dagster - INFO - <job> - <run id> - <step> - ..."
DAGSTER_RECORD = re.compile(r" - dagster - (DEBUG|INFO|WARNING|ERROR) - ")


def log_file(output: str) -> Path:
    (path,) = set(re.findall(r"Dagster and dbt records: (\S+\.log)", output))
    return Path(path)


def test_a_successful_run_prints_one_screen_and_logs_the_records(demo_city):
    out, err = demo_city.stdout, demo_city.stderr
    lines = (out + err).splitlines()
    assert len(lines) < 60, out + err
    assert not [line for line in lines if DAGSTER_RECORD.search(line)], "records go to the log file, not here"

    current = demo_city.home / "published" / "current"
    tables = sorted(file.stem for file in current.glob("*.parquet"))
    assert len(tables) >= 10, tables
    for table in tables:
        rows = pq.ParquetFile(current / f"{table}.parquet").metadata.num_rows
        assert re.search(rf"^\s+{table}\s+{rows:,} rows\b", out, re.MULTILINE), (table, rows, out)
    assert f"Report:     {current / 'report' / 'index.html'}" in out
    assert (current / "report" / "index.html").is_file()
    assert f"{current / 'docs' / 'data_dictionary.md'}" in out and f"{current / 'docs' / 'index.html'}" in out
    assert re.search(r"^Blocking checks: all \d+ passed$", out, re.MULTILINE), out
    # Every source with its counts, and the demo crimes' most frequent quarantine reason.
    for source in ("demo_crimes", "demo_rosters_signin", "demo_survey_qualtrics"):
        assert re.search(rf"^\s+{source}\s+\d+ files?: [\d,]+ rows received", out, re.MULTILINE), source
    # Each stage's closing line, in order.
    stages = [m.group(1) for m in re.finditer(r"^\[\s*\d+:\d\d\] (\w+): done", out, re.MULTILINE)]
    assert stages == ["landing", "validating", "dbt", "publishing", "report"], out

    log = log_file(out)
    assert log.parent == demo_city.home / "logs"
    records = log.read_text()
    for event in ("STEP_START", "STEP_SUCCESS", "ASSET_MATERIALIZATION", "ASSET_CHECK_EVALUATION"):
        assert re.search(rf" - dagster - DEBUG - .* - {event} - ", records), event
    assert re.search(
        r"parsed__demo_crimes - demo_crimes: parsed \d+ file\(s\):\n(  .*\n)*  crimes_2024", records
    )
    assert re.search(r"OK created sql incremental model .*crime_monthly", records), "dbt's own lines are kept"


@pytest.fixture(scope="module")
def refused_run(demo_city, tmp_path_factory):
    """The demo's home once more, with a crime file that lacks a required column (FBI Code)."""
    home = demo_city.copy_to(tmp_path_factory.mktemp("refused") / "home")
    good = (home / "landing" / "demo_crimes" / "crimes_2025.csv").read_text(encoding="utf-8-sig").splitlines()
    header = good[0].split(",")
    drop = header.index("FBI Code")
    rows = [",".join(v for i, v in enumerate(line.split(",")) if i != drop) for line in good[:201]]
    (home / "landing" / "demo_crimes" / "crimes_2026.csv").write_text("\n".join(rows) + "\n")
    return home, run_cli("run", "--home", str(home))


def test_a_refused_load_prints_source_file_reason_and_counts_on_a_few_lines(refused_run):
    home, result = refused_run
    assert result.returncode == 1
    output = result.stdout + result.stderr
    assert len(output.splitlines()) < 20, output
    assert "Traceback" not in output and not DAGSTER_RECORD.search(output), output
    (block,) = re.findall(r"^✗ .*(?:\n  .*)*", result.stderr, re.MULTILINE)
    assert block.startswith("✗ parsed/demo_crimes failed:"), block
    assert "crimes_2026.csv" in block and "FBI Code" in block, block
    landed = sorted((home / "landing" / "demo_crimes").glob("crimes_202[2-5].csv"))
    received = sum(len(list(csv.reader(file.open(encoding="utf-8-sig", newline="")))) - 1 for file in landed)
    assert f"demo_crimes so far: 4 files: {received:,} rows received, " in block, block
    assert f"full log: {log_file(result.stdout)}" in block
    assert "published/current still holds the last complete version" in result.stderr
