"""Boundary files as cities serve them load whole: every feature is loaded, an invalid shape repaired (and counted
as a note), the parts of one neighborhood merged (and counted). Through the kind's real
land (GeoJSON -> parsed Parquet) and the real validation and warehouse write (`ingest.validate_file`) on a DuckDB
file; expectations come from the GeoJSON read here in plain Python, with shoelace areas."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from pipelines.ingest import FILE_KEY, validate_file
from pipelines.kinds import KINDS
from pipelines.kinds.base import Context
from pipelines.kinds.geography import GeographySource
from pipelines.warehouse import connect

# file -> (id property, name property, ids whose shape is invalid as given: known from the files themselves)
REAL_BOUNDARIES = {
    # Lincoln Park's simplified outline crosses itself.
    "chicago_community_areas_simplified_derived.geojson": ("area_numbe", "community", {"7"}),
    # Beat 3100 (the airport) is three features with the same properties.
    "chicago_police_beats_simple_datamade.geojson": ("BEAT_NUM", "BEAT_NUM", set()),
    # District 31 likewise, three features.
    "chicago_police_districts_simple_datamade.geojson": ("DIST_NUM", "DIST_LABEL", set()),
    # A legacy `crs` member, MultiPolygons, integer ids; precinct 113's outline crosses itself.
    "nyc_police_precincts.geojson": ("Precinct", "Precinct", {"113"}),
    "seattle_spd_mcpp_areas.geojson": ("NAME", "NAME", set()),
    "seattle_spd_beats.geojson": ("name", "name", set()),
    # Styling keys among the properties, uneven property sets.
    "dc_neighborhood_clusters.geojson": ("name", "NBH_NAMES", set()),
}


def polygons(geometry: dict) -> list:
    return geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]


def ring_area_km2(ring: list) -> float:
    """Shoelace on a local equirectangular projection, metres per degree of the WGS84 ellipsoid at the ring's
    mean latitude: within a fraction of a percent of the geodesic area at city scale."""
    phi = math.radians(sum(lat for _, lat, *_ in ring) / len(ring))
    per_lat = 111132.954 - 559.822 * math.cos(2 * phi) + 1.175 * math.cos(4 * phi)
    per_lon = 111412.84 * math.cos(phi) - 93.5 * math.cos(3 * phi)
    points = [(lon * per_lon, lat * per_lat) for lon, lat, *_ in ring]
    twice = sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(points, points[1:] + points[:1], strict=True))
    return abs(twice) / 2 / 1e6


def area_km2(geometry: dict) -> float:
    return sum(
        ring_area_km2(exterior) - sum(ring_area_km2(hole) for hole in holes)
        for exterior, *holes in polygons(geometry)
    )


def land(tmp_path, spec, geojson: Path) -> Path:
    """The boundary file as the kind lands it: parsed Parquet."""
    parsed = tmp_path / f"{geojson.stem}.parquet"
    with connect(None, allowed=[tmp_path, geojson.parent]) as con:
        KINDS["geography"].land(spec, geojson, parsed, {FILE_KEY.decode(): geojson.name}, con, None)
    return parsed


def feature_file(tmp_path, features: list[tuple[str, str, dict]], name: str = "areas.geojson") -> Path:
    """A FeatureCollection of (id, name, geometry) features, properties `id` and `name`."""
    document = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"id": nbhd, "name": label}, "geometry": geometry}
            for nbhd, label, geometry in features
        ],
    }
    file = tmp_path / name
    file.write_text(json.dumps(document))
    return file


def load(tmp_path, spec, geojson: Path):
    """land + validate + write into a warehouse file, as a run does; returns what the warehouse holds."""
    parsed = land(tmp_path, spec, geojson)
    with connect(tmp_path / "warehouse.duckdb", spatial=True, allowed=[tmp_path]) as con:
        summary = validate_file(spec, parsed, "l1", "landing/areas.geojson", Context(con))
        stored = [
            dict(
                zip(
                    ("neighborhood_id", "name", "area_sq_km", "geometry_geojson", "valid", "shape"),
                    row,
                    strict=True,
                )
            )
            for row in con.execute(
                f"SELECT neighborhood_id, name, area_sq_km, geometry_geojson, "
                f"ST_IsValid(ST_GeomFromGeoJSON(geometry_geojson)), "
                f"CAST(ST_GeometryType(ST_GeomFromGeoJSON(geometry_geojson)) AS VARCHAR) FROM raw.{spec.name}"
            ).fetchall()
        ]
        notes = dict(con.execute("SELECT note, rows FROM meta.load_notes").fetchall())
        refused = con.execute(f"SELECT count(*) FROM quarantine.{spec.name}").fetchone()[0]
    return summary, stored, notes, refused


@pytest.mark.parametrize("file", sorted(REAL_BOUNDARIES))
def test_every_real_boundary_file_loads_whole(tmp_path, real_data, file):
    id_property, name_property, invalid_as_given = REAL_BOUNDARIES[file]
    features = json.loads((real_data / file).read_text())["features"]
    ids = Counter(str(f["properties"][id_property]) for f in features)
    spec = GeographySource(
        name="areas", kind="geography", id_property=id_property, name_property=name_property
    )
    summary, stored, notes, refused = load(tmp_path, spec, real_data / file)

    # Every feature loaded, none refused; one neighborhood per id.
    assert (summary.rows_received, summary.rows_loaded, summary.rows_quarantined) == (len(features),) * 2 + (
        0,
    )
    assert refused == 0
    assert sorted(row["neighborhood_id"] for row in stored) == sorted(ids)
    # Every stored shape is a valid polygon, and its area is the area of that shape.
    assert all(row["valid"] for row in stored) and {row["shape"] for row in stored} <= {
        "POLYGON",
        "MULTIPOLYGON",
    }
    for row in stored:
        assert row["area_sq_km"] == pytest.approx(area_km2(json.loads(row["geometry_geojson"])), rel=5e-3)
    # The shapes invalid as given were repaired, and only those: the others are stored as the file has them.
    given = {
        str(f["properties"][id_property]): f["geometry"]
        for f in features
        if ids[str(f["properties"][id_property])] == 1
    }
    changed = {
        row["neighborhood_id"]
        for row in stored
        if row["neighborhood_id"] in given
        and json.loads(row["geometry_geojson"]) != given[row["neighborhood_id"]]
    }
    assert changed == invalid_as_given
    parts = sum(count for count in ids.values() if count > 1)
    expected_notes = {"repaired_geometry": len(invalid_as_given), "merged_boundary_parts": parts}
    assert notes == {note: rows for note, rows in expected_notes.items() if rows}
    # A merged neighborhood covers the area of its parts (they do not overlap).
    for nbhd, count in ids.items():
        if count > 1:
            own = [f["geometry"] for f in features if str(f["properties"][id_property]) == nbhd]
            (merged,) = [row["area_sq_km"] for row in stored if row["neighborhood_id"] == nbhd]
            assert merged == pytest.approx(sum(area_km2(g) for g in own), rel=5e-3)


def square(x: float, y: float, side: float = 0.01) -> list:
    return [[x, y], [x + side, y], [x + side, y + side], [x, y + side], [x, y]]


def test_a_bow_tie_becomes_its_two_triangles_and_shared_ids_with_other_names_are_refused(tmp_path):
    x, y, d = -87.7, 41.8, 0.01
    bow_tie = [[x, y], [x + d, y + d], [x + d, y], [x, y + d], [x, y]]
    features = [
        ("A", "Alpha", {"type": "Polygon", "coordinates": [bow_tie]}),
        ("B", "Beta", {"type": "Polygon", "coordinates": [square(x + 1, y)]}),
        ("B", "Beta", {"type": "Polygon", "coordinates": [square(x + 2, y)]}),  # a second part of B
        ("C", "Gamma", {"type": "Polygon", "coordinates": [square(x + 3, y)]}),
        ("C", "Delta", {"type": "Polygon", "coordinates": [square(x + 4, y)]}),  # another place claiming C
        ("D", "Empty", {"type": "Polygon", "coordinates": []}),
    ]
    spec = GeographySource(name="areas", kind="geography", id_property="id", name_property="name")
    summary, stored, notes, _ = load(tmp_path, spec, feature_file(tmp_path, features))
    assert (summary.rows_received, summary.rows_loaded, summary.rows_quarantined) == (6, 4, 2)
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        refused = con.execute("SELECT _row, reason, detail FROM quarantine.areas ORDER BY _row").fetchall()
    assert refused == [
        (5, "duplicate_neighborhood_id", "id: 'C' is the id of 'Gamma' earlier in the file"),
        (6, "empty_geometry", "geometry: an empty POLYGON"),
    ]
    assert notes == {"repaired_geometry": 1, "merged_boundary_parts": 2}
    by_id = {row["neighborhood_id"]: row for row in stored}
    # The bow-tie's two triangles, crossing at the centre: each a quarter of the square.
    triangles = polygons(json.loads(by_id["A"]["geometry_geojson"]))
    assert len(triangles) == 2
    whole = ring_area_km2(square(x, y))
    assert [ring_area_km2(exterior) for exterior, *_ in triangles] == pytest.approx([whole / 4] * 2, rel=1e-3)
    assert by_id["A"]["area_sq_km"] == pytest.approx(whole / 2, rel=5e-3)
    assert by_id["B"]["area_sq_km"] == pytest.approx(2 * whole, rel=5e-3)
    assert by_id["C"]["name"] == "Gamma"


def test_a_replaced_load_takes_its_notes_with_it(tmp_path):
    """A corrected file dropped under the same name replaces its load: the notes go with the rows. The load of
    another file keeps its own."""
    x, y, d = -87.7, 41.8, 0.01
    bow_tie = [[x, y], [x + d, y + d], [x + d, y], [x, y + d], [x, y]]
    loads = [  # (load, file, outline)
        ("l1", "landing/areas/areas.geojson", bow_tie),
        ("l2", "landing/areas/other.geojson", bow_tie),
        ("l3", "landing/areas/areas.geojson", square(x, y, d)),  # areas.geojson corrected
    ]
    spec = GeographySource(name="areas", kind="geography", id_property="id", name_property="name")
    notes = []
    with connect(tmp_path / "warehouse.duckdb", spatial=True, allowed=[tmp_path]) as con:
        for load_id, file, ring in loads:
            geojson = feature_file(
                tmp_path, [("A", "Alpha", {"type": "Polygon", "coordinates": [ring]})], f"{load_id}.geojson"
            )
            validate_file(spec, land(tmp_path, spec, geojson), load_id, file, Context(con))
            notes.append(con.execute("SELECT load_id, note, rows FROM meta.load_notes ORDER BY 1").fetchall())
    assert notes == [
        [("l1", "repaired_geometry", 1)],
        [("l1", "repaired_geometry", 1), ("l2", "repaired_geometry", 1)],
        [("l2", "repaired_geometry", 1)],
    ]
