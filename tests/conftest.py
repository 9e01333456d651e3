"""Shared test helpers. Runs go through the real CLI in a subprocess, so each has its own environment."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from filelock import FileLock

from tests.fixtures.small_city import SmallCity, build

REPO = Path(__file__).resolve().parents[1]
# The real public exports, never copied into the repo. NBHD_REAL_DATA points elsewhere (the suite's own test of
# what happens when they are missing uses it).
REAL_DATA = Path(os.environ.get("NBHD_REAL_DATA") or REPO.parent / "shared" / "data" / "real")
# Set by .ci/run: there, missing real exports fail the tests that read them instead of skipping them.
REQUIRE_REAL_DATA = "NBHD_REQUIRE_REAL_DATA"
TEST_SALT = "test-salt-0123456789"
# The published tables, not the dbt docs site and the HTML report built from them (a third of a run's time): what
# a run selects when no test of it reads the docs or the report.
TABLES_ONLY = 'not key:"published_docs" and not key:"published_report"'
# A hand-sized city has a few bad rows in very few rows: allow a larger refused share. Cells of 10 respondents
# (the default) leave it suppressed quarters next to published ones.
SMALL_CITY_ENV = {"NBHD_MIN_CELL": "10", "NBHD_MAX_QUARANTINE_SHARE": "0.5"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The modules marked runs_long first, each in the order collected. `make test` hands each of its two workers
    whole modules in this order (--dist loadfile --no-loadscope-reorder), so the longest start first and the
    workers end together. By default xdist starts the modules with the most tests first: one worker then ran the
    incremental property test (2.5 minutes, one test) alone while the other had finished 3 minutes earlier."""
    items.sort(key=lambda item: item.get_closest_marker("runs_long") is None)


def cli_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "pipelines.cli", *args]


def cli_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment without any data home settings of its own, plus the test salt."""
    return (
        {key: value for key, value in os.environ.items() if not key.startswith(("NBHD_", "DAGSTER_"))}
        | {"NBHD_PII_SALT": TEST_SALT}
        | (env or {})
    )


def parse_file(spec, file: Path, salt: str | None = TEST_SALT):
    """A landing file as its kind lands it (`Kind.land`: the parsed Parquet a run writes), with `_row`, as a
    frame."""
    from pipelines.kinds import kind_of
    from pipelines.kinds.base import parsed_files_sql
    from pipelines.warehouse import connect

    parsed = file.with_name(f".{file.name}.parsed.parquet")
    try:
        with connect(None, allowed=[file.resolve().parent]) as con:
            kind_of(spec).land(spec, file, parsed, {}, con, salt)
            return con.execute(
                f"SELECT * EXCLUDE (_load, _position) FROM ({parsed_files_sql([parsed])})"
            ).df()
    finally:
        parsed.unlink(missing_ok=True)


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        cli_command(*args), cwd=REPO, env=cli_env(env), capture_output=True, text=True, timeout=timeout
    )


def dbt_log_events(home: Path, *names: str) -> list[dict]:
    """The events of the JSON log that a data home's dbt commands write (pipelines/assets/dbt.py: dbt_target),
    oldest first: the files dbt rotated its log into (dbt.log.1 is newer than dbt.log.2), then dbt.log. Complete
    lines only, so a log a run is writing can be read. With `names`, the events of those names only, picked out of
    the text before it is parsed: a data home's log holds tens of MB."""
    quoted = [json.dumps(name).encode() for name in names]
    logs = sorted((home / "dbt").glob("dbt.log.*"), key=lambda log: -int(log.suffix[1:]))
    events = []
    for log in [*logs, home / "dbt" / "dbt.log"]:
        with contextlib.suppress(FileNotFoundError):  # rotated away while a run writes
            # the text after the last line break may be half-written
            lines = log.read_bytes().split(b"\n")[:-1]
            events += [
                json.loads(line)
                for line in lines
                if line.startswith(b"{") and (not names or any(name in line for name in quoted))
            ]
    return [event for event in events if not names or event["info"]["name"] in names]


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


# ---------------------------------------------------------------- whole runs shared by the session


@dataclass(frozen=True)
class CityRun:
    """A data home one whole pipeline run built, shared by every test of the session, in every xdist worker: read
    it, never change it; a test that changes a home works on a copy (`copy_to`)."""

    home: Path
    seconds: float  # wall time of the run
    stdout: str
    stderr: str
    details: dict  # what the run's builder recorded beside it (JSON)

    def copy_to(self, target: Path) -> Path:
        """A copy of the completed data home (warehouse, raw, published, Dagster history) to change freely."""
        shutil.copytree(self.home, target, symlinks=True)
        return target


def run_once(home: Path, build_and_run: Callable[[Path], tuple[subprocess.CompletedProcess, dict]]) -> dict:
    """What shared_run records of a run. A builder that raised is recorded too: the other workers then fail with its
    error instead of building again."""
    started, details = time.monotonic(), {}
    try:
        result, details = build_and_run(home)
    except Exception as error:
        result = subprocess.CompletedProcess([], None, "", f"{type(error).__name__}: {error}")
    return {
        "returncode": result.returncode,
        "stdout": result.stdout,
        "stderr": result.stderr,
        "seconds": time.monotonic() - started,
        "details": details,
    }


def shared_run(
    tmp_path_factory, name: str, build_and_run: Callable[[Path], tuple[subprocess.CompletedProcess, dict]]
) -> CityRun:
    """`build_and_run(home)` once per session: the first xdist worker to ask runs it while holding a file lock, the
    others wait on the lock and reuse its home. Every worker's base temp dir lies in the session's own one, which
    is where the shared homes go (without xdist, the base temp dir itself)."""
    base = tmp_path_factory.getbasetemp()
    root = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "shared_runs"
    root.mkdir(exist_ok=True)
    home, record = root / name, root / f"{name}.json"
    with FileLock(root / f"{name}.lock"):
        if not record.exists():
            home.mkdir()
            record.write_text(json.dumps(run_once(home, build_and_run)))
    outcome = json.loads(record.read_text())
    assert outcome["returncode"] == 0, f"{name}: " + outcome["stdout"][-3000:] + outcome["stderr"][-6000:]
    return CityRun(home, outcome["seconds"], outcome["stdout"], outcome["stderr"], outcome["details"])


@pytest.fixture(scope="session")
def small_city(tmp_path_factory) -> CityRun:
    """The hand-sized city (tests/fixtures/small_city.py) through one whole run of the real CLI: every asset,
    the docs site and the report included."""

    def build_and_run(home: Path):
        build(home / "landing")
        return run_cli("run", "--home", str(home), env=SMALL_CITY_ENV), {}

    return shared_run(tmp_path_factory, "small_city", build_and_run)


@pytest.fixture(scope="session")
def small_city_truth(tmp_path_factory) -> SmallCity:
    """The small city's ground truth: the fixture is seeded, so writing it again gives the truth of the files the
    shared run loaded."""
    return build(tmp_path_factory.mktemp("small_city_truth") / "landing")


@pytest.fixture(scope="session")
def demo_city(tmp_path_factory) -> CityRun:
    """`neighborhood-metrics demo`: the generated demo city at its default size ("small", seed 7, the programs'
    built-in effects), everything published, as a user's first run does."""

    def build_and_run(home: Path):
        # 60,000 incidents and the docs site: longer than the other runs' bound on a busy machine.
        return run_cli("demo", "--home", str(home), timeout=1200), {}

    return shared_run(tmp_path_factory, "demo_city", build_and_run)
