"""Chicago scale (issue 8): the demo city at Chicago's size against the plain-DuckDB floor, in one run.

    .venv/bin/python benchmarks/chicago_scale.py [--size large] [--home DIR] [--regenerate] [--increment-only]
                                                 [--one-file]

Measures, each in its own child process (wall time, CPU time of the process and its children, peak RSS):
  (a) a full refresh from the landing files (`neighborhood-metrics run`, everything) at `--size` and at the
      small size, so that the marginal cost of the data (large minus small: Dagster's and dbt's start-up and the
      small tables cancel out) can be set against
  (c) the floor: plain DuckDB in one process reading the same crime CSV files, point in polygon against the same
      boundaries, crosswalk, group by month x neighborhood x category; measured before the refreshes and after
      them, the ratios taken to the mean of the two (a shared machine's speed drifts during a run);
      With --one-file, also a full refresh of the same city with its crime history in one file (a bulk export);
  (b) a daily increment on both cities: one new landing file of 700 new and 2,000 revised incidents, then what
      the `daily_crime` job runs (the crime sources, everything built from them, the dbt seeds); and their ratio;
  (d) after a full refresh larger than small, what DuckDB alone takes to write the crime rows where a refresh keeps
      them (parsed files, raw, the incident table), and to read the crime files without writing them: added to
      the floor, a part of the marginal no pipeline of this design goes under.
It prints figures, and every process's peak RSS against the 1 GB bound; it is not a test. The machine may be
shared: the load averages are printed with them (--increment-only measures the increments again later).

Generated homes are kept in --home/<size> and reused (generating 8.4 M incidents takes minutes); --regenerate
makes them again.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipelines.cli import DEMO_SALT  # noqa: E402
from pipelines.demo._crimes import CRIME_FILE_PATTERN  # noqa: E402
from pipelines.settings import DEMO_SOURCES_DIR  # noqa: E402

SEED = 7
MARKER = ".demo-city.json"  # in landing/: what was generated there
PAGE = os.sysconf("SC_PAGE_SIZE")
PROCESS_BOUND_MB = 1024  # issue 15: every process of a run at most 1 GB at 8.4 M incidents


@dataclass
class Measured:
    label: str
    wall: float
    cpu: float
    peak_rss_mb: float  # the largest single process (the pipeline's own, or the dbt process it starts)
    tree_rss_mb: float  # all processes of the run together (sampled every 0.1 s)
    main_rss_mb: float  # the pipeline's own process (Dagster and the loads in it; sampled)
    incidents: int
    log: Path | None = None
    load: tuple[float, float] = (0.0, 0.0)  # 1-minute load average before and after
    # every process of the run (the pipeline, each dbt invocation) -> its sampled peak RSS in MB
    processes: dict[str, float] = field(default_factory=dict)
    main_peak_at: float = 0.0  # when the pipeline's own process reached its peak (time.time())
    started_at: float = 0.0  # time.time() at the start
    stolen: float = 0.0  # the share of the machine's CPU time the hypervisor gave other machines meanwhile


# ---- measuring a child process


def cpu_times() -> list[int]:
    """The machine's CPU time so far, in ticks (/proc/stat): user, nice, system, idle, iowait, irq, softirq, steal."""
    with open("/proc/stat") as handle:
        return [int(value) for value in handle.readline().split()[1:9]]


def stolen_share(before: list[int], after: list[int]) -> float:
    """The share of the machine's CPU time between two `cpu_times` that the hypervisor ran other machines on its
    cores (steal): on a shared host, a run with a large share ran on a slower machine."""
    spent = [a - b for a, b in zip(after, before, strict=True)]
    return spent[7] / sum(spent) if sum(spent) else 0.0


def _process_tree_rss(root: int) -> dict[int, int]:
    """Bytes resident in `root` and in each of its descendants, by process id (from /proc, standard library
    only)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
            parents.setdefault(int(fields[1]), []).append(int(entry))
        except (OSError, IndexError, ValueError):
            continue
    resident, stack = {}, [root]
    while stack:
        pid = stack.pop()
        try:
            with open(f"/proc/{pid}/statm", "rb") as handle:
                resident[pid] = int(handle.read().split()[1]) * PAGE
        except (OSError, IndexError, ValueError):
            continue
        stack.extend(parents.get(pid, []))
    return resident


def process_label(pid: int, root: int) -> str:
    """What a process of the run is, for the table: the pipeline itself, one of its workers, or the dbt command it
    started."""
    if pid == root:
        return "pipeline (Dagster, parsing, checks)"
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            words = [w.decode(errors="replace") for w in handle.read().split(b"\0") if w]
    except OSError:
        return f"process {pid}"
    names = [Path(w).name for w in words]
    if "pipelines.dbt_worker" in words:
        return "dbt worker (every dbt command)"
    if "pipelines.validation_worker" in words:  # and the processes it forks: the loads', the suite's
        return "validation worker (loads, great-expectations)"
    if "dbt" in names:
        command = words[names.index("dbt") + 1 : names.index("dbt") + 3]
        return "dbt " + " ".join(w for w in command if not w.startswith("-"))
    return " ".join(names[:2]) or f"process {pid}"


def measure(
    label: str, command: list[str], env: dict[str, str], incidents: int, log: Path | None
) -> Measured:
    """Run `command` and measure it: wall clock, user + system CPU of it and every descendant it waited for
    (os.wait4), the largest process's peak RSS (ru_maxrss) and the sampled peak of the whole tree."""
    load_before, ticks_before = os.getloadavg()[0], cpu_times()
    out = open(log, "w") if log else subprocess.DEVNULL  # noqa: SIM115 (closed below)
    started_at, start = time.time(), time.perf_counter()
    child = subprocess.Popen(command, env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
    peak_tree, main_peak_at = 0, 0.0
    peaks: dict[int, int] = {}  # pid -> peak resident bytes
    labels: dict[int, str] = {}
    done = threading.Event()

    def sample() -> None:
        nonlocal peak_tree, main_peak_at
        while not done.is_set():
            resident = _process_tree_rss(child.pid)
            peak_tree = max(peak_tree, sum(resident.values()))
            for pid, rss in resident.items():
                if pid == child.pid and rss > peaks.get(pid, 0):
                    main_peak_at = time.time()
                peaks[pid] = max(peaks.get(pid, 0), rss)
                if pid not in labels:
                    labels[pid] = process_label(pid, child.pid)
            done.wait(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    done.set()
    sampler.join()
    child.returncode = os.waitstatus_to_exitcode(status)
    if log:
        out.close()
    if child.returncode != 0:
        tail = log.read_text()[-4000:] if log else ""
        raise SystemExit(f"{label}: exit code {child.returncode}\n{tail}\n(full log: {log})")
    # Several dbt invocations of one kind (the two dbt build steps) are listed by their largest.
    processes: dict[str, float] = {}
    for pid, rss in peaks.items():
        name = labels[pid]
        processes[name] = max(processes.get(name, 0.0), rss / (1 << 20))
    return Measured(
        label,
        wall,
        usage.ru_utime + usage.ru_stime,
        usage.ru_maxrss / 1024,
        peak_tree / (1 << 20),
        peaks.get(child.pid, 0) / (1 << 20),
        incidents,
        log,
        (load_before, os.getloadavg()[0]),
        processes,
        main_peak_at,
        started_at,
        stolen_share(ticks_before, cpu_times()),
    )


def in_child(function, /, *args, **kwargs):
    """`function(*args, **kwargs)` run in a fresh process. Linux counts a parent's peak resident memory in the peak
    (ru_maxrss) of every process it starts afterwards (exec keeps the greater of the two), so the work done here
    stays out of this process: writing the daily file of a city of 16.8 M incidents reads a yearly file of 650,000
    rows whole (about 1 GB), and the increments measured after it reported that as their largest process."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(function, *args, **kwargs).result()


# ---- the demo city's homes


def generated_home(root: Path, size: str, regenerate: bool) -> tuple[Path, dict]:
    from pipelines.demo.generate import generate_demo_city

    home = root / size
    landing = home / "landing"
    marker = landing / MARKER
    if marker.exists() and not regenerate:
        summary = json.loads(marker.read_text())
        if summary.get("size") == size and summary.get("seed") == SEED:
            print(f"  reusing the {size} demo city in {landing}", flush=True)
            return home, summary
    shutil.rmtree(home, ignore_errors=True)
    print(f"  generating the {size} demo city into {landing} ...", flush=True)
    start = time.perf_counter()
    summary = in_child(generate_demo_city, landing, int(size) if size.isdigit() else size, seed=SEED)
    summary |= {"size": size, "seed": SEED, "generated_in_s": round(time.perf_counter() - start, 1)}
    marker.write_text(json.dumps(summary))
    print(f"  generated in {summary['generated_in_s']} s", flush=True)
    return home, summary


def one_file_home(home: Path) -> Path:
    """The city of `home` with its crime history in one file, the shape of a portal's bulk export (Chicago's is one
    CSV of 8.4 M rows): the yearly files joined, the header once; the other sources' files are hard links. Kept in
    `<home>-one-file` and reused while `home`'s city is the same."""
    one = home.with_name(f"{home.name}-one-file")
    marker = home / "landing" / MARKER
    if (one / "landing" / MARKER).exists() and (one / "landing" / MARKER).read_text() == marker.read_text():
        print(f"  reusing the one-file city in {one / 'landing'}", flush=True)
        return one
    shutil.rmtree(one, ignore_errors=True)
    crime = crime_sources()
    for folder in (home / "landing").iterdir():
        if folder.is_dir() and folder.name not in crime:
            shutil.copytree(folder, one / "landing" / folder.name, copy_function=os.link)
    for source in crime:
        (one / "landing" / source).mkdir(parents=True)
        with open(one / "landing" / source / "crimes_all_years.csv", "wb") as joined:
            for number, yearly in enumerate(sorted((home / "landing" / source).glob(CRIME_FILE_PATTERN))):
                with open(yearly, "rb") as rows:
                    header = rows.readline()
                    if number == 0:
                        joined.write(header)
                    shutil.copyfileobj(rows, joined, 1 << 20)
    shutil.copy(marker, one / "landing" / MARKER)
    return one


def reset(home: Path) -> None:
    """Everything but the generated landing files: the next run is a full refresh."""
    for entry in home.iterdir():
        if entry.name == "landing":
            continue
        shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
    for daily in (home / "landing" / "demo_crimes").glob("crimes_daily_*.csv"):
        daily.unlink()  # an earlier benchmark's incremental file


def cli_env(home: Path) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("NBHD_", "DAGSTER_", "DBT_"))}
    return environment | {
        "NBHD_HOME": str(home),
        "NBHD_SOURCES_DIR": str(DEMO_SOURCES_DIR),
        "NBHD_PII_SALT": os.environ.get("NBHD_PII_SALT", DEMO_SALT),
    }


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "pipelines.cli", *args]


def daily_selection() -> str:
    """What the daily_crime job selects (pipelines/schedules.py), in Dagster's selection syntax."""
    return " or ".join([*(f'key:"parsed/{name}"+' for name in crime_sources()), 'group:"seeds"'])


def run_records(home: Path, since: float) -> list:
    """The event records of every Dagster run the home started since `since` (time.time()): a CLI run is two
    Dagster runs (the loads, then the crime months)."""
    import dagster as dg

    instance = dg.DagsterInstance.from_config(str(home / "dagster"))
    runs = instance.get_runs(filters=dg.RunsFilter(created_after=dt.datetime.fromtimestamp(since, dt.UTC)))
    return [record for run in runs for record in instance.all_logs(run.run_id)]


def step_durations(records: list) -> tuple[list[tuple[str, float]], dict[str, float]]:
    """The steps of the runs' event `records` (run_records), slowest first; and, for the warehouse steps of a
    second or more, how long validating and writing the loads took (until the step logs its loads) as
    against what follows in the step (the great-expectations suites and the blocking checks)."""
    started: dict[str, float] = {}
    loaded: dict[str, float] = {}
    durations, split = [], {}
    for record in records:
        event = record.dagster_event
        step = event.step_key if event else record.step_key
        if not step:
            continue
        if event is None:
            if step.startswith("warehouse__") and " received, " in record.user_message and step not in loaded:
                loaded[step] = record.timestamp
            continue
        if event.event_type_value == "STEP_START":
            started[step] = record.timestamp
        elif event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE") and step in started:
            durations.append((step, record.timestamp - started[step]))
            if step in loaded and record.timestamp - started[step] >= 1:
                split[f"{step}: loads"] = loaded[step] - started[step]
                split[f"{step}: expectations and checks"] = record.timestamp - loaded[step]
    return sorted(durations, key=lambda item: -item[1]), split


def steps_at(records: list, moment: float) -> list[str]:
    """The steps of the runs' event `records` (run_records) that were running at `moment` (time.time())."""
    started, running = {}, []
    for record in records:
        event = record.dagster_event
        if event is None or not event.step_key:
            continue
        if event.event_type_value == "STEP_START":
            started[event.step_key] = record.timestamp
        elif (
            event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE")
            and started.get(event.step_key, moment + 1) <= moment <= record.timestamp
        ):
            running.append(event.step_key)
    return running


def dbt_node_times(records: list, top: int = 12) -> list[tuple[str, float]]:
    """The slowest dbt models and tests among the runs' event `records` (run_records): the duration dagster-dbt
    reads from dbt's events onto each materialization and check evaluation (the build steps write no
    run_results.json)."""
    times = {}  # (run, dbt node) -> seconds: a partitioned model is materialized once per month it built
    for record in records:
        event = record.dagster_event
        if event is None or event.event_type_value not in ("ASSET_MATERIALIZATION", "ASSET_CHECK_EVALUATION"):
            continue
        data = event.event_specific_data
        metadata = data.materialization.metadata if hasattr(data, "materialization") else data.metadata
        if "Execution Duration" not in metadata or "unique_id" not in metadata:
            continue
        times[record.run_id, metadata["unique_id"].value] = metadata["Execution Duration"].value
    named = []
    for (_, unique_id), seconds in times.items():
        kind, _, name = unique_id.split(".", 2)
        named.append((f"{kind} {name.split('.')[0]}"[:70], seconds))
    return sorted(named, key=lambda item: -item[1])[:top]


def crime_specs() -> list:
    """The demo city's crime sources (their `SourceSpec`)."""
    from pipelines.sources import load_sources

    return [spec for spec in load_sources(DEMO_SOURCES_DIR) if spec.kind == "crime"]


def crime_sources() -> list[str]:
    return [spec.name for spec in crime_specs()]


# ---- the floor: plain DuckDB, one process, the crime half only


def floor(landing: Path) -> None:
    """read_csv + point in polygon + group by month x neighborhood x category, as a data engineer would write
    it without a pipeline; prints the number of incidents counted."""
    import csv

    import duckdb

    from pipelines.warehouse import load_spatial

    con = duckdb.connect()
    load_spatial(con)
    features = json.loads((landing / "demo_neighborhoods" / "neighborhoods.geojson").read_text())["features"]
    con.execute(
        "CREATE TABLE shapes AS SELECT unnest($ids) AS neighborhood_id, ST_GeomFromGeoJSON(unnest($shapes)) AS geom",
        {
            "ids": [f["properties"]["nbhd_id"] for f in features],
            "shapes": [json.dumps(f["geometry"]) for f in features],
        },
    )
    with open(DEMO_SOURCES_DIR / "fbi_code_crosswalk.csv", newline="") as handle:
        crosswalk = {row["offense_code"]: row["ucr_category"] for row in csv.DictReader(handle)}
    con.execute(
        "CREATE TABLE crosswalk AS SELECT unnest($codes) AS code, unnest($categories) AS category",
        {"codes": list(crosswalk), "categories": list(crosswalk.values())},
    )
    files = sorted(str(path) for path in (landing / "demo_crimes").glob(CRIME_FILE_PATTERN))
    counts = con.execute(
        """
        WITH incidents AS (
            SELECT try_strptime("Date", '%m/%d/%Y %I:%M:%S %p') AS occurred_at, "FBI Code" AS code,
                   TRY_CAST("Latitude" AS DOUBLE) AS latitude, TRY_CAST("Longitude" AS DOUBLE) AS longitude
            FROM read_csv($files, header = true, all_varchar = true)
        )
        SELECT date_trunc('month', occurred_at) AS month, s.neighborhood_id,
               coalesce(x.category, 'other') AS category, count(*) AS incidents
        FROM incidents i
        JOIN shapes s ON ST_Contains(s.geom, ST_Point(i.longitude, i.latitude))
        LEFT JOIN crosswalk x ON x.code = i.code
        WHERE i.occurred_at IS NOT NULL
        GROUP BY ALL
        """,
        {"files": files},
    ).fetchall()
    print(json.dumps({"cells": len(counts), "incidents": sum(row[3] for row in counts)}))


# ---- what the architecture writes, in plain DuckDB: each copy of the crime rows a full refresh makes

COPIES = {
    "read": "the crime files read (the mapped columns, as text, written nowhere)",
    "parsed": "the crime files as Parquet (the parse: the mapped columns, as text)",
    "raw": "the loaded rows copied (raw.<source>, 17 columns)",
    "incidents": "the incident table copied (int_incidents_deduplicated, 17 columns)",
}


def copy_rows(which: str, home: Path) -> None:
    """One of COPIES, as a data engineer would write it with DuckDB alone, from what the large refresh left in
    `home` (its landing files, its warehouse); writes into a scratch folder of the home, removed after."""
    import duckdb

    from pipelines.kinds.crime import file_columns

    scratch = home / "copies"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir()
    try:
        with duckdb.connect(str(scratch / "copy.duckdb")) as con:  # closed: every row written to the file
            con.execute("SET memory_limit = '640MB'")
            if which in ("read", "parsed"):
                statements = []
                for spec in crime_specs():
                    mapped = {c: column for c, column in file_columns(spec).mapping.items() if column}
                    text = ", ".join(f"coalesce(\"{column}\", '') AS {c}" for c, column in mapped.items())
                    for file in sorted((home / "landing" / spec.name).glob(CRIME_FILE_PATTERN)):
                        rows = f"SELECT {text} FROM read_csv('{file}', header = true, all_varchar = true)"
                        statements.append(
                            f"COPY ({rows}) TO '{scratch / file.stem}.parquet' (FORMAT parquet)"
                            if which == "parsed"
                            # every value read and looked at, as writing it would, and written nowhere
                            else f"SELECT {', '.join(f'max(length({c}))' for c in mapped)} FROM ({rows})"
                        )

                def run(statement: str) -> None:
                    with con.cursor() as cursor:
                        cursor.execute(statement)

                # Two files at a time, as the pipeline parses them (ingest.LANDING_THREADS): one COPY keeps 2
                # cores about 1.7 busy.
                with ThreadPoolExecutor(2) as pool:
                    list(pool.map(run, statements))
            else:
                con.execute(f"ATTACH '{home / 'warehouse.duckdb'}' AS warehouse (READ_ONLY)")
                tables = (
                    [f'warehouse.raw."{name}"' for name in crime_sources()]
                    if which == "raw"
                    else ["warehouse.intermediate.int_incidents_deduplicated"]
                )
                for number, table in enumerate(tables):
                    con.execute(f"CREATE TABLE copy_{number} AS SELECT * FROM {table}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def measure_copies(home: Path, incidents: int, logs: Path) -> dict[str, Measured]:
    """Each of COPIES in a child process of its own."""
    measured = {}
    for which, label in COPIES.items():
        print(f"(d) plain DuckDB: {label} ...", flush=True)
        measured[which] = measure(
            f"plain DuckDB: {which} copy",
            [sys.executable, str(Path(__file__).resolve()), "--copy", which, str(home)],
            cli_env(home),
            incidents,
            logs / f"copy-{which}.log",
        )
    return measured


# ---- the run


def report(rows: list[Measured], floor_row: Measured | None, marginal: Measured | None) -> str:
    header = (
        f"{'':46s} {'wall s':>8s} {'CPU s':>8s} {'peak RSS MB':>12s} {'pipeline MB':>12s} {'all procs MB':>13s} "
        f"{'incidents/s':>12s} {'wall/floor':>11s} {'CPU/floor':>10s} {'load':>10s} {'stolen':>7s}"
    )
    lines = [header, "-" * len(header)]
    for row in rows:
        is_delta = row is marginal
        ratio = floor_row is not None and (row is floor_row or is_delta)
        lines.append(
            f"{row.label:46s} {row.wall:8.1f} {row.cpu:8.1f} "
            + (
                f"{'':>12s} {'':>12s} {'':>13s}"
                if is_delta
                else f"{row.peak_rss_mb:12.0f} {row.main_rss_mb:12.0f} {row.tree_rss_mb:13.0f}"
            )
            + f" {row.incidents / row.wall if row.wall > 0 else 0:12,.0f}"
            + (
                f" {row.wall / floor_row.wall:10.2f}x {row.cpu / floor_row.cpu:9.2f}x"
                if ratio
                else f" {'':>11s} {'':>10s}"
            )
            + ("" if is_delta else f" {row.load[0]:4.1f}>{row.load[1]:4.1f} {row.stolen:6.0%}")
        )
    return "\n".join(lines)


def process_report(rows: list[Measured]) -> str:
    """Every process of every measured run with its peak RSS, against the 1 GB bound."""
    lines = [f"peak RSS of every process (bound {PROCESS_BOUND_MB} MB):"]
    for row in rows:
        # ru_maxrss is exact, the per-process figures are sampled every 0.1 s: both are shown
        over = row.peak_rss_mb > PROCESS_BOUND_MB
        lines.append(
            f"  {row.label}: largest process {row.peak_rss_mb:.0f} MB (ru_maxrss) "
            + ("OVER the bound" if over else "within the bound")
        )
        for name, mb in sorted(row.processes.items(), key=lambda item: -item[1]):
            lines.append(f"      {name:40s} {mb:7.0f} MB{'  OVER' if mb > PROCESS_BOUND_MB else ''}")
    return "\n".join(lines)


def print_steps(label: str, home: Path, measured: Measured) -> list[tuple[str, float]]:
    records = run_records(home, measured.started_at)
    steps, split = step_durations(records)
    during = steps_at(records, measured.main_peak_at)
    print(
        f"    {label}: the pipeline's process peaked at {measured.main_rss_mb:.0f} MB during "
        f"{', '.join(during) or 'no step (start-up or wrap-up)'}",
        flush=True,
    )
    print(f"    {label}, slowest steps: {', '.join(f'{s} {t:.1f}s' for s, t in steps[:8])}", flush=True)
    if split:
        print(f"    of which: {', '.join(f'{s} {t:.1f}s' for s, t in split.items())}", flush=True)
    nodes = dbt_node_times(records)
    print(f"    slowest dbt nodes: {', '.join(f'{n} {t:.1f}s' for n, t in nodes)}", flush=True)
    return steps


def measure_floor(home: Path, incidents: int, logs: Path, when: str) -> Measured:
    """The floor (`floor`) on the crime files of `home`, in a child process, `when` ("before", "after") the
    refreshes."""
    print(f"(c) the floor: plain DuckDB on the same crime files, {when} the refreshes ...", flush=True)
    log = logs / f"floor-{home.name}-{when}.log"
    measured = measure(
        f"floor, {when} the refreshes",
        [sys.executable, str(Path(__file__).resolve()), "--floor", str(home / "landing")],
        cli_env(home),
        incidents,
        log,
    )
    print(f"    {log.read_text().strip()} in {measured.wall:.1f} s", flush=True)
    return measured


def mean_floor(floors: list[Measured], incidents: int) -> Measured:
    """The floor the ratios are taken to: the mean of its measurements' wall and CPU times."""
    return Measured(
        f"floor: plain DuckDB, crime half ({incidents:,}), mean",
        sum(f.wall for f in floors) / len(floors),
        sum(f.cpu for f in floors) / len(floors),
        max(f.peak_rss_mb for f in floors),
        max(f.tree_rss_mb for f in floors),
        max(f.main_rss_mb for f in floors),
        incidents,
        load=(floors[0].load[0], floors[-1].load[1]),
        stolen=sum(f.stolen * f.wall for f in floors) / sum(f.wall for f in floors),
    )


def print_marginal_steps(
    large: list[tuple[str, float]], small: list[tuple[str, float]], marginal: Measured
) -> None:
    """Where the marginal cost goes: each step's time in the large refresh minus the small one's, largest first,
    and what is left outside the steps (start-up cancels out; the rest is Dagster's own work between steps)."""
    before = dict(small)
    grown = sorted(((step, t - before.get(step, 0.0)) for step, t in large), key=lambda item: -item[1])
    outside = marginal.wall - sum(t for _, t in grown)
    print(
        f"    the marginal by step (large minus small): {', '.join(f'{s} {t:+.1f}s' for s, t in grown[:10])}; "
        f"outside the steps {outside:+.1f}s",
        flush=True,
    )


def next_day(landing: Path) -> dt.date:
    """The day of the next daily file: after the history's last update, or after the latest daily file."""
    from pipelines.demo._common import UPDATE_CAP
    from pipelines.demo._daily import DAILY_FILE_PATTERN

    days = [
        dt.date.fromisoformat(path.stem.removeprefix("crimes_daily_"))
        for path in (landing / "demo_crimes").glob(DAILY_FILE_PATTERN)
    ]
    return max([UPDATE_CAP.date(), *days]) + dt.timedelta(days=1)


def daily_increment(size: str, home: Path, logs: Path) -> tuple[Measured, list[tuple[str, float]]]:
    """One more landing file (700 new + 2,000 revised incidents), then the daily_crime job's selection."""
    from pipelines.demo.generate import write_daily_update

    daily = in_child(
        write_daily_update,
        home / "landing",
        n_new=700,
        n_revised=2_000,
        seed=SEED,
        day=next_day(home / "landing"),
    )
    print(f"(b) daily increment, {size}: {daily.relative_to(home)} ...", flush=True)
    measured = measure(
        f"daily increment, {size} (700 new + 2,000 revised)",
        cli("run", "--home", str(home), "--select", daily_selection()),
        cli_env(home),
        2_700,
        logs / f"increment-{size}.log",
    )
    steps = print_steps(f"increment {size}", home, measured)
    print(
        f"    outside the steps (Python, Dagster and definitions start-up, run set-up): "
        f"{measured.wall - sum(t for _, t in steps):.1f}s",
        flush=True,
    )
    return measured, steps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--size",
        default="large",
        help="large (default: 8.4 M incidents), medium, small, or a number of incidents (16800000: twice Chicago)",
    )
    parser.add_argument(
        "--home", default=str(REPO / "data" / "benchmarks"), help="where the demo cities are kept"
    )
    parser.add_argument("--regenerate", action="store_true", help="generate the demo cities again")
    parser.add_argument(
        "--increment-only",
        action="store_true",
        help="measure only the daily increments, on the homes an earlier run left (one more day's file each)",
    )
    parser.add_argument(
        "--one-file",
        action="store_true",
        help="also a full refresh of the same city with its crime history in one file (as a bulk export)",
    )
    parser.add_argument("--floor", metavar="LANDING", help=argparse.SUPPRESS)  # the child measuring the floor
    # The child measuring a copy: one of COPIES, and the home whose large refresh it copies.
    parser.add_argument("--copy", nargs=2, metavar=("WHICH", "HOME"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one_file and (args.size == "small" or args.increment_only):
        parser.error(
            "--one-file measures a full refresh of a size larger than small, not the increments alone"
        )
    if args.floor:
        floor(Path(args.floor))
        return 0
    if args.copy:
        copy_rows(args.copy[0], Path(args.copy[1]))
        return 0

    root = Path(args.home).resolve()
    root.mkdir(parents=True, exist_ok=True)
    print(f"Chicago scale benchmark: {os.cpu_count()} cores, load averages {load_averages()}", flush=True)
    sizes = ["small", args.size] if args.size != "small" else ["small"]
    homes = {size: generated_home(root, size, args.regenerate) for size in sizes}
    home, summary = homes[args.size]
    n = summary["incidents"]
    logs = root / "logs"
    logs.mkdir(exist_ok=True)

    rows: list[Measured] = []
    floor_row = marginal = None
    copies: dict[str, Measured] = {}
    if not args.increment_only:
        for size_home, _ in homes.values():
            reset(size_home)  # an earlier run's daily files are not part of the city
        floors = [measure_floor(home, n, logs, "before")]
        refreshes, steps = {}, {}
        for size in sizes:
            size_home, size_summary = homes[size]
            print(f"(a) full refresh, {size} ...", flush=True)
            refreshes[size] = measure(
                f"full refresh, {size} ({size_summary['incidents']:,})",
                cli("run", "--home", str(size_home)),
                cli_env(size_home),
                size_summary["incidents"],
                logs / f"refresh-{size}.log",
            )
            steps[size] = print_steps(f"refresh {size}", size_home, refreshes[size])
        if args.one_file:
            one = one_file_home(home)
            reset(one)
            print(f"(a) full refresh, {args.size}, the crime history in one file ...", flush=True)
            refreshes["one file"] = measure(
                f"full refresh, {args.size}, one crime file ({n:,})",
                cli("run", "--home", str(one)),
                cli_env(one),
                n,
                logs / f"refresh-{args.size}-one-file.log",
            )
            print_steps(f"refresh {args.size}, one file", one, refreshes["one file"])
        rows += refreshes.values()
        if args.size != "small":
            large, small = refreshes[args.size], refreshes["small"]
            marginal = Measured(
                f"marginal: {args.size} minus small ({n - homes['small'][1]['incidents']:,})",
                large.wall - small.wall,
                large.cpu - small.cpu,
                0,
                0,
                0,
                n - homes["small"][1]["incidents"],
            )
            rows.append(marginal)
            print_marginal_steps(steps[args.size], steps["small"], marginal)
        # The floor again, once the refreshes are done: a machine that slows down or speeds up during the run moves
        # both, and the ratios are taken to their mean.
        floors.append(measure_floor(home, n, logs, "after"))
        floor_row = mean_floor(floors, n)
        rows[:0] = [*floors, floor_row]
        if args.size != "small":
            copies = measure_copies(home, n, logs)
            rows += copies.values()

    # The large city's increment first, then the small one's: the same file size, the same selection.
    increments = {size: daily_increment(size, homes[size][0], logs)[0] for size in reversed(sizes)}
    rows += increments.values()

    print()
    print(report(rows, floor_row, marginal))
    print()
    measured = [row for row in rows if row is not marginal and row is not floor_row]  # not runs of their own
    print(process_report(measured))
    if marginal and floor_row:
        print(
            f"marginal cost of a refresh ({args.size} minus small): {marginal.wall:.1f} s wall = "
            f"{marginal.wall / floor_row.wall:.2f}x the floor's {floor_row.wall:.1f} s "
            f"(CPU {marginal.cpu:.1f} s = {marginal.cpu / floor_row.cpu:.2f}x)"
        )
        if copies:
            # A full refresh does the floor's work and, besides, writes the crime rows three times: as parsed files
            # (the read is the floor's own), into raw, and as the incident table. What DuckDB alone takes to write
            # them is a part of the marginal no pipeline of this design goes under.
            each = ", ".join(
                f"{COPIES[which].split(' (')[0]} {row.wall:.1f} s ({row.wall / floor_row.wall:.2f}x)"
                for which, row in copies.items()
            )
            writes = (
                copies["parsed"].wall - copies["read"].wall + copies["raw"].wall + copies["incidents"].wall
            )
            print(f"plain DuckDB, the crime rows: {each}")
            print(
                f"the floor plus the three copies a refresh writes (parsed minus read, raw, incidents): "
                f"{floor_row.wall + writes:.1f} s = {1 + writes / floor_row.wall:.2f}x the floor"
            )
        if "one file" in refreshes:
            one, small = refreshes["one file"], refreshes["small"]
            print(
                f"the same with the crime history in one file: {one.wall - small.wall:.1f} s wall = "
                f"{(one.wall - small.wall) / floor_row.wall:.2f}x the floor "
                f"(CPU {one.cpu - small.cpu:.1f} s = {(one.cpu - small.cpu) / floor_row.cpu:.2f}x)"
            )
    for size, row in increments.items():
        print(
            f"daily increment, {size}: {row.wall:.1f} s wall, {row.cpu:.1f} s CPU, Dagster and dbt start-up included"
        )
    if args.size != "small":
        large, small = increments[args.size], increments["small"]
        print(
            f"daily increment, {args.size} / small: {large.wall / small.wall:.2f}x wall, "
            f"{large.cpu / small.cpu:.2f}x CPU"
        )
    print(f"load averages at the end: {load_averages()}")
    print(f"logs: {logs}")
    return 0


def load_averages() -> str:
    return "/".join(f"{value:.2f}" for value in os.getloadavg()) + " (1, 5, 15 min)"


if __name__ == "__main__":
    sys.exit(main())
