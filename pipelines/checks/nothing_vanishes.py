"""Nothing loaded vanishes between the deduplicated rows and the published marts: a blocking check per subject.

Every loaded incident (one row per incident, its latest version) is in exactly one `crime_monthly` cell, every
attendance of an event in a neighborhood in one `engagement_monthly` cell, and every complete response with a
neighborhood in one `trust_quarterly` cell. The rows a load refused never reach the deduplicated models: they are
counted, with their reason, in data_quality_reasons. So, per neighborhood, the rows of the intermediate model and
the counts summed over the mart's cells must be equal; where they are not, the check fails and names the subject,
the neighborhood and the rows lost (or counted twice), and `published_files` does not run.
"""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg
import duckdb

from pipelines.assets.dbt import model_key
from pipelines.resources import DataHome
from pipelines.warehouse import connect


@dataclass(frozen=True)
class Subject:
    mart: str  # published.<mart>
    count_column: str  # the mart's count of loaded rows per cell
    rows: str  # what one loaded row is, for the messages
    model: str  # intermediate.<model>: one row per loaded, deduplicated row
    located: str  # which of those rows the mart must hold


SUBJECTS = [
    Subject("crime_monthly", "incidents", "incidents", "int_incidents_deduplicated", "true"),
    # An event held for a whole district has no neighborhood: its attendances are in no neighborhood's cell.
    Subject(
        "engagement_monthly",
        "attendances",
        "attendances",
        "int_attendances_deduplicated",
        "neighborhood_id IS NOT NULL",
    ),
    # A complete response (both constructs scored or not) whose neighborhood answer matched a boundary.
    Subject(
        "trust_quarterly",
        "respondents",
        "responses",
        "int_survey_respondents_weighted",
        "neighborhood_id IS NOT NULL",
    ),
]


@dataclass(frozen=True)
class Difference:
    neighborhood_id: str | None
    loaded: int
    published: int
    neighborhood_published: bool


def differences(con: duckdb.DuckDBPyConnection, subject: Subject) -> list[Difference]:
    """Neighborhoods whose loaded rows and published counts differ, largest difference first."""
    rows = con.execute(
        f"""
        WITH loaded AS (
            SELECT neighborhood_id, count(*) AS rows
            FROM intermediate.{subject.model} WHERE {subject.located} GROUP BY neighborhood_id
        ),
        published AS (
            SELECT neighborhood_id, sum({subject.count_column}) AS rows
            FROM published.{subject.mart} GROUP BY neighborhood_id
        )
        SELECT
            coalesce(loaded.neighborhood_id, published.neighborhood_id) AS neighborhood_id,
            coalesce(loaded.rows, 0) AS loaded,
            coalesce(published.rows, 0) AS published,
            coalesce(loaded.neighborhood_id, published.neighborhood_id)
                IN (SELECT neighborhood_id FROM published.neighborhoods) AS neighborhood_published
        FROM loaded
        FULL JOIN published ON loaded.neighborhood_id IS NOT DISTINCT FROM published.neighborhood_id
        WHERE coalesce(loaded.rows, 0) <> coalesce(published.rows, 0)
        ORDER BY abs(coalesce(loaded.rows, 0) - coalesce(published.rows, 0)) DESC, 1 NULLS FIRST
        """
    ).fetchall()
    return [
        Difference(nbhd, int(loaded), int(published), bool(known)) for nbhd, loaded, published, known in rows
    ]


def describe(subject: Subject, found: list[Difference]) -> str:
    """One sentence per neighborhood, e.g. "crime_monthly: 57 incidents in neighborhood 'N07' are in no cell
    (N07 is not a published neighborhood)"."""
    sentences = []
    for difference in found:
        where = (
            f"in neighborhood {difference.neighborhood_id!r}"
            if difference.neighborhood_id is not None
            else "without a neighborhood"
        )
        lost = difference.loaded - difference.published
        if lost > 0:
            sentence = (
                f"{subject.mart}: {lost} of {difference.loaded} loaded {subject.rows} {where} are in no cell"
            )
            if difference.neighborhood_id is not None and not difference.neighborhood_published:
                sentence += f" ({difference.neighborhood_id} is not a published neighborhood)"
        else:
            sentence = (
                f"{subject.mart}: its cells count {difference.published} {subject.rows} {where}, "
                f"{difference.loaded} were loaded ({-lost} counted more than once)"
            )
        sentences.append(sentence)
    return "; ".join(sentences)


def nothing_vanishes_check(subject: Subject) -> dg.AssetChecksDefinition:
    mart = model_key(subject.mart)

    # Blocking: published_files, which reads this mart, waits for this check and does not run when it fails.
    @dg.asset_check(
        asset=mart,
        name="nothing_vanishes",
        blocking=True,
        additional_deps=[
            model_key(subject.model),
            model_key("neighborhoods"),
        ],
        description=(
            f"Every loaded {subject.rows[:-1]} ({subject.model}) is counted in exactly one {subject.mart} cell, "
            "per neighborhood; refused rows are counted in data_quality_reasons."
        ),
    )
    def _check(data_home: DataHome) -> dg.AssetCheckResult:
        with connect(data_home.paths.warehouse) as con:
            found = differences(con, subject)
            loaded = con.execute(
                f"SELECT count(*) FROM intermediate.{subject.model} WHERE {subject.located}"
            ).fetchone()[0]
        return dg.AssetCheckResult(
            passed=not found,
            severity=dg.AssetCheckSeverity.ERROR,
            description=describe(subject, found) if found else None,
            metadata={
                f"loaded_{subject.rows}": loaded,
                f"{subject.rows}_not_in_one_cell": sum(abs(d.loaded - d.published) for d in found),
                "neighborhoods_affected": len(found),
            },
        )

    return _check


def nothing_vanishes_checks() -> list[dg.AssetChecksDefinition]:
    return [nothing_vanishes_check(subject) for subject in SUBJECTS]
