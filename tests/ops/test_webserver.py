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

SNAPSHOT = REPO / "tests" / "snapshots" / "asset_graph.txt"
QUERY = """
{
  assetNodes {
    assetKey { path }
    groupName
    dependencyKeys { path }
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


def key(node: dict) -> str:
    return "/".join(node["path"])


def served_as_snapshot(graph: dict) -> str:
    """What the webserver serves, written as tests/test_definitions.py describes the definitions."""
    (repository,) = graph["repositoriesOrError"]["nodes"]
    nodes = sorted(graph["assetNodes"], key=lambda node: key(node["assetKey"]))
    lines = [
        f"asset {key(node['assetKey'])} [{node['groupName']}] <- "
        + ", ".join(sorted(key(parent) for parent in node["dependencyKeys"]))
        for node in nodes
    ]
    checks = [
        (key(node["assetKey"]), check["name"], check["blocking"])
        for node in nodes
        for check in node["assetChecksOrError"].get("checks", [])
    ]
    lines += [
        f"check {asset}:{name}{' (blocking)' if blocking else ''}" for asset, name, blocking in sorted(checks)
    ]
    lines += [
        f"schedule {s['name']} '{s['cronSchedule']}' -> {s['pipelineName']}"
        for s in sorted(repository["schedules"], key=lambda s: s["name"])
    ]
    lines += [
        f"sensor {s['name']} -> " + ", ".join(sorted(t["pipelineName"] for t in s["targets"]))
        for s in sorted(repository["sensors"], key=lambda s: s["name"])
    ]
    return "\n".join(lines) + "\n"


def test_the_webserver_serves_the_definitions_graph(graph):
    assert served_as_snapshot(graph) == SNAPSHOT.read_text()


def test_the_schedules_and_the_sensor_are_on_by_default(graph):
    (repository,) = graph["repositoriesOrError"]["nodes"]
    states = {s["name"]: s["scheduleState"]["status"] for s in repository["schedules"]}
    states |= {s["name"]: s["sensorState"]["status"] for s in repository["sensors"]}
    assert states == {
        "daily_crime_schedule": "RUNNING",
        "weekly_full_build_schedule": "RUNNING",
        "landing_files_sensor": "RUNNING",
        "crime_months_sensor": "RUNNING",
    }
