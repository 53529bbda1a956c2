"""Official data: the UN SDG API's reference data and its series, landed into ``raw_sdg``.

Series data is partitioned by series code: each series lands in its own run and transaction, so
one failing series neither blocks the others nor forces a full refetch, and chosen series can be
backfilled from the UI.
"""

import dagster as dg

from ingestion.sdg_api.client import SdgApiError
from ingestion.sdg_api.land import land_series
from ingestion.sdg_api.metadata import land_geo_areas, land_series_hierarchy
from orchestration.resources import WAREHOUSE_POOL, SdgApiResource, WarehouseResource

GROUP = "official_data"
RAW_SDG_OBSERVATIONS = dg.AssetKey(["raw_sdg", "series_observations"])
RAW_SDG_CODE_LISTS = dg.AssetKey(["raw_sdg", "series_code_lists"])
RAW_SDG_LOADS = dg.AssetKey(["raw_sdg", "series_loads"])
RAW_SDG_SERIES_KEYS = [RAW_SDG_OBSERVATIONS, RAW_SDG_CODE_LISTS, RAW_SDG_LOADS]


def build_series_assets(series: tuple[str, ...], areas: tuple[int, ...] | None) -> dg.AssetsDefinition:
    partitions = dg.StaticPartitionsDefinition(list(series))

    @dg.multi_asset(
        name="raw_sdg_series",
        specs=[
            dg.AssetSpec(RAW_SDG_OBSERVATIONS, group_name=GROUP, kinds={"duckdb"},
                         description="One row per SDG API observation record, raw strings beside parsed values, with lineage."),
            dg.AssetSpec(RAW_SDG_CODE_LISTS, group_name=GROUP, kinds={"duckdb"},
                         description="Series/{code}/Dimensions and /Attributes: API code to SDMX code, per series."),
            dg.AssetSpec(RAW_SDG_LOADS, group_name=GROUP, kinds={"duckdb"},
                         description="One row per landed series: deterministic batch id, counts, fetch times."),
        ],
        partitions_def=partitions,
        pool=WAREHOUSE_POOL,
        description="Fetch one series (code lists and every page of Series/Data) and replace it in one transaction.",
    )
    def raw_sdg_series(context: dg.AssetExecutionContext, warehouse: WarehouseResource, sdg_api: SdgApiResource):
        series_code = context.partition_key
        client = sdg_api.client()
        area_codes = list(areas) if areas is not None else client.geo_area_codes()
        with warehouse.connection() as con:
            load = land_series(con, client, series_code, area_codes, context.run_id)
        if load.recreated_tables:
            context.log.warning(f"landing tables with a new layout that did not keep every old value (other series refill "
                                f"on their next run): "
                                f"{load.recreated_tables}")
        context.log.info(
            f"{series_code}: {load.rows_landed} rows landed = {load.total_elements} reported, {load.pages} page(s), "
            f"{load.retries} retries, {load.missing_values} missing, {load.qualified_values} qualified (<, >), "
            f"{load.unparseable_values} unparseable values"
        )
        drift = {
            "unknown_fields": dict(load.unknown_fields),
            "dimensions_missing_from_code_lists": sorted(load.undeclared_dimensions),
            "pages_with_changed_dimensions": load.pages_with_changed_dimensions,
        }
        if any(drift.values()):
            context.log.warning(f"{series_code}: schema drift, kept as landed: {drift}")
        yield dg.MaterializeResult(
            asset_key=RAW_SDG_OBSERVATIONS,
            metadata={
                "dagster/row_count": load.rows_landed,
                "total_elements_reported": load.total_elements,
                "pages": load.pages,
                "retries": load.retries,
                "missing_values": load.missing_values,
                "qualified_values": load.qualified_values,
                "unparseable_values": load.unparseable_values,
                "dimensions": ", ".join(sorted(load.dimension_names)),
                "schema_drift": dg.MetadataValue.json(drift),
                "batch_id": load.batch_id,
                "areas": "all" if areas is None else ",".join(map(str, areas)),
                "mode": sdg_api.mode,
            },
        )
        yield dg.MaterializeResult(asset_key=RAW_SDG_CODE_LISTS)
        yield dg.MaterializeResult(asset_key=RAW_SDG_LOADS, metadata={"batch_id": load.batch_id})

    return raw_sdg_series


@dg.multi_asset(
    name="raw_sdg_reference",
    specs=[
        dg.AssetSpec(["raw_sdg", "series_hierarchy"], group_name=GROUP, kinds={"duckdb"},
                     description="Goal/List?includechildren=true: goal > target > indicator > series (per release)."),
        dg.AssetSpec(["raw_sdg", "geo_areas"], group_name=GROUP, kinds={"duckdb"},
                     description="GeoArea/List: every area the API knows, with its M49 code."),
        dg.AssetSpec(["raw_sdg", "geo_area_tree"], group_name=GROUP, kinds={"duckdb"},
                     description="GeoArea/Tree: regions and their member areas, one row per node."),
    ],
    pool=WAREHOUSE_POOL,
    description="The SDG API's reference data, each table replaced whole in one transaction.",
)
def raw_sdg_reference(context: dg.AssetExecutionContext, warehouse: WarehouseResource, sdg_api: SdgApiResource):
    # An API that cannot be reached (or keeps failing) leaves the previous reference tables as they were,
    # each replaced in one transaction or not at all, and blocks nothing else: partner and survey data
    # still build and publish. The failure is in each table's metadata (reference_failed) and the run summary.
    client = sdg_api.client()
    loads, failed = [], {}
    with warehouse.connection() as con:
        for tables, land in ((["raw_sdg.series_hierarchy"], lambda: [land_series_hierarchy(con, client, context.run_id)]),
                             (["raw_sdg.geo_areas", "raw_sdg.geo_area_tree"],
                              lambda: land_geo_areas(con, client, context.run_id))):
            try:
                loads += land()
            except SdgApiError as exc:
                failed.update(dict.fromkeys(tables, str(exc)))
                context.log.error(f"{', '.join(tables)}: {exc}; the previous version is kept")
        # land_* create their tables before fetching: a failed one exists, empty on a first run
        kept = {table: con.execute(f"select count(*) from {table}").fetchone()[0] for table in failed}
    for load in loads:
        context.log.info(f"{load.table}: {load.rows} rows")
        yield dg.MaterializeResult(
            asset_key=dg.AssetKey(load.table.split(".")),
            metadata={"dagster/row_count": load.rows, "response_sha256": load.response_sha256},
        )
    for table, message in failed.items():
        yield dg.MaterializeResult(
            asset_key=dg.AssetKey(table.split(".")),
            metadata={"reference_failed": message, "previous_rows_kept": kept[table]},
        )
