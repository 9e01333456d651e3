"""Population and programs tables through the kinds' real land (CSV or XLSX -> parsed Parquet) and the real
validation and warehouse write (`ingest.validate_file`) on a DuckDB file, against boundaries loaded the same way.
What each row must become is written out here by hand, row by row: the first failing rule names the reason."""

from __future__ import annotations

import json
from datetime import date

import pytest
from openpyxl import Workbook

from pipelines.ingest import FILE_KEY, validate_file
from pipelines.kinds import KINDS
from pipelines.kinds.base import Context
from pipelines.kinds.geography import GeographySource
from pipelines.kinds.population import PopulationSource
from pipelines.kinds.programs import ProgramsSource
from pipelines.warehouse import connect


def square(x: float) -> dict:
    return {"type": "Polygon", "coordinates": [[[x, 0], [x + 1, 0], [x + 1, 1], [x, 1], [x, 0]]]}


BOUNDARIES = {
    "type": "FeatureCollection",
    "features": [
        {"type": "Feature", "properties": {"id": "N01", "name": "Alder Park"}, "geometry": square(0)},
        {"type": "Feature", "properties": {"id": "N02", "name": "Birch Flats"}, "geometry": square(2)},
    ],
}


@pytest.fixture
def warehouse(tmp_path):
    """A warehouse file holding the two boundaries; `load(spec, file)` lands and validates a file into it and
    returns (summary, loaded rows, refused rows as (_row, reason, detail))."""
    geojson = tmp_path / "areas.geojson"
    geojson.write_text(json.dumps(BOUNDARIES))
    areas = GeographySource(name="areas", kind="geography", id_property="id", name_property="name")

    def land(spec, file):
        parsed = tmp_path / f"{file.stem}.parquet"
        with connect(None, allowed=[tmp_path]) as con:
            KINDS[spec.kind].land(spec, file, parsed, {FILE_KEY.decode(): file.name}, con, None)
        return parsed

    with connect(tmp_path / "warehouse.duckdb", spatial=True, allowed=[tmp_path]) as con:
        validate_file(areas, land(areas, geojson), "areas", "areas.geojson", Context(con))

        def load(spec, file):
            summary = validate_file(
                spec, land(spec, file), file.stem, file.name, Context(con, {"geography": ["areas"]})
            )
            columns = ", ".join(KINDS[spec.kind].columns)
            loaded = con.execute(
                f"SELECT _row, {columns} FROM raw.{spec.name} WHERE _file = ? ORDER BY _row", [file.name]
            ).fetchall()
            refused = con.execute(
                f"SELECT _row, reason, detail FROM quarantine.{spec.name} WHERE _file = ? ORDER BY _row",
                [file.name],
            ).fetchall()
            return summary, loaded, refused

        yield load


POPULATION = PopulationSource(name="people", kind="population")
PROGRAMS = ProgramsSource(name="programs", kind="programs")


def test_population_totals_each_row_its_first_failing_rule(tmp_path, warehouse):
    file = tmp_path / "population.csv"
    file.write_text(
        "neighborhood_id,population\n"
        "N01,12000\n"  # 2: loaded
        " alder PARK ,5\n"  # 3: N01 by its name, a second total
        "N09,3\n"  # 4: no such neighborhood
        "N02,-1\n"  # 5
        "N02,1.5\n"  # 6
        "\n"  # a blank line: skipped, not a record
        "N02,\n"  # 7
        "Birch Flats, 7 \n"  # 8: N02's total again: refused, whatever the earlier rows' own fate
        "N03,1\n"  # 9
    )
    summary, loaded, refused = warehouse(POPULATION, file)
    assert (summary.rows_received, summary.rows_loaded, summary.rows_quarantined) == (8, 1, 7)
    assert loaded == [(2, "N01", "total", "total", 12000)]
    assert refused == [
        (
            3,
            "duplicate_population_row",
            "neighborhood_id: 'alder PARK', dimension: 'total', category: 'total'",
        ),
        (4, "unknown_neighborhood", "neighborhood_id: 'N09'"),
        (5, "invalid_population", "population: '-1'"),
        (6, "invalid_population", "population: '1.5'"),
        (7, "invalid_population", "population: blank"),
        (
            8,
            "duplicate_population_row",
            "neighborhood_id: 'Birch Flats', dimension: 'total', category: 'total'",
        ),
        (9, "unknown_neighborhood", "neighborhood_id: 'N03'"),
    ]


def test_population_margins_from_a_workbook(tmp_path, warehouse):
    file = tmp_path / "margins.xlsx"
    book = Workbook()
    for row in [
        ["neighborhood_id", "dimension", "category", "population", "notes"],
        ["N01", " Age_Group ", "18-34", 100, "x"],  # 2: loaded, the dimension as compared
        ["N01", "age_group", "18-34 ", 5, None],  # 3: the same cell again
        ["N01", "color", "red", 1, None],  # 4
        [None, None, None, None, None],  # a blank row: skipped
        ["N02", "gender", "f", 2],  # 5: a short row, loaded
    ]:
        book.active.append(row)
    book.save(file)
    summary, loaded, refused = warehouse(POPULATION, file)
    assert (summary.rows_received, summary.rows_loaded, summary.rows_quarantined) == (4, 2, 2)
    assert loaded == [(2, "N01", "age_group", "18-34", 100), (5, "N02", "gender", "f", 2)]
    assert refused == [
        (3, "duplicate_population_row", "neighborhood_id: 'N01', dimension: 'age_group', category: '18-34'"),
        (4, "unknown_dimension", "dimension: 'color'"),
    ]


def test_programs_each_row_its_first_failing_rule(tmp_path, warehouse):
    file = tmp_path / "programs.csv"
    file.write_text(
        "program_id,name,neighborhood_id,start_date,end_date\n"
        "P1,Walks,N01,2024-01-01,\n"  # 2: loaded, no end
        " P1 ,Talks,N02,2024-01-01,2024-12-31\n"  # 3: P1 again
        ",Nameless,N01,2024-01-01,\n"  # 4
        "P2,Nowhere,NX,2024-01-01,\n"  # 5
        "P3,Slashes,N01,01/01/2024,\n"  # 6
        "P4,Soon,N01,2024-01-01,soon\n"  # 7
        "P5,Leap,birch flats,2024-02-29,2024-06-30\n"  # 8: loaded, N02 by its name
        "P6,No day,N02,2023-02-29,\n"  # 9
    )
    summary, loaded, refused = warehouse(PROGRAMS, file)
    assert (summary.rows_received, summary.rows_loaded, summary.rows_quarantined) == (8, 2, 6)
    assert loaded == [
        (2, "P1", "Walks", "N01", date(2024, 1, 1), None),
        (8, "P5", "Leap", "N02", date(2024, 2, 29), date(2024, 6, 30)),
    ]
    assert refused == [
        (3, "duplicate_program_id", "program_id: 'P1'"),
        (4, "missing_program_id", "program_id: blank"),
        (5, "unknown_neighborhood", "neighborhood_id: 'NX'"),
        (6, "unparseable_start_date", "start_date: '01/01/2024'"),
        (7, "unparseable_end_date", "end_date: 'soon'"),
        (9, "unparseable_start_date", "start_date: '2023-02-29'"),
    ]
