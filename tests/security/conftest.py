"""One whole run of the pipeline shared by the security tests (properties 11 and 12): the hand-sized city
(tests/fixtures/small_city.py: rosters, a Qualtrics wave with the PII columns real exports have, crimes, events)
plus a crime source read from a Socrata portal on 127.0.0.1 with an app token, under canary secrets. The CLI runs
in a subprocess with its own environment; the data home and the sources folder are temporary. One run per session,
whichever xdist worker asks first (tests/conftest.py: shared_run)."""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipelines.settings import DEMO_SOURCES_DIR
from tests.conftest import SMALL_CITY_ENV, CityRun, run_cli, shared_run
from tests.connectors.portal import running_portal
from tests.fixtures.small_city import build

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


@dataclass(frozen=True)
class SecurityRun:
    run: CityRun
    token: str  # the canary app token the portal source read from the environment
    salt: str  # the canary PII salt
    app_tokens: list[str | None]  # the X-App-Token of every portal request

    @property
    def home(self) -> Path:
        return self.run.home

    @property
    def secrets(self) -> set[str]:
        return {self.token, self.salt}


@pytest.fixture(scope="session")
def security_run(tmp_path_factory) -> SecurityRun:
    def build_and_run(home: Path):
        # Unique per session: a leak found is this session's run's, not a leftover of an earlier one.
        token, salt = f"canary-app-token-{uuid.uuid4().hex}", f"canary-pii-salt-{uuid.uuid4().hex}"
        sources = home.parent / "security_sources"
        sources.mkdir(exist_ok=True)
        build(home / "landing")
        for file in [*DEMO_SOURCES_DIR.glob("*.yml"), DEMO_SOURCES_DIR / "fbi_code_crosswalk.csv"]:
            shutil.copy(file, sources / file.name)
        with running_portal() as portal:
            url = portal.soda("abcd-1234", portal_records())
            (sources / "portal_crimes.yml").write_text(PORTAL_YAML.format(url=url))
            env = SMALL_CITY_ENV | {"SOCRATA_APP_TOKEN": token, "NBHD_PII_SALT": salt}
            result = run_cli(
                "run",
                "--home",
                str(home),
                "--sources",
                str(sources),
                "--select",
                EVERYTHING_BUT_DOCS,
                env=env,
            )
            tokens = list(portal.app_tokens)
        return result, {"token": token, "salt": salt, "app_tokens": tokens}

    run = shared_run(tmp_path_factory, "security_city", build_and_run)
    return SecurityRun(run, **run.details)
