"""Shared test helpers. Runs go through the real CLI in a subprocess, so each has its own environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
REAL_DATA = REPO.parent / "shared" / "data" / "real"
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
    # CI must fail, not skip, when the real public exports are missing.
    assert REAL_DATA.is_dir(), f"{REAL_DATA} is missing: the tests read the real public exports from there"
    return REAL_DATA


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
