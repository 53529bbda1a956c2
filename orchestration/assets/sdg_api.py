"""Official data: land the configured SDG API series into ``raw_sdg``."""


import dagster as dg

from ingestion.sdg_api.land import land_series
from orchestration.resources import WAREHOUSE_POOL, SdgApiResource, WarehouseResource

RAW_SDG_OBSERVATIONS = dg.AssetKey(["raw_sdg", "series_observations"])
RAW_SDG_CODE_LISTS = dg.AssetKey(["raw_sdg", "series_code_lists"])
RAW_SDG_LOADS = dg.AssetKey(["raw_sdg", "series_loads"])


def build_sdg_assets(series: tuple[str, ...], areas: tuple[int, ...] | None) -> dg.AssetsDefinition:
    @dg.multi_asset(
        name="raw_sdg_series",
        specs=[
            dg.AssetSpec(RAW_SDG_OBSERVATIONS, description="One row per SDG API observation record, raw strings beside parsed values, with lineage.", kinds={"duckdb"}, group_name="official_data"),
            dg.AssetSpec(RAW_SDG_CODE_LISTS, description="API code to SDMX code lists sent with each series.", kinds={"duckdb"}, group_name="official_data"),
            dg.AssetSpec(RAW_SDG_LOADS, description="One row per landed series: batch id, counts, fetch times.", kinds={"duckdb"}, group_name="official_data"),
        ],
        pool=WAREHOUSE_POOL,
        description=f"Fetch series {', '.join(series)} from the UN SDG API and land each in one transaction.",
    )
    def raw_sdg_series(context: dg.AssetExecutionContext, warehouse: WarehouseResource, sdg_api: SdgApiResource):
        client = sdg_api.client()
        area_codes = list(areas) if areas is not None else client.geo_area_codes()
        loads = []
        with warehouse.connection() as con:
            for series_code in series:
                load = land_series(con, client, series_code, area_codes, context.run_id)
                context.log.info(
                    f"{series_code}: {load.rows_landed} rows landed of {load.total_elements} reported, "
                    f"{load.pages} page(s), {load.retries} retries, {load.missing_values} missing values, "
                    f"{load.qualified_values} qualified (<, >), {load.unparseable_values} unparseable"
                )
                if load.unknown_fields:
                    context.log.warning(f"{series_code}: unknown fields kept in extra_fields: {dict(load.unknown_fields)}")
                loads.append(load)
        per_series = {
            load.series_code: {
                "rows": load.rows_landed, "pages": load.pages, "retries": load.retries,
                "missing_values": load.missing_values, "qualified_values": load.qualified_values,
                "unparseable_values": load.unparseable_values, "batch_id": load.batch_id,
                "dimensions": sorted(load.dimension_names), "unknown_fields": dict(load.unknown_fields),
            }
            for load in loads
        }
        yield dg.MaterializeResult(
            asset_key=RAW_SDG_OBSERVATIONS,
            metadata={
                "dagster/row_count": sum(load.rows_landed for load in loads),
                "series": dg.MetadataValue.json(per_series),
                "mode": sdg_api.mode,
                "areas": "all" if areas is None else ",".join(map(str, areas)),
                "retries": sum(load.retries for load in loads),
                "missing_values": sum(load.missing_values for load in loads),
                "qualified_values": sum(load.qualified_values for load in loads),
            },
        )
        yield dg.MaterializeResult(asset_key=RAW_SDG_CODE_LISTS)
        yield dg.MaterializeResult(asset_key=RAW_SDG_LOADS, metadata={"dagster/row_count": len(loads)})

    return raw_sdg_series
