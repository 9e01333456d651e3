"""A clone without ../shared/data/real runs every other test and names the ones it skipped; CI fails instead."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO, REQUIRE_REAL_DATA, cli_env

# One test that reads the real exports and one that does not.
SELECTED = [
    "tests/kinds/test_crime_validation.py::test_a_read_error_keeps_duckdbs_own_words_for_the_cause",
    "tests/kinds/test_crime_sources.py::test_soda_json_parquet_and_arcgis_json_read_the_same",
]


def pytest_without_real_data(tmp_path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "0", *SELECTED],
        cwd=REPO,
        env=cli_env({"NBHD_REAL_DATA": str(tmp_path / "no-such-folder"), **env}),
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_clone_without_the_real_exports_skips_only_their_tests_and_says_so(tmp_path):
    result = pytest_without_real_data(tmp_path)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "1 passed, 1 skipped" in result.stdout
    skipped = [line for line in result.stdout.splitlines() if line.startswith("SKIPPED")]
    assert len(skipped) == 1 and "needs the real public exports in" in skipped[0], result.stdout[-2000:]


def test_ci_fails_when_the_real_exports_are_missing(tmp_path):
    result = pytest_without_real_data(tmp_path, **{REQUIRE_REAL_DATA: "1"})
    assert result.returncode == 1, result.stdout[-3000:]
    assert "1 passed" in result.stdout and ("1 failed" in result.stdout or "1 error" in result.stdout)
    assert "needs the real public exports in" in result.stdout
