"""Raking weights of survey respondents: canonical/survey_answers + canonical/population -> weights/survey_respondents.

A Python asset because raking is iterative (ARCHITECTURE: statistics SQL does badly); dbt reads the table as
the source `weights.survey_respondents`, so the lineage is canonical/* -> weights -> dbt. The formulas and the
handling of respondents with a missing age group or gender are in pipelines/stats/raking.py.
"""

from __future__ import annotations

import dagster as dg
import duckdb
import pandas as pd

from pipelines.resources import DataHome
from pipelines.stats.raking import survey_weights
from pipelines.warehouse import connect

WEIGHTS_TABLE = "weights.survey_respondents"

# The respondents trust_quarterly counts, by the same rules as the dbt models: per (source, response_id) the
# latest submission (int_survey_answers_deduplicated), its attributes collapsed with max()
# (int_survey_respondent_scores), with a neighborhood, in the quarter of submitted_at.
RESPONDENTS = """
WITH ranked AS (
    SELECT *, rank() OVER (
        PARTITION BY source, response_id ORDER BY submitted_at DESC NULLS LAST, loaded_at DESC, load_id DESC
    ) AS submission_rank
    FROM canonical.survey_answers
),
responses AS (
    SELECT source, response_id, max(submitted_at) AS submitted_at, max(neighborhood_id) AS neighborhood_id,
           max(age_group) AS age_group, max(gender) AS gender
    FROM ranked WHERE submission_rank = 1
    GROUP BY source, response_id
)
SELECT source, response_id, neighborhood_id, CAST(date_trunc('quarter', submitted_at) AS DATE) AS quarter,
       age_group, gender
FROM responses
WHERE neighborhood_id IS NOT NULL
ORDER BY neighborhood_id, quarter, source, response_id
"""
# Per (neighborhood, dimension) the rows of the latest load carrying it, as int_populations_deduplicated.
MARGINS = """
WITH ranked AS (
    SELECT *, rank() OVER (PARTITION BY neighborhood_id, dimension ORDER BY loaded_at DESC, load_id DESC) AS load_rank
    FROM canonical.population
)
SELECT neighborhood_id, dimension, category, CAST(population AS DOUBLE) AS population
FROM ranked WHERE load_rank = 1 AND dimension IN ('age_group', 'gender')
"""
COLUMNS = {
    "source": "VARCHAR",
    "response_id": "VARCHAR",
    "neighborhood_id": "VARCHAR",
    "quarter": "DATE",
    "age_group": "VARCHAR",
    "gender": "VARCHAR",
    "raked": "BOOLEAN",
    "weight": "DOUBLE",
    "weighting_status": "VARCHAR",
}


def write_survey_weights(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Compute every respondent's weight and replace weights.survey_respondents with them, atomically."""
    weighted = survey_weights(con.execute(RESPONDENTS).df(), con.execute(MARGINS).df())
    con.execute("CREATE SCHEMA IF NOT EXISTS weights")
    con.register("incoming_weights", weighted)
    select = ", ".join(f"CAST({name} AS {type_}) AS {name}" for name, type_ in COLUMNS.items())
    try:
        con.execute(f"CREATE OR REPLACE TABLE {WEIGHTS_TABLE} AS SELECT {select} FROM incoming_weights")
    finally:
        con.unregister("incoming_weights")
    return weighted


@dg.asset(
    key=["weights", "survey_respondents"],
    deps=[dg.AssetKey(["canonical", "survey_answers"]), dg.AssetKey(["canonical", "population"])],
    group_name="weights",
    kinds={"python", "duckdb"},
    description="Raking weight of every survey respondent (age_group × gender margins of the neighborhood, "
    "trimmed to [0.2, 5] × mean, renormalised), per neighborhood × quarter: dbt's source weights.survey_respondents.",
)
def survey_respondent_weights(data_home: DataHome) -> dg.MaterializeResult:
    with connect(data_home.paths.warehouse) as con:
        weighted = write_survey_weights(con)
    cells = weighted.drop_duplicates(["neighborhood_id", "quarter"])["weighting_status"].value_counts()
    return dg.MaterializeResult(
        metadata={"respondents": len(weighted), **{f"cells_{status}": int(n) for status, n in cells.items()}}
    )
