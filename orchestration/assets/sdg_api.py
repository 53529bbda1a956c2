"""Official data: the UN SDG API's reference data and its series, landed into ``raw_sdg``.

Series data is partitioned by series code. A run lands a range of series (a night needs only a few
runs), each series in its own transaction, so one failing series neither blocks the others nor forces a
full refetch; a series unchanged upstream is not fetched again; chosen series can be backfilled from the UI.
"""

import time

import dagster as dg

from ingestion.sdg_api.client import SdgApiError
from ingestion.sdg_api.night import SeriesOutcome, land_group, releases_or_none, summary
from ingestion.sdg_api.metadata import land_geo_areas, land_series_hierarchy
from orchestration.assets.catalog import landing_spec
from orchestration.resources import WAREHOUSE_POOL, SdgApiResource, WarehouseResource

GROUP = "official_data"
RAW_SDG_OBSERVATIONS = dg.AssetKey(["raw_sdg", "series_observations"])
RAW_SDG_CODE_LISTS = dg.AssetKey(["raw_sdg", "series_code_lists"])
RAW_SDG_LOADS = dg.AssetKey(["raw_sdg", "series_loads"])
RAW_SDG_SERIES_KEYS = [RAW_SDG_OBSERVATIONS, RAW_SDG_CODE_LISTS, RAW_SDG_LOADS]
PROGRESS_EVERY_S = 10.0  # a progress line in the run's log at most this often while series land


class SeriesLandingConfig(dg.Config):
    """Launchpad options of a series run."""

    refetch: bool = False  # land even series whose release has not changed (a backfill after a fix)


def build_series_assets(series: tuple[str, ...], areas: tuple[int, ...] | None) -> dg.AssetsDefinition:
    partitions = dg.StaticPartitionsDefinition(list(series))
    # Skippable: materializations are reported per series (partition) as each lands, so a series that is
    # current or failed reports none while the others of the run report theirs.
    specs = [
        landing_spec(RAW_SDG_OBSERVATIONS, "sdg_api", group_name=GROUP, skippable=True,
                     description="One row per SDG API observation record, raw strings beside parsed values, with "
                                 "lineage; a record repeated later in the response is kept, marked superseded_by."),
        landing_spec(RAW_SDG_CODE_LISTS, "sdg_api", group_name=GROUP, skippable=True,
                     description="Series/{code}/Dimensions and /Attributes: API code to SDMX code, per series."),
        landing_spec(RAW_SDG_LOADS, "sdg_api", group_name=GROUP, skippable=True,
                     description="One row per landed series: deterministic batch id, release, counts, fetch times."),
    ]

    @dg.multi_asset(
        name="raw_sdg_series",
        specs=specs,
        partitions_def=partitions,
        # A night lands its series in a few runs of many partitions each (SDG_SERIES_PER_RUN): a Dagster run
        # per series would cost more than most series' rows. Each series is still its own transaction and
        # materialization, and a single series can be run (backfilled) alone from the UI.
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=WAREHOUSE_POOL,
        description="Land the run's series that changed upstream (Series/List release), each replaced in one "
                    "transaction; a failing series keeps its previous version and fails alone.",
    )
    def raw_sdg_series(context: dg.AssetExecutionContext, config: SeriesLandingConfig, warehouse: WarehouseResource,
                       sdg_api: SdgApiResource):
        codes = list(context.partition_keys)
        client = sdg_api.client()
        releases, no_releases = releases_or_none(client)
        if no_releases:
            context.log.warning(f"Series/List unavailable, so every series is fetched: {no_releases}")
        area_codes = list(areas) if areas is not None else client.geo_area_codes()
        outcomes = []
        last_progress = time.monotonic()
        with warehouse.connection() as con:
            for outcome in land_group(con, client, codes, area_codes, context.run_id, refetch=config.refetch,
                                      releases=releases):
                outcomes.append(outcome)
                _report(context, outcome, sdg_api.mode, areas)
                # A log line per series would cost more than many series' rows (each event is a write to
                # Dagster's storage): progress every PROGRESS_EVERY_S, the details in each materialization.
                if time.monotonic() - last_progress >= PROGRESS_EVERY_S or outcome.position == outcome.total:
                    context.log.info(_progress(outcomes))
                    last_progress = time.monotonic()
        totals = summary(outcomes)
        context.log.info(f"{totals['landed']} series landed ({totals['rows_landed']} rows, "
                         f"{totals['rows_per_second']} rows/s), {totals['current']} current (their release has not "
                         f"changed: not fetched again), {totals['failed']} failed")
        failed = {o.series_code: o.error for o in outcomes if o.status == "failed"}
        if failed:
            raise dg.Failure(
                f"{len(failed)} of {len(codes)} series failed, each keeping its previous version: "
                + "; ".join(f"{code}: {(error or '').splitlines()[0][:300]}" for code, error in failed.items()),
                metadata={"failed_series": dg.MetadataValue.json(failed), **totals},
            )
        yield from ()

    return raw_sdg_series


def _report(context: dg.AssetExecutionContext, outcome: SeriesOutcome, mode: str,
            areas: tuple[int, ...] | None) -> None:
    """One series' log line and, when it landed, its materializations."""
    code = outcome.series_code
    if outcome.status == "current":
        # Nothing to write and nothing to say per series: a night with nothing new must stay cheap (an event
        # costs tens of milliseconds); the step's closing line counts them, and the run summary lists none.
        return
    if outcome.status == "failed":
        # Nothing was written: an observation (not a materialization) says the series failed, and why.
        context.log.error(f"{outcome.progress}: FAILED, previous version kept: {outcome.error}")
        context.log_event(dg.AssetObservation(
            asset_key=RAW_SDG_OBSERVATIONS, partition=code,
            metadata={"status": "failed", "release": outcome.release or "unknown", "error": (outcome.error or "")[:2000]}))
        return
    load = outcome.load
    assert load is not None
    if load.recreated_tables:
        context.log.warning(f"landing tables with a new layout that did not keep every old value (other series "
                            f"refill on their next run): {load.recreated_tables}")
    drift = {
        "unknown_fields": dict(load.unknown_fields),
        "dimensions_missing_from_code_lists": sorted(load.undeclared_dimensions),
        "pages_with_changed_dimensions": load.pages_with_changed_dimensions,
    }
    if any(drift.values()):
        context.log.warning(f"{code}: schema drift, kept as landed: {drift}")
    context.log_event(dg.AssetMaterialization(
        asset_key=RAW_SDG_OBSERVATIONS,
        partition=code,
        metadata={
            "dagster/row_count": load.rows_landed,
            "total_elements_reported": load.total_elements,
            "pages": load.pages,
            "retries": load.retries,
            "missing_values": load.missing_values,
            "qualified_values": load.qualified_values,
            "unparseable_values": load.unparseable_values,
            "duplicates_superseded": load.duplicates_superseded,
            "dimensions": ", ".join(sorted(load.dimension_names)),
            "schema_drift": dg.MetadataValue.json(drift),
            "batch_id": load.batch_id,
            "release": load.release or "unknown",
            "areas": "all" if areas is None else ",".join(map(str, areas)),
            "mode": mode,
            "seconds": round(outcome.seconds, 3),
            "position": f"{outcome.position} of {outcome.total}",
        },
    ))
    context.log_event(dg.AssetMaterialization(asset_key=RAW_SDG_CODE_LISTS, partition=code))
    context.log_event(dg.AssetMaterialization(asset_key=RAW_SDG_LOADS, partition=code,
                                              metadata={"batch_id": load.batch_id}))


def _progress(outcomes: list[SeriesOutcome]) -> str:
    """Where the run is: series n of N, what happened so far, rows per second, the last series landed."""
    totals = summary(outcomes)
    last = outcomes[-1]
    detail = ""
    if last.load is not None:
        load = last.load
        detail = (f"; last {last.series_code}: {load.rows_landed} rows = {load.total_elements} reported, "
                  f"{load.pages} page(s), {load.retries} retries, {load.missing_values} missing, "
                  f"{load.qualified_values} qualified (<, >), {load.unparseable_values} unparseable, "
                  f"{load.duplicates_superseded} superseded by a later duplicate")
    return (f"series {last.position} of {last.total}: {totals['landed']} landed ({totals['rows_landed']} rows, "
            f"{totals['rows_per_second']} rows/s), {totals['current']} current, {totals['failed']} failed{detail}")


@dg.multi_asset(
    name="raw_sdg_reference",
    specs=[
        landing_spec(["raw_sdg", "series_hierarchy"], "sdg_api", group_name=GROUP,
                     description="Goal/List?includechildren=true: goal > target > indicator > series (per release)."),
        landing_spec(["raw_sdg", "geo_areas"], "sdg_api", group_name=GROUP,
                     description="GeoArea/List: every area the API knows, with its M49 code."),
        landing_spec(["raw_sdg", "geo_area_tree"], "sdg_api", group_name=GROUP,
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
        # Materialized either way (dbt runs after it in the same run); the same bytes as landed are not rewritten.
        context.log.info(f"{load.table}: {load.rows} rows" + (", unchanged upstream, not rewritten" if load.unchanged else ""))
        yield dg.MaterializeResult(
            asset_key=dg.AssetKey(load.table.split(".")),
            metadata={"dagster/row_count": load.rows, "response_sha256": load.response_sha256,
                      "unchanged_upstream": load.unchanged},
        )
    for table, message in failed.items():
        yield dg.MaterializeResult(
            asset_key=dg.AssetKey(table.split(".")),
            metadata={"reference_failed": message, "previous_rows_kept": kept[table]},
        )
