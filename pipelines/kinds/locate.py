"""Which loaded boundary contains each point: exactly what a spatial join on DuckDB's ST_Contains says, for many
points at a fraction of its cost.

A spatial join tests each point against every boundary whose bounding box holds it, at a cost that grows with the
boundary's vertices. 400,000 points took 0.5 s against the demo's 24 simple shapes, 3.4 s against New York's 77
police precincts (82,000 vertices) and 9.8 s against Washington's 46 neighborhood clusters (38,000), and a city's
history is millions of points.

So a load of many points first looks them up in a grid over the boundaries (`grid_sql`, 2^levels cells a side):
a cell in the interior of one or more boundaries and clear of every other boundary names the smallest of their ids;
a cell clear of every boundary names none; only the points of a cell that a boundary's edge crosses are tested
with ST_Contains, against the boundaries themselves. The grid is a quadtree of each boundary, split only where its
edge runs; each level tests the boundary clipped to the parent cell, so a detailed shape costs little below the
first levels. A cell is tested enlarged by CELL_MARGIN of its side on every side: a point whose cell index rounds
to the neighbouring cell lies well within it still. The grid spans the boundaries' extent plus a margin, so a
point outside it is outside every boundary. Built for the demo's shapes in about 0.2 s, for New York's precincts
in 0.8 s; tests/kinds/test_locate.py compares the two ways on real boundaries.
"""

from __future__ import annotations

# Cells per side of the grid: 2^LEVELS (512).
LEVELS = 9
# A load of fewer points than this is located by the spatial join alone (a grid of one cell, its every point tested):
# building the grid costs what the join costs on about 100,000 points against New York's precincts (200,000 against
# the demo's shapes, 20,000 against Washington's clusters), once per source and run, and reused by its next files.
GRID_MIN_POINTS = 100_000
# How much each cell is enlarged on every side when tested, as a share of its side.
CELL_MARGIN = 0.001


def levels_for(points: int) -> int:
    """The grid's depth for a load of `points` points (0: the spatial join alone)."""
    return LEVELS if points >= GRID_MIN_POINTS else 0


def frame_sql(shapes: str) -> str:
    """A query of the grid's frame, one row (gx, gy, gw, gh): the extent of the shapes of `shapes` (a query of
    neighborhood_id, geom) enlarged by 1 % and 1e-9 on every side. No shape comes near its edge."""
    return f"""
        SELECT x0 - (x1 - x0) * 0.01 - 1e-9 AS gx, y0 - (y1 - y0) * 0.01 - 1e-9 AS gy,
               (x1 - x0) * 1.02 + 2e-9 AS gw, (y1 - y0) * 1.02 + 2e-9 AS gh
        FROM (
            SELECT min(ST_XMin(geom)) AS x0, min(ST_YMin(geom)) AS y0, max(ST_XMax(geom)) AS x1,
                   max(ST_YMax(geom)) AS y1
            FROM ({shapes})
        )"""


def grid_sql(shapes: str, frame: str, levels: int) -> str:
    """A query of the grid's cells at depth `levels` that a boundary of `shapes` touches (others are clear of every
    boundary): (cell = ix * 2^levels + iy, neighborhood_id: the smallest id of the boundaries whose interior holds
    the cell, NULL where `edge`, edge: a boundary's edge crosses the cell)."""
    side = 1 << levels

    def corner(origin: str, size: str, index: str, offset: float) -> str:
        return f"f.{origin} + ({index} + {offset}) * f.{size} / (1 << (c.level + 1))"

    box = ", ".join(
        [
            corner("gx", "gw", "2 * c.ix + d.dx", -CELL_MARGIN),
            corner("gy", "gh", "2 * c.iy + d.dy", -CELL_MARGIN),
            corner("gx", "gw", "2 * c.ix + d.dx", 1 + CELL_MARGIN),
            corner("gy", "gh", "2 * c.iy + d.dy", 1 + CELL_MARGIN),
        ]
    )
    return f"""
        WITH RECURSIVE
        -- Each boundary's quadtree: a cell is 'inside' it or on its 'edge' (cells clear of it are left out); an edge
        -- cell above the last level splits in four, tested against the boundary clipped to it (`piece`; where the
        -- clipping fails, the unclipped piece, which answers the same for every cell within).
        cells(neighborhood_id, piece, level, ix, iy, state) AS (
            SELECT neighborhood_id, geom, 0, 0, 0, 'edge' FROM ({shapes})
            UNION ALL
            SELECT neighborhood_id, CASE WHEN state = 'edge' THEN coalesce(TRY(ST_Intersection(piece, box)), piece) END,
                   level, ix, iy, state
            FROM (
                SELECT c.neighborhood_id, c.piece, c.level + 1 AS level, 2 * c.ix + d.dx AS ix,
                       2 * c.iy + d.dy AS iy, k.box,
                       CASE WHEN ST_ContainsProperly(c.piece, k.box) THEN 'inside'
                            WHEN ST_Intersects(c.piece, k.box) THEN 'edge' END AS state
                FROM cells c
                CROSS JOIN ({frame}) f
                CROSS JOIN (VALUES (0, 0), (0, 1), (1, 0), (1, 1)) d(dx, dy)
                CROSS JOIN LATERAL (SELECT ST_MakeEnvelope({box}) AS box) k
                WHERE c.state = 'edge' AND c.level < {levels}
            )
            WHERE state IS NOT NULL
        ),
        -- Every cell of the last level under each inside cell and each last-level edge cell.
        finest AS (
            SELECT neighborhood_id, state,
                   (ix * (1 << ({levels} - level)) + dx) * {side} + iy * (1 << ({levels} - level)) + dy AS cell
            FROM cells
            CROSS JOIN LATERAL (SELECT unnest(range(1 << ({levels} - level))) AS dx)
            CROSS JOIN LATERAL (SELECT unnest(range(1 << ({levels} - level))) AS dy)
            WHERE state = 'inside' OR level = {levels}
        )
        SELECT cell, CASE WHEN NOT bool_or(state = 'edge') THEN min(neighborhood_id) END AS neighborhood_id,
               bool_or(state = 'edge') AS edge
        FROM finest
        GROUP BY cell"""


def located_sql(points: str, shapes: str, frame: str, grid: str, levels: int) -> str:
    """A query of (_position, neighborhood_id) for the points of `points` (_position, x, y; no NULLs) that a
    boundary of `shapes` contains: the smallest id of those whose ST_Contains holds, using the grid `grid` of
    depth `levels` (`grid_sql`) over the frame `frame` (`frame_sql`)."""
    side = 1 << levels
    return f"""
        WITH
        indexed AS (
            SELECT p._position, p.x, p.y, TRY_CAST(floor((p.x - f.gx) / f.gw * {side}) AS BIGINT) AS ix,
                   TRY_CAST(floor((p.y - f.gy) / f.gh * {side}) AS BIGINT) AS iy
            FROM ({points}) p CROSS JOIN ({frame}) f
        ),
        celled AS (
            SELECT i._position, i.x, i.y, g.neighborhood_id, g.edge
            FROM indexed i JOIN ({grid}) g ON g.cell = i.ix * {side} + i.iy
            WHERE i.ix BETWEEN 0 AND {side - 1} AND i.iy BETWEEN 0 AND {side - 1}
        )
        SELECT _position, neighborhood_id FROM celled WHERE NOT edge
        UNION ALL
        SELECT c._position, min(s.neighborhood_id)
        FROM celled c JOIN ({shapes}) s ON ST_Contains(s.geom, ST_Point(c.x, c.y))
        WHERE c.edge
        GROUP BY c._position"""
