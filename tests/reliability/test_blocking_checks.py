"""A failing blocking check stops every asset downstream of it, and the CLI exits non-zero naming it.

Dagster has open reports of downstream assets running after a failed dbt test, so both kinds are tested:
a load-level check (quarantine share) and a dbt test run as an asset check."""

from __future__ import annotations

import duckdb

from tests.reliability.conftest import (
    assert_same_tables,
    downstream_of,
    materialized_in_last_run,
    published_tables,
    run_city,
)

DOWNSTREAM_PREFIXES = ("canonical/", "staging/", "intermediate/", "published")


def test_a_failed_load_check_builds_nothing_downstream(small_city, tmp_path):
    home = small_city.copy_to(tmp_path / "home")
    # The city's crime file refuses 4 of 265 rows (1.5 %): above a 1 % threshold, the load check fails.
    result = run_city(home, env={"NBHD_MAX_QUARANTINE_SHARE": "0.01"})
    assert result.returncode == 1
    assert "check quarantine_share on warehouse/demo_crimes failed" in result.stderr
    assert "4 of 265 rows refused" in result.stderr
    # For its most common reasons, the error names the file's columns and the values that failed them.
    assert (
        "most common reasons: unlocatable in 2 rows: Latitude, Longitude: a point in no boundary (1), "
        "Latitude, Longitude: blank (1); duplicate_incident in 1 row: ID: '20000005' repeated (1); "
        "unparseable_occurred_at in 1 row: Date: '13/45/2024 99:00:00 PM' (1)."
    ) in result.stderr
    built = materialized_in_last_run(home)
    assert "warehouse/demo_crimes" in built  # the load itself is kept (its rows, its quarantine)
    downstream = downstream_of("warehouse/demo_crimes")
    assert {"published/crime_monthly", "published_files"} <= downstream
    assert not downstream & built, downstream & built
    assert_same_tables(published_tables(home), published_tables(small_city.home))


def test_a_failed_dbt_test_stops_the_models_and_publishing_after_it(small_city, tmp_path):
    home = small_city.copy_to(tmp_path / "home")
    # A loaded row that breaks staging's accepted_values test on ucr_category, as a validation bug would.
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        con.execute("UPDATE raw.demo_crimes SET ucr_category = 'arson' WHERE incident_id = '20000001'")
    result = run_city(home)
    assert result.returncode == 1
    assert "accepted_values_stg_crime__incidents_ucr_category" in result.stderr
    built = materialized_in_last_run(home)
    assert "staging/stg_crime__incidents" in built  # the view was built; its test then failed
    downstream = downstream_of("staging/stg_crime__incidents")
    assert {
        "intermediate/int_incidents_deduplicated",
        "published/crime_monthly",
        "published_files",
    } <= downstream
    assert not downstream & built, downstream & built
    assert_same_tables(published_tables(home), published_tables(small_city.home))
