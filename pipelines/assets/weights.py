"""Raking weights of survey respondents: dbt's respondents and population margins -> weights/survey_respondents.

A Python asset because raking is iterative (statistics SQL does badly): it reads which responses count, and
the population margins, from the dbt models that define them (int_survey_respondent_scores: per (source,
response_id) the latest submission; int_populations_deduplicated: per neighborhood and dimension the latest
load), and dbt reads its result as the source `weights.survey_respondents`. The lineage is dbt's respondents
-> weights -> dbt's weighted marts, in one run: Dagster runs the dbt models before and after this asset as two
steps of the same (subsettable) dbt asset. The formulas and the handling of respondents with a missing age
group or gender are in pipelines/stats/raking.py.
"""

from __future__ import annotations

import dagster as dg
import duckdb
import pandas as pd

from pipelines.resources import DataHome
from pipelines.stats.raking import survey_weights
from pipelines.warehouse import connect

WEIGHTS_TABLE = "weights.survey_respondents"
# The dbt models read here (asset keys as assets/dbt.py names them: schema, model).
RESPONDENTS_MODEL = dg.AssetKey(["intermediate", "int_survey_respondent_scores"])
MARGINS_MODEL = dg.AssetKey(["intermediate", "int_populations_deduplicated"])

# The respondents trust_quarterly counts: dbt's, with a neighborhood, in the quarter of submitted_at.
RESPONDENTS = """
SELECT source, response_id, neighborhood_id, submitted_quarter AS quarter, age_group, gender
FROM intermediate.int_survey_respondent_scores
WHERE neighborhood_id IS NOT NULL
ORDER BY neighborhood_id, quarter, source, response_id
"""
MARGINS = """
SELECT neighborhood_id, dimension, category, CAST(population AS DOUBLE) AS population
FROM intermediate.int_populations_deduplicated
WHERE dimension IN ('age_group', 'gender')
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
    deps=[RESPONDENTS_MODEL, MARGINS_MODEL],
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
