"""Deterministic generator of a fictional "demo city" in the real formats the pipeline ingests.

    from pipelines.demo.generate import generate_demo_city, write_daily_update, SIZES
    summary = generate_demo_city(landing_dir, size="small", seed=7)
    daily_file = write_daily_update(landing_dir)   # the next day's export: 700 new, 2,000 revised incidents

Everything derives from ``seed`` (no wall clock), so the same arguments give byte-identical files.
Each output family draws from its own seeded stream, so e.g. the crime files do not change when
the survey code changes.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np

from ._common import NBHD_NAMES, PROGRAM_NAMES, City, Program, write_csv
from ._community import make_events, make_residents, write_calendar, write_rosters
from ._crimes import write_crimes
from ._daily import write_daily_update
from ._geo import build_polygons, to_geojson
from ._surveys import write_surveys

__all__ = ["SIZES", "generate_demo_city", "write_daily_update"]

SIZES = {"small": 60_000, "medium": 1_000_000, "large": 8_400_000}
SMALL = SIZES["small"]
LONG_PERIOD_FROM = 2_000_000


def _streams(seed: int) -> dict[str, np.random.Generator]:
    names = ["city", "crimes", "residents", "surveys", "events", "rosters"]
    return {name: np.random.default_rng([seed, k]) for k, name in enumerate(names)}


def _build_city(n_incidents: int, rng: np.random.Generator) -> City:
    start_year, n_months = (2000, 26 * 12) if n_incidents >= LONG_PERIOD_FROM else (2022, 48)
    n = len(NBHD_NAMES)
    # Evenly spread rates guarantee the busiest neighbourhood has 4x the incidents of the quietest.
    crime_rate = rng.permutation(np.linspace(0.5, 2.0, n))
    trust = np.clip(3.6 - 0.5 * (crime_rate - 1) + rng.normal(0, 0.15, n), 2.3, 4.2)
    safety = np.clip(3.7 - 0.6 * (crime_rate - 1) + rng.normal(0, 0.15, n), 2.2, 4.3)
    population = rng.integers(8_000, 90_001, n)
    # Programs start 12-24 months into the last 48 months, so the surveys see a before and an after.
    window = n_months - 48
    n_prog = int(rng.integers(3, 5))
    programs = []
    for k, (nbhd, offset) in enumerate(
        zip(rng.choice(n, n_prog, replace=False).tolist(), rng.integers(12, 25, n_prog).tolist(), strict=True)
    ):
        start_month = window + offset
        end_date = ""
        if k == n_prog - 1:
            y, m = start_year + (start_month + 24) // 12, (start_month + 24) % 12 + 1
            end_date = (dt.date(y, m, 1) - dt.timedelta(days=1)).isoformat()
        programs.append(Program(f"P{k + 1}", PROGRAM_NAMES[k], nbhd, start_month, end_date))
    return City(
        ids=[f"N{i + 1:02d}" for i in range(n)],
        names=list(NBHD_NAMES),
        shapes=build_polygons(rng),
        start_year=start_year,
        n_months=n_months,
        crime_rate=crime_rate,
        trust_base=trust,
        safety_base=safety,
        population=population,
        programs=programs,
    )


def _write_population(city: City, landing: Path, rng: np.random.Generator) -> list[Path]:
    pop_path = landing / "demo_population" / "population.csv"
    write_csv(
        pop_path,
        ["neighborhood_id", "population"],
        [[nid, int(p)] for nid, p in zip(city.ids, city.population, strict=True)],
    )
    rows = []
    for nid, pop in zip(city.ids, city.population.tolist(), strict=True):
        adults = round(0.78 * pop)
        # Multinomial draws make each dimension sum exactly to the same adult total.
        ages = rng.multinomial(adults, rng.dirichlet([13, 18, 33, 28]))
        female = int(rng.binomial(adults, rng.uniform(0.49, 0.54)))
        rows += [
            [nid, "age_group", cat, int(v)]
            for cat, v in zip(["18-24", "25-34", "35-54", "55+"], ages, strict=True)
        ]
        rows += [[nid, "gender", "Female", female], [nid, "gender", "Male", adults - female]]
    margins_path = landing / "demo_population" / "margins.csv"
    write_csv(margins_path, ["neighborhood_id", "dimension", "category", "population"], rows)
    return [pop_path, margins_path]


def _write_programs(city: City, landing: Path) -> Path:
    path = landing / "demo_programs" / "programs.csv"
    rows = [
        [p.program_id, p.name, city.ids[p.nbhd], city.month_start(p.start_month).isoformat(), p.end_date]
        for p in city.programs
    ]
    write_csv(path, ["program_id", "name", "neighborhood_id", "start_date", "end_date"], rows)
    return path


def generate_demo_city(
    landing_dir: Path, size: str | int = "small", seed: int = 7, program_effect: float = 1.0
) -> dict:
    """Write the demo city's source files under landing_dir/<source_name>/ and summarise them.

    ``size`` is a key of SIZES or a number of incidents. "Incidents" means crime data rows across
    the yearly files, the deliberately bad and duplicated rows included, so an int size gives exactly
    that many rows. Periods: 2022-2025 (48 months) below 2,000,000 incidents, else 2000-2025.
    Residents and survey respondents grow with size up to 2.5x "small", attendance per event up to 1.5x.
    ``program_effect`` scales the programs' built-in effects on crime, participation and trust
    (0.0: programs that change nothing, the same city otherwise).
    """
    n_incidents = SIZES[size] if isinstance(size, str) else int(size)
    if n_incidents < 1:
        raise ValueError("size must give at least one incident")
    landing = Path(landing_dir)
    rng = _streams(seed)
    city = _build_city(n_incidents, rng["city"])
    city.program_effect = program_effect
    ratio = n_incidents / SMALL

    files: list[Path] = []
    geo_path = landing / "demo_neighborhoods" / "neighborhoods.geojson"
    geo_path.parent.mkdir(parents=True, exist_ok=True)
    geo_path.write_text(json.dumps(to_geojson(city.ids, city.names, city.shapes)) + "\n", encoding="utf-8")
    files.append(geo_path)
    files += _write_population(city, landing, rng["city"])
    files.append(_write_programs(city, landing))
    files += write_crimes(city, landing / "demo_crimes", n_incidents, rng["crimes"])

    # About 100 survey respondents per neighbourhood-quarter at "small" (25 x 4, from a pool of 12,000 residents):
    # enough for a program's trust change to stand out from the other neighbourhoods' quarter-to-quarter noise.
    people = min(10.0, max(0.25, 4 * ratio))
    residents = make_residents(city, round(3000 * people), rng["residents"])
    files += [p for p, _ in write_surveys(city, residents, landing, people, rng["surveys"])]
    events = make_events(city, rng["events"])
    cal_path = landing / "demo_events" / "calendar.csv"
    write_calendar(city, events, cal_path, rng["events"])
    files.append(cal_path)
    # Attendance per event stays realistic; long periods get more events rather than bigger ones.
    files += [
        p
        for p, _ in write_rosters(
            city, residents, events, landing, min(1.5, max(0.25, ratio)), rng["rosters"]
        )
    ]

    return {
        "incidents": n_incidents,
        "months": city.n_months,
        "neighborhoods": city.n,
        "files": sorted(p.relative_to(landing).as_posix() for p in files),
    }
