"""``make run``: run the whole pipeline once, in this process, and print a summary a person can act on.

Exits 0 only when every series is up to date (landed, or unchanged upstream), every step succeeded and the
published file holds tonight's data (replaced, or already current because nothing changed).
"""

import contextlib
import datetime as dt
import logging
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import dagster as dg
from dotenv import load_dotenv

from ingestion.config import PROJECT_ROOT, Settings, load_settings
from ingestion.warehouse import connect
from ingestion.national import list_platforms
from ingestion.partners import list_partners
from orchestration.assets.partners import partner_partitions
from orchestration.assets.sdg_api import RAW_SDG_OBSERVATIONS
from orchestration.jobs import RANGE_END_TAG, RANGE_START_TAG, main_job, night_run_requests, sdg_series_job
from orchestration.jobs import partner_job as partner_job_def
from orchestration.alerts import run_summary_lines, step_failures, write_and_send_alert
from orchestration.assets.report import REPORT_KEY
from orchestration.definitions import build_defs
from orchestration.resources import PUBLISHED_KEY


@dataclass(frozen=True)
class SeriesStatus:
    """One SDG series after the night: landed, current (unchanged upstream, not fetched) or failed."""

    status: str
    run_id: str
    rows: int | None = None
    duplicates_superseded: int = 0
    message: str | None = None


@dataclass
class PipelineResult:
    series_runs: list[dg.ExecuteInProcessResult]  # one run per group of SDG series (SDG_SERIES_PER_RUN)
    partners: dict[str, dg.ExecuteInProcessResult]  # one run per partner partition
    main: dg.ExecuteInProcessResult
    series: dict[str, SeriesStatus] = field(default_factory=dict)  # every series of the night, in order

    @property
    def success(self) -> bool:
        landing = [*self.series_runs, *self.partners.values()]
        kobo_failures = _metadata_value(self.main, "failed_assets") or {}
        return (self.main.success and not kobo_failures and not reference_failures(self.main)
                and all(result.success for result in landing))


def run_pipeline(settings: Settings, instance: dg.DagsterInstance, log_level: str = "WARNING",
                 progress: Callable[[str], None] = lambda message: None) -> PipelineResult:
    """What the nightly schedules and sensor do, in this process: the night's landing runs (the same
    ``night_run_requests`` as the schedules), then the main job."""
    defs = build_defs(settings)
    run_config = {"loggers": {"console": {"config": {"log_level": log_level}}}}
    series_job, partner_job = defs.resolve_job_def(sdg_series_job.name), defs.resolve_job_def(partner_job_def.name)
    partner_ids = list_partners(settings.partner_inbox) + list_platforms(settings.national_contracts)
    instance.add_dynamic_partitions(partner_partitions.name, partner_ids)  # what the inbox sensor does
    requests = night_run_requests(series_job.partitions_def.get_partition_keys(), settings.sdg_series_per_run,
                                  partner_ids)
    series_requests = [r for r in requests if r.job_name == series_job.name]
    series_runs = []
    for number, request in enumerate(series_requests, start=1):
        group = _range_of(series_job, request.tags)
        progress(f"SDG series: run {number} of {len(series_requests)} ({len(group)} series, {group[0]} .. {group[-1]})")
        series_runs.append(series_job.execute_in_process(instance=instance, raise_on_error=False,
                                                         run_config=run_config, tags=request.tags))
    partner_requests = [r for r in requests if r.job_name == partner_job.name]
    progress(f"Partners: {len(partner_requests)} partner run(s)")
    partners = {
        request.partition_key: partner_job.execute_in_process(
            instance=instance, partition_key=request.partition_key, raise_on_error=False, run_config=run_config,
            tags=request.tags)
        for request in partner_requests
    }
    progress("Main job: reference data, dbt build and tests, the gate, publication")
    main = defs.resolve_job_def(main_job.name).execute_in_process(
        instance=instance, raise_on_error=False, run_config=run_config
    )
    series = {code: status for result in series_runs for code, status in series_statuses(result, instance).items()}
    return PipelineResult(series_runs=series_runs, partners=partners, main=main, series=series)


def summarize(pipeline: PipelineResult, settings: Settings) -> tuple[list[str], bool]:
    """The summary lines, and whether the published file now holds this night's data (published by this run,
    or already current because nothing changed)."""
    series = pipeline.series
    by_status = {status: [code for code, s in series.items() if s.status == status]
                 for status in ("landed", "current", "failed")}
    rows = sum(s.rows or 0 for s in series.values())
    superseded = {code: s.duplicates_superseded for code, s in series.items() if s.duplicates_superseded}
    lines = [f"SDG series ({settings.sdg_api_mode} mode, {len(pipeline.series_runs)} run(s)): "
             f"{len(series) - len(by_status['failed'])} of {len(series)} up to date: "
             f"{len(by_status['landed'])} landed ({rows} rows), {len(by_status['current'])} unchanged upstream "
             f"(not fetched again), {len(by_status['failed'])} failed"]
    if superseded:
        lines.append(f"  duplicates resolved (the later record of the response kept, both in raw_sdg): "
                     f"{sum(superseded.values())} in {', '.join(f'{c} ({n})' for c, n in superseded.items())}")
    for code in by_status["failed"]:
        lines.append(f"  {code}: FAILED, previous version kept: {(series[code].message or '')[:500]}")
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
        path, outcomes = write_and_send_alert(settings.reports_dir / "alerts", result.run_id, main_lines, settings)
        lines.append(f"Alert: {path}")
        lines += [f"  {outcome}" for outcome in outcomes]

    published = PUBLISHED_KEY in {m.asset_key for m in result.get_asset_materialization_events()
                                  for m in [m.event_specific_data.materialization]}
    current = any(line.startswith("Current: ") for line in main_lines)
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
    lines += report_lines(result, settings, current)
    lines.append("Details: `make dev`, then open the run in the Dagster UI at http://localhost:3000")
    return lines, published or current


def report_lines(result: dg.ExecuteInProcessResult, settings: Settings, current: bool) -> list[str]:
    """Where the report site is, or a warning that it could not be built (which never fails the run)."""
    for event in result.get_asset_materialization_events():
        materialization = event.event_specific_data.materialization
        if materialization.asset_key == REPORT_KEY:
            meta = {key: value.value for key, value in materialization.metadata.items()}
            return [f"Report: {meta.get('path')} ({meta.get('pages')} pages, {meta.get('charts')} charts, "
                    f"built in {meta.get('build_seconds')} s)"]
    for event in result.get_asset_observation_events():
        observation = event.event_specific_data.asset_observation
        if observation.asset_key == REPORT_KEY and "error" in observation.metadata:
            return [f"WARNING: report site not built (publication unaffected; previous site kept): "
                    f"{observation.metadata['error'].value[:500]}", "  rebuild it alone with `make report`"]
    index = settings.report_site_dir / "index.html"
    if current and index.is_file():
        return [f"Report: {index} (unchanged: the published file is current)"]
    return []


def series_statuses(result: dg.ExecuteInProcessResult, instance: dg.DagsterInstance) -> dict[str, SeriesStatus]:
    """Each series of one series run, in range order: landed (a materialization), failed (an observation),
    else current; or, when the run failed before it came to any series, failed with the run. Read from the
    instance: a failed step's result leaves out the events it logged before failing."""
    found: dict[str, SeriesStatus] = {}
    for entry in instance.all_logs(result.run_id, of_type={dg.DagsterEventType.ASSET_MATERIALIZATION,
                                                            dg.DagsterEventType.ASSET_OBSERVATION}):
        event = entry.dagster_event
        data = event.event_specific_data
        landed = event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION
        record = data.materialization if landed else data.asset_observation
        if record.asset_key != RAW_SDG_OBSERVATIONS or record.partition is None:
            continue
        meta = {key: value.value for key, value in record.metadata.items()}
        if landed:
            found[record.partition] = SeriesStatus("landed", result.run_id, meta.get("dagster/row_count"),
                                                   meta.get("duplicates_superseded") or 0)
        else:
            found[record.partition] = SeriesStatus(meta.get("status", "?"), result.run_id, message=meta.get("error"))
    # A series with no event was current (its release unchanged: nothing fetched, nothing said per series),
    # unless the run failed before it came to the series (no series failed on its own).
    reached = result.success or any(status.status == "failed" for status in found.values())
    why = "; ".join(message for _, message in step_failures(result.all_events)) or "the run failed"
    return {code: found.get(code) or (SeriesStatus("current", result.run_id) if reached
                                      else SeriesStatus("failed", result.run_id, message=why[:500]))
            for code in _range(result)}


def _range(result: dg.ExecuteInProcessResult) -> list[str]:
    return _range_of(result.job_def, result.dagster_run.tags)


def _range_of(job: dg.JobDefinition, tags: Mapping[str, str]) -> list[str]:
    """The series partitions a run covers: its range tags, or its one partition."""
    keys = job.partitions_def.get_partition_keys()
    start, end = tags.get(RANGE_START_TAG), tags.get(RANGE_END_TAG)
    if start is None or end is None:
        key = tags.get("dagster/partition")
        return [key] if key else []
    return keys[keys.index(start):keys.index(end) + 1]


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
    # One planned-materialization event per asset of a run, not one per series and asset: with hundreds of
    # series, writing those took half of a night with nothing new. (The trade-off: a series that fails in
    # `make run` shows in the summary and in its asset observation, not as a failed partition in the UI.)
    os.environ.setdefault("DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS", "true")
    # Progress (these lines and the runs' INFO logs) goes to stderr; what the tools print (dbt's own output,
    # which dagster-dbt echoes) goes to a log file, so the terminal shows where the night is, then the summary.
    logs = settings.reports_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    tool_log = logs / f"make_run_{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%SZ}.log"
    # Dagster warns of every blocking check without a result when dbt skips a night with nothing new; the
    # publication step does its own gating (and refuses when a check it needs did not run).
    logging.getLogger("dagster._core.execution.plan.active").addFilter(
        lambda record: "emitted no result" not in record.getMessage())
    with dg.DagsterInstance.get() as instance, tool_log.open("w", encoding="utf-8") as log, \
            contextlib.redirect_stdout(log):
        pipeline = run_pipeline(settings, instance, log_level="INFO",
                                progress=lambda message: print(message, file=sys.stderr, flush=True))
    lines, up_to_date = summarize(pipeline, settings)
    lines.append(f"Tool output (dbt): {tool_log}")
    print("\n".join(["", "=" * 72, *lines, "=" * 72]))
    return 0 if pipeline.success and up_to_date else 1


if __name__ == "__main__":
    sys.exit(main())
