"""A city's crime export recounted without the project's code, for the end-to-end tests of cities: the csv
module, the crosswalks read as data, point in polygon by ray casting in plain Python. What a city's YAML says
(its columns, formats, options) is written out per city as an `Export`."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

SEVERITY = {"violent": 3, "property": 2, "other": 1}


# ---- plain-Python geometry: even-odd ray casting, with a bounding box first (a precinct has thousands of
# vertices, a point is inside the box of one or two)
@dataclass(frozen=True)
class Ring:
    points: list
    box: tuple[float, float, float, float]

    @classmethod
    def of(cls, points: list) -> Ring:
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        return cls(points, (min(xs), max(xs), min(ys), max(ys)))

    def holds(self, x: float, y: float) -> bool:
        west, east, south, north = self.box
        if not (west <= x <= east and south <= y <= north):
            return False
        inside = False
        ring = self.points
        for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True):
            if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
                inside = not inside
        return inside


def polygons(geometry: dict) -> list[tuple[Ring, list[Ring]]]:
    parts = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
    return [(Ring.of(exterior), [Ring.of(hole) for hole in holes]) for exterior, *holes in parts]


def containing(x: float, y: float, shapes: dict[str, list]) -> str | None:
    """The id of the boundary holding the point (the smallest id where outlines overlap)."""
    holding = [
        nbhd
        for nbhd, parts in shapes.items()
        if any(exterior.holds(x, y) and not any(h.holds(x, y) for h in holes) for exterior, holes in parts)
    ]
    return min(holding) if holding else None


# ---- reading the files and the published tables without the project's code
def csv_rows(file: Path) -> list[dict]:
    with file.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def crosswalk(file: Path, key: str, value: str) -> dict[str, str]:
    return {row[key].strip(): row[value].strip() for row in csv_rows(file)}


def month_of(value: date | datetime) -> date:
    return date(value.year, value.month, 1)


# ---- how a city's export is read, as its YAML says, written out here in Python
@dataclass(frozen=True)
class Export:
    offense_crosswalk: str
    area_crosswalk: str
    incident: Callable[[dict], str]
    occurred: Callable[[dict], datetime | None]  # local time, None where it does not parse
    code: Callable[[dict], str]
    point: Callable[[dict], tuple[float, float] | None]  # (lat, lon), None for none
    area: Callable[[dict], str]
    earliest: datetime = datetime.min


def strptime(text: str, fmt: str) -> datetime | None:
    try:
        return datetime.strptime(text.strip(), fmt)
    except ValueError:
        return None


def point_of(lat: str, lon: str) -> tuple[float, float] | None:
    """A point, unless blank, `NA`, or 0/0 (what exports write for "not geocoded")."""
    try:
        point = float(lat), float(lon)
    except ValueError:
        return None
    return None if point == (0.0, 0.0) else point


@dataclass
class Recount:
    cells: dict[tuple[str, date], list[int]]  # (neighborhood, month) -> [incidents, violent, property]
    refused: list[tuple[int, str]]  # (row in the file, the header being row 1; reason)
    placed: dict[str, tuple[str, datetime]]  # incident -> (neighborhood, occurred) of the row that counts
    loaded_categories: dict[str, int]  # category -> offense rows loaded


def recount(
    export: Export, rows: list[dict], shapes: dict[str, list], folder: Path, first_row: int = 2
) -> Recount:
    """A city's incidents as its YAML reads them (its crosswalks in `folder`): the first failing rule refuses a
    row; an incident of several offense rows counts once, in the month and place of its most severe offense
    (then the smallest code). Rows are numbered from `first_row` (2 in a CSV file: its header is row 1)."""
    categories = crosswalk(folder / export.offense_crosswalk, "offense_code", "ucr_category")
    areas = crosswalk(folder / export.area_crosswalk, "area_code", "neighborhood_id")
    refused, seen, offenses, loaded_categories = [], set(), {}, {}
    for number, row in enumerate(rows, start=first_row):
        incident, occurred, code = export.incident(row), export.occurred(row), export.code(row)
        point = export.point(row)
        place = containing(point[1], point[0], shapes) if point else None
        if place is None and areas.get(export.area(row)) in shapes:
            place = areas[export.area(row)]
        checks = [
            (incident == "", "missing_incident_id"),
            (occurred is None, "unparseable_occurred_at"),
            (occurred is not None and occurred > datetime.now(), "occurred_at_in_future"),
            (occurred is not None and occurred < export.earliest, "occurred_at_before_earliest"),
            (place is None and export.area(row) in areas, "unknown_neighborhood"),
            (place is None, "unlocatable"),
            ((incident, code) in seen, "duplicate_incident"),
        ]
        seen.add((incident, code))
        reason = next((name for failed, name in checks if failed), None)
        if reason:
            refused.append((number, reason))
            continue
        category = categories.get(code, "other")
        loaded_categories[category] = loaded_categories.get(category, 0) + 1
        offenses.setdefault(incident, []).append((-SEVERITY[category], code, category, place, occurred))
    cells, placed = {}, {}
    for incident, rows_of_incident in offenses.items():
        _, _, category, place, occurred = min(rows_of_incident)
        placed[incident] = (place, occurred)
        cell = cells.setdefault((place, month_of(occurred)), [0, 0, 0])
        cell[0] += 1
        cell[1] += category == "violent"
        cell[2] += category == "property"
    return Recount(cells, refused, placed, loaded_categories)


def published(home: Path, table: str) -> list[dict]:
    return pq.read_table(home / "published" / "current" / f"{table}.parquet").to_pylist()


def published_shapes(home: Path) -> dict[str, list]:
    """The boundaries as published (repaired where the file's outline crosses itself), by neighborhood id."""
    return {
        row["neighborhood_id"]: polygons(json.loads(row["geometry_geojson"]))
        for row in published(home, "neighborhoods")
    }


def warehouse(home: Path, sql: str, parameters: list | None = None) -> list[tuple]:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql, parameters).fetchall()


def assert_every_cell(monthly: list[dict], expected: Recount) -> None:
    """Published crime_monthly rows (of one city's neighborhoods) against the recount: the recounted cells as
    recounted, every other published one zero, and no incident counted twice or lost."""
    got = {
        (row["neighborhood_id"], month_of(row["month"])): [
            row["incidents"],
            row["violent_incidents"],
            row["property_incidents"],
        ]
        for row in monthly
    }
    assert len(got) == len(monthly)  # one row per neighborhood and month
    assert {key: got.get(key) for key in expected.cells} == expected.cells
    assert {key: cell for key, cell in got.items() if key not in expected.cells and any(cell)} == {}
    assert sum(cell[0] for cell in got.values()) == len(expected.placed)


def merged(recounts: dict[str, Recount]) -> Recount:
    """The recounts of a city's crime sources (by source) as one: their cells summed (an incident belongs to one
    source), incidents keyed `source/incident`, refused rows by source in the recounts' own tests."""
    cells: dict[tuple[str, date], list[int]] = {}
    for part in recounts.values():
        for key, cell in part.cells.items():
            cells[key] = [a + b for a, b in zip(cells.get(key, [0, 0, 0]), cell, strict=True)]
    placed = {
        f"{source}/{incident}": at
        for source, part in recounts.items()
        for incident, at in part.placed.items()
    }
    return Recount(cells, [], placed, {})
