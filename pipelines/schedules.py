"""Jobs and schedules: crime daily (incremental: only new crime loads and what depends on them), everything
weekly. Every job carries the writer tag, so dagster.yaml's run queue lets one warehouse writer run at a time.

The crime marts are partitioned by month. A run that loads (the daily job, a landing run) stops before them; when it
succeeds, crime_months_sensor (pipelines/sensors.py) asks for one run of the months its loads touched and of
everything downstream of the marts. The weekly job rebuilds every month in one run.

Both schedules are on by default: `dagster dev` (`make ui`) runs the daemon that starts them.
Times are UTC; a deployment sets its own with NBHD_DAILY_CRON and NBHD_WEEKLY_CRON (e.g. after its portal's
nightly refresh).
"""

from __future__ import annotations

import os

import dagster as dg

from pipelines.assets.dbt import all_months, dbt_asset_definitions, month_range_tags
from pipelines.kinds import kind_of
from pipelines.sources import SourceSpec

# dagster.yaml limits runs with this tag to one at a time (DuckDB has one writer).
WRITER_TAGS = {"neighborhood_metrics/writer": "warehouse"}

# dbt seeds (reference tables such as student_t_975) have no upstream, so "downstream of a source" never
# selects them; a partial run on a fresh warehouse needs them. They are small: rebuild them every time.
REFERENCE_TABLES = dg.AssetSelection.groups("seeds")


def downstream_of_sources(source_names: list[str]) -> dg.AssetSelection:
    """The parsed/<source> assets, everything built from them, and the reference tables they join."""
    raw = dg.AssetSelection.assets(*[dg.AssetKey(["parsed", name]) for name in source_names])
    return raw.downstream() | REFERENCE_TABLES


def crime_marts() -> dg.AssetSelection:
    """The partitioned crime marts (one partition per month)."""
    return dg.AssetSelection.assets(dbt_asset_definitions()[1])


def after_crime_marts() -> dg.AssetSelection:
    """What a run of crime months rebuilds: the crime marts, the weighted models (their dbt step follows the
    marts' step, and the scorecard and the evaluation read both) and everything downstream of them. The runs
    that load stop before it."""
    _, marts, weighted = dbt_asset_definitions()
    return dg.AssetSelection.assets(marts, weighted).downstream()


DAILY_JOB = "daily_crime"


def crime_job(specs: list[SourceSpec]) -> dg.UnresolvedAssetJobDefinition:
    return dg.define_asset_job(
        DAILY_JOB,
        selection=downstream_of_sources([spec.name for spec in specs if kind_of(spec).daily])
        - after_crime_marts(),
        description="New crime loads (file drops and API pulls) and what is built from them up to the crime "
        "marts; crime_months_sensor then asks for the months they touched and the rest.",
        tags=WRITER_TAGS,
    )


CRIME_MONTHS_JOB = "crime_months"


def crime_months_job() -> dg.UnresolvedAssetJobDefinition:
    return dg.define_asset_job(
        CRIME_MONTHS_JOB,
        selection=after_crime_marts(),
        description="Months of the crime marts (a backfill, or the months new loads touched), the weighted "
        "models and everything downstream of them: the published files, docs and report.",
        tags=WRITER_TAGS,
    )


def full_build_job() -> dg.UnresolvedAssetJobDefinition:
    return dg.define_asset_job(
        "weekly_full_build",
        selection=dg.AssetSelection.all(),
        description="Every source, every dbt model (every month of the crime marts) and check, the published "
        "files, docs and report.",
        tags=WRITER_TAGS,
    )


DAILY_CRON, WEEKLY_CRON = "0 6 * * *", "0 3 * * 0"  # 06:00 after most portals' nightly refresh; Sunday 03:00


def build_schedules(specs: list[SourceSpec]) -> list[dg.ScheduleDefinition]:
    @dg.schedule(
        name="weekly_full_build_schedule",
        job=full_build_job(),
        cron_schedule=os.environ.get("NBHD_WEEKLY_CRON") or WEEKLY_CRON,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="The whole pipeline once a week, every month of the crime marts in one run (also re-checks "
        "every source's freshness).",
    )
    def weekly_full_build():
        return dg.RunRequest(tags=month_range_tags(*all_months()))

    schedules: list[dg.ScheduleDefinition] = [weekly_full_build]
    if any(kind_of(spec).daily for spec in specs):
        schedules.append(
            dg.ScheduleDefinition(
                name="daily_crime_schedule",
                job=crime_job(specs),
                cron_schedule=os.environ.get("NBHD_DAILY_CRON") or DAILY_CRON,
                default_status=dg.DefaultScheduleStatus.RUNNING,
                description="Pull and load new crime incidents every day, then rebuild what depends on them.",
            )
        )
    return schedules
