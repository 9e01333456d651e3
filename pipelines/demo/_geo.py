"""Neighborhood shapes of the demo city and point sampling inside them."""

from __future__ import annotations

import numpy as np

LON_MIN, LON_MAX = -87.80, -87.55
LAT_MIN, LAT_MAX = 41.70, 41.95
N_COLS, N_ROWS = 6, 4

# The neighbourhood that also owns a small island in the lake, east of the grid (row 1, col 5).
ISLAND_NBHD = 1 * N_COLS + 5

Ring = list[tuple[float, float]]


def build_polygons(rng: np.random.Generator) -> list[list[Ring]]:
    """Return, per neighbourhood (row-major from the south-west), its polygons' exterior rings.

    Every vertex and edge midpoint is computed once and shared by the neighbouring cells, so the
    jittered cells tile the city with neither gaps nor overlaps.
    """
    dx = (LON_MAX - LON_MIN) / N_COLS
    dy = (LAT_MAX - LAT_MIN) / N_ROWS
    vx = LON_MIN + dx * np.tile(np.arange(N_COLS + 1, dtype=float), (N_ROWS + 1, 1))
    vy = LAT_MIN + dy * np.tile(np.arange(N_ROWS + 1, dtype=float)[:, None], (1, N_COLS + 1))
    # Jitter bounds are small enough (< 1/4 cell) that no cell edge can cross another.
    vx[1:-1, 1:-1] += rng.uniform(-0.22, 0.22, (N_ROWS - 1, N_COLS - 1)) * dx
    vy[1:-1, 1:-1] += rng.uniform(-0.22, 0.22, (N_ROWS - 1, N_COLS - 1)) * dy
    h_off = rng.uniform(-0.15, 0.15, (N_ROWS + 1, N_COLS)) * dy
    v_off = rng.uniform(-0.15, 0.15, (N_ROWS, N_COLS + 1)) * dx
    # The outer boundary stays straight so the city keeps its rectangular footprint.
    h_off[[0, -1], :] = 0.0
    v_off[:, [0, -1]] = 0.0

    def vert(r: int, c: int) -> tuple[float, float]:
        return round(float(vx[r, c]), 6), round(float(vy[r, c]), 6)

    def hmid(r: int, c: int) -> tuple[float, float]:
        x = (vx[r, c] + vx[r, c + 1]) / 2
        y = (vy[r, c] + vy[r, c + 1]) / 2 + h_off[r, c]
        return round(float(x), 6), round(float(y), 6)

    def vmid(r: int, c: int) -> tuple[float, float]:
        x = (vx[r, c] + vx[r + 1, c]) / 2 + v_off[r, c]
        y = (vy[r, c] + vy[r + 1, c]) / 2
        return round(float(x), 6), round(float(y), 6)

    shapes: list[list[Ring]] = []
    for r in range(N_ROWS):
        for c in range(N_COLS):
            # East along the bottom, north, west along the top, south: counter-clockwise.
            ring = [
                vert(r, c),
                hmid(r, c),
                vert(r, c + 1),
                vmid(r, c + 1),
                vert(r + 1, c + 1),
                hmid(r + 1, c),
                vert(r + 1, c),
                vmid(r, c),
                vert(r, c),
            ]
            shapes.append([ring])
    lat_c = LAT_MIN + dy * 1.5
    island = [
        (-87.534, lat_c - 0.004),
        (-87.524, lat_c - 0.003),
        (-87.526, lat_c + 0.005),
        (-87.535, lat_c + 0.003),
        (-87.534, lat_c - 0.004),
    ]
    shapes[ISLAND_NBHD].append([(round(x, 6), round(y, 6)) for x, y in island])
    return shapes


def points_in_ring(x: np.ndarray, y: np.ndarray, ring: Ring) -> np.ndarray:
    """Even-odd ray casting, vectorised over points."""
    inside = np.zeros(x.shape, dtype=bool)
    for (x1, y1), (x2, y2) in zip(ring[:-1], ring[1:], strict=True):
        if y1 == y2:
            continue
        crosses = (y1 > y) != (y2 > y)
        x_at_y = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
        inside ^= crosses & (x < x_at_y)
    return inside


def sample_points(rng: np.random.Generator, ring: Ring, k: int) -> tuple[np.ndarray, np.ndarray]:
    """k uniform points inside ring, by rejection from its bounding box."""
    xs, ys = zip(*ring, strict=True)
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    got_x: list[np.ndarray] = []
    got_y: list[np.ndarray] = []
    need = k
    while need > 0:
        n = int(need * 1.6) + 16
        px = rng.uniform(x0, x1, n)
        py = rng.uniform(y0, y1, n)
        keep = points_in_ring(px, py, ring)
        got_x.append(px[keep][:need])
        got_y.append(py[keep][:need])
        need -= len(got_x[-1])
    return np.concatenate(got_x), np.concatenate(got_y)


def to_geojson(ids: list[str], names: list[str], shapes: list[list[Ring]]) -> dict:
    features = []
    for nid, name, rings in zip(ids, names, shapes, strict=True):
        coords = [[list(p) for p in ring] for ring in rings]
        if len(rings) == 1:
            geometry = {"type": "Polygon", "coordinates": coords}
        else:
            geometry = {"type": "MultiPolygon", "coordinates": [[ring] for ring in coords]}
        features.append(
            {"type": "Feature", "properties": {"nbhd_id": nid, "nbhd_name": name}, "geometry": geometry}
        )
    return {"type": "FeatureCollection", "features": features}
