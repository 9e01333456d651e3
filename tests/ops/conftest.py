"""One demo city run through the real CLI without a terminal (stdout and stderr are pipes), shared by the
tests of what a run prints and of what it publishes."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipelines.demo.generate import generate_demo_city
from tests.conftest import run_cli


@dataclass(frozen=True)
class DemoRun:
    home: Path
    result: subprocess.CompletedProcess


@pytest.fixture(scope="package")
def demo_run(tmp_path_factory) -> DemoRun:
    home = tmp_path_factory.mktemp("demo_run") / "home"
    generate_demo_city(home / "landing", "small")
    result = run_cli("run", "--home", str(home), timeout=1500)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return DemoRun(home, result)
