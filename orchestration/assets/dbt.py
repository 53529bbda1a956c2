"""The dbt project as Dagster assets; dbt tests surface as asset checks (error severity blocks)."""


import json
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, DbtProject, dbt_assets

from ingestion import canonical
from ingestion.config import PROJECT_ROOT
from ingestion.fingerprint import (build_fingerprint, inputs_fingerprint, landing_fingerprints, record_build_inputs,
                                   recorded)
from ingestion.landing import ensure_landing_tables
from ingestion.publish import last_publication
from ingestion.warehouse import table_shapes
from orchestration.assets.catalog import OWNERS, dbt_tags
from orchestration.resources import PUBLISHED_KEY, WAREHOUSE_POOL, BuildSettingsResource, WarehouseResource

DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
# Under `dagster dev` (`make dev`) every load of the code location runs `dbt parse` first, so an edited model
# shows up on "Reload"; elsewhere the manifest comes from `make` (setup) and the test session, and a load
# stays fast and side-effect free.
dbt_project.prepare_if_dev()


class SchemaTableTranslator(DagsterDbtTranslator):
    """Key every dbt node as [schema, name], so dbt sources land on the ingestion assets' keys
    (raw_sdg/series_observations) and the graph is one lineage from API to published file."""

    def __init__(self):
        # Code references: each model links to its .sql file in the UI.
        super().__init__(settings=DagsterDbtTranslatorSettings(enable_code_references=True))

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        return dg.AssetKey([dbt_resource_props["schema"], dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return "harmonization"

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> Sequence[str] | None:
        return OWNERS

    def get_tags(self, dbt_resource_props: Mapping[str, Any]) -> Mapping[str, str]:
        return dbt_tags(dbt_resource_props, super().get_tags(dbt_resource_props))


def _manifest_path():
    if not dbt_project.manifest_path.exists():
        raise FileNotFoundError(
            f"{dbt_project.manifest_path} is missing: run `make setup` (or `cd dbt_project && dbt parse`)."
        )
    return dbt_project.manifest_path


@dbt_assets(manifest=_manifest_path(), project=dbt_project, dagster_dbt_translator=SchemaTableTranslator(),
            pool=WAREHOUSE_POOL)
def dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource,
               build_settings: BuildSettingsResource):
    # A source that has delivered nothing yet must be an empty table, not a failed build.
    with warehouse.connection() as con:
        recreated = ensure_landing_tables(con)
        inputs = inputs_fingerprint(landing_fingerprints(con), build_fingerprint(build_settings))
        last = last_publication(Path(warehouse.published_path))
        if last is not None and recorded(last.input_snapshot, "inputs") == inputs:
            # Nothing landed, nothing in the project changed: the published file is what this build, its checks
            # and publication would make again. No model is materialized, so the checks and publication skip.
            context.log.info(f"nothing changed since the publication of run {last.run_id} ({last.published_at}): "
                             f"dbt build, the gate and publication skipped; the published file is current")
            current = {"status": "current", "published_run_id": last.run_id, "published_at": str(last.published_at),
                       "inputs_fingerprint": inputs}
            context.log_event(dg.AssetObservation(asset_key=PUBLISHED_KEY, metadata=current))
            # published_marts' freshness policy counts materializations only: a night that ran and found the file
            # current reports one (outside this run, so the run summary still says "current", not "published").
            context.instance.report_runless_asset_event(dg.AssetMaterialization(
                asset_key=PUBLISHED_KEY, description="confirmed current: nothing changed since its publication",
                metadata={**current, "confirmed_by_run": context.run_id}))
            return
        record_build_inputs(con, context.run_id, inputs)
    if recreated:
        context.log.warning(f"landing tables with a new layout that did not keep every old value (recreated empty, or a column renamed, retyped or dropped); they refill when their source lands again: {recreated}")
    # Settings that change what dbt builds (MIN_CELL_SIZE) reach it as vars, parsed once by ingestion/config.py.
    dbt_vars = json.dumps(canonical.dbt_vars(build_settings.min_cell_size))
    invocation = dbt.cli(["build", "--vars", dbt_vars], context=context)
    # DuckDB lets one process write the file, and dbt holds it until it exits: the row counts and columns are
    # read once dbt is done (dagster-dbt's fetch_row_counts() did the same but left its own read-only handle
    # open in this process, which then refused the GX checks' connections).
    events, error = _drain(invocation.stream())
    yield from with_table_metadata(events, invocation.manifest, warehouse, context.log)
    if error is not None:
        raise error


def _drain(stream: Iterable[Any]) -> tuple[list[Any], BaseException | None]:
    """Every event of a dbt run, and the error it ended with (raised after its events are reported)."""
    events: list[Any] = []
    try:
        for event in stream:
            events.append(event)
    except Exception as exc:  # noqa: BLE001 -- re-raised by the caller once the events are out
        return events, exc
    return events, None


def _relation(node: Mapping[str, Any]) -> tuple[str, str]:
    return node["schema"], node.get("alias") or node["name"]


def with_table_metadata(events: list[Any], manifest: Mapping[str, Any], warehouse: WarehouseResource,
                        log: Any = None) -> Iterator[Any]:
    """The events, each model's and seed's materialization with its row count and column schema
    (``dagster/row_count``, ``dagster/column_schema``), read from the warehouse in one read-only connection."""
    nodes = manifest.get("nodes", {})

    def node_of(event: Any) -> Mapping[str, Any] | None:
        if not isinstance(event, (dg.Output, dg.AssetMaterialization)) or "unique_id" not in event.metadata:
            return None
        return nodes.get(event.metadata["unique_id"].value)

    built = [node for node in map(node_of, events) if node is not None]
    shapes = {}
    if built:
        try:
            with warehouse.connection(read_only=True) as con:
                shapes = table_shapes(con, [_relation(node) for node in built])
        except Exception as exc:  # noqa: BLE001 -- the materializations matter more than their metadata
            if log is not None:
                log.warning(f"row counts and column schemas not read ({type(exc).__name__}: {exc}); "
                            f"the models' materializations are reported without them")
    for event in events:
        node = node_of(event)
        shape = shapes.get(_relation(node)) if node is not None else None
        if shape is None:
            yield event
            continue
        rows, columns = shape
        described = node.get("columns") or {}
        schema = dg.TableSchema(columns=[
            dg.TableColumn(name, data_type, description=(described.get(name) or {}).get("description") or None)
            for name, data_type in columns])
        yield event.with_metadata({**event.metadata, "dagster/row_count": rows, "dagster/column_schema": schema})


def dbt_resource() -> DbtCliResource:
    # The dbt installed beside this interpreter, whether or not the venv is on PATH.
    return DbtCliResource(project_dir=dbt_project, dbt_executable=str(Path(sys.executable).parent / "dbt"))
