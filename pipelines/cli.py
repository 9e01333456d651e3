"""`neighborhood-metrics`: demo, run, check-source (CONTRACT §2). Wraps Dagster; its own CLI and UI keep working.

Exit code 0 only when every selected asset materialized and every blocking check passed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

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


def run(selection=None, run_config: dict | None = None) -> int:
    """Materialize the selected assets (default: all) in one run; report failures by source and reason.
    `selection` is a Dagster selection string or AssetSelection."""
    import dagster as dg

    from pipelines import definitions

    defs = definitions.defs()
    # The blocking checks defined beside the assets run with them; the others (freshness) are the daemon's.
    checks = [c for c in defs.asset_checks or [] if any(spec.blocking for spec in c.check_specs)]
    assets = [*(defs.assets or []), *checks]
    result = dg.materialize(
        assets,
        instance=dg.DagsterInstance.get(),
        resources=defs.resources,
        selection=selection,
        raise_on_error=False,
        run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}} | (run_config or {}),
        tags={"neighborhood_metrics/writer": "warehouse"},
    )
    problems = []
    for evaluation in result.get_asset_check_evaluations():
        if evaluation.passed:
            continue
        where = f"check {evaluation.check_name} on {evaluation.asset_key.to_user_string()}"
        if evaluation.severity == dg.AssetCheckSeverity.ERROR:
            problems.append(f"{where} failed: {evaluation.description or 'see the log above'}")
        else:
            print(f"warning: {where} did not pass (severity warn)", file=sys.stderr)
    for event in result.all_events:
        error = event.step_failure_data.error if event.is_step_failure else None
        if error and "DagsterAssetCheckFailedError" not in error.cls_name:  # checks are reported above
            cause = error.cause or error
            problems.append(f"step {event.step_key} failed: {cause.message.strip()}")
    if problems or not result.success:
        print("\nneighborhood-metrics: the run did not complete:", file=sys.stderr)
        for problem in problems or ["see the Dagster log above"]:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    return 0


def describe_outputs(paths: Paths) -> str:
    published = sorted(paths.publish_dir.glob("*.parquet"))
    lines = [
        "",
        "Published tables (read these; the warehouse itself is the pipeline's working file):",
        *(f"  {file.with_suffix('')}.parquet|.csv" for file in published),
        f"  {paths.publish_dir / 'metrics.duckdb'}   (all tables, read-only snapshot)",
        "",
        f"Open them:  .venv/bin/python -c \"import duckdb; print(duckdb.connect('{paths.publish_dir / 'metrics.duckdb'}', read_only=True).sql('from crime_monthly limit 5'))\"",
        f"            python -c \"import pandas as pd; print(pd.read_parquet('{paths.publish_dir}/trust_quarterly.parquet'))\"",
        f"Quarantined rows and load counts: {paths.warehouse} (schemas quarantine, meta) and data_quality.parquet",
    ]
    return "\n".join(lines)


def demo(size: str, home: str | None) -> int:
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
    status = run(None)
    if status == 0:
        print(describe_outputs(paths))
    return status


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


def replay_quarantine(source: str) -> int:
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
        "--select", help="Dagster asset selection, e.g. 'key:raw/*' (default: everything)"
    )
    run_parser.add_argument("--home", help="data home (default $NBHD_HOME or ./data)")
    run_parser.add_argument(
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
    args = parser.parse_args(argv)

    if args.command == "demo":
        return demo(args.size, args.home)
    if args.command == "run":
        paths = _configure(args.home, args.sources)
        status = run(args.select)
        if status == 0:
            print(describe_outputs(paths))
        return status
    if args.command == "replay-quarantine":
        _configure(args.home, args.sources)
        return replay_quarantine(args.source)
    return check_source(args.file, args.sample, args.home)


if __name__ == "__main__":
    sys.exit(main())
