"""`check-source YAML --sample FILE` on the real boundary and population files, each with the YAML a city ships
for it (in process, no pipeline run): what it prints is what the run would do with the file, computed here from
the file alone. (The real crime files are checked in tests/e2e/test_cities_crime.py, against the run's own
boundaries and the recount of every row.)"""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import pytest

from pipelines.cli import main
from pipelines.settings import REPO_ROOT

SOURCES = REPO_ROOT / "sources"
# The real boundary files, by the YAML shipped for them, and the property holding each feature's id.
BOUNDARIES = {
    "chicago_community_areas_simplified_derived.geojson": (
        "chicago/file_drop/chicago_community_areas.yml",
        "area_numbe",
    ),
    "nyc_police_precincts.geojson": ("new_york/nyc_police_precincts.yml", "Precinct"),
    "seattle_spd_mcpp_areas.geojson": ("seattle/seattle_mcpp_areas.yml", "NAME"),
    "dc_neighborhood_clusters.geojson": ("washington_dc/dc_neighborhood_clusters.yml", "name"),
}
POPULATION_YAML = SOURCES / "chicago" / "file_drop" / "chicago_population.yml"
SAID = re.compile(r"^(warning|error): ", re.M)


def check(capsys, yml: Path, sample: Path, home: Path) -> tuple[int, str, str]:
    status = main(["check-source", str(yml), "--sample", str(sample), "--home", str(home)])
    out, err = capsys.readouterr()
    return status, out, err


def crosses_itself(ring: list) -> bool:
    """Whether two edges of a closed ring that do not share a vertex cross (a sweep along x)."""
    points = ring[:-1] if ring[0] == ring[-1] else ring
    n = len(points)
    edges = sorted(
        ((points[i], points[(i + 1) % n], i) for i in range(n)), key=lambda edge: min(edge[0][0], edge[1][0])
    )

    def turn(a, b, c) -> int:
        value = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
        return (value > 0) - (value < 0)

    for k, (p, q, i) in enumerate(edges):
        for r, s, j in edges[k + 1 :]:
            if min(r[0], s[0]) > max(p[0], q[0]):
                break
            if (i - j) % n in (1, n - 1):
                continue
            if turn(p, q, r) * turn(p, q, s) < 0 and turn(r, s, p) * turn(r, s, q) < 0:
                return True
    return False


@pytest.mark.parametrize("file", sorted(BOUNDARIES))
def test_each_real_boundary_file_loads_whole_with_its_shipped_yaml(file, real_data, tmp_path, capsys):
    """Every feature would load (an id each, none refused), and the run's quarantine check passes."""
    yml, id_property = BOUNDARIES[file]
    features = json.loads((real_data / file).read_text())["features"]
    assert all(str(f["properties"][id_property]) for f in features)
    status, out, err = check(capsys, SOURCES / yml, real_data / file, tmp_path)
    assert status == 0, out + err
    assert (
        f"{real_data / file}: {len(features)} rows with columns ['neighborhood_id', 'name', 'geometry_geojson']\n"
        in out
    )
    assert SAID.findall(err) == []  # no row refused
    assert "at most 0.00% of a load's rows quarantined" in out


def test_chicago_s_self_crossing_outline_would_be_repaired_not_refused(real_data, tmp_path, capsys):
    """The simplified file's Lincoln Park outline crosses itself (found here, edge by edge): the only feature the
    run would load repaired."""
    file = "chicago_community_areas_simplified_derived.geojson"
    features = json.loads((real_data / file).read_text())["features"]
    crossing = [
        f["properties"]["community"]
        for f in features
        for polygon in (
            f["geometry"]["coordinates"]
            if f["geometry"]["type"] == "MultiPolygon"
            else [f["geometry"]["coordinates"]]
        )
        if any(crosses_itself(ring) for ring in polygon)
    ]
    assert crossing == ["LINCOLN PARK"]
    _, out, _ = check(capsys, SOURCES / BOUNDARIES[file][0], real_data / file, tmp_path)
    assert f"  repaired_geometry: {len(crossing)} rows would be loaded changed" in out


@pytest.fixture
def chicago_home(tmp_path, real_data) -> Path:
    """A data home holding Chicago's community areas in their landing folder (what population rows match)."""
    landing = tmp_path / "landing" / "chicago_community_areas"
    landing.mkdir(parents=True)
    shutil.copy(real_data / "chicago_community_areas_simplified_derived.geojson", landing)
    return tmp_path


def test_chicago_s_2020_population_table_with_its_shipped_yaml(chicago_home, real_data, capsys):
    """Rows matched by community area name, case aside; the one spelt otherwise than the boundary's (O'Hare,
    OHARE) is named, and does not block."""
    file = real_data / "chicago_community_area_population_2020_wikipedia.csv"
    with file.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    areas = json.loads((real_data / "chicago_community_areas_simplified_derived.geojson").read_text())[
        "features"
    ]
    names = {" ".join(f["properties"]["community"].lower().split()) for f in areas}
    unmatched = [
        row["community_area_name"]
        for row in rows
        if " ".join(row["community_area_name"].lower().split()) not in names
    ]
    assert unmatched == ["O'Hare"]
    status, out, err = check(capsys, POPULATION_YAML, file, chicago_home)
    assert status == 0, out + err
    assert (
        f"{file}: {len(rows)} rows with columns ['neighborhood_id', 'dimension', 'category', 'population']\n"
        in out
    )
    assert SAID.findall(err) == ["warning"]
    assert (
        f"unknown_neighborhood: neighborhood_id: 'O'Hare' in 1 of {len(rows)} rows matches no neighborhood"
        in err
    )
    share = f"{len(unmatched) / len(rows):.2%}"
    assert f"at most {share} of a load's rows quarantined (threshold 5.0%)" in out


def test_chicago_s_2010_population_table_is_refused_naming_its_columns(chicago_home, real_data, capsys):
    """The 2010 table (NID, POP2010) is another layout: the shipped YAML names the 2020 table's columns, and the
    file is refused whole, with the columns it has."""
    file = real_data / "chicago_community_area_population_2010_geodadata.csv"
    status, _, err = check(capsys, POPULATION_YAML, file, chicago_home)
    assert status == 2
    assert (
        f"error: {file}: missing required column(s) 'community_area_name', 'population_2020'; "
        "found ['NID', 'POP2010']" in err
    )
