"""The main job (every asset and check) and its nightly schedule."""

from __future__ import annotations

import dagster as dg

main_job = dg.define_asset_job(
    name="main_job",
    selection=dg.AssetSelection.all(),
    description="Ingest every source, build and check the marts, publish if every blocking check passed.",
)

nightly_schedule = dg.ScheduleDefinition(
    name="nightly_main_job",
    job=main_job,
    cron_schedule="0 2 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
