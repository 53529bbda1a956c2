"""``make run``: run the whole pipeline once, in this process, and print a summary a person can act on.

Exits 0 only when every series landed, every step succeeded and the published file was replaced.
"""

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass

import dagster as dg
from dotenv import load_dotenv

from ingestion.config import PROJECT_ROOT, Settings, load_settings
from ingestion.warehouse import connect
from ingestion.partners import list_partners
from orchestration.assets.partners import partner_partitions
from orchestration.alerts import run_summary_lines, step_failures, write_alert
from orchestration.definitions import build_defs
from orchestration.resources import PUBLISHED_KEY


@dataclass
class PipelineResult:
    series: dict[str, dg.ExecuteInProcessResult]  # one run per SDG series partition
    partners: dict[str, dg.ExecuteInProcessResult]  # one run per partner partition
    main: dg.ExecuteInProcessResult

    @property
    def success(self) -> bool:
        landing = [*self.series.values(), *self.partners.values()]
        kobo_failures = _metadata_value(self.main, "failed_assets") or {}
        return (self.main.success and not kobo_failures and not reference_failures(self.main)
                and all(result.success for result in landing))


def run_pipeline(settings: Settings, instance: dg.DagsterInstance, log_level: str = "WARNING") -> PipelineResult:
    """What the nightly schedule and sensor do, in this process: every series, then the main job."""
    defs = build_defs(settings)
    run_config = {"loggers": {"console": {"config": {"log_level": log_level}}}}
    series_job = defs.resolve_job_def("sdg_series_job")
    series = {
        key: series_job.execute_in_process(instance=instance, partition_key=key, raise_on_error=False,
                                           run_config=run_config)
        for key in series_job.partitions_def.get_partition_keys()
    }
    partner_ids = list_partners(settings.partner_inbox)
    instance.add_dynamic_partitions(partner_partitions.name, partner_ids)  # what the inbox sensor does
    partner_job = defs.resolve_job_def("partner_job")
    partners = {
        partner: partner_job.execute_in_process(instance=instance, partition_key=partner, raise_on_error=False,
                                                run_config=run_config)
        for partner in partner_ids
    }
    main = defs.resolve_job_def("main_job").execute_in_process(
        instance=instance, raise_on_error=False, run_config=run_config
    )
    return PipelineResult(series=series, partners=partners, main=main)


def summarize(pipeline: PipelineResult, settings: Settings) -> tuple[list[str], bool]:
    """The summary lines, and whether publication happened."""
    lines = [f"SDG series ({settings.sdg_api_mode} mode): {sum(r.success for r in pipeline.series.values())} "
             f"of {len(pipeline.series)} landed"]
    for key, series_result in pipeline.series.items():
        if series_result.success:
            rows = _metadata_value(series_result, "dagster/row_count")
            lines.append(f"  {key}: {rows} rows (run {series_result.run_id[:8]})")
        for _, message in step_failures(series_result.all_events):
            lines.append(f"  {key}: FAILED, previous version kept: {message[:500]}")
    for table, message in reference_failures(pipeline.main).items():
        lines.append(f"  {table}: FAILED, previous version kept: {message[:500]}")
    lines.append(f"Partner files in {settings.partner_inbox}: {len(pipeline.partners)} partner(s)")
    for partner, partner_result in pipeline.partners.items():
        for _, message in step_failures(partner_result.all_events):
            lines.append(f"  {partner}: FAILED: {message[:500]}")
        if not partner_result.success:
            continue
        landed = _metadata_value(partner_result, "dagster/row_count")
        rejected = _metadata_value(partner_result, "rejected_by_reason") or {}
        errors = _metadata_value(partner_result, "partner_errors") or []
        files = _metadata_value(partner_result, "files") or {}
        failed_files = {name: f["errors"] for name, f in files.items() if f.get("status") in ("rejected", "retry")}
        reasons = ", ".join(f"{count} {reason}" for reason, count in sorted(rejected.items())) or "none"
        lines.append(f"  {partner}: {landed} observations landed; rows set aside: "
                     f"{sum(rejected.values())} ({reasons}); report {_metadata_value(partner_result, 'report')}")
        for message in errors:
            lines.append(f"    partner problem: {message[:300]}")
        for name, file_errors in failed_files.items():
            lines.append(f"    file {name} not loaded: {'; '.join(file_errors)[:300]}")
    kobo_failures = _metadata_value(pipeline.main, "failed_assets") or {}
    kobo_surveys = _metadata_value(pipeline.main, "surveys") or {}
    if settings.kobo_asset_uids:
        lines.append(f"KoBo API: {len(kobo_surveys)} of {len(settings.kobo_asset_uids)} survey(s) pulled")
        for uid, survey in kobo_surveys.items():
            lines.append(f"  {uid}: {survey.get('submissions_landed')} submissions landed, "
                         f"{survey.get('submissions_excluded')} excluded {survey.get('exclusions')}")
        for uid, message in kobo_failures.items():
            lines.append(f"  {uid}: FAILED, previous pull kept: {message[:300]}")
    else:
        lines.append("KoBo API: not configured (KOBO_ASSET_UIDS unset); KoBo exports come through the inbox")
    result = pipeline.main
    # The same lines the run-failure sensor writes to reports/alerts/ (failing checks with counts and examples).
    main_lines = run_summary_lines(result.run_id, "main_job", result.all_events, settings)
    lines += main_lines
    if not result.success:
        # No daemon runs the sensor under `make run`: write its alert here, so both paths leave one.
        lines.append(f"Alert: {write_alert(settings.reports_dir / 'alerts', result.run_id, main_lines)}")

    published = PUBLISHED_KEY in {m.asset_key for m in result.get_asset_materialization_events()
                                  for m in [m.event_specific_data.materialization]}
    if published:  # run_summary_lines said where; the row counts follow
        with connect(settings.published_path, read_only=True) as con:
            for schema, table, rows in con.execute(
                "select schema_name, table_name, estimated_size from duckdb_tables() "
                "where schema_name = 'marts' order by table_name"
            ).fetchall():
                exact = con.execute(f'select count(*) from {schema}."{table}"').fetchone()[0]
                lines.append(f"  {schema}.{table}: {exact} rows")
        lines += [
            "Try:",
            f"  .venv/bin/python -c \"import duckdb; print(duckdb.connect('{settings.published_path}', read_only=True)"
            ".sql('select geo_area_name, period_label, location, income_quantile, value from "
            "marts.fct_indicator_observations order by period_label, location limit 10'))\"",
        ]
    lines.append("Details: `make dev`, then open the run in the Dagster UI at http://localhost:3000")
    return lines, published


def reference_failures(result: dg.ExecuteInProcessResult) -> dict[str, str]:
    """SDG reference tables that could not be fetched in this run (their previous version was kept)."""
    failures = {}
    for event in result.get_asset_materialization_events():
        materialization = event.event_specific_data.materialization
        entry = materialization.metadata.get("reference_failed")
        if entry is not None:
            failures[".".join(materialization.asset_key.path)] = entry.value
    return failures


def _metadata_value(result: dg.ExecuteInProcessResult, key: str):
    for event in result.get_asset_materialization_events():
        entry = event.event_specific_data.materialization.metadata.get(key)
        if entry is not None:
            return entry.value
    return None


def main(argv: Sequence[str] | None = None) -> int:
    # Like `dagster dev`, read local overrides from .env; variables already set in the environment win.
    load_dotenv(PROJECT_ROOT / ".env", override=False)
    settings = load_settings()
    os.environ.setdefault("DAGSTER_HOME", str(settings.dagster_home))
    settings.dagster_home.mkdir(parents=True, exist_ok=True)
    with dg.DagsterInstance.get() as instance:
        pipeline = run_pipeline(settings, instance)
    lines, published = summarize(pipeline, settings)
    print("\n".join(["", "=" * 72, *lines, "=" * 72]))
    return 0 if pipeline.success and published else 1


if __name__ == "__main__":
    sys.exit(main())
