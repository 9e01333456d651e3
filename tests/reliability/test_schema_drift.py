"""Reliability property 5 (docs/reliability.md): a renamed or missing required column fails the load with a message naming the column and the
file, and nothing downstream builds."""

from __future__ import annotations

from tests.fixtures.small_city import CRIME_HEADER
from tests.reliability.conftest import (
    assert_same_tables,
    downstream_of,
    materialized_in_last_run,
    published_tables,
    run_city,
)


def test_a_renamed_required_column_fails_naming_column_and_file(small_city, tmp_path):
    home = small_city.copy_to(tmp_path / "home")
    header = ["FBI_CD" if column == "FBI Code" else column for column in CRIME_HEADER]
    row = ["21000001", "JX000001", "03/01/2025 10:00:00 AM", *[""] * (len(header) - 3)]
    (home / "landing" / "demo_crimes" / "crimes_2025.csv").write_text(
        ",".join(header) + "\n" + ",".join(row) + "\n"
    )

    result = run_city(home)
    assert result.returncode == 1
    assert "crimes_2025.csv" in result.stderr and "FBI Code" in result.stderr, result.stderr[-3000:]
    built = materialized_in_last_run(home)
    assert not downstream_of("parsed/demo_crimes") & built, downstream_of("parsed/demo_crimes") & built
    assert "warehouse/demo_survey_qualtrics" in built  # the other sources still load
    assert_same_tables(published_tables(home), published_tables(small_city.home))
