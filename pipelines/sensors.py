"""A new file in a landing folder loads it: the sensor asks for a run of `parsed/<source>` and everything
downstream for each file-drop source with a landing file that has no raw copy yet.

The raw copies are the record of what was landed (their names are the load ids: file name + digest), so the
sensor keeps no state of its own: a file dropped twice, or a run that already landed it, asks for nothing.
The run key is the set of waiting load ids, so one drop never starts two runs.

That run stops before the crime marts (partitioned by month): when it, or the daily job, succeeds,
crime_months_sensor asks for one run of the months its loads touched, and of everything downstream of the marts.
"""

from __future__ import annotations

import hashlib
import time

import dagster as dg

from pipelines.assets.dbt import month_range_tags, touched_partitions
from pipelines.connectors.files import landing_files
from pipelines.resources import DataHome
from pipelines.schedules import (
    WRITER_TAGS,
    after_crime_marts,
    crime_marts,
    crime_months_job,
    downstream_of_sources,
)
from pipelines.sources import SourceSpec

# A file still being copied changes size; leave files modified within this many seconds for the next tick.
SETTLE_SECONDS = 30


LANDING_JOB = "load_landing_files"
IN_FLIGHT = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


def landing_job() -> dg.UnresolvedAssetJobDefinition:
    return dg.define_asset_job(
        LANDING_JOB,
        selection=dg.AssetSelection.all(),
        description="What the landing sensor asks for: the new files' sources and everything downstream.",
        tags=WRITER_TAGS,
    )


def landing_sensor(specs: list[SourceSpec], assets: list[dg.AssetsDefinition]) -> dg.SensorDefinition:
    file_sources = [spec for spec in specs if spec.connector == "file"]
    # Resolved once, at load: which assets a new file of each source feeds, up to the crime marts.
    downstream = {
        spec.name: (downstream_of_sources([spec.name]) - after_crime_marts()).resolve(assets)
        for spec in file_sources
    }

    @dg.sensor(
        name="landing_files_sensor",
        job=landing_job(),
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Loads new files dropped into landing/<source>/ (file-drop sources).",
    )
    def new_landing_files(context: dg.SensorEvaluationContext, data_home: DataHome):
        # While a landing run is queued or going, the files it is landing would look new again (only part of
        # them has a raw copy yet): wait for it rather than ask for them twice.
        going = context.instance.get_runs(
            filters=dg.RunsFilter(job_name=LANDING_JOB, statuses=IN_FLIGHT), limit=1
        )
        if going:
            return dg.SkipReason(f"run {going[0].run_id} is still loading landing files; next tick")
        paths = data_home.paths
        settled_before = time.time() - SETTLE_SECONDS
        waiting: dict[str, list[str]] = {}
        for spec in file_sources:
            for landing in landing_files(paths.home, spec.landing_glob):
                if (paths.parsed / spec.name / f"{landing.load_id}.parquet").exists():
                    continue
                if landing.path.stat().st_mtime > settled_before:
                    context.log.info(f"{landing.relative}: still settling, next tick")
                    continue
                waiting.setdefault(spec.name, []).append(landing.load_id)
        if not waiting:
            return dg.SkipReason("no new landing files")
        load_ids = sorted(f"{source}/{load_id}" for source, ids in waiting.items() for load_id in ids)
        context.log.info(f"new landing files: {', '.join(load_ids)}")
        selection = set().union(*(downstream[source] for source in waiting))
        return dg.RunRequest(
            run_key=hashlib.sha256("\n".join(load_ids).encode()).hexdigest()[:32],
            asset_selection=sorted(selection, key=lambda key: key.to_user_string()),
            tags={"neighborhood_metrics/sources": ",".join(sorted(waiting))},
        )

    return new_landing_files


def crime_months_sensor(
    assets: list[dg.AssetsDefinition], loading_jobs: list[dg.UnresolvedAssetJobDefinition]
) -> dg.RunStatusSensorDefinition:
    only_downstream = sorted(
        (after_crime_marts() - crime_marts()).resolve(assets), key=lambda key: key.to_user_string()
    )

    @dg.run_status_sensor(
        run_status=dg.DagsterRunStatus.SUCCESS,
        name="crime_months_sensor",
        monitored_jobs=loading_jobs,
        request_job=crime_months_job(),
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="After a run that loads (daily job, landing files): the crime months its loads touched, in "
        "one run, and everything downstream of the crime marts.",
    )
    def crime_months_after_loads(context: dg.RunStatusSensorContext):
        loading_run = context.dagster_run.run_id
        months = touched_partitions(context.instance, loading_run)
        # No month touched (a survey file, say): the crime marts stay as they are, what follows them is rebuilt.
        return dg.RunRequest(
            run_key=loading_run,
            tags=month_range_tags(*months) if months else {},
            asset_selection=None if months else only_downstream,
        )

    return crime_months_after_loads
