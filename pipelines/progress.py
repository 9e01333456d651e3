"""What a run shows while it runs: its stages with counts and elapsed time, from Dagster's event stream.

On a terminal, one live screen (rich) redrawn in place; elsewhere (CI, cron, a pipe), one plain line as each
stage ends, with its counts. Dagster's and dbt's own records go to the run's log file (see cli.run).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg
from rich.console import Console, Group
from rich.live import Live
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from pipelines.assets.dbt import REBUILT_WHOLE
from pipelines.assets.publish import CURRENT, SNAPSHOT
from pipelines.resources import WAITING
from pipelines.settings import Paths
from pipelines.warehouse import connect

STAGES = ("landing", "validating", "dbt", "publishing", "report")
STAGE_OF_KEY = {
    dg.AssetKey(["published_files"]): "publishing",
    dg.AssetKey(["published_docs"]): "report",
    dg.AssetKey(["published_report"]): "report",
}
STAGE_OF_PREFIX = {"parsed": "landing", "warehouse": "validating"}


def stage_of(key: dg.AssetKey, dbt_keys: set[dg.AssetKey]) -> str | None:
    """The stage an asset belongs to; None for the small steps between them (canonical views, weights)."""
    if key in dbt_keys:
        return "dbt"
    return STAGE_OF_KEY.get(key) or STAGE_OF_PREFIX.get(key.path[0])


@dataclass
class Stage:
    name: str
    assets: int  # selected assets of the stage (dbt: models and seeds)
    checks: int = 0  # dbt: selected tests
    steps: set[str] = field(default_factory=set)
    steps_finished: set[str] = field(default_factory=set)
    done: int = 0
    checks_done: int = 0
    checks_failed: int = 0
    failed: bool = False
    started: float | None = None
    ended: float | None = None
    detail: str = ""  # counts of the stage so far, e.g. files parsed

    @property
    def finished(self) -> bool:
        return bool(self.steps) and self.steps_finished == self.steps

    def counts(self) -> str:
        if self.name == "dbt":
            failed = f", {self.checks_failed} failed" if self.checks_failed else ""
            return f"models {self.done}/{self.assets} · tests {self.checks_done}/{self.checks}{failed}"
        unit = {"landing": "sources", "validating": "sources", "publishing": "step", "report": "steps"}
        return f"{self.done}/{self.assets} {unit[self.name]}" + (f" · {self.detail}" if self.detail else "")


@dataclass
class RunEvents:
    """What the run reported, for the closing summary: materializations' metadata, check results, failures."""

    metadata: dict[dg.AssetKey, dict] = field(default_factory=dict)
    checks: list[dg.AssetCheckEvaluation] = field(default_factory=list)
    # step, its asset (a multi-asset step has none), Dagster's SerializableErrorInfo of the error
    failures: list[tuple[str, dg.AssetKey | None, Any]] = field(default_factory=list)
    not_run: list[str] = field(default_factory=list)  # steps left out after a failure upstream


def _elapsed(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds), 60)
    return f"{minutes}:{seconds:02d}"


class Progress:
    """Follows a CLI run (one Dagster run, or two: the loads, then the crime months they touched): `on_event`
    receives each of their Dagster events (DagsterInstance.add_event_listener)."""

    def __init__(
        self,
        console: Console,
        selected: set[dg.AssetKey],
        dbt_keys: set[dg.AssetKey],
        dbt_checks: set[dg.AssetCheckKey],
        steps: dict[str, set[dg.AssetKey]],
        header: str,
        live: bool,
    ):
        self.console = console
        self.dbt_keys = dbt_keys
        self.dbt_checks = dbt_checks
        self.header = header
        self.started = time.monotonic()
        self.events = RunEvents()
        self.files_parsed = 0
        self.rows = {"received": 0, "quarantined": 0}
        counts = {name: 0 for name in STAGES}
        for key in selected:
            if stage := stage_of(key, dbt_keys):
                counts[stage] += 1
        self.stages = {name: Stage(name, counts[name]) for name in STAGES if counts[name]}
        if "dbt" in self.stages:
            self.stages["dbt"].checks = len(dbt_checks)
        self.steps = set(steps)
        self.steps_begun: set[str] = set()
        self.months: str | None = (
            None  # the crime marts' months (partitions) the run rebuilt, for the summary
        )
        self.over = False
        self.stage_of_step: dict[str, Stage] = {}
        self.asset_of_step: dict[str, dg.AssetKey] = {}
        for step, keys in steps.items():
            stage = next((stage_of(k, dbt_keys) for k in keys if stage_of(k, dbt_keys)), None)
            if stage in self.stages:
                self.stages[stage].steps.add(step)
                self.stage_of_step[step] = self.stages[stage]
            if len(keys) == 1:
                self.asset_of_step[step] = next(iter(keys))
        self.live = (
            # Not rich's default of printing the process's stdout/stderr above the display: those hold
            # Dagster's and dbt's records, which go to the log file (cli.records_to).
            Live(
                self.render(),
                console=console,
                refresh_per_second=4,
                redirect_stdout=False,
                redirect_stderr=False,
            )
            if live and console.is_terminal
            else None
        )

    def leave_out(self, keys: set[dg.AssetKey], steps: set[str]) -> None:
        """Assets, and the steps holding only them, that the run turned out not to need (the crime months when
        the loads touched none): not counted, and not "did not run"."""
        for key in keys:
            if (stage := stage_of(key, self.dbt_keys)) in self.stages:
                self.stages[stage].assets -= 1
        checks = {check for check in self.dbt_checks if check.asset_key in keys}
        self.dbt_checks -= checks
        if "dbt" in self.stages:
            self.stages["dbt"].checks -= len(checks)
        self.steps -= steps
        for step in steps:
            if step in self.stage_of_step:
                self.stage_of_step[step].steps.discard(step)

    def elapsed(self) -> str:
        return _elapsed(time.monotonic() - self.started)

    # The display -------------------------------------------------------------------------------------------

    def render(self) -> Group:
        table = Table.grid(padding=(0, 2))
        for column in ("icon", "stage", "counts", "elapsed"):
            table.add_column(column, justify="right" if column == "elapsed" else "left")
        now = time.monotonic()
        for stage in self.stages.values():
            if stage.failed:
                icon: Text | Spinner = Text("✗", style="bold red")
            elif self.over and stage.ended is None:
                icon = Text("-", style="dim")  # not run, or stopped, after a failure
            elif stage.ended is not None:
                icon = Text("✓", style="green")
            elif stage.started is not None:
                icon = Spinner("dots", style="cyan")
            else:
                icon = Text("·", style="dim")
            elapsed = "" if stage.started is None else _elapsed((stage.ended or now) - stage.started)
            table.add_row(icon, Text(stage.name, style="bold"), stage.counts(), elapsed)
        footer = Text(f"elapsed {_elapsed(now - self.started)}", style="dim")
        return Group(Text(self.header, style="dim"), table, footer)

    def __enter__(self) -> Progress:
        if self.live:
            self.live.start()
        else:
            self.console.print(self.header)
        return self

    def __exit__(self, *exc) -> None:
        self.over = True
        # Dagster leaves out the steps after a failed one without an event (only a log message).
        self.events.not_run = sorted(self.steps - self.steps_begun)
        for stage in self.stages.values():
            if stage.ended is None:
                self._line(stage, ("stopped: " if stage.started else "not run: ") + stage.counts())
        if self.live:
            self.live.update(self.render())
            self.live.stop()

    def _line(self, stage: Stage, what: str) -> None:
        if not self.live:
            self.console.print(f"[{_elapsed(time.monotonic() - self.started):>5}] {stage.name}: {what}")

    # The events ----------------------------------------------------------------------------------------------

    def on_event(self, entry) -> None:
        """One EventLogEntry of the run (called in the run's own thread)."""
        event = entry.dagster_event
        if event is None:  # a message logged by a step: a wait for another run, a rebuild of a whole model
            if entry.user_message.startswith((WAITING, REBUILT_WHOLE)):
                self.console.print(entry.user_message, soft_wrap=True)
            return
        stage = self.stage_of_step.get(event.step_key) if event.step_key else None
        kind = event.event_type
        now = time.monotonic()
        if kind in (dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SKIPPED):
            self.steps_begun.add(event.step_key)
        if kind == dg.DagsterEventType.STEP_START and stage and stage.started is None:
            stage.started = now
        elif kind == dg.DagsterEventType.ASSET_MATERIALIZATION:
            self._materialized(event.asset_key, event.event_specific_data.materialization.metadata)
        elif kind == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.event_specific_data
            self.events.checks.append(evaluation)
            check = dg.AssetCheckKey(evaluation.asset_key, evaluation.check_name)
            if check in self.dbt_checks and "dbt" in self.stages:
                self.stages["dbt"].checks_done += 1
                self.stages["dbt"].checks_failed += not evaluation.passed
        elif kind == dg.DagsterEventType.STEP_FAILURE:
            error = event.step_failure_data.error
            self.events.failures.append((event.step_key, self.asset_of_step.get(event.step_key), error))
            if stage:
                stage.failed = True
        if stage and kind in (
            dg.DagsterEventType.STEP_SUCCESS,
            dg.DagsterEventType.STEP_FAILURE,
            dg.DagsterEventType.STEP_SKIPPED,
        ):
            stage.steps_finished.add(event.step_key)
            if stage.finished and stage.ended is None:
                stage.ended = now
                stage.started = stage.started or now
                self._line(stage, ("FAILED: " if stage.failed else "done: ") + stage.counts())
        if self.live:
            self.live.update(self.render())

    def _materialized(self, key: dg.AssetKey, metadata) -> None:
        values = {name: value.value for name, value in metadata.items()}
        first = key not in self.events.metadata  # a run of several months materializes each of them
        self.events.metadata[key] = values
        name = stage_of(key, self.dbt_keys)
        if name not in self.stages or not first:
            return
        stage = self.stages[name]
        stage.done += 1
        if name == "landing":
            self.files_parsed += int(values.get("new_loads", 0))
            stage.detail = f"{self.files_parsed} files parsed"  # new, or parsed again under a new definition
        elif name == "validating":
            for count in self.rows:
                self.rows[count] += int(values.get(f"rows_{count}", 0))
            received, quarantined = self.rows["received"], self.rows["quarantined"]
            stage.detail = (
                f"{received:,} rows received, {received - quarantined:,} loaded, {quarantined:,} quarantined"
            )
        elif name == "publishing":
            stage.detail = f"{sum(1 for k in values if k.startswith('rows_'))} tables"


# After the run ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceCounts:
    loads: int
    received: int
    loaded: int
    quarantined: int
    reasons: list[tuple[str, int]]  # the most frequent first

    def line(self) -> str:
        return (
            f"{self.loads} file{'' if self.loads == 1 else 's'}: {self.received:,} rows received, {self.loaded:,} loaded, "
            f"{self.quarantined:,} quarantined"
        )


def source_counts(paths: Paths) -> dict[str, SourceCounts]:
    """Every load so far per source (meta.loads, meta.load_reasons): what the published tables are built from."""
    if not paths.warehouse.exists():
        return {}
    with connect(paths.warehouse, read_only=True) as con:
        ensure = (
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'meta' AND table_name = ?"
        )
        if not con.execute(ensure, ["loads"]).fetchone()[0]:
            return {}
        totals = con.execute(
            "SELECT source, count(*), sum(rows_received), sum(rows_loaded), sum(rows_quarantined) "
            "FROM meta.loads GROUP BY source ORDER BY source"
        ).fetchall()
        reasons = con.execute(
            "SELECT source, reason, sum(rows) AS n FROM meta.load_reasons GROUP BY ALL ORDER BY n DESC, reason"
        ).fetchall()
    return {
        source: SourceCounts(
            int(loads),
            int(received),
            int(loaded),
            int(quarantined),
            [(reason, int(n)) for each, reason, n in reasons if each == source],
        )
        for source, loads, received, loaded, quarantined in totals
    }


def _failed_check(evaluation: dg.AssetCheckEvaluation) -> str:
    where = f"check {evaluation.check_name} on {evaluation.asset_key.to_user_string()}"
    failing_rows = evaluation.metadata.get("dagster_dbt/failed_row_count")
    reason = evaluation.description or (
        f"{failing_rows.value} failing rows" if failing_rows is not None else "see the log"
    )
    return f"{where} failed: {reason}"


def warnings_of(events: RunEvents) -> list[str]:
    return [
        f"warning: {_failed_check(e)} (severity warn, the run goes on)"
        for e in events.checks
        if not e.passed and e.severity == dg.AssetCheckSeverity.WARN
    ]


MESSAGE_LINES = 8  # of one error, in its block; the whole message is in the log


def failure_blocks(events: RunEvents, paths: Paths, log: Path | None) -> list[str]:
    """One block per problem: what failed (source, check or step), the reason as it was raised (which names
    the file, row, column and value), the source's counts so far, and where the full log is."""
    counts = source_counts(paths)
    see = f"  full log: {log}" if log else "  (the records above have the details)"
    blocks = []

    def source_line(key: dg.AssetKey | None) -> list[str]:
        source = key.path[-1] if key and key.path[0] in ("parsed", "warehouse") else None
        if source is None:
            return []
        if source not in counts:
            return [f"  {source}: nothing loaded yet"]
        return [f"  {source} so far: {counts[source].line()}"]

    for evaluation in events.checks:
        if not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR:
            blocks.append(
                "\n".join([f"✗ {_failed_check(evaluation)}", *source_line(evaluation.asset_key), see])
            )
    for step, key, error in events.failures:
        if "DagsterAssetCheckFailedError" in error.cls_name:  # the failed check has its block above
            continue
        # "pipelines.kinds.base.SourceError: demo_crimes: ..." -> "SourceError: demo_crimes: ..."
        message = re.sub(r"^(\w+\.)+(?=\w+: )", "", (error.cause or error).message.strip()).splitlines()
        shown = [f"  {line}" for line in message[:MESSAGE_LINES]]
        if len(message) > MESSAGE_LINES:
            shown.append(f"  ... {len(message) - MESSAGE_LINES} more lines in the log")
        what = key.to_user_string() if key else step
        blocks.append("\n".join([f"✗ {what} failed:", *shown, *source_line(key), see]))
    if events.not_run:
        blocks.append(
            f"  {len(events.not_run)} later steps did not run; "
            "published/current still holds the last complete version"
        )
    return blocks


def success_summary(progress: Progress, paths: Paths, log: Path | None) -> str:
    events = progress.events
    lines = [f"\nDone in {progress.elapsed()}." + (f" Dagster and dbt records: {log}" if log else "")]
    counts = source_counts(paths)
    if counts:
        width = max(map(len, counts))
        lines.append("Sources (every load so far; top quarantine reasons):")
        for source, c in counts.items():
            reasons = ", ".join(f"{reason} {n:,}" for reason, n in c.reasons[:3])
            lines.append(f"  {source:<{width}}  {c.line()}" + (f"; {reasons}" if reasons else ""))
    if progress.months:
        lines.append(f"Crime months rebuilt: {progress.months}")
    errors = [e for e in events.checks if e.severity == dg.AssetCheckSeverity.ERROR]
    if errors:
        lines.append(f"Blocking checks: all {len(errors)} passed")
    published = events.metadata.get(dg.AssetKey(["published_files"]))
    current = paths.publish_dir / CURRENT
    if published:
        tables = {name.removeprefix("rows_"): n for name, n in published.items() if name.startswith("rows_")}
        lines.append(f"Published {len(tables)} tables in {current}/ ({Path(published['version']).name}):")
        width = max(map(len, tables))
        lines += [
            f"  {table:<{width}}  {rows:>10,} rows  {table}.parquet|.csv" for table, rows in tables.items()
        ]
        lines.append(f"  all of them in one DuckDB file: {current / SNAPSHOT} (read-only snapshot)")
    if dg.AssetKey(["published_docs"]) in events.metadata:
        lines.append(f"Dictionary: {current / 'docs' / 'data_dictionary.md'}")
        lines.append(f"Docs site:  {current / 'docs' / 'index.html'}")
    if dg.AssetKey(["published_report"]) in events.metadata:
        lines.append(f"Report:     {current / 'report' / 'index.html'}")
    return "\n".join(lines)
