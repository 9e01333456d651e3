"""The report's program page: per program its estimates in plain words and an event-study chart per metric.

Reads program_evaluation and program_event_study as published. Every figure carries its published column
(data-field) and program/metric (data-program, data-metric), so tests match the page to the tables.
"""

from __future__ import annotations

from html import escape

import pandas as pd

from pipelines.report.layout import MISSING, is_missing

METRICS = {  # metric -> (label, unit, decimals)
    "violent_per_1k": ("Violent crime", "incidents per 1,000 residents a month", 2),
    "incidents_per_1k": ("All recorded crime", "incidents per 1,000 residents a month", 2),
    "participants_per_1k": ("Participation", "participants per 1,000 residents a month", 2),
    "trust_index": ("Trust in police", "index points, 0–100", 1),
}
GAP_COLOR, BAND_COLOR = "#d94801", "#9ecae1"


def figure(value: object, decimals: int, signed: bool = False) -> str:
    if is_missing(value):
        return MISSING
    return f"{float(value):{'+' if signed else ''},.{decimals}f}"


def p_value(value: object) -> str:
    return MISSING if is_missing(value) else f"{float(value):.3f}"


def _field(program: str, metric: str, field: str, text: str) -> str:
    return (
        f'<span data-program="{escape(program)}" data-metric="{escape(metric)}" data-field="{field}">'
        f"{escape(text)}</span>"
    )


def verdict(row: pd.Series) -> str:
    """The estimate of one program × metric in plain words."""
    label, unit, decimals = METRICS.get(row["metric"], (row["metric"], "", 2))

    def field(name: str, text: str) -> str:
        return _field(row["program_id"], row["metric"], name, text)

    if is_missing(row["did"]):
        return (
            f"<p><b>{escape(label)}</b>: no estimate — fewer than 6 months of data on a side "
            "(2 quarters for trust) for the neighborhood or its comparison.</p>"
        )
    direction = "more" if row["did"] >= 0 else "less"
    text = (
        f"<p><b>{escape(label)}</b>: changed by {field('did', figure(row['did'], decimals, signed=True))} "
        f"{escape(unit)} relative to the comparison neighborhoods ({direction} than they did). "
        f"Placebo p-value {field('did_p_value', p_value(row['did_p_value']))} over "
        f"{field('placebos', str(int(row['placebos'])))} placebo neighborhoods. "
    )
    if is_missing(row["did_ci_low"]):
        return text + "Too few placebo neighborhoods (under 19) for a 95 % interval.</p>"
    interval = (
        f"95 % placebo interval {field('did_ci_low', figure(row['did_ci_low'], decimals, signed=True))} to "
        f"{field('did_ci_high', figure(row['did_ci_high'], decimals, signed=True))}: "
    )
    covers_zero = row["did_ci_low"] <= 0 <= row["did_ci_high"]
    meaning = (
        "no change distinguishable from the placebo neighborhoods."
        if covers_zero
        else "a change larger than the placebo neighborhoods show."
    )
    return (
        text + interval + f'<span data-verdict="{"noise" if covers_zero else "change"}">{meaning}</span></p>'
    )


def event_study_chart(
    rows: pd.DataFrame, program: str, metric: str, width: int = 1000, height: int = 220
) -> str:
    """gap_vs_pre by relative period, the placebo band shaded, the start marked between periods -1 and 0."""
    label, unit, _ = METRICS.get(metric, (metric, "", 2))
    rows = rows.sort_values("relative_period")
    periods = rows["relative_period"].tolist()
    values = [v for column in ("gap_vs_pre", "placebo_band_low", "placebo_band_high") for v in rows[column]]
    values = [float(v) for v in values if not is_missing(v)] + [0.0]
    caption = f"{escape(label)} <small>(gap to the comparison minus its mean before the start; {escape(unit)})</small>"
    if not periods or len(values) == 1:
        return f"<figure><figcaption>{caption}</figcaption><p>No data.</p></figure>"
    left, right, top, bottom = 48, 10, 10, 24
    low, high = min(values), max(values)
    high = high if high > low else low + 1

    def x(period: float) -> float:
        first, last = periods[0], periods[-1]
        return left + (period - first) / ((last - first) or 1) * (width - left - right)

    def y(value: float) -> float:
        return top + (high - value) / (high - low) * (height - top - bottom)

    parts = [
        f'<line x1="{left}" x2="{width - right}" y1="{y(0):.1f}" y2="{y(0):.1f}" class="grid"/>',
        f'<text x="{left - 6}" y="{y(0) + 4:.1f}" text-anchor="end">0</text>',
        f'<text x="{left - 6}" y="{y(high) + 8:.1f}" text-anchor="end">{high:.3g}</text>',
        f'<text x="{left - 6}" y="{y(low):.1f}" text-anchor="end">{low:.3g}</text>',
    ]
    band = rows.dropna(subset=["placebo_band_low", "placebo_band_high"])
    if len(band):
        outline = [
            f"{x(p):.1f},{y(v):.1f}"
            for p, v in zip(band["relative_period"], band["placebo_band_high"], strict=True)
        ]
        outline += [
            f"{x(p):.1f},{y(v):.1f}"
            for p, v in zip(band["relative_period"][::-1], band["placebo_band_low"][::-1], strict=True)
        ]
        parts.append(
            f'<polygon class="placebo-band" points="{" ".join(outline)}" fill="{BAND_COLOR}" fill-opacity="0.5"/>'
        )
    start = x(-0.5)
    parts.append(
        f'<line class="start" x1="{start:.1f}" x2="{start:.1f}" y1="{top}" y2="{height - bottom}" '
        'stroke="#102a43" stroke-dasharray="4 3"/>'
        f'<text x="{start + 4:.1f}" y="{top + 10}">start</text>'
    )
    for period in periods:
        parts.append(f'<text x="{x(period):.1f}" y="{height - 8}" text-anchor="middle">{period}</text>')
    shown = rows.dropna(subset=["gap_vs_pre"])
    if len(shown) > 1:
        line = " ".join(
            f"{x(p):.1f},{y(v):.1f}"
            for p, v in zip(shown["relative_period"], shown["gap_vs_pre"], strict=True)
        )
        parts.append(f'<polyline points="{line}" fill="none" stroke="{GAP_COLOR}" stroke-width="2"/>')
    parts.extend(
        f'<circle data-relative-period="{p}" data-gap-vs-pre="{v!r}" cx="{x(p):.1f}" cy="{y(v):.1f}" r="3" '
        f'fill="{GAP_COLOR}"/>'
        for p, v in zip(shown["relative_period"], shown["gap_vs_pre"], strict=True)
    )
    return (
        f"<figure><figcaption>{caption}</figcaption>"
        f'<svg class="event-study" data-program="{escape(program)}" data-metric="{escape(metric)}" '
        f'viewBox="0 0 {width} {height}" width="100%" role="img" aria-label="{escape(label)} event study">'
        f"{''.join(parts)}</svg>"
        f'<div class="legend"><span><i style="background:{GAP_COLOR}"></i>this neighborhood</span>'
        f'<span><i style="background:{BAND_COLOR}"></i>95 % of placebo neighborhoods</span>'
        "<span>periods: months (quarters for trust) from the start</span></div></figure>"
    )


def program_sections(
    evaluation: pd.DataFrame, event_study: pd.DataFrame | None, names: dict[str, str]
) -> str:
    """One section per program: name, neighborhood, start, each metric's verdict and event-study chart."""
    sections = []
    for program_id, rows in evaluation.groupby("program_id", sort=True):
        first = rows.iloc[0]
        neighborhood = names.get(first["neighborhood_id"], first["neighborhood_id"])
        start = pd.Timestamp(first["start_month"]).strftime("%B %Y")
        parts = [
            f'<section class="program" id="program-{escape(str(program_id))}" data-program="{escape(str(program_id))}">'
            f"<h2>{escape(str(first['program_name']))} <small>({escape(str(program_id))})</small></h2>"
            f'<p class="note">In <span data-field="neighborhood">{escape(str(neighborhood))}</span>, '
            f'started <span data-field="start_month">{escape(start)}</span>.</p>'
        ]
        for metric in [m for m in METRICS if m in set(rows["metric"])]:
            row = rows[rows["metric"] == metric].iloc[0]
            parts.append(verdict(row))
            if event_study is not None:
                own = event_study[
                    (event_study["program_id"] == program_id) & (event_study["metric"] == metric)
                ]
                parts.append(event_study_chart(own, str(program_id), metric))
        sections.append("".join(parts) + "</section>")
    return "".join(sections)


EXPLANATION = (
    '<p class="note">Each estimate is a difference in differences: the change in the program\'s neighborhood '
    "from the 12 months before the start to the 12 months from it, minus the same change in neighborhoods without "
    "a program (population-weighted). How sure it is comes from <b>placebo neighborhoods</b>: each comparison "
    "neighborhood is evaluated as if it had had the program. The p-value is the share of neighborhoods that "
    "changed at least as much; the 95 % interval comes from the spread of the placebo estimates. The charts show "
    "the gap to the comparison period by period: before the start it should stay near 0 and inside the shaded "
    "band (parallel trends). These are associations, not proof of an effect: see "
    '<a href="dictionary.html#program_evaluation">the dictionary</a> and docs/evaluation.md.</p>'
)
