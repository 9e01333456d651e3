"""The Dagster code location: one Definitions built from the deployment's source YAML files.

Importing this module does nothing: Dagster's tools (`dagster dev -m pipelines.definitions`, the webserver, the
daemon) call `defs()`, which reads the data home's settings from the environment; the CLI calls it too, after
setting them from its options.
"""

from __future__ import annotations

import dagster as dg

from pipelines.assets.dbt import dbt_asset_definitions
from pipelines.assets.ingest import parsed_asset
from pipelines.assets.publish import docs_asset, publish_asset, report_asset
from pipelines.assets.validate import meta_assets, validate_assets
from pipelines.assets.weights import survey_respondent_weights
from pipelines.checks.nothing_vanishes import nothing_vanishes_checks
from pipelines.freshness import freshness_checks
from pipelines.resources import build_resources
from pipelines.schedules import DAILY_JOB, build_schedules
from pipelines.sensors import crime_months_sensor, landing_job, landing_sensor
from pipelines.settings import Paths
from pipelines.sources import load_sources


def build_defs(paths: Paths) -> dg.Definitions:
    """Every asset, check, schedule and sensor of the sources configured in `paths.sources_dir`."""
    specs = load_sources(paths.sources_dir)
    assets = (
        [parsed_asset(spec) for spec in specs]
        + validate_assets(specs)
        + meta_assets(specs)
        + [survey_respondent_weights]
        + [*dbt_asset_definitions(), publish_asset(), docs_asset(), report_asset()]
    )
    schedules = build_schedules(specs)
    # The jobs whose runs load new data (and stop before the partitioned crime marts).
    loading_jobs = [landing_job(), *(s.job for s in schedules if s.job_name == DAILY_JOB)]
    return dg.Definitions(
        assets=assets,
        asset_checks=freshness_checks(specs) + nothing_vanishes_checks(),
        schedules=schedules,
        sensors=[landing_sensor(specs, assets), crime_months_sensor(assets, loading_jobs)],
        resources=build_resources(paths),
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_defs(Paths.from_env())
