"""Civil-society and citizen-generated data: partner files from the inbox, one partition per partner; and
national official data: each national Open SDG platform is a partition too (``national_<iso3>``), landed by
the same pipeline into the same tables."""

import datetime as dt
from pathlib import Path

import dagster as dg

from ingestion.national import ingest_platform, is_platform, platform_contract_path
from ingestion.partners import ingest_partner
from orchestration.assets.catalog import landing_spec
from orchestration.resources import WAREHOUSE_POOL, PartnerInboxResource, WarehouseResource

GROUP = "civil_society_data"
partner_partitions = dg.DynamicPartitionsDefinition(name="partners")
RAW_PARTNER_KEYS = [
    dg.AssetKey(["raw_partners", "observations"]),
    dg.AssetKey(["raw_partners", "quarantine"]),
    dg.AssetKey(["raw_partners", "files"]),
    dg.AssetKey(["raw_partners", "partners"]),
]


@dg.multi_asset(
    name="raw_partner_files",
    specs=[
        landing_spec(RAW_PARTNER_KEYS[0], "partners", group_name=GROUP,
                     description="Accepted partner observations, canonical codes, with file lineage."),
        landing_spec(RAW_PARTNER_KEYS[1], "partners", group_name=GROUP,
                     description="Rows set aside, with reason code and raw cells (never published)."),
        landing_spec(RAW_PARTNER_KEYS[2], "partners", group_name=GROUP,
                     description="One row per partner file: version (sha256), status, file-level errors."),
        landing_spec(RAW_PARTNER_KEYS[3], "partners", group_name=GROUP,
                     description="Partner name, type, licence and attribution from its data contract."),
    ],
    partitions_def=partner_partitions,
    pool=WAREHOUSE_POOL,
    description="Read one partner's inbox folder through its data contract; land, quarantine, report back. "
                "KoBo exports (format kobo) land in raw_kobo_restricted through the same contract. A partition "
                "national_<iso3> reads that country's Open SDG platform (contracts/national/<iso3>.yml).",
)
def raw_partner_files(context: dg.AssetExecutionContext, warehouse: WarehouseResource, partner_inbox: PartnerInboxResource):
    partner_id = context.partition_key
    now = dt.datetime.now(dt.timezone.utc)
    with warehouse.connection() as con:
        if is_platform(partner_id):
            result = ingest_platform(con, platform_contract_path(Path(partner_inbox.national_contracts), partner_id),
                                     Path(partner_inbox.reports), Path(partner_inbox.national_cache), context.run_id, now)
        else:
            result = ingest_partner(con, partner_id, Path(partner_inbox.inbox), Path(partner_inbox.contracts),
                                    Path(partner_inbox.reports), context.run_id, now, pii_salt=partner_inbox.pii_salt)
    metadata = result.metadata()
    context.log.info(
        f"{partner_id}: {metadata.get('observations_landed')} observations landed, "
        f"{metadata.get('observations_quarantined')} set aside {metadata.get('rejected_by_reason') or ''}; "
        f"report: {result.report_markdown}"
    )
    for error in metadata.get("partner_errors") or []:
        context.log.warning(f"{partner_id}: {error}")
    yield dg.MaterializeResult(
        asset_key=RAW_PARTNER_KEYS[0],
        metadata={
            "dagster/row_count": metadata.get("observations_landed", 0),
            "observations_quarantined": metadata.get("observations_quarantined", 0),
            "rejected_by_reason": dg.MetadataValue.json(metadata.get("rejected_by_reason") or {}),
            "files": dg.MetadataValue.json(metadata.get("per_file") or {}),
            "partner_errors": dg.MetadataValue.json(metadata.get("partner_errors") or []),
            "report": dg.MetadataValue.path(str(result.report_markdown or "")),
            "report_html": dg.MetadataValue.path(str(result.report_html or "")),
        },
    )
    for key in RAW_PARTNER_KEYS[1:]:
        yield dg.MaterializeResult(asset_key=key)
