"""The Dagster code location: one Definitions built from the deployment's source YAML files."""

from __future__ import annotations

import dagster as dg

from pipelines.settings import Paths
from pipelines.sources import load_sources

paths = Paths.from_env()
paths.export()  # dbt (a subprocess) reads NBHD_WAREHOUSE

from pipelines.assets.dbt import DBT_ASSETS  # noqa: E402  (after the environment is set for dbt's parse)
from pipelines.assets.ingest import raw_asset  # noqa: E402
from pipelines.assets.publish import docs_asset, publish_asset, report_asset  # noqa: E402
from pipelines.assets.validate import meta_assets, validate_assets  # noqa: E402
from pipelines.assets.weights import survey_respondent_weights  # noqa: E402
from pipelines.checks.nothing_vanishes import nothing_vanishes_checks  # noqa: E402
from pipelines.freshness import freshness_checks  # noqa: E402
from pipelines.resources import build_resources  # noqa: E402
from pipelines.schedules import build_schedules  # noqa: E402
from pipelines.sensors import landing_sensor  # noqa: E402

specs = load_sources(paths.sources_dir)

assets = (
    [raw_asset(spec) for spec in specs]
    + validate_assets(specs)
    + meta_assets(specs)
    + [survey_respondent_weights]
    + [*DBT_ASSETS, publish_asset(), docs_asset(), report_asset()]
)

defs = dg.Definitions(
    assets=assets,
    asset_checks=freshness_checks(specs) + nothing_vanishes_checks(),
    schedules=build_schedules(specs),
    sensors=[landing_sensor(specs, assets)],
    resources=build_resources(paths),
)
