"""The Dagster webserver serves the code location: through its GraphQL API (real HTTP on 127.0.0.1) every
stage is an asset, checks are attached (blocking ones among them), and the schedules and sensor are there."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import REPO

QUERY = """
{
  assetNodes {
    assetKey { path }
    groupName
    assetChecksOrError { ... on AssetChecks { checks { name blocking } } }
  }
  repositoriesOrError {
    ... on RepositoryConnection {
      nodes {
        name
        schedules { name cronSchedule scheduleState { status } pipelineName }
        sensors { name sensorState { status } targets { pipelineName } }
      }
    }
  }
}
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def webserver(tmp_path_factory):
    home = tmp_path_factory.mktemp("webserver_home")
    (home / "dagster").mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster" / "dagster.yaml")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NBHD_", "DAGSTER_"))}
    env |= {"NBHD_HOME": str(home), "DAGSTER_HOME": str(home / "dagster")}
    port = free_port()
    log = (home / "webserver.log").open("w")
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster-webserver"), "-m", "pipelines.definitions"]
        + ["-h", "127.0.0.1", "-p", str(port)],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            assert server.poll() is None, (home / "webserver.log").read_text()[-4000:]
            try:
                if requests.get(f"{url}/server_info", timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "webserver did not come up in 180 s"
            time.sleep(1)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


@pytest.fixture(scope="module")
def graph(webserver):
    response = requests.post(f"{webserver}/graphql", json={"query": QUERY}, timeout=120)
    response.raise_for_status()
    payload = response.json()
    assert "errors" not in payload, payload["errors"]
    return payload["data"]


def test_every_stage_is_an_asset(graph):
    keys = {"/".join(node["assetKey"]["path"]): node["groupName"] for node in graph["assetNodes"]}
    for stage, group in {
        "raw/demo_crimes": "ingest",
        "raw/demo_survey_qualtrics": "ingest",
        "warehouse/demo_crimes": "validate",
        "canonical/crime_incidents": "validate",
        "meta/loads": "validate",
        "staging/stg_crime__incidents": "staging",
        "intermediate/int_incidents_deduplicated": "intermediate",
        "published/crime_monthly": "published",
        "published/trust_quarterly": "published",
        "published_files": "published",
        "published_docs": "published",
        "published_report": "published",
    }.items():
        assert keys.get(stage) == group, f"{stage}: {keys.get(stage)!r}"
    sources = sorted(p.stem for p in (REPO / "sources" / "demo").glob("*.yml"))
    for source in sources:  # every source of the deployment has its ingest and validate stage
        assert f"raw/{source}" in keys and f"warehouse/{source}" in keys


def test_checks_are_attached_and_some_block(graph):
    checks = {
        "/".join(node["assetKey"]["path"]): {
            c["name"]: c["blocking"] for c in node["assetChecksOrError"]["checks"]
        }
        for node in graph["assetNodes"]
        if node["assetChecksOrError"].get("checks")
    }
    assert checks["warehouse/demo_crimes"]["quarantine_share"] is True
    assert checks["warehouse/demo_crimes"]["unmapped_offense_share"] is True
    assert checks["warehouse/demo_crimes"]["freshness"] is False  # a stale feed warns, never blocks
    assert any(blocking for name, blocking in checks["published/crime_monthly"].items() if "not_null" in name)
    sources = [p.stem for p in (REPO / "sources" / "demo").glob("*.yml")]
    assert all("freshness" in checks[f"warehouse/{source}"] for source in sources)


def test_schedules_and_sensors_are_served(graph):
    (repository,) = graph["repositoriesOrError"]["nodes"]
    schedules = {s["name"]: s for s in repository["schedules"]}
    assert schedules["daily_crime_schedule"]["cronSchedule"] == "0 6 * * *"
    assert schedules["daily_crime_schedule"]["pipelineName"] == "daily_crime"
    assert schedules["weekly_full_build_schedule"]["cronSchedule"] == "0 3 * * 0"
    assert schedules["weekly_full_build_schedule"]["pipelineName"] == "weekly_full_build"
    assert all(s["scheduleState"]["status"] == "RUNNING" for s in schedules.values())
    sensors = {s["name"]: s for s in repository["sensors"]}
    assert sensors["landing_files_sensor"]["sensorState"]["status"] == "RUNNING"
    assert [t["pipelineName"] for t in sensors["landing_files_sensor"]["targets"]] == ["load_landing_files"]
