"""Jobs, the nightly schedule and the sensor that chains them.

A night is two steps: every SDG series lands in its own run (a failing series fails alone and
keeps its previous version), then `main_job` builds, checks and publishes everything else once
all of that night's series runs have finished.
"""

import datetime as dt

import dagster as dg

from orchestration.assets.sdg_api import RAW_SDG_SERIES_KEYS

NIGHTLY_TAG = "pipeline/nightly"
SERIES_SELECTION = dg.AssetSelection.assets(*RAW_SDG_SERIES_KEYS)

sdg_series_job = dg.define_asset_job(
    name="sdg_series_job",
    selection=SERIES_SELECTION,
    description="Land one SDG series (a partition) from the API, replacing its previous version atomically.",
)

main_job = dg.define_asset_job(
    name="main_job",
    selection=dg.AssetSelection.all() - SERIES_SELECTION,
    description="Reference data, partner and survey sources, dbt models and tests, GX checks, publication.",
)


@dg.schedule(job=sdg_series_job, cron_schedule="0 2 * * *", execution_timezone="UTC",
             default_status=dg.DefaultScheduleStatus.RUNNING)
def nightly_schedule(context: dg.ScheduleEvaluationContext):
    """02:00 UTC: one run per configured series; `main_after_nightly_series` follows on."""
    night = context.scheduled_execution_time.date().isoformat()
    for series in context.repository_def.get_job(sdg_series_job.name).partitions_def.get_partition_keys():
        yield dg.RunRequest(run_key=f"{night}:{series}", partition_key=series, tags={NIGHTLY_TAG: night})


@dg.sensor(job=main_job, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING)
def main_after_nightly_series(context: dg.SensorEvaluationContext):
    """Start tonight's main job once every series run of tonight has finished, failed ones included."""
    night = dt.datetime.now(dt.timezone.utc).date().isoformat()
    runs = context.instance.get_runs(filters=dg.RunsFilter(tags={NIGHTLY_TAG: night}))
    series_runs = [run for run in runs if run.job_name == sdg_series_job.name]
    if not series_runs or any(not run.is_finished for run in series_runs):
        return dg.SkipReason(f"waiting for tonight's ({night}) series runs")
    failed = sorted(run.tags.get("dagster/partition", "?") for run in series_runs if not run.is_success)
    return dg.RunRequest(run_key=f"{night}:main", tags={NIGHTLY_TAG: night,
                                                        "pipeline/failed_series": ",".join(failed) or "none"})
