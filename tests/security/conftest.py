"""One whole run of the pipeline shared by the security tests (RELIABILITY 11 and 12): the hand-sized city
(tests/fixtures/small_city.py: rosters, a Qualtrics wave with the PII columns real exports have, crimes, events)
plus a crime source read from a Socrata portal on 127.0.0.1 with an app token, under canary secrets. The CLI runs
in a subprocess with its own environment; the data home and the sources folder are temporary."""

from __future__ import annotations

import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from subprocess import CompletedProcess

import pytest

from pipelines.settings import DEMO_SOURCES_DIR
from tests.conftest import run_cli
from tests.connectors.portal import running_portal
from tests.fixtures.small_city import build

# Unique per session: a leak found in a shared folder (dbt_project/logs) is this session's, not an earlier one's.
CANARY_TOKEN = f"canary-app-token-{uuid.uuid4().hex}"
CANARY_SALT = f"canary-pii-salt-{uuid.uuid4().hex}"

PORTAL_YAML = """
# A crime source read from a portal, so the app token is really used.
name: portal_crimes
kind: crime
connector:
  type: socrata
  url: {url}
  order_by: id
  cursor_field: updated_on
  page_size: 3
  app_token_env: SOCRATA_APP_TOKEN
  http: {{timeout_seconds: 10, retries: 2, backoff_seconds: 0.01}}
timestamp_format: iso8601
columns:
  incident_id: id
  occurred_at: date
  updated_at: updated_on
  offense_code: fbi_code
  latitude: latitude
  longitude: longitude
offense_crosswalk: fbi_code_crosswalk.csv
"""
# Every asset but the dbt docs site (a second dbt invocation over the same models: a fifth of the run's time).
EVERYTHING_BUT_DOCS = 'not key:"published_docs"'
# Personal data a portal may publish beside an incident: no YAML maps it, so it must never be stored.
PORTAL_PERSONAL = {
    "reporting_officer_email": "officer.friendly@police.example.org",
    "complainant_phone": "(312) 555-0188",
    "complainant_name": "Jane Roe",
    "client_ip": "198.51.100.23",
}


def portal_records() -> list[dict]:
    points = [(41.82, -87.68), (41.82, -87.62), (41.87, -87.65)]
    return [
        {
            "id": f"P{number}",
            "date": f"2024-03-{number + 1:02d}T10:00:00.000",
            "updated_on": f"2024-03-{number + 2:02d}T09:00:00.000",
            "fbi_code": ["06", "04B", "26"][number % 3],
            "latitude": str(points[number % 3][0]),
            "longitude": str(points[number % 3][1]),
            **PORTAL_PERSONAL,
        }
        for number in range(7)
    ]


@dataclass
class SecurityRun:
    home: Path
    sources: Path
    result: CompletedProcess
    started: float  # time.time() when the run began: files of shared folders changed since are this run's
    app_tokens: list[str | None] = field(default_factory=list)  # the X-App-Token of every portal request

    @property
    def secrets(self) -> set[str]:
        return {CANARY_TOKEN, CANARY_SALT}


@pytest.fixture(scope="session")
def security_run(tmp_path_factory) -> SecurityRun:
    home = tmp_path_factory.mktemp("security_home")
    sources = tmp_path_factory.mktemp("security_sources")
    build(home / "landing")
    for file in [*DEMO_SOURCES_DIR.glob("*.yml"), DEMO_SOURCES_DIR / "fbi_code_crosswalk.csv"]:
        shutil.copy(file, sources / file.name)
    started = time.time()
    with running_portal() as portal:
        url = portal.soda("abcd-1234", portal_records())
        (sources / "portal_crimes.yml").write_text(PORTAL_YAML.format(url=url))
        env = {
            "SOCRATA_APP_TOKEN": CANARY_TOKEN,
            "NBHD_PII_SALT": CANARY_SALT,
            "NBHD_MIN_CELL": "10",
            "NBHD_MAX_QUARANTINE_SHARE": "0.5",  # a hand-sized city: a few bad rows are a large share
        }
        result = run_cli(
            "run", "--home", str(home), "--sources", str(sources), "--select", EVERYTHING_BUT_DOCS, env=env
        )
        tokens = list(portal.app_tokens)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]
    return SecurityRun(home, sources, result, started, tokens)
