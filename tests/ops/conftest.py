"""One demo city run through the real CLI without a terminal (stdout and stderr are pipes), shared by the
tests of what a run prints and of what it publishes."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipelines.demo.generate import generate_demo_city
from tests.conftest import run_cli, shared_run


@dataclass(frozen=True)
class DemoRun:
    home: Path
    result: subprocess.CompletedProcess


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory) -> DemoRun:
    """Built once per session, whichever xdist worker asks first (`shared_run`)."""

    def build_and_run(home: Path):
        generate_demo_city(home / "landing", "small")
        return run_cli("run", "--home", str(home), timeout=1500), {}

    city = shared_run(tmp_path_factory, "ops_demo_run", build_and_run)
    return DemoRun(city.home, subprocess.CompletedProcess(["run"], 0, city.stdout, city.stderr))
