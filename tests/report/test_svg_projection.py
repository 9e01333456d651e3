"""The map projection of the report: each point placed from the extent of all of them, fitted in the box."""

from __future__ import annotations

import json
import math
import re

import pytest

from pipelines.report.svg import CRIME_RAMP, MapArea, choropleth, projection

# Two rectangles in Chicago, side by side: the extent is 0.2° of longitude by 0.1° of latitude.
WEST, EAST, SOUTH, NORTH = -87.8, -87.6, 41.8, 41.9


def rectangle(west: float, east: float) -> str:
    ring = [[west, SOUTH], [east, SOUTH], [east, NORTH], [west, NORTH], [west, SOUTH]]
    return json.dumps({"type": "Polygon", "coordinates": [ring]})


def test_the_extent_fills_the_box_with_true_proportions():
    points = [(WEST, SOUTH), (-87.7, 41.85), (EAST, NORTH)]
    project, width, height = projection(points, 440, 440)
    squeeze = math.cos(math.radians((SOUTH + NORTH) / 2))
    # Wider than tall (0.2° x cos(41.85°) = 0.149 against 0.1°): the width fills the box less the margins.
    scale = 420 / (0.2 * squeeze)
    assert (width, height) == (440, int(0.1 * scale) + 20)
    assert project(WEST, NORTH) == pytest.approx((10, 10))  # north-west corner at the margin
    assert project(EAST, SOUTH) == pytest.approx((430, 10 + 0.1 * scale))
    assert project(-87.7, 41.85) == pytest.approx((220, 10 + 0.05 * scale))
    # A point's place depends on the extent only, not on how many points there are.
    many = points + [(-87.7 + i * 1e-6, 41.85) for i in range(10_000)]
    assert projection(many, 440, 440)[0](-87.65, 41.88) == pytest.approx(project(-87.65, 41.88))


def test_the_choropleth_draws_each_boundary_at_its_projected_place():
    areas = [
        MapArea("a.html", "A", rectangle(WEST, -87.7), 1.0, "1.0"),
        MapArea("b.html", "B", rectangle(-87.7, EAST), 2.0, "2.0"),
    ]
    svg = choropleth(areas, CRIME_RAMP, "Violent crime", "per 1,000")
    paths = re.findall(r'<path d="([^"]+)"', svg)
    bottom = f"{10 + 0.1 * 420 / (0.2 * math.cos(math.radians(41.85))):.1f}"
    assert paths == [
        f"M10.0,{bottom} L220.0,{bottom} L220.0,10.0 L10.0,10.0 L10.0,{bottom} Z",
        f"M220.0,{bottom} L430.0,{bottom} L430.0,10.0 L220.0,10.0 L220.0,{bottom} Z",
    ]
