"""Inline SVG for the report: a choropleth of neighborhood boundaries and simple time-series charts.

Plain strings, no plotting library and nothing fetched: the report must open offline from the file system.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from html import escape

NO_DATA_FILL = "url(#no-data)"  # a grey hatch, defined in every map, so "no figure" never looks like "low"
CRIME_RAMP = ["#fff5eb", "#fdd0a2", "#fd8d3c", "#d94801", "#7f2704"]
TRUST_RAMP = ["#f7fbff", "#c6dbef", "#6baed6", "#2171b5", "#08306b"]


@dataclass(frozen=True)
class MapArea:
    href: str
    name: str
    geometry_geojson: str
    value: float | None
    label: str  # what the tooltip and the legend say about the value ("12.3", "suppressed", "no data")


def _rings(geometry: dict) -> list[list[list[float]]]:
    if geometry["type"] == "Polygon":
        return geometry["coordinates"]
    if geometry["type"] == "MultiPolygon":
        return [ring for polygon in geometry["coordinates"] for ring in polygon]
    return []


def projection(
    points: Sequence[Sequence[float]], box_width: int, box_height: int, margin: int = 10
) -> tuple[Callable[[float, float], tuple[float, float]], int, int]:
    """(lon, lat) -> (x, y) in SVG units fitting the points' extent in the box with a margin, and the drawing's
    width and height. Equirectangular with the x axis shrunk by cos(latitude): true shapes at city scale.

    The extent is computed once, here: the projection of each point is then constant time, and a map linear in
    its boundary points (a city's official file has tens of thousands)."""
    west, east = min(p[0] for p in points), max(p[0] for p in points)
    south, north = min(p[1] for p in points), max(p[1] for p in points)
    squeeze = math.cos(math.radians((south + north) / 2))
    span_x, span_y = (east - west) * squeeze or 1e-9, (north - south) or 1e-9
    scale = min((box_width - 2 * margin) / span_x, (box_height - 2 * margin) / span_y)  # fit, keep the shape
    width, height = int(span_x * scale) + 2 * margin, int(span_y * scale) + 2 * margin

    def project(lon: float, lat: float) -> tuple[float, float]:
        return margin + (lon - west) * squeeze * scale, margin + (north - lat) * scale

    return project, width, height


def _bins(values: Sequence[float], count: int) -> list[float]:
    """Equal-width class breaks between the smallest and largest value (count - 1 inner breaks)."""
    low, high = min(values), max(values)
    step = (high - low) / count or 1.0
    return [low + step * i for i in range(1, count)]


def choropleth(
    areas: list[MapArea], ramp: list[str], title: str, unit: str, box_width: int = 440, box_height: int = 440
) -> str:
    """Neighborhoods shaded by value in `len(ramp)` equal-width classes; each links to its page."""
    shapes = [(area, _rings(json.loads(area.geometry_geojson))) for area in areas if area.geometry_geojson]
    points = [point for _, rings in shapes for ring in rings for point in ring]
    if not points:
        return f'<figure class="map"><figcaption>{escape(title)}</figcaption><p>No boundaries.</p></figure>'
    project, width, height = projection(points, box_width, box_height)

    def xy(lon: float, lat: float) -> str:
        x, y = project(lon, lat)
        return f"{x:.1f},{y:.1f}"

    known = [area.value for area in areas if area.value is not None]
    single = len(set(known)) == 1  # one value (or one neighborhood with a figure): one class, mid-ramp
    breaks = _bins(known, len(ramp)) if known and not single else []

    def fill(value: float | None) -> str:
        if value is None:
            return NO_DATA_FILL
        return ramp[len(ramp) // 2] if single else ramp[sum(value > b for b in breaks)]

    paths = []
    for area, rings in shapes:
        d = " ".join("M" + " L".join(xy(lon, lat) for lon, lat, *_ in ring) + " Z" for ring in rings)
        paths.append(
            f'<a href="{escape(area.href)}"><path d="{d}" fill="{fill(area.value)}" fill-rule="evenodd" '
            f'stroke="#555" stroke-width="0.8"><title>{escape(area.name)}: {escape(area.label)}</title>'
            "</path></a>"
        )
    legend = []
    if single:
        legend.append(f'<span><i style="background:{ramp[len(ramp) // 2]}"></i>{known[0]:.1f}</span>')
    elif known:
        edges = [min(known), *breaks, max(known)]
        for i, color in enumerate(ramp):
            legend.append(f'<span><i style="background:{color}"></i>{edges[i]:.1f}–{edges[i + 1]:.1f}</span>')
    if any(area.value is None for area in areas):
        legend.append('<span><i class="hatch"></i>suppressed or no data</span>')
    return (
        f'<figure class="map"><figcaption>{escape(title)} <small>({escape(unit)})</small></figcaption>'
        f'<svg viewBox="0 0 {width} {height}" width="100%" style="max-width:{width}px" role="img" '
        f'aria-label="{escape(title)}"><defs><pattern id="no-data" width="6" height="6" '
        'patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" '
        'fill="#e4e4e4"/><line x1="0" y1="0" x2="0" y2="6" stroke="#aaa" stroke-width="2"/></pattern></defs>'
        f"{''.join(paths)}</svg>"
        f'<div class="legend">{"".join(legend)}</div></figure>'
    )


@dataclass(frozen=True)
class Series:
    name: str
    points: list[tuple[date, float | None]]  # None: a gap in the line (no data or suppressed)
    color: str = "#2171b5"
    intervals: list[tuple[date, float, float]] | None = None  # optional error bars (low, high)


def _nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    if high <= low:
        high = low + 1
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start = math.floor(low / step) * step
    ticks = [start]
    while ticks[-1] < high:  # the top tick is at or above the largest value: nothing drawn off the chart
        ticks.append(round(start + step * len(ticks), 10))
    return ticks


def line_chart(
    title: str,
    series: list[Series],
    unit: str,
    width: int = 1000,
    height: int = 230,
    y_from_zero: bool = True,
) -> str:
    """A time-series chart with year ticks; None values break the line."""
    dates = sorted({d for s in series for d, _ in s.points})
    values = [v for s in series for _, v in s.points if v is not None]
    values += [v for s in series for _, low, high in (s.intervals or []) for v in (low, high)]
    if not dates or not values:
        return f'<figure class="chart"><figcaption>{escape(title)}</figcaption><p>No data.</p></figure>'
    left, right, top, bottom = 48, 12, 10, 26
    ticks = _nice_ticks(0 if y_from_zero else min(values), max(values))
    y_low, y_high = ticks[0], ticks[-1]
    first, last = dates[0].toordinal(), dates[-1].toordinal()

    def x(d: date) -> float:
        return left + (d.toordinal() - first) / ((last - first) or 1) * (width - left - right)

    def y(v: float) -> float:
        return top + (y_high - v) / ((y_high - y_low) or 1) * (height - top - bottom)

    parts = []
    for tick in ticks:
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" class="grid"/>'
            f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">{tick:g}</text>'
        )
    for year in sorted({d.year for d in dates}):
        start = date(year, 1, 1)
        if dates[0] <= start <= dates[-1] or year == dates[0].year:
            at = max(start, dates[0])
            parts.append(
                f'<line x1="{x(at):.1f}" x2="{x(at):.1f}" y1="{top}" y2="{height - bottom}" class="grid"/>'
                f'<text x="{x(at) + 3:.1f}" y="{height - 8}">{year}</text>'
            )
    for s in series:
        for d, low, high in s.intervals or []:
            parts.append(
                f'<line x1="{x(d):.1f}" x2="{x(d):.1f}" y1="{y(low):.1f}" y2="{y(high):.1f}" '
                f'stroke="{s.color}" stroke-opacity="0.45" stroke-width="5"/>'
            )
        segment: list[str] = []
        segments = []
        for d, v in s.points:
            if v is None:
                segments.append(segment)
                segment = []
            else:
                segment.append(f"{x(d):.1f},{y(v):.1f}")
        segments.append(segment)
        for seg in segments:
            if len(seg) > 1:
                parts.append(
                    f'<polyline points="{" ".join(seg)}" fill="none" stroke="{s.color}" stroke-width="2"/>'
                )
            if len(seg) == 1 or s.intervals is not None:
                parts.extend(
                    f'<circle cx="{p.split(",")[0]}" cy="{p.split(",")[1]}" r="3" fill="{s.color}"/>'
                    for p in seg
                )
    legend = "".join(
        f'<span><i style="background:{s.color}"></i>{escape(s.name)}</span>' for s in series if s.name
    )
    return (
        f'<figure class="chart"><figcaption>{escape(title)} <small>({escape(unit)})</small></figcaption>'
        f'<svg viewBox="0 0 {width} {height}" width="100%" role="img" aria-label="{escape(title)}">'
        f"{''.join(parts)}</svg>"
        f'<div class="legend">{legend}</div></figure>'
    )
