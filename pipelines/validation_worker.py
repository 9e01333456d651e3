"""The validation worker: a source's new loads are validated in a process of its own, started before a run needs it.

A validation has two parts, two requests (pipelines/assets/validate.py): the loads themselves, each parsed file's
rows checked in SQL and written into the warehouse (`write_loads`), then great-expectations' suite on the rows
written (`validate_new_loads`).

- The loads are written by a process the worker forks for each validation, which exits when they are written: the
  memory they take (at 8.4 M incidents some 420 MB: DuckDB's `memory_limit` and what it holds beside) is given
  back, instead of staying in a process that holds Dagster, dbt's adapters and the definitions, about 500 MB
  before a load begins. In the pipeline's own process the crime loads took it to 885-1014 MB, against a bound of
  1 GB (benchmarks/README.md).
- Importing great-expectations costs about 3 s of CPU (itself 1.3 s, scipy 1.1 s, SQLAlchemy 0.4 s: `python -X
  importtime`), paid by every run before its first validation: most of the 3.1 s that validating a daily file of
  2,700 crime rows took, the suite itself 0.2 s. The CLI starts the worker (`start`) before it imports Dagster, so
  that the import runs on the other core while the pipeline's process starts Dagster and the run; elsewhere (a run
  of the Dagster daemon or UI, a test) it starts at the first validation.

One worker serves every validation of the process that started it, one request at a time. Its processes are
forked once great-expectations is imported (one forked in the middle of the import would wait forever for the
import's lock): the one that writes the loads, then those that run the suite on groups of loads side by side, one
per core up to four (`_pool`), each starting with great-expectations imported.

Requests and answers are pickles over the worker's standard input and output: a request holds what to do (one of
`OPERATIONS`), its arguments and the caller's environment (the data home's settings come from it); an answer the
result or the exception, and what the request wrote to standard error (great-expectations' warnings), which the
caller writes to its own: during a CLI run, the run's log file, not the screen. The worker and its processes write
the warehouse themselves; the caller holds no connection to it meanwhile (every connection is per operation:
pipelines/warehouse.py).

The worker ends when its input does (the process that started it exited) and, mid-validation too, when that
process is gone, and its forked processes when it is: none may keep the warehouse open for the next run.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pickle
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the CLI imports this module first thing: nothing more than it needs
    from concurrent.futures import ProcessPoolExecutor

    from pipelines.settings import Paths
    from pipelines.sources import SourceSpec
    from pipelines.warehouse import LoadSummary

# How often the worker checks that the process that started it is still there.
PARENT_CHECK_SECONDS = 0.5
# The most processes running the suite on groups side by side: each holds a batch of up to 500,000 rows and the
# copies great-expectations makes (about 600 MB at its peak for crime rows), so memory grows with their number.
GROUP_PROCESSES = 4

_worker: subprocess.Popen | None = None


def start() -> None:
    """Start this process's worker unless it runs already. Returns at once: the worker imports great-expectations
    while the caller goes on."""
    global _worker
    if _worker is not None and _worker.poll() is None:
        return
    _worker = subprocess.Popen(
        [sys.executable, "-m", "pipelines.validation_worker"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    atexit.unregister(stop)  # once, however many workers this process starts
    atexit.register(stop)


def stop() -> None:
    """End this process's worker, if it started one, and wait for it (its CPU time and peak memory then count
    among this process's children). Called at exit, and by the CLI, which exits without Python's teardown."""
    global _worker
    if _worker is None:
        return
    # SIGKILL, not SIGTERM: a process inherits ignored signals, and Dagster gives SIGTERM SIGINT's handler, which a
    # background job starts with ignored; a worker started there ignored SIGTERM, and its caller waited forever.
    _worker.kill()
    _worker.wait()
    _worker = None


def write_loads(
    spec: SourceSpec, specs: list[SourceSpec], paths: Paths, redo: list[str]
) -> list[LoadSummary]:
    """`ingest.validate(spec, specs, paths, redo)`, in a process the worker forks: the summaries of the loads
    written."""
    return _request("loads", spec.name, spec, specs, paths, redo)


def validate_new_loads(warehouse: Path, spec: SourceSpec) -> int:
    """`expectations.validate_new_loads(warehouse, spec)`, its groups of loads side by side in processes the worker
    forks: how many loads the suite validated."""
    return _request("expectations", spec.name, warehouse, spec)


def _request(operation: str, source: str, *args):
    """What the worker (started now if it is not running) answers to `operation` on `args`, for the loads of
    `source` (named in an error)."""
    start()
    assert _worker is not None and _worker.stdin is not None and _worker.stdout is not None
    try:
        pickle.dump((operation, args, dict(os.environ)), _worker.stdin)
        _worker.stdin.flush()
        failed, value, errors = pickle.load(_worker.stdout)
    except (EOFError, BrokenPipeError, pickle.UnpicklingError) as error:  # the worker died mid-answer too
        code = _worker.wait()
        stop()
        raise RuntimeError(
            f"the validation worker stopped (exit code {code}) while validating the loads of {source}"
        ) from error
    if errors:
        sys.stderr.write(errors)
        sys.stderr.flush()
    if failed:
        raise value
    return value


# ---------------------------------------------------------------- the worker


def serve() -> None:
    """Import great-expectations, and answer each request read from standard input until it ends."""
    requests, answers, screen = sys.stdin.buffer, os.fdopen(os.dup(1), "wb"), os.dup(2)
    threading.Thread(target=_exit_with, args=(os.getppid(),), daemon=True).start()
    # What the worker writes (great-expectations' warnings, from its import on) goes with the next answer.
    with tempfile.TemporaryFile() as errors:
        for fd in (1, 2):
            os.dup2(errors.fileno(), fd)
        try:
            _answer(requests, answers, errors)
        except KeyboardInterrupt:  # a Ctrl-C reaches the whole process group: the caller reports it
            raise SystemExit(130) from None
        except BaseException:
            # The worker itself failed: what it wrote, and why, on the standard error it started with.
            os.dup2(screen, 2)
            sys.stderr.write(_written(errors) + traceback.format_exc())
            raise SystemExit(1) from None


def _answer(requests, answers, errors) -> None:
    # What the requests need (great-expectations most of it) is imported on a thread of its own, while the caller
    # goes on: a request waits for the imports only as long as they still run.
    importer = threading.Thread(target=_import, daemon=True)
    importer.start()
    while True:
        try:
            operation, args, environment = pickle.load(requests)
        except EOFError:
            return
        saved_environment = dict(os.environ)
        os.environ.clear()
        os.environ.update(environment)
        try:
            importer.join()  # before any fork: a process forked in the middle of the import would wait forever
            answer: tuple = (False, OPERATIONS[operation](*args))
        except Exception as error:  # noqa: BLE001 (the caller raises it)
            # The traceback of a failure in a forked process comes with it (the cause of the error raised here).
            error.add_note(f"in the validation worker:\n{traceback.format_exc()}")
            answer = (True, error)
        finally:
            os.environ.clear()
            os.environ.update(saved_environment)
        answers.write(_pickled(answer + (_written(errors),)))
        answers.flush()


def _write_loads(*args) -> list[LoadSummary]:
    from pipelines import ingest

    with _pool(1) as loads:  # its memory goes with it
        return loads.submit(ingest.validate, *args).result()


def _run_suites(warehouse: Path, spec: SourceSpec) -> int:
    from pipelines.checks import expectations

    with _group_pool() as pool:
        return expectations.validate_new_loads(warehouse, spec, pool)


OPERATIONS = {"loads": _write_loads, "expectations": _run_suites}


def _import() -> None:
    """What the requests need, great-expectations most of it."""
    import great_expectations  # noqa: F401

    from pipelines import ingest  # noqa: F401
    from pipelines.checks import expectations  # noqa: F401


def _group_pool() -> ProcessPoolExecutor | contextlib.nullcontext:
    """Processes that run the suite on groups of loads side by side, one per core up to GROUP_PROCESSES
    (`expectations.validate_new_loads`): one validation of great-expectations runs on one core, while the pipeline's
    process and dbt's wait for it. None (a null context) on one core: the worker runs the groups one after another."""
    processes = min(len(os.sched_getaffinity(0)), GROUP_PROCESSES)
    return _pool(processes) if processes > 1 else contextlib.nullcontext()


def _pool(processes: int) -> ProcessPoolExecutor:
    """Up to `processes` processes forked from the worker as tasks come (so they start with what it imported), each
    ending when the worker is gone."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(
        max_workers=processes,
        mp_context=multiprocessing.get_context("fork"),
        initializer=_watch_parent,
        initargs=(os.getpid(),),
    )


def _watch_parent(parent: int) -> None:
    threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()


def _written(errors) -> str:
    """What was written to `errors` since it was last read; it is emptied."""
    sys.stdout.flush()
    sys.stderr.flush()
    errors.seek(0)
    text = errors.read().decode(errors="replace")
    errors.seek(0)
    errors.truncate()
    return text


def _pickled(answer: tuple) -> bytes:
    try:
        return pickle.dumps(answer)
    except Exception:  # noqa: BLE001 (an exception that does not pickle: its text does)
        failed, value, written = answer
        return pickle.dumps((True, RuntimeError(f"{value!r}\n{traceback.format_exc()}"), written))


def _exit_with(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(1)


if __name__ == "__main__":
    serve()
