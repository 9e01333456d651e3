"""Nothing loaded vanishes: every loaded incident, attendance and located response is counted in exactly one cell
of its published mart, or the blocking `nothing_vanishes` check fails naming the subject, the neighborhood and
the rows, and nothing is published."""

from __future__ import annotations

import json
import shutil

import duckdb
import pandas as pd
import pytest

from pipelines.checks.nothing_vanishes import SUBJECTS, describe, differences
from pipelines.settings import DEMO_SOURCES_DIR
from tests.conftest import SMALL_CITY_ENV, run_cli
from tests.reliability.conftest import (
    materialized_in_last_run,
    published_fingerprint,
    run_city,
)

pytestmark = pytest.mark.runs_long

CRIME = next(subject for subject in SUBJECTS if subject.mart == "crime_monthly")


def warehouse_with(tmp_path, incidents: list[str], cells: dict[str, int], neighborhoods: list[str]):
    """A DuckDB file holding what the check reads: deduplicated incidents (one neighborhood each), crime_monthly
    cells (neighborhood -> incidents, one month) and the published neighborhoods."""
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    con.execute("CREATE SCHEMA intermediate; CREATE SCHEMA published")
    con.execute(
        "CREATE TABLE intermediate.int_incidents_deduplicated (incident_id VARCHAR, neighborhood_id VARCHAR)"
    )
    con.executemany(
        "INSERT INTO intermediate.int_incidents_deduplicated VALUES (?, ?)",
        [[f"I{i}", nbhd] for i, nbhd in enumerate(incidents)],
    )
    con.execute(
        "CREATE TABLE published.crime_monthly (neighborhood_id VARCHAR, month DATE, incidents INTEGER)"
    )
    con.executemany(
        "INSERT INTO published.crime_monthly VALUES (?, DATE '2024-01-01', ?)",
        [[n, c] for n, c in cells.items()],
    )
    con.execute("CREATE TABLE published.neighborhoods (neighborhood_id VARCHAR)")
    con.executemany("INSERT INTO published.neighborhoods VALUES (?)", [[n] for n in neighborhoods])
    return con


def test_the_check_names_the_subject_the_neighborhood_and_the_rows_lost(tmp_path):
    # 57 incidents located in N07, a neighborhood no boundary holds; one N01 incident counted twice.
    incidents = ["N01"] * 3 + ["N02"] * 2 + ["N07"] * 57
    with warehouse_with(tmp_path, incidents, {"N01": 4, "N02": 2}, ["N01", "N02"]) as con:
        found = differences(con, CRIME)
    assert describe(CRIME, found) == (
        "crime_monthly: 57 of 57 loaded incidents in neighborhood 'N07' are in no cell "
        "(N07 is not a published neighborhood); "
        "crime_monthly: its cells count 4 incidents in neighborhood 'N01', 3 were loaded (1 counted more than once)"
    )


def test_the_check_passes_when_every_row_is_in_one_cell(tmp_path):
    with warehouse_with(tmp_path, ["N01"] * 3 + ["N02"], {"N01": 3, "N02": 1}, ["N01", "N02"]) as con:
        assert differences(con, CRIME) == []


def test_the_check_passes_on_the_city_and_reads_every_subject(small_city):
    with duckdb.connect(str(small_city.home / "warehouse.duckdb"), read_only=True) as con:
        for subject in SUBJECTS:
            assert differences(con, subject) == [], subject.mart
        # The trust subject reads located, complete responses: the city's 38 loaded ones.
        located = con.execute(
            "SELECT count(*) FROM intermediate.int_survey_respondents_weighted WHERE neighborhood_id IS NOT NULL"
        ).fetchone()[0]
    trust = pd.read_parquet(small_city.home / "published" / "current" / "trust_quarterly.parquet")
    assert trust["respondents"].sum() == located > 0


def test_a_crosswalk_to_a_neighborhood_no_boundary_holds_refuses_the_rows_with_a_visible_reason(
    small_city, tmp_path
):
    """The city's two unlocatable incidents are in community area 1; a crosswalk sends that area to N07, which no
    boundary of the city holds. Loaded, they would be counted in no published cell: they stay refused, now as
    unknown_neighborhood naming N07, and every published incident count is unchanged."""
    home = small_city.copy_to(tmp_path / "home")
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        unlocatable = con.execute(
            "SELECT _file, _row, record FROM quarantine.demo_crimes WHERE reason = 'unlocatable' ORDER BY ALL"
        ).fetchall()
    assert [json.loads(record)["area_code"] for *_, record in unlocatable] == ["1", "1"]
    incidents_before = pd.read_parquet(home / "published" / "current" / "crime_monthly.parquet")[
        "incidents"
    ].sum()
    sources = shutil.copytree(DEMO_SOURCES_DIR, tmp_path / "sources")
    (sources / "community_areas.csv").write_text("area_code,neighborhood_id\n1,N07\n")
    with open(sources / "demo_crimes.yml", "a") as spec:
        spec.write("area_crosswalk: community_areas.csv\n")

    result = run_cli(
        "replay-quarantine", "demo_crimes", "--home", str(home), "--sources", str(sources), env=SMALL_CITY_ENV
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        refused = [
            con.execute(
                "SELECT reason, detail FROM quarantine.demo_crimes WHERE _file = ? AND _row = ?", [file, row]
            ).fetchone()
            for file, row, _ in unlocatable
        ]
    assert [reason for reason, _ in refused] == ["unknown_neighborhood", "unknown_neighborhood"]
    assert all("'N07'" in detail for _, detail in refused), refused
    reasons = pd.read_parquet(home / "published" / "current" / "data_quality_reasons.parquet")
    assert reasons.query("source == 'demo_crimes' and reason == 'unknown_neighborhood'")["rows"].sum() == 2
    assert (
        pd.read_parquet(home / "published" / "current" / "crime_monthly.parquet")["incidents"].sum()
        == incidents_before
    )


def test_loaded_rows_in_a_neighborhood_no_boundary_holds_fail_the_run_and_publish_nothing(
    small_city, tmp_path
):
    """Should rows ever be loaded into a neighborhood that is not published (as a validation bug would leave
    them: here written straight into the warehouse), a blocking check stops the run before publishing."""
    home = small_city.copy_to(tmp_path / "home")
    published_before = published_fingerprint(home)
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        con.execute(
            "UPDATE raw.demo_crimes SET neighborhood_id = 'N07' WHERE incident_id IN "
            "(SELECT incident_id FROM raw.demo_crimes ORDER BY incident_id LIMIT 2)"
        )
    result = run_city(home)
    assert result.returncode == 1, result.stdout[-2000:] + result.stderr[-4000:]
    assert "relationships_stg_crime__incidents_neighborhood_id" in result.stderr
    built = materialized_in_last_run(home)
    assert not {"published/crime_monthly", "published_files"} & built
    assert published_fingerprint(home) == published_before
