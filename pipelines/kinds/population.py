"""Population per neighborhood and demographic margins for survey weighting (CONTRACT §3.2)."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

import pandas as pd

from pipelines.checks import rules
from pipelines.kinds._legacy import LegacyKind
from pipelines.kinds.base import Context, Reasons, SourceBase, cite, normalize_label
from pipelines.parsers.tables import pick_columns, read_table


class PopulationSource(SourceBase):
    """Files with `neighborhood_id,population`, and optional margins `neighborhood_id,dimension,category,population`."""

    kind: Literal["population"]


def parse(spec: PopulationSource, file, salt: str | None = None) -> pd.DataFrame:
    header, data = read_table(file)
    if "dimension" in header:  # demographic margins used for survey weighting
        names = ("neighborhood_id", "dimension", "category", "population")
        return pick_columns(file, header, data, {name: name for name in names})
    table = pick_columns(
        file, header, data, {"neighborhood_id": "neighborhood_id", "population": "population"}
    )
    table["dimension"] = table["category"] = "total"
    return table.astype({"dimension": "string", "category": "string"})


def validate(
    spec: PopulationSource, raw: pd.DataFrame, context: Context
) -> tuple[pd.DataFrame, pd.DataFrame]:
    reasons = Reasons(raw.index)
    typed = raw.copy()
    known = context.neighborhood_lookup()
    typed["neighborhood_id"] = raw["neighborhood_id"].map(lambda v: known.get(normalize_label(v)))
    typed["population"] = pd.to_numeric(raw["population"].str.strip(), errors="coerce")
    typed["dimension"] = raw["dimension"].str.strip().str.lower()
    typed["category"] = raw["category"].str.strip()
    neighborhood = cite("neighborhood_id", raw["neighborhood_id"])
    reasons.flag(typed["neighborhood_id"].isna(), "unknown_neighborhood", neighborhood)
    reasons.flag(
        ~typed["dimension"].isin(["total", "age_group", "gender"]),
        "unknown_dimension",
        cite("dimension", raw["dimension"]),
    )
    population = typed["population"]
    reasons.flag(
        population.isna() | (population < 0) | (population % 1 != 0),
        "invalid_population",
        cite("population", raw["population"]),
    )
    repeated = (
        neighborhood + ", " + cite("dimension", raw["dimension"]) + ", " + cite("category", raw["category"])
    )
    reasons.flag(
        typed.duplicated(["neighborhood_id", "dimension", "category"]), "duplicate_population_row", repeated
    )
    return reasons.split(raw, typed, "population")


class PopulationKind(LegacyKind):
    name = "population"
    spec_type = PopulationSource
    columns = {
        "neighborhood_id": "VARCHAR",
        "dimension": "VARCHAR",
        "category": "VARCHAR",
        "population": "BIGINT",
    }
    view = "population"
    lookups = ("geography",)
    spatial = False
    freshness = timedelta(days=400)
    parse_frame = staticmethod(parse)
    validate_frame = staticmethod(validate)

    def expectations(self, spec, loaded_at):
        return [
            *rules.not_null("neighborhood_id", "dimension", "category", "population"),
            rules.in_set("dimension", {"total", "age_group", "gender"}),
            rules.between("population", 0, None),
            rules.unique("neighborhood_id", "dimension", "category"),
        ]


KIND = PopulationKind()
