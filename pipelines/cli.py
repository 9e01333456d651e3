"""`neighborhood-metrics`: demo, run, backfill, check-source, replay-quarantine. Wraps Dagster; its own CLI and UI keep working.

Exit code 0 only when every selected asset materialized and every blocking check passed.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import uuid
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

from rich.console import Console

from pipelines import dbt_worker, validation_worker
from pipelines.settings import DEMO_SOURCES_DIR, REPO_ROOT, Paths

DEMO_SALT = "demo-city-salt-not-a-secret"  # the demo's own data only; real deployments set NBHD_PII_SALT


def _configure(home: str | None, sources: str | None) -> Paths:
    if home:
        os.environ["NBHD_HOME"] = str(Path(home).resolve())
    if sources:
        os.environ["NBHD_SOURCES_DIR"] = str(Path(sources).resolve())
    paths = Paths.from_env()
    # Dagster keeps run history in the data home unless told otherwise; the repo's dagster.yaml configures it.
    dagster_home = Path(os.environ.setdefault("DAGSTER_HOME", str(paths.home / "dagster")))
    dagster_home.mkdir(parents=True, exist_ok=True)
    if not (dagster_home / "dagster.yaml").exists():
        shutil.copy(REPO_ROOT / "dagster.yaml", dagster_home / "dagster.yaml")
    return paths


RUN_JOB = "neighborhood_metrics_run"


@contextmanager
def records_to(log: Path):
    """Point this process's stdout and stderr (file descriptors 1 and 2) at `log` while the run runs: Dagster's
    console logger, dbt's output relayed by dagster-dbt, and any library's warnings all land there, and
    nothing else writes to the user's screen but the progress display, which holds its own copy of it."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    with open(log, "a") as file:
        os.dup2(file.fileno(), 1)
        os.dup2(file.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            for fd, copy in zip((1, 2), saved, strict=True):
                os.dup2(copy, fd)
                os.close(copy)


def console(stream) -> Console:
    # Lines are never wrapped (a long error stays one greppable line), and off a terminal (CI, cron, a pipe)
    # nothing is cropped either.
    return Console(file=stream, width=None if stream.isatty() else 200, highlight=False, soft_wrap=True)


@dataclass
class Phase:
    """One Dagster run of a CLI run: its assets and, for the crime marts, its months (partition keys)."""

    keys: set
    months: tuple[str, str] | None = None
    run_id: str = field(default_factory=lambda: str(uuid.uuid4()))


def run(
    selection=None,
    run_config: dict | None = None,
    verbose: bool = False,
    full_refresh: bool = False,
    months: tuple[str, str] | None = None,
) -> int:
    """Materialize the selected assets (default: all), showing their progress; then one summary, or one block per
    problem. `selection` is a Dagster selection string or AssetSelection; the dbt models it reads that the data
    home never built are added to it.

    The crime marts are partitioned by month. With `months` (a backfill) or `full_refresh` (every month), one run
    builds the selection over those months. Otherwise a selection holding them runs in two: first everything up to
    them (the loads), then the months those loads touched and what is downstream of the marts, as the daily job
    and crime_months_sensor do under Dagster's daemon.

    Without `verbose`, Dagster's and dbt's records go to a log file under the data home (its path is printed);
    with it, they stream to stderr as the run goes, and no progress display is drawn over them."""
    import dagster as dg

    from pipelines import definitions
    from pipelines.assets.dbt import (
        DBT_STEPS,
        TOUCHED_MONTHS_MODEL,
        all_months,
        dbt_asset_definitions,
        model_key,
        month_range_tags,
        touched_partitions,
    )
    from pipelines.progress import Progress, failure_blocks, success_summary, warnings_of
    from pipelines.resources import run_lock
    from pipelines.schedules import WRITER_TAGS, after_crime_marts, crime_marts

    defs = definitions.defs()
    paths = Paths.from_env()
    # The blocking checks defined beside the assets run with them; the others (freshness) are the daemon's.
    checks = [c for c in defs.asset_checks or [] if any(spec.blocking for spec in c.check_specs)]
    assets = [*(defs.assets or []), *checks]
    graph = dg.Definitions(assets=assets, resources=defs.resources).resolve_asset_graph()
    # A step that builds several assets together (meta/loads with its notes and reasons) is selected whole.
    chosen = dg.AssetSelection.from_coercible(
        selection or dg.AssetSelection.all()
    ).required_multi_asset_neighbors()
    selected = set(chosen.resolve(graph))
    instance = dg.DagsterInstance.get()
    dbt_keys = {key for assets in dbt_asset_definitions() for key in assets.keys}
    # A dbt model the selection reads that this data home never built (an upgrade added it, say, and the daily
    # selection does not hold it) is built with it, rather than the run failing on a missing table.
    upstream = set(dg.AssetSelection.assets(*selected).upstream().resolve(graph)) - selected
    latest = instance.get_latest_materialization_events(upstream & dbt_keys)  # one query, built keys only
    never_built = {key for key in upstream & dbt_keys if latest.get(key) is None}
    selected |= never_built
    marts = set(crime_marts().resolve(graph))
    if full_refresh:  # every dbt step of the run rebuilds the incremental models from all loaded rows
        months = months or all_months()
    if months or not selected & marts:
        phases = [Phase(selected, months if selected & marts else None)]
    else:
        # The loads, and the view of the months they touched, which the step building it reports.
        after = set(after_crime_marts().resolve(graph))
        phases = [Phase((selected - after) | {model_key(TOUCHED_MONTHS_MODEL)}), Phase(selected & after)]
        selected |= phases[0].keys
    dbt_checks = set((chosen | dg.AssetSelection.assets(*never_built)).resolve_checks(graph)) & {
        key for assets in dbt_asset_definitions() for key in assets.check_keys
    }
    steps = {a.node_def.name: set(a.keys) & selected for a in assets if set(a.keys) & selected}
    if full_refresh:
        refresh = {step: {"config": {"full_refresh": True}} for step in DBT_STEPS if step in steps}
        run_config = (run_config or {}) | {"ops": {**(run_config or {}).get("ops", {}), **refresh}}

    log = paths.home / "logs" / f"run-{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{phases[0].run_id[:8]}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    screen = open(os.dup(sys.stdout.fileno()), "w", buffering=1)  # noqa: SIM115 (closed below)
    header = f"run {' + '.join(phase.run_id[:8] for phase in phases)} · data home {paths.home} · " + (
        "Dagster and dbt records below" if verbose else f"Dagster and dbt records: {log}"
    )
    progress = Progress(console(screen), selected, dbt_keys, dbt_checks, steps, header, live=not verbose)
    results = []
    try:
        # One lock for the whole CLI run: another run must not write between its loads and its crime months.
        with (
            progress,
            nullcontext() if verbose else records_to(log),
            run_lock(paths.home, lambda message: progress.console.print(message, soft_wrap=True)),
        ):
            for number, phase in enumerate(phases):
                if number:  # the months the loads of the first run touched; none: only what follows the marts
                    phase.months = touched_partitions(instance, phases[0].run_id)
                    if not phase.months:
                        phase.keys -= marts
                        progress.leave_out(
                            marts & selected, {s for s, keys in steps.items() if keys <= marts}
                        )
                        progress.months = "none touched by the new loads"
                if phase.months:
                    progress.months = "{} to {}".format(*phase.months)
                if not phase.keys:
                    continue
                instance.add_event_listener(phase.run_id, progress.on_event)
                job_name = f"{RUN_JOB}_months" if number else RUN_JOB
                job = dg.Definitions(
                    assets=assets,
                    jobs=[dg.define_asset_job(job_name, selection=dg.AssetSelection.assets(*phase.keys))],
                    resources=defs.resources,
                ).resolve_job_def(job_name)
                # The config of the steps this run has (a step's config for another run would be refused).
                phase_steps = {a.node_def.name for a in assets if set(a.keys) & phase.keys}
                ops = (run_config or {}).get("ops", {})
                phase_config = (run_config or {}) | {
                    "ops": {step: config for step, config in ops.items() if step in phase_steps}
                }
                result = job.execute_in_process(
                    # The log file has every event (DEBUG); a verbose screen has the messages, as before.
                    run_config={
                        "loggers": {"console": {"config": {"log_level": "INFO" if verbose else "DEBUG"}}}
                    }
                    | phase_config,
                    instance=instance,
                    raise_on_error=False,
                    tags=WRITER_TAGS | (month_range_tags(*phase.months) if phase.months else {}),
                    run_id=phase.run_id,
                )
                results.append(result)
                if not result.success:
                    break
    finally:
        screen.close()
    out, err = console(sys.stdout), console(sys.stderr)
    blocks = failure_blocks(progress.events, paths, None if verbose else log)
    for line in warnings_of(progress.events):
        err.print(line)
    if blocks or not all(result.success for result in results):
        err.print(f"\nneighborhood-metrics: the run did not complete ({progress.elapsed()}):")
        for block in blocks or [f"  see {log}" if not verbose else "  see the records above"]:
            err.print(block)
        return 1
    out.print(success_summary(progress, paths, log if not verbose else None))
    return 0


def backfill(first: str, last: str, selection=None, verbose: bool = False) -> int:
    """Rebuild the months FIRST to LAST (YYYY-MM) of the crime marts from the loaded incidents, in one run, and
    everything downstream of the marts (or `selection`)."""
    from pipelines.assets.dbt import CRIME_MONTHS
    from pipelines.schedules import after_crime_marts

    keys = CRIME_MONTHS.get_partition_keys()
    for month in (first, last):
        if month not in keys:
            print(
                f"error: {month!r} is not a month of the crime marts' partitions (YYYY-MM, {keys[0]} to {keys[-1]})",
                file=sys.stderr,
            )
            return 2
    if first > last:
        print(f"error: --from {first} is after --to {last}", file=sys.stderr)
        return 2
    return run(selection or after_crime_marts(), verbose=verbose, months=(first, last))


def demo(size: str, home: str | None, verbose: bool = False) -> int:
    from pipelines.demo.generate import generate_demo_city

    os.environ["NBHD_SOURCES_DIR"] = str(DEMO_SOURCES_DIR)
    os.environ.setdefault("NBHD_PII_SALT", DEMO_SALT)
    paths = _configure(home, None)
    size_arg: str | int = int(size) if size.isdigit() else size
    print(f"Generating the demo city ({size}) into {paths.landing} ...", flush=True)
    summary = generate_demo_city(paths.landing, size_arg)
    print(
        f"  {summary['incidents']:,} incidents over {summary['months']} months, {len(summary['files'])} files"
    )
    return run(None, verbose=verbose)


def check_source(file: str, sample: str | None, home: str | None = None) -> int:
    """Validate a source YAML, and a sample file against it as the run would (see pipelines/check_source.py)."""
    from pipelines.check_source import check_source as check

    return check(file, sample, home)


def validated_against(source: str, specs) -> list[str]:
    """`source` and every source validated against it, directly or through another lookup (a calendar is
    validated against the boundaries, a roster against the calendars)."""
    from pipelines.kinds import kind_of

    kinds = {spec.name: spec.kind for spec in specs}
    names = [source]
    for name in names:  # grows while it is read: each dependent's own dependents follow it
        names += [
            spec.name for spec in specs if kinds[name] in kind_of(spec).lookups and spec.name not in names
        ]
    return names


def replay_quarantine(source: str, verbose: bool = False) -> int:
    """Re-validate SOURCE's quarantined rows, and those of every source validated against it, with their current
    config and lookups, load those that pass, and rebuild everything downstream, in one run.

    The run selects what depends on SOURCE and everything that reads from, so a corrected file dropped beside
    the fix is landed first and no model is built on another that this run left out."""
    import dagster as dg

    from pipelines.sources import load_sources
    from pipelines.warehouse import connect

    paths = Paths.from_env()
    specs = load_sources(paths.sources_dir)
    names = [spec.name for spec in specs]
    if source not in names:
        print(
            f"error: no source {source!r} in {paths.sources_dir} (sources: {', '.join(names)})",
            file=sys.stderr,
        )
        return 2
    replayed = validated_against(source, specs)

    def quarantined() -> dict[tuple[str, str], int]:
        if not paths.warehouse.exists():
            return {}
        with connect(paths.warehouse, read_only=True) as con:
            rows = con.execute(
                "SELECT source, reason, sum(rows) FROM meta.load_reasons WHERE list_contains(?, source) "
                "GROUP BY ALL ORDER BY ALL",
                [replayed],
            ).fetchall()
        return {(name, reason): int(count) for name, reason, count in rows}

    before = quarantined()
    if not before:
        print(f"{', '.join(replayed)}: nothing is quarantined; nothing to replay")
        return 0
    affected = dg.AssetSelection.assets(*(["warehouse", name] for name in replayed)).downstream()
    status = run(
        affected.upstream(),
        {"ops": {f"warehouse__{name}": {"config": {"replay_quarantine": True}} for name in replayed}},
        verbose,
    )
    after = quarantined()
    for name in replayed:
        was = {reason: n for (each, reason), n in before.items() if each == name}
        now = {reason: n for (each, reason), n in after.items() if each == name}
        if not was and not now:
            continue
        print(
            f"{name}: {sum(was.values())} quarantined rows replayed: {sum(was.values()) - sum(now.values())} "
            f"now loaded, {sum(now.values())} still quarantined"
            + "".join(
                f"\n  {reason}: {was.get(reason, 0)} -> {now.get(reason, 0)}" for reason in {**was, **now}
            )
        )
    return status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="neighborhood-metrics", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    demo_parser = commands.add_parser(
        "demo", help="generate the demo city, run everything, print the outputs"
    )
    demo_parser.add_argument(
        "--size", default="small", help="small (default), medium, large, or a number of incidents"
    )
    demo_parser.add_argument("--home", help="data home (default $NBHD_HOME or ./data)")
    run_parser = commands.add_parser("run", help="materialize assets against the configured sources")
    run_parser.add_argument(
        "--select", help="Dagster asset selection, e.g. 'key:parsed/*' (default: everything)"
    )
    run_parser.add_argument("--home", help="data home (default $NBHD_HOME or ./data)")
    run_parser.add_argument(
        "--full-refresh",
        action="store_true",
        help="rebuild the incremental dbt models from every loaded row (default: only what new loads touch)",
    )
    run_parser.add_argument(
        "--sources", help="folder of source YAML files (default $NBHD_SOURCES_DIR or sources/demo)"
    )
    backfill_parser = commands.add_parser(
        "backfill",
        help="rebuild a range of months of the crime marts (and what depends on them) from the loaded incidents",
    )
    backfill_parser.add_argument("--from", dest="first", required=True, help="first month, YYYY-MM")
    backfill_parser.add_argument("--to", dest="last", required=True, help="last month, YYYY-MM (included)")
    backfill_parser.add_argument(
        "--select",
        help="Dagster asset selection (default: the crime marts and everything downstream of them)",
    )
    backfill_parser.add_argument("--home", help="data home (default $NBHD_HOME or ./data)")
    backfill_parser.add_argument(
        "--sources", help="folder of source YAML files (default $NBHD_SOURCES_DIR or sources/demo)"
    )
    check_parser = commands.add_parser(
        "check-source", help="validate a source YAML (and a sample file) without loading"
    )
    check_parser.add_argument("file")
    check_parser.add_argument("--sample", help="a file of the source, validated as the run would load it")
    check_parser.add_argument(
        "--home",
        help="data home whose files hold the deployment's boundaries and calendars (default $NBHD_HOME or ./data)",
    )
    replay_parser = commands.add_parser(
        "replay-quarantine",
        help="after a fix (a corrected crosswalk, say), re-validate a source's quarantined rows and load those that pass",
    )
    replay_parser.add_argument("source")
    replay_parser.add_argument("--home", help="data home (default $NBHD_HOME or ./data)")
    replay_parser.add_argument(
        "--sources", help="folder of source YAML files (default $NBHD_SOURCES_DIR or sources/demo)"
    )
    for each in (demo_parser, run_parser, backfill_parser, replay_parser):
        each.add_argument(
            "--verbose",
            action="store_true",
            help="stream Dagster's and dbt's records (and any traceback) instead of the progress display",
        )
    args = parser.parse_args(argv)
    if args.command == "check-source":
        return check_source(args.file, args.sample, args.home)
    if args.command != "backfill":  # the commands that validate loads: great-expectations' import starts now
        validation_worker.start()
    try:
        if args.command == "demo":
            return demo(args.size, args.home, args.verbose)
        _configure(args.home, args.sources)
        if args.command == "run":
            return run(args.select, verbose=args.verbose, full_refresh=args.full_refresh)
        if args.command == "backfill":
            return backfill(args.first, args.last, args.select, args.verbose)
        return replay_quarantine(args.source, args.verbose)
    except Exception as error:  # before the run starts: a source YAML that does not load, a selection, ...
        if args.verbose:
            raise
        print(f"error: {type(error).__name__}: {error}\n(--verbose shows the traceback)", file=sys.stderr)
        return 1


def entry_point() -> NoReturn:
    """The `neighborhood-metrics` command: `main`, then an exit without Python's teardown of the libraries a run
    imported (DuckDB, pyarrow, dbt, great-expectations, Dagster), which took about a second after every run. By
    then every file the run wrote is closed and every transaction committed; the streams and log handlers are
    flushed here, and the workers are stopped."""
    code = main()
    dbt_worker.stop()
    validation_worker.stop()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    entry_point()
