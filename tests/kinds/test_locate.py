"""Locating points with the grid (pipelines/kinds/locate.py) gives exactly what the plain spatial join gives: the
smallest id of the boundaries whose ST_Contains holds, or none. Boundaries loaded through the geography kind (real
files as cities serve them, repairs included, and drawn ones: overlapping, with a hole, one in the hole, two sharing
an edge); points at random over the extent and around it, on vertices, and on a lattice through every drawn edge and
corner. The join is written here."""

from __future__ import annotations

import random

import pytest

from pipelines.ingest import validate_file
from pipelines.kinds import locate
from pipelines.kinds.base import Context
from pipelines.kinds.geography import GeographySource
from pipelines.warehouse import connect
from tests.kinds.test_geography_repair import feature_file, land

REAL_FILES = {
    "chicago_community_areas_simplified_derived.geojson": ("area_numbe", "community"),
    "nyc_police_precincts.geojson": ("Precinct", "Precinct"),
    "dc_neighborhood_clusters.geojson": ("name", "NBH_NAMES"),
}
RANDOM_POINTS = 20_000


def square(x0: float, y0: float, x1: float, y1: float, hole: tuple | None = None) -> dict:
    rings = [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]
    if hole:
        hx0, hy0, hx1, hy1 = hole
        rings.append([[hx0, hy0], [hx0, hy1], [hx1, hy1], [hx1, hy0], [hx0, hy0]])
    return {"type": "Polygon", "coordinates": rings}


# a and b overlap; a has a hole, and d lies in it; b and c share part of an edge.
DRAWN = [
    ("a", "A", square(0, 0, 4, 4, hole=(1, 1, 2, 2))),
    ("b", "B", square(3, 3, 6, 6)),
    ("c", "C", square(6, 0, 8, 4)),
    ("d", "D", square(1.25, 1.25, 1.75, 1.75)),
]


def located_both_ways(tmp_path, geojson, id_property, name_property, extra_points=()):
    """(by the grid, by the plain join, share of the points the grid left to the join) for random points over the
    boundaries' extent and `extra_points`."""
    spec = GeographySource(
        name="areas", kind="geography", id_property=id_property, name_property=name_property
    )
    parsed = land(tmp_path, spec, geojson)
    with connect(tmp_path / "warehouse.duckdb", spatial=True, allowed=[tmp_path]) as con:
        context = Context(con, {"geography": ["areas"]})
        validate_file(spec, parsed, "l1", "landing/areas.geojson", context)
        x0, y0, x1, y1 = con.execute(
            "SELECT min(ST_XMin(g)), min(ST_YMin(g)), max(ST_XMax(g)), max(ST_YMax(g)) "
            "FROM (SELECT ST_GeomFromGeoJSON(geometry_geojson) AS g FROM raw.areas)"
        ).fetchone()
        vertices = con.execute(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT unnest(ST_Dump(ST_Points(ST_GeomFromGeoJSON(geometry_geojson)))).geom "
            "AS p FROM raw.areas)"
        ).fetchall()
        pick = random.Random(7)
        w, h = x1 - x0, y1 - y0
        points = [
            (x0 - 0.05 * w + pick.random() * 1.1 * w, y0 - 0.05 * h + pick.random() * 1.1 * h)
            for _ in range(RANDOM_POINTS)
        ]
        points += pick.sample(vertices, min(len(vertices), 2_000)) + list(extra_points)
        con.execute(
            "CREATE TEMP TABLE points AS SELECT unnest(range(len($x))) AS _position, unnest($x) AS x, unnest($y) AS y",
            {"x": [x for x, _ in points], "y": [y for _, y in points]},
        )
        by_grid = dict(
            con.execute(context.located_sql("SELECT * FROM points", locate.GRID_MIN_POINTS)).fetchall()
        )
        by_join_alone = dict(con.execute(context.located_sql("SELECT * FROM points", 0)).fetchall())
        by_join = dict(
            con.execute(
                "WITH b AS (SELECT neighborhood_id, ST_GeomFromGeoJSON(geometry_geojson) AS geom FROM raw.areas) "
                "SELECT p._position, min(b.neighborhood_id) FROM points p JOIN b ON ST_Contains(b.geom, ST_Point(p.x, p.y)) "
                "GROUP BY p._position"
            ).fetchall()
        )
        grid = context.lookups_made[f"boundary_grid_{locate.LEVELS}"]
        frame = context.lookups_made["boundary_frame"]
        side = 1 << locate.LEVELS
        left_to_join = con.execute(
            f"SELECT avg(CASE WHEN g.edge THEN 1 ELSE 0 END) FROM points p CROSS JOIN {frame} f "
            f"LEFT JOIN {grid} g ON g.cell = CAST(floor((p.x - f.gx) / f.gw * {side}) AS BIGINT) * {side} "
            f"+ CAST(floor((p.y - f.gy) / f.gh * {side}) AS BIGINT)"
        ).fetchone()[0]
    assert by_join_alone == by_join
    return by_grid, by_join, left_to_join


@pytest.mark.parametrize("file", sorted(REAL_FILES))
def test_the_grid_locates_points_as_the_spatial_join_does_on_real_boundaries(tmp_path, real_data, file):
    by_grid, by_join, left_to_join = located_both_ways(tmp_path, real_data / file, *REAL_FILES[file])
    assert len(by_join) > RANDOM_POINTS / 4  # most of the extent is some boundary's
    assert by_grid == by_join
    assert left_to_join < 0.15, f"the grid left {left_to_join:.0%} of the points to the spatial join"


def test_the_grid_locates_points_on_edges_holes_and_overlaps_as_the_spatial_join_does(tmp_path):
    # A lattice of eighths over the drawn squares and around them: on every edge and corner of theirs and of the
    # hole, inside and outside each.
    lattice = [(i / 8, j / 8) for i in range(-8, 73) for j in range(-8, 57)]
    geojson = feature_file(tmp_path, DRAWN)
    by_grid, by_join, _ = located_both_ways(tmp_path, geojson, "id", "name", lattice)
    assert by_grid == by_join
    # The overlap goes to the smaller id; the hole belongs to none but its own square d; an edge to no one.
    assert {by_grid.get(RANDOM_POINTS + n) for n in range(len(lattice))} >= {"a", "b", "c", "d", None}
