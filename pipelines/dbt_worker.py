"""The dbt worker: one process that runs every dbt command of a pipeline process, instead of a new dbt process each.

dagster-dbt runs each dbt command as a process of its own. A new dbt process imports dbt (3.5 s of CPU on a
2-core machine) and builds its macros, adapter and templates again before its first node: on the hand-sized city
the four dbt commands of a run cost 6-9 s each besides their nodes, against 1-4 s for the same commands run one
after another in one process (measured with dbt's own entry point, dbtRunner).

The pipeline process starts its worker once (`start`, when its dbt resource is first set up for a run) and
dagster-dbt runs the worker's client (`neighborhood-metrics-dbt`, `client` below) instead of dbt. The client hands
the worker its command line, environment, working directory (`DIRECTORY`) and output streams (their file
descriptors, over a Unix socket), and exits with the command's exit code: dbt writes its JSON log lines into the
pipe dagster-dbt reads, exactly as a dbt process of its own would. Without a worker to reach (NBHD_DBT_WORKER
unset, or the worker gone), the client becomes dbt itself.

The worker runs one command at a time, and closes the warehouse after each, so the pipeline's own steps between
two dbt commands can write it. It ends with the process that started it: stopped at that process's exit, and on
its own when that process is killed, mid-command too (as a dbt process dies with a killed run's process group).

Nothing here imports dbt but the worker itself: the client starts in a few tens of milliseconds.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from pipelines.settings import DBT_EXECUTABLE

# The worker's socket, in the environment of the process that started it: dagster-dbt passes that environment
# to the client.
WORKER_ADDRESS = "NBHD_DBT_WORKER"
# The folder a dbt command runs in, where the environment names one (the warehouse's: see
# pipelines/assets/dbt.py, dbt_environment); else the client's own working directory, the dbt project's.
DIRECTORY = "NBHD_DBT_DIRECTORY"
# How often the worker checks that the process that started it is still there.
PARENT_CHECK_SECONDS = 0.5

_worker: subprocess.Popen | None = None


def start() -> None:
    """Start this process's dbt worker unless it runs already, and point the client at it (NBHD_DBT_WORKER in
    this process's environment). Returns once the worker listens; it imports dbt after that, while the run goes
    on, and answers its first command when done."""
    global _worker
    if _worker is not None:
        if _worker.poll() is None:
            return
        stop()  # a worker that died: its socket's folder goes with it
    folder = Path(tempfile.mkdtemp(prefix="neighborhood-metrics-dbt-"))
    address = folder / "socket"
    _worker = subprocess.Popen(
        # Unbuffered, as dbt runs under dagster-dbt: each JSON log line reaches the run as dbt writes it.
        [sys.executable, "-u", "-m", "pipelines.dbt_worker", str(address)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert _worker.stdout is not None
    ready = _worker.stdout.readline().strip()
    _worker.stdout.close()
    if ready != "listening":
        _worker.wait()
        raise RuntimeError(f"the dbt worker did not start (exit code {_worker.returncode}): {ready!r}")
    os.environ[WORKER_ADDRESS] = str(address)
    atexit.unregister(stop)  # once, however many workers this process starts
    atexit.register(stop)


def stop() -> None:
    """End this process's worker, if it started one, and wait for it: its CPU time and peak memory then count
    among this process's children, as a dbt process's did. Called at exit (and by the CLI, which exits without
    Python's teardown)."""
    global _worker
    if _worker is None:
        return
    _worker.kill()  # not SIGTERM, which it may have inherited ignored (see validation_worker.stop)
    _worker.wait()
    shutil.rmtree(Path(_worker.args[-1]).parent, ignore_errors=True)  # its socket's folder
    os.environ.pop(WORKER_ADDRESS, None)
    _worker = None


# ---------------------------------------------------------------- the client: what dagster-dbt runs as dbt


def client() -> None:
    """`neighborhood-metrics-dbt ARGS`: `dbt ARGS`, run by the worker of the process that started this one."""
    args = sys.argv[1:]
    cwd = os.environ.get(DIRECTORY) or os.getcwd()
    connection = _connect(os.environ.get(WORKER_ADDRESS))
    if connection is None:
        os.chdir(cwd)
        os.execv(DBT_EXECUTABLE, [str(DBT_EXECUTABLE), *args])
    request = json.dumps({"args": args, "cwd": cwd, "env": dict(os.environ)}).encode() + b"\n"
    sent = socket.send_fds(connection, [request], [1, 2])  # dbt reads nothing: the worker's input is empty
    # Only what is left: a command that fails at once (an unknown option) may be over, and its connection closed,
    # by the time this line runs, and even an empty send on a closed connection raises BrokenPipeError.
    if sent < len(request):
        connection.sendall(request[sent:])
    replies = connection.makefile("rb")
    worker = int(replies.readline() or 0)
    # dagster-dbt interrupts dbt (SIGINT) when its run is terminated: the worker's command is interrupted instead.
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, lambda *_: _interrupt(worker))
    code = replies.readline().strip()
    if not code:
        print("neighborhood-metrics-dbt: the dbt worker stopped before the command finished", file=sys.stderr)
    sys.exit(int(code or 2))


def _interrupt(worker: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # the command ended meanwhile
        os.kill(worker, signal.SIGINT)


def _connect(address: str | None) -> socket.socket | None:
    if not address:
        return None
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.connect(address)
    except OSError as error:
        print(
            f"neighborhood-metrics-dbt: no dbt worker at {address} ({error}): dbt runs alone", file=sys.stderr
        )
        connection.close()
        return None
    return connection


# ---------------------------------------------------------------- the worker


def serve(address: Path) -> None:
    """Listen at `address`, say so on standard output, then run each command a client sends, one at a time."""
    parent = os.getppid()
    # A terminated run's client interrupts the command with SIGINT (`client`). A process inherits ignored signals,
    # and a background job starts with SIGINT ignored: Python then leaves it ignored, so it is taken back here.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(address))
    listener.listen()
    print("listening", flush=True)
    os.dup2(2, 1)  # the starter reads one line: anything printed later goes to standard error
    threading.Thread(target=_exit_with, args=(parent, address.parent), daemon=True).start()

    from multiprocessing import resource_tracker

    from dbt.cli.main import dbtRunner

    # dbt's locks come from multiprocessing, whose first lock starts a helper process (the resource tracker) that
    # keeps the standard streams it was started with: started here, not during a command, it holds none of a
    # client's (a client's pipe held open would never reach its end, and dagster-dbt would wait for it forever).
    resource_tracker.ensure_running()
    while True:
        try:
            connection, _ = listener.accept()
            with connection:
                _answer(connection, dbtRunner)
        # A Ctrl-C reaches the whole process group, the worker too, between commands as well; a client may be gone.
        except (KeyboardInterrupt, OSError):
            continue


def _exit_with(parent: int, folder: Path) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_SECONDS)
    shutil.rmtree(folder, ignore_errors=True)
    os._exit(1)


def _answer(connection: socket.socket, runner) -> None:
    data, streams, _, _ = socket.recv_fds(connection, 1 << 16, 2)
    try:
        while not data.endswith(b"\n"):
            more = connection.recv(1 << 16)
            if not more:
                return
            data += more
        request = json.loads(data)
        connection.sendall(f"{os.getpid()}\n".encode())
        code = _run(runner, request["args"], request["cwd"], request["env"], streams)
        connection.sendall(f"{code}\n".encode())
    finally:
        for stream in streams:
            os.close(stream)


def _run(runner, args: list[str], cwd: str, env: dict[str, str], streams: list[int]) -> int:
    """One dbt command with the client's environment, working directory and output streams; dbt's exit code
    (0 success, 1 a node failed, 2 dbt itself failed)."""
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    saved_streams = [os.dup(fd) for fd in (1, 2)]
    try:
        for fd, stream in zip((1, 2), streams, strict=True):
            os.dup2(stream, fd)
        os.environ.clear()
        os.environ.update(env)
        os.chdir(cwd)
        try:
            result = runner().invoke(args)
        except BaseException as error:  # noqa: BLE001 (an interrupt too: the client hears the command failed)
            print(f"dbt failed: {error!r}", file=sys.stderr)
            return 2
        if result.success:
            return 0
        if result.exception is not None:
            print(f"dbt failed: {result.exception}", file=sys.stderr)
            return 2
        return 1
    finally:
        # dbt-duckdb keeps its database open for the life of the process (a dbt process's, usually): closed before
        # the client hears the command is done, so that the pipeline's next step can open it.
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager

        DuckDBConnectionManager.close_all_connections()
        sys.stdout.flush()
        sys.stderr.flush()
        for fd, saved in zip((1, 2), saved_streams, strict=True):
            os.dup2(saved, fd)
            os.close(saved)
        os.environ.clear()
        os.environ.update(saved_env)
        os.chdir(saved_cwd)


if __name__ == "__main__":
    serve(Path(sys.argv[1]))
