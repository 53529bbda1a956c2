"""Jobs, the nightly schedules and the sensors that chain them.

A night is two steps: every SDG series and every partner lands in its own run (a failing one
fails alone and keeps its previous version), then `main_job` builds, checks and publishes
everything else once all of that night's runs have finished. Between nights, a new or changed
partner file starts that partner's run, and a successful partner run starts `main_job`.
"""

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import dagster as dg

from ingestion.national import list_platforms
from ingestion.partners import list_partners, scan_inbox
from ingestion.sdg_api.series import series_groups
from orchestration.assets.partners import RAW_PARTNER_KEYS, partner_partitions
from orchestration.assets.sdg_api import RAW_SDG_SERIES_KEYS
from orchestration.checks import LANDING_SUITE_CHECK_KEYS
from orchestration.resources import PartnerInboxResource

NIGHTLY_TAG = "pipeline/nightly"
NIGHTLY_CRON = "0 2 * * *"  # UTC
# Dagster's own tags for a run over a range of partitions.
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
TRIGGER_TAG = "pipeline/trigger"
SERIES_SELECTION = dg.AssetSelection.assets(*RAW_SDG_SERIES_KEYS)
PARTNER_SELECTION = dg.AssetSelection.assets(*RAW_PARTNER_KEYS)

# A landing job selects its assets without their checks: a landing suite reads the whole table, so it runs
# once a night in main_job (over every partition), not once per series or partner run.
sdg_series_job = dg.define_asset_job(
    name="sdg_series_job",
    selection=SERIES_SELECTION.without_checks(),
    description="Land one SDG series (a partition) from the API, replacing its previous version atomically.",
)

partner_job = dg.define_asset_job(
    name="partner_job",
    selection=PARTNER_SELECTION.without_checks(),
    description="Ingest one partner's inbox folder (a partition) and write its feedback report.",
)

main_job = dg.define_asset_job(
    name="main_job",
    # The landing tables' GX checks run here, once per night over all partitions, before dbt.
    selection=(dg.AssetSelection.all() - SERIES_SELECTION - PARTNER_SELECTION)
    | dg.AssetSelection.checks(*LANDING_SUITE_CHECK_KEYS),
    description="Reference data, dbt models and tests, GX checks, publication.",
)


def _night(context: dg.ScheduleEvaluationContext) -> str:
    return context.scheduled_execution_time.astimezone(dt.timezone.utc).date().isoformat()


def series_range_tags(group: tuple[str, ...]) -> dict[str, str]:
    """The tags of a run over a range of series partitions (first to last of ``group``)."""
    return {RANGE_START_TAG: group[0], RANGE_END_TAG: group[-1]}


def night_run_requests(series: Sequence[str], series_per_run: int, partners: Sequence[str],
                       night: str | None = None) -> list[dg.RunRequest]:
    """The landing runs one night makes, for the schedules and for `make run` alike: the SDG series in runs of
    ``series_per_run`` (a range of partitions each), then one run per partner. ``night`` (the date) tags them
    for `main_after_nightly_runs` and keys them, so a schedule tick asked again starts nothing twice; `make run`
    passes none, so a daemon sharing its Dagster home never takes its runs for a scheduled night."""
    night_tags = {NIGHTLY_TAG: night} if night else {}
    requests = [
        dg.RunRequest(run_key=f"{night}:{group[0]}..{group[-1]}" if night else None, job_name=sdg_series_job.name,
                      tags={**night_tags, **series_range_tags(group)})
        for group in series_groups(tuple(series), series_per_run)
    ]
    requests += [dg.RunRequest(run_key=f"{night}:{partner}" if night else None, job_name=partner_job.name,
                               partition_key=partner, tags=dict(night_tags))
                 for partner in partners]
    return requests


def build_nightly_schedule(series_per_run: int) -> dg.ScheduleDefinition:
    @dg.schedule(name="nightly_schedule", job=sdg_series_job, cron_schedule=NIGHTLY_CRON, execution_timezone="UTC",
                 default_status=dg.DefaultScheduleStatus.RUNNING)
    def nightly_schedule(context: dg.ScheduleEvaluationContext):
        """02:00 UTC: the configured SDG series in runs of SDG_SERIES_PER_RUN; `main_after_nightly_runs` follows."""
        series = context.repository_def.get_job(sdg_series_job.name).partitions_def.get_partition_keys()
        return night_run_requests(series, series_per_run, partners=(), night=_night(context))

    return nightly_schedule


@dg.schedule(job=partner_job, cron_schedule=NIGHTLY_CRON, execution_timezone="UTC",
             default_status=dg.DefaultScheduleStatus.RUNNING)
def nightly_partners_schedule(context: dg.ScheduleEvaluationContext):
    """02:00 UTC: one run per partner known to the inbox sensor, changed or not."""
    partners = context.instance.get_dynamic_partitions(partner_partitions.name)
    return night_run_requests(series=(), series_per_run=1, partners=partners, night=_night(context))


@dg.sensor(job=main_job, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING)
def main_after_nightly_runs(context: dg.SensorEvaluationContext):
    """Start tonight's main job once every series and partner run of tonight has finished."""
    night = dt.datetime.now(dt.timezone.utc).date().isoformat()
    runs = context.instance.get_runs(filters=dg.RunsFilter(tags={NIGHTLY_TAG: night}))
    landing = [run for run in runs if run.job_name in (sdg_series_job.name, partner_job.name)]
    if not landing or any(not run.is_finished for run in landing):
        return dg.SkipReason(f"waiting for tonight's ({night}) landing runs")
    failed = sorted(f"{run.job_name}:{run.tags.get('dagster/partition', '?')}" for run in landing if not run.is_success)
    return dg.RunRequest(run_key=f"{night}:main", tags={NIGHTLY_TAG: night,
                                                        "pipeline/failed_landing": ",".join(failed) or "none"})


@dg.sensor(job=partner_job, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING)
def partner_inbox_sensor(context: dg.SensorEvaluationContext, partner_inbox: PartnerInboxResource):
    """One run per partner whose files are new, changed or removed (cursor: each file's size and mtime);
    a removed file's rows are withdrawn by that run."""
    inbox = Path(partner_inbox.inbox)
    cursor = json.loads(context.cursor) if context.cursor else {}
    if "files" not in cursor:  # the cursor's earlier form: the files alone
        cursor = {"files": cursor, "changes": 0}
    seen: dict[str, list] = cursor["files"]
    current = {str(f.path.relative_to(inbox)): [f.size, f.mtime] for f in scan_inbox(inbox)}
    changed: dict[str, list[str]] = {}
    for name, state in sorted(current.items()):
        if seen.get(name) != state:
            changed.setdefault(name.split("/", 1)[0], []).append(f"{name}:{state}")
    for name in sorted(set(seen) - set(current)):
        changed.setdefault(name.split("/", 1)[0], []).append(f"{name}:removed after {seen[name]}")
    known = set(context.instance.get_dynamic_partitions(partner_partitions.name))
    platforms = list_platforms(Path(partner_inbox.national_contracts))  # read each night by the partner schedule
    new_partners = [partner for partner in [*list_partners(inbox), *platforms] if partner not in known]
    # One run per change: the same change seen again (a restart from the same cursor) has the same key;
    # the change count tells apart a state seen before (a file moved back in keeps its mtime).
    changes = cursor["changes"] + (1 if changed else 0)
    requests = [
        dg.RunRequest(
            run_key=hashlib.sha256("|".join([*states, str(changes)]).encode()).hexdigest()[:16],
            partition_key=partner,
            tags={TRIGGER_TAG: "inbox"},
        )
        for partner, states in changed.items()
        if partner in known or partner in new_partners
    ]
    # A platform is read the first time it is seen; after that by the nightly partner schedule.
    requests += [dg.RunRequest(run_key=f"first:{platform}", partition_key=platform, tags={TRIGGER_TAG: "inbox"})
                 for platform in platforms if platform in new_partners]
    return dg.SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=[partner_partitions.build_add_request(new_partners)] if new_partners else [],
        cursor=json.dumps({"files": current, "changes": changes}, sort_keys=True),
    )


@dg.run_status_sensor(run_status=dg.DagsterRunStatus.SUCCESS, monitored_jobs=[partner_job], request_job=main_job,
                      default_status=dg.DefaultSensorStatus.RUNNING)
def main_after_partner_update(context: dg.RunStatusSensorContext):
    """A partner sent a new file during the day: rebuild and republish with it."""
    if context.dagster_run.tags.get(TRIGGER_TAG) != "inbox":
        return dg.SkipReason("not an inbox-triggered partner run (the nightly chain handles those)")
    return dg.RunRequest(run_key=f"after:{context.dagster_run.run_id}", tags={TRIGGER_TAG: "partner_update"})
