"""Placebo inference and event study recomputed with plain numpy loops over the published period tables.

Nothing here reads the project's SQL: the programs come from the test's own programs.csv, the values from
published crime_monthly / engagement_monthly / trust_quarterly and the populations from published
neighborhoods. The definitions are those of docs/metrics.md#placebo-inference and #event-study.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

MIN_MONTHS = 6  # an estimate needs 6 months of periods on each side (2 quarters for trust)
MIN_PLACEBOS = 19  # fewer cannot place an estimate outside their 2.5-97.5 % range
# metric -> (published table, period column, period length in months)
METRICS = {
    "violent_per_1k": ("crime_monthly", "month", 1),
    "incidents_per_1k": ("crime_monthly", "month", 1),
    "participants_per_1k": ("engagement_monthly", "month", 1),
    "trust_index": ("trust_quarterly", "quarter", 3),
}


@dataclass
class Program:
    program_id: str
    neighborhood_id: str
    start: pd.Timestamp  # first day of the start month
    start_date: pd.Timestamp
    end_date: pd.Timestamp | None


def read_programs(path: Path) -> list[Program]:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    return [
        Program(
            row.program_id,
            row.neighborhood_id,
            pd.Timestamp(row.start_date).to_period("M").to_timestamp(),
            pd.Timestamp(row.start_date),
            pd.Timestamp(row.end_date) if row.end_date else None,
        )
        for row in frame.itertuples()
    ]


def months(a: pd.Timestamp, b: pd.Timestamp) -> int:
    """Whole months from a to b (both first days of a month)."""
    return (b.year - a.year) * 12 + b.month - a.month


def comparison(program: Program, programs: list[Program], neighborhoods: list[str]) -> list[str]:
    """Neighborhoods where no program is active at any time in the program's pre or post window."""
    pre_start, post_end = program.start - pd.DateOffset(months=12), program.start + pd.DateOffset(months=12)
    active = {
        other.neighborhood_id
        for other in programs
        if other.start_date < post_end and (other.end_date is None or other.end_date >= pre_start)
    }
    return [n for n in neighborhoods if n not in active]


def relative_period(program: Program, period: pd.Timestamp, period_months: int) -> int | None:
    """0 = first period starting on/after the start, -1 = last period ending on/before it; None outside."""
    offset = months(program.start, period)
    if offset >= 0 and offset + period_months <= 12:
        return offset // period_months
    if offset + period_months <= 0 and offset >= -12:
        return -((-offset - period_months) // period_months) - 1
    return None


class PublishedPeriods:
    def __init__(self, publish_dir: Path):
        neighborhoods = pd.read_parquet(publish_dir / "neighborhoods.parquet")
        self.population = dict(
            zip(neighborhoods["neighborhood_id"], neighborhoods["population"], strict=True)
        )
        self.neighborhoods = sorted(self.population)
        # metric -> neighborhood -> {period: value}, only periods with a value
        self.values: dict[str, dict[str, dict[pd.Timestamp, float]]] = {}
        for metric, (table, column, _) in METRICS.items():
            frame = pd.read_parquet(publish_dir / f"{table}.parquet")
            series: dict[str, dict[pd.Timestamp, float]] = {}
            for nbhd, period, value in zip(
                frame["neighborhood_id"], frame[column], frame[metric], strict=True
            ):
                if value is not None and not np.isnan(value):
                    series.setdefault(nbhd, {})[pd.Timestamp(period)] = float(value)
            self.values[metric] = series

    def windowed(self, program: Program, metric: str) -> dict[pd.Timestamp, int]:
        """Every period with a value somewhere lying wholly in a window -> its relative period."""
        period_months = METRICS[metric][2]
        periods = {p for series in self.values[metric].values() for p in series}
        return {
            p: r for p in sorted(periods) if (r := relative_period(program, p, period_months)) is not None
        }

    def comparison_value(self, metric: str, others: list[str], period: pd.Timestamp) -> float | None:
        weighted, total = 0.0, 0.0
        for other in others:
            population = self.population[other]
            value = self.values[metric].get(other, {}).get(period)
            if value is not None and population is not None and population > 0:
                weighted += population * value
                total += population
        return weighted / total if total > 0 else None

    def did(self, program: Program, metric: str, unit: str, others: list[str]) -> float | None:
        period_months = METRICS[metric][2]
        unit_values = {"pre": [], "post": []}
        comparison_values = {"pre": [], "post": []}
        for period, rel in self.windowed(program, metric).items():
            window = "pre" if rel < 0 else "post"
            value = self.values[metric].get(unit, {}).get(period)
            if value is not None:
                unit_values[window].append(value)
            value = self.comparison_value(metric, others, period)
            if value is not None:
                comparison_values[window].append(value)
        if any(
            len(v) * period_months < MIN_MONTHS for v in [*unit_values.values(), *comparison_values.values()]
        ):
            return None
        return (np.mean(unit_values["post"]) - np.mean(unit_values["pre"])) - (
            np.mean(comparison_values["post"]) - np.mean(comparison_values["pre"])
        )

    def gaps(self, program: Program, metric: str, unit: str, others: list[str]) -> dict[int, dict]:
        """relative period -> value, comparison, gap and gap minus the mean pre-window gap."""
        rows = {}
        for period, rel in self.windowed(program, metric).items():
            value = self.values[metric].get(unit, {}).get(period)
            comparison_value = self.comparison_value(metric, others, period)
            gap = value - comparison_value if value is not None and comparison_value is not None else None
            rows[rel] = {"period": period, "value": value, "comparison": comparison_value, "gap": gap}
        pre = [row["gap"] for rel, row in rows.items() if rel < 0 and row["gap"] is not None]
        for row in rows.values():
            row["gap_vs_pre"] = row["gap"] - np.mean(pre) if row["gap"] is not None and pre else None
        return rows


def expected_evaluation(publish_dir: Path, programs: list[Program]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(program_evaluation's inference columns, program_event_study), computed here."""
    periods = PublishedPeriods(publish_dir)
    evaluation, event_study = [], []
    for program in programs:
        comparisons = comparison(program, programs, periods.neighborhoods)
        for metric in METRICS:
            did = periods.did(program, metric, program.neighborhood_id, comparisons)
            placebos = [
                p
                for c in comparisons
                if (p := periods.did(program, metric, c, [o for o in comparisons if o != c])) is not None
            ]
            enough = len(placebos) >= MIN_PLACEBOS
            evaluation.append(
                {
                    "program_id": program.program_id,
                    "metric": metric,
                    "neighborhood_id": program.neighborhood_id,
                    "start_month": program.start,
                    "did": did,
                    "did_p_value": None
                    if did is None
                    else (1 + sum(abs(p) >= abs(did) for p in placebos)) / (1 + len(placebos)),
                    "did_ci_low": did - np.quantile(placebos, 0.975) if enough and did is not None else None,
                    "did_ci_high": did - np.quantile(placebos, 0.025) if enough and did is not None else None,
                    "placebos": len(placebos),
                }
            )
            treated = periods.gaps(program, metric, program.neighborhood_id, comparisons)
            placebo_gaps = [
                periods.gaps(program, metric, c, [o for o in comparisons if o != c]) for c in comparisons
            ]
            for rel, row in treated.items():
                band = [g[rel]["gap_vs_pre"] for g in placebo_gaps if g[rel]["gap_vs_pre"] is not None]
                has_data = row["value"] is not None or any(g[rel]["value"] is not None for g in placebo_gaps)
                if not has_data:
                    continue
                event_study.append(
                    {
                        "program_id": program.program_id,
                        "metric": metric,
                        "relative_period": rel,
                        "period_start": row["period"],
                        "neighborhood_value": row["value"],
                        "comparison_value": row["comparison"],
                        "gap": row["gap"],
                        "gap_vs_pre": row["gap_vs_pre"],
                        "placebo_band_low": np.quantile(band, 0.025) if len(band) >= MIN_PLACEBOS else None,
                        "placebo_band_high": np.quantile(band, 0.975) if len(band) >= MIN_PLACEBOS else None,
                        "placebos": len(band),
                    }
                )
    return pd.DataFrame(evaluation), pd.DataFrame(event_study)


def assert_frames_agree(published: pd.DataFrame, expected: pd.DataFrame, keys: list[str]) -> None:
    """Same rows (by key); every column equal to 1e-9, NULL exactly where expected is None."""
    published = published.set_index(keys).sort_index()
    expected = expected.set_index(keys).sort_index()
    assert list(published.index) == list(expected.index)
    for column in expected.columns:
        got, want = published[column], expected[column]
        for key in expected.index:
            g, w = got[key], want[key]
            missing = w is None or (isinstance(w, float) and np.isnan(w))
            if missing:
                assert pd.isna(g), (column, key, g)
            elif isinstance(w, (float, np.floating)):
                assert abs(g - w) <= 1e-9, (column, key, g, w)
            else:
                assert g == w, (column, key, g, w)
