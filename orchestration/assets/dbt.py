"""The dbt project as Dagster assets; dbt tests surface as asset checks (error severity blocks)."""


import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from ingestion.config import PROJECT_ROOT
from ingestion.landing import ensure_landing_tables
from orchestration.resources import WAREHOUSE_POOL, WarehouseResource

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
    with warehouse.connection() as con:
        recreated = ensure_landing_tables(con)
    if recreated:
        context.log.warning(f"landing tables with a new layout that did not keep every old value (recreated empty, or a column renamed, retyped or dropped); they refill when their source lands again: {recreated}")
    yield from dbt.cli(["build"], context=context).stream()


def dbt_resource() -> DbtCliResource:
    # The dbt installed beside this interpreter, whether or not the venv is on PATH.
    return DbtCliResource(project_dir=dbt_project, dbt_executable=str(Path(sys.executable).parent / "dbt"))
