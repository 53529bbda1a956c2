"""Publication of the marts to the analysts' file, only after every blocking check passed in this run.

Dagster already skips this asset when a blocking check upstream fails with ERROR severity in the same
run. This asset also refuses on its own unless **every** blocking check on **every** asset upstream of
it (landing tables, dbt models and their tests, the GX suites) was evaluated in this run and did not
fail with ERROR severity: a run that skipped a check (a partial selection, a re-execution of this step
alone) cannot publish.
"""


import datetime as dt
from pathlib import Path

import dagster as dg

from expectations.registry import LANDING_COUNTS_KEY, table_columns
from ingestion.fingerprint import FINGERPRINTS_KEY, build_inputs
from ingestion.publish import publish
from orchestration.assets.catalog import OWNERS, asset_tags
from orchestration.assets.dbt import dbt_models
from orchestration.checks import SUITES
from orchestration.resources import PUBLISHED_KEY, WAREHOUSE_POOL, WarehouseResource

# The night starts at 02:00 UTC (NIGHTLY_CRON): by 08:00 the file must have been published, or confirmed current
# (a night with nothing new reports that as a materialization too, see orchestration/assets/dbt.py). A night that
# never ran, or whose gate blocked publication, turns the asset's freshness to FAIL in the UI until one publishes.
FRESHNESS_DEADLINE_CRON = "0 8 * * *"
FRESHNESS_POLICY = dg.FreshnessPolicy.cron(deadline_cron=FRESHNESS_DEADLINE_CRON,
                                           lower_bound_delta=dt.timedelta(hours=6), timezone="UTC")
# Every dbt model in schema `marts` is published (and nothing else).
MARTS = sorted((key for key in dbt_models.keys if key.path[0] == "marts"), key=lambda k: k.to_user_string())


def _latest_evaluations(context: dg.AssetExecutionContext) -> dict[dg.AssetCheckKey, dg.AssetCheckEvaluation]:
    records = context.instance.all_logs(context.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
    latest: dict[dg.AssetCheckKey, dg.AssetCheckEvaluation] = {}
    for record in records:
        if record.dagster_event:
            evaluation = record.dagster_event.event_specific_data
            latest[evaluation.asset_check_key] = evaluation
    return latest


def required_checks(asset_graph, key: dg.AssetKey = PUBLISHED_KEY) -> list[dg.AssetCheckKey]:
    """Every blocking check on an asset upstream of ``key``."""
    ancestors: set[dg.AssetKey] = set()
    frontier = list(asset_graph.get(key).parent_keys)
    while frontier:
        parent = frontier.pop()
        if parent in ancestors:
            continue
        ancestors.add(parent)
        if asset_graph.has(parent):
            frontier.extend(asset_graph.get(parent).parent_keys)
    return sorted(
        (check for check in asset_graph.asset_check_keys
         if check.asset_key in ancestors and asset_graph.get_check_spec(check).blocking),
        key=lambda check: check.to_user_string(),
    )


def _asset_graph(context: dg.AssetExecutionContext):
    """The whole asset graph, with every check: not just the part this run selected."""
    try:
        return context.repository_def.asset_graph
    except Exception:  # JobDefinition.execute_in_process (make run): no repository, but the job knows
        graph = context.job_def.asset_layer.asset_graph  # its graph, scoped to the run's selection,
        return getattr(graph, "source_asset_graph", graph)  # and the full graph it was scoped from


def gate(required: list[dg.AssetCheckKey],
         evaluations: dict[dg.AssetCheckKey, dg.AssetCheckEvaluation]) -> tuple[list[str], list[str]]:
    """(failed, not run) among the required checks; publication needs both empty."""
    failed = [key.to_user_string() for key in required
              if key in evaluations and not evaluations[key].passed
              and evaluations[key].severity == dg.AssetCheckSeverity.ERROR]
    missing = [key.to_user_string() for key in required if key not in evaluations]
    return failed, missing


@dg.asset(
    key=PUBLISHED_KEY,
    deps=MARTS,
    pool=WAREHOUSE_POOL,
    group_name="publication",
    kinds={"duckdb"},
    owners=OWNERS,
    tags=asset_tags(PUBLISHED_KEY, "publication"),
    freshness_policy=FRESHNESS_POLICY,
    description="Copies the marts into a new DuckDB file, validates it and atomically replaces PUBLISHED_PATH "
                "(keeping the previous files for `make rollback`), once every blocking check upstream passed in "
                "this run.",
)
def published_marts(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    evaluations = _latest_evaluations(context)
    required = required_checks(_asset_graph(context))
    failed, missing = gate(required, evaluations)
    if failed or missing:
        problems = []
        if failed:
            problems.append(f"blocking checks failed in this run: {', '.join(failed)}")
        if missing:
            problems.append(f"blocking checks not run in this run: {', '.join(missing)}")
        raise dg.Failure(f"not publishing ({'; '.join(problems)}); {warehouse.published_path} left as it was",
                         metadata={"failed_checks": dg.MetadataValue.json(failed),
                                   "checks_not_run": dg.MetadataValue.json(missing)})
    with warehouse.connection(read_only=True) as con:
        existing = {name for (name,) in con.execute(
            "select table_name from duckdb_tables() where schema_name = 'marts'").fetchall()}
        tables = [f"marts.{key.path[-1]}" for key in MARTS if key.path[-1] in existing]
        unpublished = sorted(existing - {key.path[-1] for key in MARTS})
        loads = con.execute(
            "select series_code, batch_id, rows_landed from raw_sdg.series_loads order by series_code"
        ).fetchall()
        landing_counts = {
            suite.table: con.execute(f"select count(*) from {suite.table}").fetchone()[0]
            for suite in SUITES if not suite.is_mart and table_columns(con, suite.table)
        }
        inputs = build_inputs(con, context.run_id)
    if unpublished:
        context.log.warning(f"tables in schema marts that are not dbt mart models, not published: {unpublished}")
    checks = {
        "required": len(required),
        "passed": sorted(k.to_user_string() for k, e in evaluations.items() if e.passed),
        "warnings": sorted(k.to_user_string() for k, e in evaluations.items() if not e.passed),
    }
    # What the next night compares with, to skip what it would only repeat (ingestion/fingerprint.py).
    suites = {key.name: e.metadata["fingerprint"].value for key, e in evaluations.items()
              if e.passed and "fingerprint" in e.metadata}
    snapshot = {"sdg_api": {code: {"batch_id": batch, "rows": rows} for code, batch, rows in loads},
                LANDING_COUNTS_KEY: landing_counts,
                FINGERPRINTS_KEY: {"inputs": inputs, "suites": suites}}
    result = publish(Path(warehouse.path), Path(warehouse.published_path), tables,
                     run_id=context.run_id, checks=checks, input_snapshot=snapshot)
    context.log.info(f"published {result.path}: {result.row_counts}")
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(result.path)),
            "row_counts": dg.MetadataValue.json(result.row_counts),
            "checks_required": len(required),
            "checks_passed": len(checks["passed"]),
            "check_warnings": dg.MetadataValue.json(checks["warnings"]),
            "previous_files": dg.MetadataValue.json([str(p) for p in result.history]),
            "dagster/row_count": sum(result.row_counts.values()),
        }
    )
