"""The dbt worker (pipelines/dbt_worker.py): dbt commands sent by its client run with the client's environment,
working directory and streams, and end with dbt's exit code; the worker dies with the process that started it.

Each case starts a real worker from a parent process of its own (as a pipeline process does) and runs real dbt
commands through the installed client, `neighborhood-metrics-dbt`. Every run of the pipeline goes through the
worker too (tests/e2e): this file checks what those runs would not show."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from pipelines.settings import DBT_CLIENT
from tests.conftest import REPO, cli_env

# A pipeline process in miniature: starts its worker, runs the client once per (profiles dir, working directory,
# arguments) given on standard input, and prints each exit code and output.
PARENT = """
import json, os, subprocess, sys
from pipelines import dbt_worker
from pipelines.settings import DBT_CLIENT
dbt_worker.start()
print(json.dumps({"worker": dbt_worker._worker.pid, "address": os.environ[dbt_worker.WORKER_ADDRESS]}), flush=True)
for line in sys.stdin:
    profiles, cwd, args = json.loads(line)
    done = subprocess.run([str(DBT_CLIENT), *args], cwd=cwd, env=os.environ | {"DBT_PROFILES_DIR": profiles},
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    print(json.dumps([done.returncode, done.stdout]), flush=True)
"""


def start_parent() -> tuple[subprocess.Popen, dict]:
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT],
        cwd=REPO,
        env=cli_env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    return parent, json.loads(parent.stdout.readline())


def command(parent: subprocess.Popen, profiles: Path, cwd: Path, *args: str) -> tuple[int, str]:
    parent.stdin.write(json.dumps([str(profiles), str(cwd), list(args)]) + "\n")
    parent.stdin.flush()
    return tuple(json.loads(parent.stdout.readline()))


def test_each_command_has_its_own_environment_and_streams_and_dbts_exit_code(tmp_path):
    parent, started = start_parent()
    try:
        first, second = tmp_path / "first", tmp_path / "second"
        for folder in (first, second):
            folder.mkdir()
        # dbt prints the profiles folder its environment names: each command, the one its own client was given.
        code, output = command(parent, first, first, "debug", "--config-dir")
        assert code == 0 and str(first) in output and str(second) not in output, output
        code, output = command(parent, second, second, "debug", "--config-dir")
        assert code == 0 and str(second) in output and str(first) not in output, output
        # A command dbt refuses: its message on the client's streams, and dbt's exit code for it (2).
        code, output = command(parent, first, first, "--no-such-option")
        assert code == 2 and "no-such-option" in output, output
        # Both ran in the one worker: it is still there, and still the parent's.
        os.kill(started["worker"], 0)
    finally:
        parent.stdin.close()
        parent.wait(timeout=60)


def test_the_worker_exits_with_the_process_that_started_it():
    parent, started = start_parent()
    assert not _alive_after_killing(parent, [started["worker"]]), (
        "the dbt worker outlived the process that started it"
    )
    # Its socket is gone too: a client given that address finds no worker.
    assert not Path(started["address"]).exists()


def test_without_a_worker_the_client_is_dbt_itself(tmp_path):
    done = subprocess.run(
        [str(DBT_CLIENT), "debug", "--config-dir"],
        cwd=tmp_path,
        # No NBHD_DBT_WORKER: cli_env() leaves out the test process's own settings.
        env=cli_env({"DBT_PROFILES_DIR": str(tmp_path)}),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0 and str(tmp_path) in done.stdout, done.stdout + done.stderr


def _alive(pid: int) -> bool:
    """Running, not a zombie waiting for its exit to be collected."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _alive_after_killing(parent: subprocess.Popen, pids: list[int]) -> list[int]:
    """Kill `parent` (SIGKILL: no clean-up of its own), and the `pids` still running 10 s later: each should end
    with it within half a second."""
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    return [pid for pid in pids if _alive(pid)]


def test_the_worker_takes_sigint_when_started_with_it_ignored():
    """A terminated run's client interrupts the worker's command with SIGINT; a worker started by a process that
    ignores SIGINT (a background job) inherits that, and must take SIGINT all the same."""
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import json, signal\n"
            "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
            "from pipelines import dbt_worker\n"
            "dbt_worker.start()\n"
            "print(json.dumps(dbt_worker._worker.pid), flush=True)\n"
            "input()\n"
            "dbt_worker.stop()\n",
        ],
        cwd=REPO,
        env=cli_env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    worker = json.loads(parent.stdout.readline())
    status = dict(
        line.split(":", 1) for line in Path(f"/proc/{worker}/status").read_text().splitlines() if ":" in line
    )
    sigint = 1 << (signal.SIGINT - 1)
    parent.communicate("\n", timeout=30)
    assert not int(status["SigIgn"], 16) & sigint, "the dbt worker ignores SIGINT"
    assert int(status["SigCgt"], 16) & sigint, "the dbt worker has no handler for SIGINT"
