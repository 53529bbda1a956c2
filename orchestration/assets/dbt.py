"""The dbt project as Dagster assets; dbt tests surface as asset checks (error severity blocks)."""


import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from ingestion import canonical
from ingestion.config import PROJECT_ROOT, load_settings
from ingestion.fingerprint import (build_fingerprint, inputs_fingerprint, landing_fingerprints, record_build_inputs,
                                   recorded)
from ingestion.landing import ensure_landing_tables
from ingestion.publish import last_publication
from orchestration.resources import PUBLISHED_KEY, WAREHOUSE_POOL, WarehouseResource

DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
# The manifest comes from `dbt parse`, run by `make` (setup, whenever a dbt file changed) and by the
# test session, never on code load: a reload of the code location stays fast and side-effect free.


class SchemaTableTranslator(DagsterDbtTranslator):
    """Key every dbt node as [schema, name], so dbt sources land on the ingestion assets' keys
    (raw_sdg/series_observations) and the graph is one lineage from API to published file."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        return dg.AssetKey([dbt_resource_props["schema"], dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return "harmonization"


def _manifest_path():
    if not dbt_project.manifest_path.exists():
        raise FileNotFoundError(
            f"{dbt_project.manifest_path} is missing: run `make setup` (or `cd dbt_project && dbt parse`)."
        )
    return dbt_project.manifest_path


@dbt_assets(manifest=_manifest_path(), dagster_dbt_translator=SchemaTableTranslator(), pool=WAREHOUSE_POOL)
def dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    # A source that has delivered nothing yet must be an empty table, not a failed build.
    settings = load_settings()
    with warehouse.connection() as con:
        recreated = ensure_landing_tables(con)
        inputs = inputs_fingerprint(landing_fingerprints(con), build_fingerprint(settings))
        last = last_publication(Path(warehouse.published_path))
        if last is not None and recorded(last.input_snapshot, "inputs") == inputs:
            # Nothing landed, nothing in the project changed: the published file is what this build, its checks
            # and publication would make again. No model is materialized, so the checks and publication skip.
            context.log.info(f"nothing changed since the publication of run {last.run_id} ({last.published_at}): "
                             f"dbt build, the gate and publication skipped; the published file is current")
            context.log_event(dg.AssetObservation(asset_key=PUBLISHED_KEY, metadata={
                "status": "current", "published_run_id": last.run_id, "published_at": str(last.published_at),
                "inputs_fingerprint": inputs}))
            return
        record_build_inputs(con, context.run_id, inputs)
    if recreated:
        context.log.warning(f"landing tables with a new layout that did not keep every old value (recreated empty, or a column renamed, retyped or dropped); they refill when their source lands again: {recreated}")
    # Settings that change what dbt builds (MIN_CELL_SIZE) reach it as vars, parsed once by ingestion/config.py.
    dbt_vars = json.dumps(canonical.dbt_vars(settings.min_cell_size))
    yield from dbt.cli(["build", "--vars", dbt_vars], context=context).stream()


def dbt_resource() -> DbtCliResource:
    # The dbt installed beside this interpreter, whether or not the venv is on PATH.
    return DbtCliResource(project_dir=dbt_project, dbt_executable=str(Path(sys.executable).parent / "dbt"))
