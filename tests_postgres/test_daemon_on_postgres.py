"""Production storage, run for real: Dagster's instance on PostgreSQL (the repo's dagster-postgres.yaml, as the
README tells a data team to use it), the daemon running the code location, and one tick each of the landing-file
sensor and the daily crime schedule, whose runs, and the crime-months runs that crime_months_sensor starts after
them, must complete and be recorded in PostgreSQL.

The server is Debian's PostgreSQL (`make test-postgres` installs it when missing), started in a temporary folder
and listening on 127.0.0.1 only; the city is the hand-sized one of tests/fixtures/small_city.py.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg2
import pytest

from pipelines.settings import DEMO_SOURCES_DIR
from tests.conftest import REPO, cli_env
from tests.fixtures.small_city import build

# Both runs of the hand-sized city take about a minute each on an idle 2-core machine.
DEADLINE_SECONDS = 900


@dataclass(frozen=True)
class Server:
    port: int
    user: str = "dagster"
    database: str = "dagster"

    def connect(self):
        return psycopg2.connect(host="127.0.0.1", port=self.port, user=self.user, dbname=self.database)


def postgres_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    assert found, "PostgreSQL is not installed: `make test-postgres` installs Debian's postgresql package"
    return found[-1].parent


def as_server_user(command: list[str]) -> list[str]:
    # initdb refuses to run as root: as root (CI), the cluster belongs to Debian's `postgres` user.
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def postgres() -> Iterator[Server]:
    binaries = postgres_bin()
    # Not under pytest's own temporary folder: its 0700 parents would keep the server user out.
    folder = Path(tempfile.mkdtemp(prefix="nbhd-postgres-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    data, server = folder / "data", Server(free_port())
    subprocess.run(
        as_server_user(
            [str(binaries / "initdb"), "-D", str(data), "-U", server.user, "--auth=trust", "-E", "UTF8"]
        ),
        check=True,
        capture_output=True,
    )
    options = f"-c listen_addresses=127.0.0.1 -p {server.port} -k {folder}"
    subprocess.run(
        as_server_user(
            [
                str(binaries / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(folder / "server.log"),
                "-o",
                options,
                "-w",
                "start",
            ]
        ),
        check=True,
        capture_output=True,
    )
    try:
        subprocess.run(
            [
                str(binaries / "createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(server.port),
                "-U",
                server.user,
                server.database,
            ],
            check=True,
            capture_output=True,
        )
        yield server
    finally:
        subprocess.run(
            as_server_user([str(binaries / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(folder, ignore_errors=True)


def scheduled_minute(minutes_ahead: int) -> str:
    """A cron line firing once, `minutes_ahead` from now: after the sensor's first run is queued, so the crime
    job (which needs the boundaries that run loads) is queued behind it."""
    at = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=minutes_ahead)
    return f"{at.minute} {at.hour} * * *"


def recorded_runs(server: Server) -> dict[str, list[tuple[str, str]]]:
    """(run id, status) of the runs PostgreSQL holds, by the sensor or schedule that asked for them (none until
    the daemon has created Dagster's tables)."""
    with server.connect() as con, con.cursor() as cursor:
        try:
            cursor.execute(
                "SELECT t.value, r.run_id, r.status FROM runs r JOIN run_tags t ON t.run_id = r.run_id "
                "WHERE t.key IN ('dagster/sensor_name', 'dagster/schedule_name') ORDER BY r.create_timestamp"
            )
        except psycopg2.errors.UndefinedTable:
            return {}
        runs: dict[str, list[tuple[str, str]]] = {}
        for name, run_id, status in cursor.fetchall():
            runs.setdefault(name, []).append((run_id, status))
    return runs


def recorded_ticks(server: Server) -> set[tuple[str, str]]:
    """(instigator type, status) of every tick PostgreSQL holds."""
    with server.connect() as con, con.cursor() as cursor:
        cursor.execute("SELECT DISTINCT type, status FROM job_ticks")
        return set(cursor.fetchall())


FINISHED = {"SUCCESS", "FAILURE", "CANCELED"}


def test_the_daemon_runs_a_sensor_tick_and_a_schedule_tick_recorded_in_postgres(postgres, tmp_path):
    home, sources, dagster_home = tmp_path / "home", tmp_path / "sources", tmp_path / "dagster_home"
    build(home / "landing")
    hour_ago = time.time() - 3600  # settled files: the sensor leaves files changed in the last 30 s alone
    for file in (home / "landing").rglob("*"):
        os.utime(file, (hour_ago, hour_ago))
    sources.mkdir()
    for file in [*DEMO_SOURCES_DIR.glob("*.yml"), DEMO_SOURCES_DIR / "fbi_code_crosswalk.csv"]:
        shutil.copy(file, sources / file.name)
    dagster_home.mkdir()
    shutil.copy(REPO / "dagster-postgres.yaml", dagster_home / "dagster.yaml")
    env = cli_env(
        {
            "NBHD_HOME": str(home),
            "NBHD_SOURCES_DIR": str(sources),
            "NBHD_MAX_QUARANTINE_SHARE": "0.5",  # a hand-sized city: a few bad rows are a large share
            "NBHD_DAILY_CRON": scheduled_minute(2),
            "DAGSTER_HOME": str(dagster_home),
            "DAGSTER_PG_HOST": "127.0.0.1",
            "DAGSTER_PG_PORT": str(postgres.port),
            "DAGSTER_PG_DB": postgres.database,
            "DAGSTER_PG_USERNAME": postgres.user,
            "DAGSTER_PG_PASSWORD": "trust-authentication-ignores-it",
        }
    )
    daemon = subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster-daemon"), "run", "-m", "pipelines.definitions"],
        cwd=REPO,
        env=env,
        stdout=open(tmp_path / "daemon.log", "w"),  # noqa: SIM115  (closed with the process)
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + DEADLINE_SECONDS
        # The loading runs stop before the crime marts; crime_months_sensor follows each with their months.
        wanted = ("landing_files_sensor", "daily_crime_schedule", "crime_months_sensor")
        runs: dict[str, list[tuple[str, str]]] = {}
        while time.monotonic() < deadline:
            assert daemon.poll() is None, (tmp_path / "daemon.log").read_text()[-4000:]
            runs = recorded_runs(postgres)
            if all(runs.get(name) for name in wanted) and all(
                status in FINISHED for each in runs.values() for _, status in each
            ):
                break
            time.sleep(5)
        log = (tmp_path / "daemon.log").read_text()[-4000:]
        for name in wanted:
            assert runs.get(name), f"no run of {name} recorded in PostgreSQL: {runs}\n{log}"
            assert runs[name][0][1] == "SUCCESS", f"{name}: {runs[name]}\n{log}"
        assert {("SENSOR", "SUCCESS"), ("SCHEDULE", "SUCCESS")} <= recorded_ticks(postgres)
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        daemon.wait(timeout=60)
    # The runs did the work, and the instance kept nothing in local SQLite files.
    assert (home / "published" / "current" / "crime_monthly.parquet").is_file()
    assert not list(dagster_home.rglob("*.db"))
