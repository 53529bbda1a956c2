"""What a failed run tells a data engineer, in the terminal (`make run`) and in ``reports/alerts/``.

``run_summary_lines`` turns a run's events into the lines `make run` prints for the main job: the
failing checks with each failing expectation, its count and examples of offending rows (for a dbt
test: its failing row count and the first rows its SQL returns), the failed steps, and whether the
published file was replaced. ``quality_gate_alert_sensor`` (a run-failure sensor) writes the same
lines to ``reports/alerts/<run_id>.md`` for every failed run of this code location, and
``write_and_send_alert`` also sends them to the configured e-mail and webhook (``ingestion.notify``).
"""

import json
import logging
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb

from ingestion import notify
from ingestion.config import PROJECT_ROOT, Settings, load_settings
from orchestration.resources import PUBLISHED_KEY

_ANSI = re.compile(r"\x1b\[[0-9;]*m")  # dbt colours its log lines
DBT_TARGET = PROJECT_ROOT / "dbt_project" / "target"
EXAMPLES = 3
LINE_CHARS = 600


def _value(entry: Any) -> Any:
    return getattr(entry, "value", entry)


def _short(value: Any) -> str:
    # Sorted keys: the same text whether metadata comes live from a run or back from the event log.
    text = json.dumps(value, default=str, ensure_ascii=False, sort_keys=True) if not isinstance(value, str) else value
    return text if len(text) <= LINE_CHARS else text[: LINE_CHARS - 3] + "..."


def check_lines(evaluations: Iterable[dg.AssetCheckEvaluation], warehouse_path: Path | None = None) -> list[str]:
    """Checks passed/failed/warned, and for each failing one what failed, how often, with examples."""
    evaluations = list(evaluations)
    passed = [e for e in evaluations if e.passed]
    blocking = [e for e in evaluations if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR]
    warned = [e for e in evaluations if not e.passed and e.severity != dg.AssetCheckSeverity.ERROR]
    lines = [f"Checks: {len(passed)} passed, {len(blocking)} failed (blocking), {len(warned)} warnings"]
    for evaluation in blocking + warned:
        label = "FAILED" if evaluation.severity == dg.AssetCheckSeverity.ERROR else "WARN"
        lines.append(f"  {label} {evaluation.asset_check_key.to_user_string()}")
        lines += ["    " + line for line in _details(evaluation, warehouse_path)]
    return lines


def gate_lines(events: Iterable[dg.DagsterEvent], warehouse_path: Path | None = None) -> list[str]:
    """``check_lines`` for a run's check evaluations, plus the dbt tests that failed without being
    asset checks (dagster-dbt reports a singular test on several models as an observation)."""
    events = list(events)
    evaluations = [e.event_specific_data for e in events if e.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION]
    lines = check_lines(evaluations, warehouse_path)
    seen: set[str] = set()
    outside: list[str] = []
    for event in events:
        if event.event_type != dg.DagsterEventType.ASSET_OBSERVATION:
            continue
        metadata = event.event_specific_data.asset_observation.metadata or {}
        unique_id = _value(metadata.get("unique_id"))
        status = _value(metadata.get("status"))
        if not unique_id or not str(unique_id).startswith("test.") or status not in ("fail", "error") \
                or unique_id in seen:
            continue
        seen.add(unique_id)
        failed_rows = _value(metadata.get("dagster_dbt/failed_row_count"))
        examples = dbt_test_examples(unique_id, _value(metadata.get("invocation_id")), warehouse_path)
        outside.append(f"  FAILED dbt test {unique_id} (not an asset check): "
                       f"{failed_rows if failed_rows is not None else '?'} failing row(s)"
                       + (f"; e.g. {_short(examples)}" if examples else ""))
    if outside:
        lines[0] += f"; {len(outside)} dbt test(s) failed outside asset checks"
    return lines + outside


def _details(evaluation: dg.AssetCheckEvaluation, warehouse_path: Path | None) -> list[str]:
    metadata = evaluation.metadata or {}
    failing = _value(metadata.get("failing_expectations"))
    if failing:  # a Great Expectations suite
        lines = []
        for item in failing:
            label = "ERROR" if item.get("severity") == "critical" else "WARN"
            if item.get("error"):
                lines.append(f"{label} {item['expectation']}: {item['error']}")
                continue
            if item.get("unexpected_count") is None:
                lines.append(f"{label} {item['expectation']}: observed {item.get('observed')}, expected {item.get('rule')}")
                continue
            examples = item.get("sample_rows") or item.get("sample") or []
            lines.append(f"{label} {item['expectation']}: {item['unexpected_count']} unexpected "
                         f"({item.get('rule')}); e.g. {_short(examples[:EXAMPLES])}")
        docs = _value(metadata.get("data_docs"))
        if docs:
            lines.append(f"Data Docs: {docs}")
        return lines
    failed_rows = _value(metadata.get("dagster_dbt/failed_row_count"))
    unique_id = _value(metadata.get("unique_id"))
    if unique_id:  # a dbt test
        line = f"dbt test {unique_id}: {failed_rows if failed_rows is not None else '?'} failing row(s)"
        examples = dbt_test_examples(unique_id, _value(metadata.get("invocation_id")), warehouse_path)
        return [line + (f"; e.g. {_short(examples)}" if examples else "")]
    return [evaluation.description or "no details"] if evaluation.description else []


def dbt_test_examples(unique_id: str, invocation_id: str | None, warehouse_path: Path | None,
                      target: Path = DBT_TARGET) -> list[dict[str, Any]]:
    """The first rows a failed dbt test's compiled SQL returns (its offending rows), read-only."""
    if not invocation_id or warehouse_path is None or not Path(warehouse_path).exists():
        return []
    compiled = None
    candidates = sorted(target.glob("*/run_results.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    for path in [target / "run_results.json", *candidates]:
        try:
            results = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if results.get("metadata", {}).get("invocation_id") != invocation_id:
            continue
        compiled = next((r.get("compiled_code") for r in results.get("results", []) if r.get("unique_id") == unique_id),
                        None)
        break
    if not compiled:
        return []
    try:
        with duckdb.connect(str(warehouse_path), read_only=True) as con:
            relation = con.execute(f"select * from ({compiled}) limit {EXAMPLES}")
            columns = [d[0] for d in relation.description]
            return [dict(zip(columns, [_plain(v) for v in row])) for row in relation.fetchall()]
    except duckdb.Error:
        return []


def _plain(value: Any) -> Any:
    return value if isinstance(value, (str, int, float, bool)) or value is None else str(value)


def step_failures(events: Iterable[dg.DagsterEvent]) -> list[tuple[str, str]]:
    """(step key, message) of each failed step, the message being the root cause's, not Dagster's wrapper."""
    failures = []
    for event in events:
        if event.event_type != dg.DagsterEventType.STEP_FAILURE:
            continue
        error = event.step_failure_data.error if event.step_failure_data else None
        while error is not None and error.cause is not None:
            error = error.cause
        failures.append((event.step_key, _ANSI.sub("", error.message).strip() if error else "unknown error"))
    return failures


def run_summary_lines(run_id: str, job_name: str, events: Iterable[dg.DagsterEvent], settings: Settings) -> list[str]:
    """The summary of one run from its events (as `make run` prints it for the main job)."""
    events = list(events)
    failed_steps = step_failures(events)
    checked = False
    published = False
    current = None  # the observation that the published file is already current (nothing to rebuild)
    for event in events:
        if event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            checked = True
        elif event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
            published = published or event.event_specific_data.materialization.asset_key == PUBLISHED_KEY
        elif event.event_type == dg.DagsterEventType.ASSET_OBSERVATION:
            observation = event.event_specific_data.asset_observation
            if observation.asset_key == PUBLISHED_KEY:
                current = {key: entry.value for key, entry in observation.metadata.items()}
    lines = [f"Run {run_id} ({job_name}): {'FAILED' if failed_steps else 'finished'}"]
    lines += [f"  step failed: {step}: {message[:500]}" for step, message in failed_steps]
    if checked or job_name == "main_job":
        lines += gate_lines(events, settings.warehouse_path)
    if published:
        lines.append(f"Published: {settings.published_path}")
    elif current is not None and not failed_steps:
        lines.append(f"Current: {settings.published_path} (published by run {current.get('published_run_id')} at "
                     f"{current.get('published_at')}): nothing changed since, so dbt, the gate and publication "
                     f"were skipped")
    elif job_name == "main_job" or checked:
        lines.append(f"NOT published: {settings.published_path} was left as it was")
    return lines


def write_alert(directory: Path, run_id: str, lines: list[str], notes: Sequence[str] = ()) -> Path:
    """Write ``<directory>/<run_id>.md`` (atomically) and return its path; ``notes`` follow the summary."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{run_id}.md"
    body = "\n".join([f"# Run {run_id} failed", "", "```", *lines, "```", "", *notes])
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(body, encoding="utf-8")
    os.replace(tmp, path)
    return path


def write_and_send_alert(directory: Path, run_id: str, lines: list[str], settings: Settings,
                         log: logging.Logger | dg.DagsterLogManager | None = None
                         ) -> tuple[Path, list[notify.Outcome]]:
    """``write_alert``, then send the file's text to each configured channel and note each channel's
    outcome at the end of the file (and in ``log``). The file comes first, so no channel can cost it."""
    path = write_alert(directory, run_id, lines)
    subject = f"[inclusive-sdg] {lines[0] if lines else f'Run {run_id} failed'}"
    outcomes = notify.send_alert(settings, subject, path.read_text(encoding="utf-8"))
    for outcome in outcomes if log is not None else ():
        (log.info if outcome.ok else log.warning)(f"alert {outcome}")
    if outcomes:
        write_alert(directory, run_id, lines, notes=["Notifications:", *[f"- {outcome}" for outcome in outcomes], ""])
    return path, outcomes


@dg.run_failure_sensor(
    name="quality_gate_alert_sensor",
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Writes the summary of every failed run (failing checks with counts and examples, failed steps, "
                "publication blocked) to reports/alerts/<run_id>.md, and sends it by e-mail and/or webhook when "
                "configured (ALERT_SMTP_HOST, ALERT_WEBHOOK_URL).",
)
def quality_gate_alert_sensor(context: dg.RunFailureSensorContext):
    run = context.dagster_run
    events = [record.dagster_event for record in context.instance.all_logs(run.run_id) if record.dagster_event]
    settings = load_settings()
    path, _ = write_and_send_alert(settings.reports_dir / "alerts", run.run_id,
                                   run_summary_lines(run.run_id, run.job_name, events, settings), settings, context.log)
    context.log.info(f"alert written: {path}")
