"""KoBoToolbox citizen-generated data: contracts, export readers, API v2 client, privacy-safe landing.

Public API (plain Python; Dagster assets call these):

- :func:`load_contract` / :func:`load_contracts` (:func:`load_contracts_reporting` to go on past a broken
  one) / :func:`parse_contract`: the survey contracts.
- :func:`ingest_kobo_export`: one export file (CSV or XLSX) from the partner inbox.
- :func:`ingest_kobo_api` with a :class:`KoboClient`: one asset pulled from the API v2.
- :func:`land_contract`: the contract's survey, field and indicator tables alone.

``ingestion.kobo.inbox`` (an export arriving through a partner's inbox folder, tracked in ``raw_partners.files``)
and ``inbox_report`` (its page in the partner's report) build on ``ingestion.partners`` and are not imported
here: ``ingestion.partners.contract`` imports this package, so importing them here would close a cycle.
"""

from ingestion.kobo.client import KoboClient, kobo_client_from_settings
from ingestion.kobo.contract import (
    KoboContract,
    contract_for_asset,
    load_contract,
    load_contracts,
    load_contracts_reporting,
    parse_contract,
)
from ingestion.kobo.errors import (
    KoboApiError,
    KoboAssetChangedError,
    KoboAuthError,
    KoboContractError,
    KoboError,
    KoboExportError,
    KoboFormMismatchError,
    PiiSaltMissingError,
)
from ingestion.kobo.land import KoboIngestResult, ingest_kobo_api, ingest_kobo_export
from ingestion.kobo.tables import ensure_schema, land_contract
from ingestion.kobo.privacy import PUBLIC_TEST_SALT

__all__ = [
    "PUBLIC_TEST_SALT",
    "KoboApiError",
    "KoboAssetChangedError",
    "KoboAuthError",
    "KoboClient",
    "KoboContract",
    "KoboContractError",
    "KoboError",
    "KoboExportError",
    "KoboFormMismatchError",
    "KoboIngestResult",
    "PiiSaltMissingError",
    "contract_for_asset",
    "ensure_schema",
    "ingest_kobo_api",
    "ingest_kobo_export",
    "kobo_client_from_settings",
    "land_contract",
    "load_contract",
    "load_contracts",
    "load_contracts_reporting",
    "parse_contract",
]
