"""Shared test helpers. Runs go through the real CLI in a subprocess, so each has its own environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# The real public exports, never copied into the repo. NBHD_REAL_DATA points elsewhere (the suite's own test of
# what happens when they are missing uses it).
REAL_DATA = Path(os.environ.get("NBHD_REAL_DATA") or REPO.parent / "shared" / "data" / "real")
# Set by .ci/run: there, missing real exports fail the tests that read them instead of skipping them.
REQUIRE_REAL_DATA = "NBHD_REQUIRE_REAL_DATA"
TEST_SALT = "test-salt-0123456789"


def cli_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "pipelines.cli", *args]


def cli_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment without any data home settings of its own, plus the test salt."""
    return (
        {key: value for key, value in os.environ.items() if not key.startswith(("NBHD_", "DAGSTER_"))}
        | {"NBHD_PII_SALT": TEST_SALT}
        | (env or {})
    )


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        cli_command(*args), cwd=REPO, env=cli_env(env), capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="session")
def real_data() -> Path:
    """The real exports' folder. Where it is missing, a user's clone still runs every other test, and pytest's
    closing summary (-ra) names each test skipped with this reason; CI fails instead."""
    if REAL_DATA.is_dir():
        return REAL_DATA
    message = f"needs the real public exports in {REAL_DATA}, which is missing"
    if os.environ.get(REQUIRE_REAL_DATA) == "1":
        pytest.fail(message)
    pytest.skip(message)


# A local replay of a city portal (tests/connectors/portal.py), for the connector and reliability tests.
@pytest.fixture(scope="module")
def portal_http():
    from tests.connectors.portal import portal_server

    with portal_server() as server:
        yield server


@pytest.fixture
def portal(portal_http):
    from tests.connectors.portal import fresh_portal

    return fresh_portal(portal_http)


@pytest.fixture(scope="session")
def soda_rows(real_data) -> list[dict]:
    return json.loads((real_data / "chicago_crimes_soda_api_sample200.json").read_text())
