"""Shared state of the demo city: neighbourhoods, period, programs, and small helpers."""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np

NBHD_NAMES = [
    "Riverbend",
    "Oak Hollow",
    "Cedar Park",
    "Marigold Heights",
    "Foundry Row",
    "Willow Flats",
    "Harbor Point",
    "Stonegate",
    "Lantern Square",
    "Birchwood",
    "Copper Mill",
    "Bayview Shores",
    "Elm Crossing",
    "Juniper Hill",
    "Millbrook",
    "Quarry Gardens",
    "Sable Ridge",
    "Tanner's Yard",
    "Violet Commons",
    "Ashford Bluff",
    "Kestrel Green",
    "Northgate",
    "Prairie Glen",
    "Summit Terrace",
]

PROGRAM_NAMES = [
    "Beat Meetings Plus",
    "Youth Outreach Initiative",
    "Safe Streets Partnership",
    "Community Trust Circles",
]

# Updated On timestamps must never fall after this instant.
UPDATE_CAP = dt.datetime(2026, 1, 31, 23, 59, 59)


@dataclass
class Program:
    program_id: str
    name: str
    nbhd: int  # 0-based neighbourhood index
    start_month: int  # month index from the period start
    end_date: str  # "" when open-ended


@dataclass
class City:
    ids: list[str]
    names: list[str]
    shapes: list  # per neighbourhood, list of exterior rings
    start_year: int
    n_months: int
    crime_rate: np.ndarray  # relative incident rate per neighbourhood
    trust_base: np.ndarray  # mean trust (Likert 1-5) before any program
    safety_base: np.ndarray
    population: np.ndarray
    programs: list[Program]
    # 1.0: the programs' built-in effects; 0.0: a city where programs change nothing (a null for inference tests)
    program_effect: float = 1.0

    @property
    def n(self) -> int:
        return len(self.ids)

    def month_ym(self, m: int) -> tuple[int, int]:
        return self.start_year + m // 12, m % 12 + 1

    def month_start(self, m: int) -> dt.date:
        y, mo = self.month_ym(m)
        return dt.date(y, mo, 1)

    def days_in_month(self, m: int) -> int:
        return (self.month_start(m + 1) - self.month_start(m)).days

    def program_ramp(self) -> np.ndarray:
        """(neighbourhoods, months) array rising 0 -> 1 over the 12 months after a program starts."""
        ramp = np.zeros((self.n, self.n_months))
        months = np.arange(self.n_months)
        for p in self.programs:
            ramp[p.nbhd] = np.maximum(ramp[p.nbhd], np.clip((months - p.start_month + 1) / 12, 0, 1))
        return ramp * self.program_effect


def month_index(city: City, year: int, month: int) -> int:
    return (year - city.start_year) * 12 + month - 1


def write_csv(
    path: Path,
    header: list[str],
    rows,
    *,
    bom: bool = False,
    crlf: bool = False,
    extra_header_rows: list[list[str]] = (),
) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with open(path, "w", encoding="utf-8-sig" if bom else "utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\r\n" if crlf else "\n")
        w.writerow(header)
        for extra in extra_header_rows:
            w.writerow(extra)
        for row in rows:
            w.writerow(row)
            n += 1
    return n


def pick(rng: np.random.Generator, items: list, p=None):
    return items[int(rng.choice(len(items), p=p))]
