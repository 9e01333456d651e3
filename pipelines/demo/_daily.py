"""A day's portal export after the demo city's history: new incidents and revised earlier ones.

The file has the yearly files' layout (Chicago portal "Export CSV", UTF-8 with BOM) and lands beside them, so
the crime source loads it as one more file. New incidents take ids above every id of the history; a revised
incident keeps its id, gets a later `Updated On` and a reclassified offense (and sometimes a corrected arrest
flag), so after the load it must count once, with its new values.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import numpy as np

from ._common import UPDATE_CAP
from ._crimes import CRIME_FILE_PATTERN, OFFENSES

PORTAL_TIME = "%m/%d/%Y %I:%M:%S %p"
DAILY_FILE_PATTERN = "crimes_daily_*.csv"


def _history(crime_dir: Path) -> tuple[Path, int]:
    """The latest yearly file, and the greatest incident id so far: ids grow from year to year, so it is in the
    latest yearly file or in an earlier daily one."""
    yearly = sorted(crime_dir.glob(CRIME_FILE_PATTERN))
    if not yearly:
        raise FileNotFoundError(f"{crime_dir}: no demo crime files ({CRIME_FILE_PATTERN}) to update")
    largest = 0
    for path in [yearly[-1], *sorted(crime_dir.glob(DAILY_FILE_PATTERN))]:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            next(reader)
            largest = max([largest, *(int(row[0]) for row in reader if row and row[0].isdigit())])
    return yearly[-1], largest


def _reclassify(row: list[str], rng: np.random.Generator, header: list[str]) -> None:
    """Give the row another offense of the list (IUCR, type, description and FBI code together)."""
    at = {name: i for i, name in enumerate(header)}
    current = row[at["FBI Code"]]
    choices = [o for o in OFFENSES if o[3] != current]
    iucr, primary, description, fbi = choices[int(rng.integers(len(choices)))][:4]
    row[at["IUCR"]], row[at["Primary Type"]], row[at["Description"]], row[at["FBI Code"]] = (
        iucr,
        primary,
        description,
        fbi,
    )


def write_daily_update(
    landing_dir: Path, n_new: int = 700, n_revised: int = 2_000, seed: int = 7, day: dt.date | None = None
) -> Path:
    """Write landing/demo_crimes/crimes_daily_<day>.csv: `n_new` incidents that occurred the day before `day`
    and `n_revised` incidents of the latest yearly file re-published on `day` with a new offense.

    `day` defaults to the day after the history's last update (UPDATE_CAP). Deterministic in (files, seed, day)."""
    crime_dir = Path(landing_dir) / "demo_crimes"
    latest, largest_id = _history(crime_dir)
    day = day or (UPDATE_CAP + dt.timedelta(days=1)).date()
    rng = np.random.default_rng([seed, day.toordinal()])
    with open(latest, encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        rows = [row for row in reader if row and row[0].isdigit()]
    at = {name: i for i, name in enumerate(header)}
    # Each incident once (the yearly files repeat a few rows on purpose), and only rows a load accepts.
    seen, usable = set(), []
    for row in rows:
        if row[0] in seen or not row[at["Latitude"]]:
            continue
        seen.add(row[0])
        try:
            dt.datetime.strptime(row[at["Date"]], PORTAL_TIME)
        except ValueError:
            continue
        if any(row[at["FBI Code"]] == o[3] for o in OFFENSES):
            usable.append(row)
    if n_new + n_revised > len(usable):
        raise ValueError(f"{latest}: {len(usable)} usable incidents, fewer than {n_new} + {n_revised}")
    picked = rng.choice(len(usable), n_new + n_revised, replace=False)
    published = dt.datetime.combine(day, dt.time(6, 0))

    revised = []
    for index in sorted(picked[n_new:].tolist()):
        row = list(usable[index])
        _reclassify(row, rng, header)
        if rng.random() < 0.2:
            row[at["Arrest"]] = "false" if row[at["Arrest"]] == "true" else "true"
        row[at["Updated On"]] = (published + dt.timedelta(seconds=int(rng.integers(0, 3600)))).strftime(
            PORTAL_TIME
        )
        revised.append(row)

    new = []
    occurred_day = day - dt.timedelta(days=1)
    for k, index in enumerate(sorted(picked[:n_new].tolist()), start=1):
        row = list(usable[index])  # a template: its place, block and offense are realistic
        occurred = dt.datetime.combine(occurred_day, dt.time()) + dt.timedelta(
            seconds=int(rng.integers(0, 86_400))
        )
        row[at["ID"]] = str(largest_id + k)
        row[at["Case Number"]] = f"JZ{900_000 + k}"
        row[at["Date"]] = occurred.strftime(PORTAL_TIME)
        row[at["Year"]] = str(occurred.year)
        row[at["Updated On"]] = (published + dt.timedelta(seconds=int(rng.integers(0, 3600)))).strftime(
            PORTAL_TIME
        )
        new.append(row)

    path = crime_dir / f"crimes_daily_{day.isoformat()}.csv"
    temporary = path.with_suffix(".csv.tmp")
    with open(temporary, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(revised + new)
    temporary.replace(path)  # a landing file appears whole (the sensor never sees half of it)
    return path
