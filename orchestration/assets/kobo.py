"""Citizen-generated data pulled from the KoBoToolbox API v2, one survey (asset uid) at a time.

KoBo exports sent as files arrive through the partner inbox (format `kobo` in a partner contract);
this asset is the API route. Its settings come from the ``kobo_api`` resource, whose secrets (KOBO_TOKEN,
PII_SALT) are ``dg.EnvVar``s read from the run's environment, so they appear in no UI, log or metadata.
"""

import datetime as dt
import traceback
from pathlib import Path

import dagster as dg

from ingestion.kobo import (KoboClient, KoboError, contract_for_asset, ingest_kobo_api, kobo_client_from_settings,
                            load_contracts_reporting)
from ingestion.kobo.validation import STATUSES
from orchestration.assets.catalog import landing_spec
from orchestration.resources import WAREHOUSE_POOL, KoboApiResource, WarehouseResource

GROUP = "citizen_generated_data"
RAW_KOBO_KEYS = [
    dg.AssetKey(["raw_kobo_restricted", "submissions"]),
    dg.AssetKey(["raw_kobo", "loads"]),
    dg.AssetKey(["raw_kobo", "surveys"]),
    dg.AssetKey(["raw_kobo", "age_bands"]),
    dg.AssetKey(["raw_kobo", "indicator_definitions"]),
    dg.AssetKey(["raw_kobo", "indicator_conditions"]),
]


@dg.multi_asset(
    name="raw_kobo_api",
    specs=[landing_spec(key, "kobo_api", group_name=GROUP) for key in RAW_KOBO_KEYS],
    pool=WAREHOUSE_POOL,
    description="Pull each KoBo survey in KOBO_ASSET_UIDS through the API v2 (privacy rules applied at landing); "
                "a no-op when none is configured. Export files land through the partner inbox into the same tables.",
)
def raw_kobo_api(context: dg.AssetExecutionContext, warehouse: WarehouseResource, kobo_api: KoboApiResource):
    results: dict[str, dict] = {}
    failures: dict[str, str] = {}
    # Every problem is one survey's (or, for the settings, each configured survey's): it is named in
    # failed_assets, that survey's previous pull is kept, and the other sources still build and publish.
    client, problem = _client(kobo_api) if kobo_api.asset_uids else (None, None)
    if not kobo_api.asset_uids:
        context.log.info("KOBO_ASSET_UIDS is not set: no KoBo survey is pulled from the API")
    elif client is None:
        failures = dict.fromkeys(kobo_api.asset_uids, problem)
        context.log.error(f"{problem}; no KoBo survey pulled, previous pulls kept")
    else:
        contracts, broken = load_contracts_reporting(Path(kobo_api.contracts))
        for problem in broken:
            context.log.error(f"KoBo contract not usable: {problem}")
        with warehouse.connection() as con:
            for uid in kobo_api.asset_uids:
                try:
                    result = ingest_kobo_api(con, client, uid, contract_for_asset(contracts.values(), uid, broken),
                                             pii_salt=kobo_api.pii_salt, run_id=context.run_id,
                                             now=dt.datetime.now(dt.timezone.utc))
                except KoboError as exc:  # messages never carry the token, the salt or any answer
                    failures[uid] = str(exc)
                    context.log.error(f"KoBo asset {uid}: {exc}; its previous pull is kept")
                    continue
                except Exception as exc:  # noqa: BLE001 -- one survey's bug must not stop the others
                    # The type and where it happened, not the text: an unexpected error's text may quote an answer.
                    failures[uid] = f"an unexpected {type(exc).__name__} stopped this survey's pull"
                    context.log.error(f"KoBo asset {uid}: unexpected {type(exc).__name__}; its previous pull is kept\n"
                                      + "".join(traceback.format_tb(exc.__traceback__)))
                    continue
                results[uid] = result.metadata()
                context.log.info(f"KoBo asset {uid}: {result.submissions_landed} submissions landed, "
                                 f"{result.submissions_excluded} excluded {dict(result.exclusions)}; "
                                 f"{result.submissions_published} published under "
                                 f"{result.validation_policy}, set aside {result.set_aside_by_policy or 'none'}")
    yield dg.MaterializeResult(
        asset_key=RAW_KOBO_KEYS[0],
        metadata={
            "configured_assets": len(kobo_api.asset_uids),
            "surveys": dg.MetadataValue.json(results),
            "failed_assets": dg.MetadataValue.json(failures),
            # per validation status, over every survey pulled: landed, published and set aside by its policy
            "validation_statuses": dg.MetadataValue.json(_status_totals(results.values())),
            "submissions_published": sum(r.get("submissions_published", 0) for r in results.values()),
            "dagster/row_count": sum(r.get("submissions_landed", 0) for r in results.values()),
        },
    )
    for key in RAW_KOBO_KEYS[1:]:
        yield dg.MaterializeResult(asset_key=key)


def _client(kobo_api: KoboApiResource) -> tuple[KoboClient | None, str | None]:
    """The API client, or why the configured surveys cannot be pulled at all (the message names no secret)."""
    if not kobo_api.server_url or not kobo_api.token:
        return None, "KOBO_ASSET_UIDS is set but KOBO_SERVER_URL or KOBO_TOKEN is not: set both in the environment"
    try:
        return kobo_client_from_settings(kobo_api.server_url, kobo_api.token), None
    except KoboError as exc:  # e.g. a server URL the client refuses
        return None, str(exc)


def _status_totals(surveys) -> dict[str, dict[str, int]]:
    """Each validation status's landed, published and set-aside submissions, summed over the surveys."""
    totals = {status: {"landed": 0, "published": 0, "set_aside": 0} for status in STATUSES}
    for survey in surveys:
        for status, counts in survey.get("validation_statuses", {}).items():
            for name, count in counts.items():
                totals.setdefault(status, {"landed": 0, "published": 0, "set_aside": 0})[name] += count
    return totals
