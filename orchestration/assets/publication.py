"""Publication of the marts to the analysts' file, only after every blocking check passed."""


from pathlib import Path

import dagster as dg

from ingestion.publish import publish
from orchestration.checks import FCT_INDICATOR_OBSERVATIONS
from orchestration.resources import WAREHOUSE_POOL, WarehouseResource

MARTS = [FCT_INDICATOR_OBSERVATIONS]


def _check_evaluations(context: dg.AssetExecutionContext) -> list[dg.AssetCheckEvaluation]:
    records = context.instance.all_logs(context.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
    return [record.dagster_event.event_specific_data for record in records if record.dagster_event]


@dg.asset(
    key=["published_marts"],
    deps=MARTS,
    pool=WAREHOUSE_POOL,
    group_name="publication",
    kinds={"duckdb"},
    description="Copies the marts into a new DuckDB file, validates it and atomically replaces PUBLISHED_PATH.",
)
def published_marts(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    evaluations = _check_evaluations(context)
    blocking = [e for e in evaluations if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR]
    if blocking:
        # Blocking checks already stop this asset; this guards runs that bypass them (e.g. a re-execution).
        names = ", ".join(e.asset_check_key.to_user_string() for e in blocking)
        raise dg.Failure(f"not publishing: blocking checks failed in this run: {names}")
    with warehouse.connection(read_only=True) as con:
        tables = [f"marts.{name}" for (name,) in con.execute(
            "select table_name from duckdb_tables() where schema_name = 'marts' order by table_name"
        ).fetchall()]
        loads = con.execute(
            "select series_code, batch_id, rows_landed from raw_sdg.series_loads order by series_code"
        ).fetchall()
    checks = {
        "passed": sorted(e.asset_check_key.to_user_string() for e in evaluations if e.passed),
        "warnings": sorted(e.asset_check_key.to_user_string() for e in evaluations if not e.passed),
    }
    snapshot = {"sdg_api": {code: {"batch_id": batch, "rows": rows} for code, batch, rows in loads}}
    result = publish(Path(warehouse.path), Path(warehouse.published_path), tables,
                     run_id=context.run_id, checks=checks, input_snapshot=snapshot)
    context.log.info(f"published {result.path}: {result.row_counts}")
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(result.path)),
            "row_counts": dg.MetadataValue.json(result.row_counts),
            "checks_passed": len(checks["passed"]),
            "check_warnings": dg.MetadataValue.json(checks["warnings"]),
            "dagster/row_count": sum(result.row_counts.values()),
        }
    )
