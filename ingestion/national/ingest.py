"""Landing one national platform: its files, fetched or found, through the partner pipeline's reading,
evaluation, landing and feedback report, as source ``national_<iso3>`` of type ``national_official``."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

import duckdb

from ingestion.national.fetch import SiteFetcher, local_files, site_files
from ingestion.national.platform import PARTNER_PREFIX, load_platform, platform_contracts
from ingestion.national.spec import platform_contract
from ingestion.partners.codes import Problem
from ingestion.partners.contract import ContractError
from ingestion.partners.ingest import ingest_file, reject_file, withdraw_files, write_reports
from ingestion.partners.land import upsert_partner
from ingestion.partners.results import PartnerIngestResult
from ingestion.partners.schema import ensure_schema

log = logging.getLogger(__name__)


def list_platforms(contracts_dir: Path) -> list[str]:
    """The source ids of the platform contracts in ``contracts_dir`` (national_gha, national_mda, ...)."""
    return [platform_id(path) for path in platform_contracts(contracts_dir)]


def platform_contract_path(contracts_dir: Path, source_id: str) -> Path:
    return contracts_dir / f"{source_id.removeprefix(PARTNER_PREFIX)}.yml"


def is_platform(source_id: str) -> bool:
    return source_id.startswith(PARTNER_PREFIX)


def platform_id(contract_path: Path) -> str:
    """The source id of a platform contract file: contracts/national/mda.yml -> national_mda."""
    return f"{PARTNER_PREFIX}{contract_path.stem.lower()}"


def ingest_platform(con: duckdb.DuckDBPyConnection, contract_path: Path, reports_dir: Path, cache_dir: Path,
                    run_id: str, now: datetime, *, fetcher: SiteFetcher | None = None) -> PartnerIngestResult:
    """Land every indicator file of the platform ``contract_path`` describes and write its report. A file
    or a platform that cannot be read is reported; nothing landed before is lost because of it."""
    ensure_schema(con)
    result = PartnerIngestResult(platform_id(contract_path), None, contract_path)
    try:
        platform = load_platform(contract_path)
    except (ContractError, OSError) as exc:
        result.errors.append(Problem("invalid_contract", str(exc), "The data team fixes the platform contract as the message says."))
        return write_reports(con, result, reports_dir)
    if platform.source_id != result.partner_id:
        result.errors.append(Problem("invalid_contract", f"{contract_path.name} describes {platform.iso3}; name it "
                                     f"{platform.iso3.lower()}.yml", "Rename the contract file."))
        return write_reports(con, result, reports_dir, platform.language)
    result.partner_name = platform.name
    found = (site_files(platform, cache_dir / platform.iso3.lower(), fetcher or SiteFetcher())
             if platform.source.site else local_files(platform))
    result.errors += found.problems
    result.skipped = found.skipped
    built = platform_contract(platform, found.files, found.config_dir)
    upsert_partner(con, built.contract, contract_path.name, run_id, now)
    for path in found.files:
        if path.name in built.problems:
            result.files.append(reject_file(con, platform.source_id, path, built.problems[path.name], run_id, now,
                                            built.contract))
        else:
            result.files.append(ingest_file(con, built.contract, path, run_id, now))
    if found.complete:  # a file the platform no longer publishes is withdrawn; never after a failed fetch
        present = {path.name for path in found.files}
        gone = [name for name, in con.execute("select source_file from raw_partners.files where partner_id = ?",
                                              [platform.source_id]).fetchall() if name not in present]
        result.files += withdraw_files(con, platform.source_id, sorted(gone), run_id, now)
    log.info("platform %s: %s observations landed, %s set aside", platform.source_id,
             result.observations_landed, result.observations_quarantined)
    return write_reports(con, result, reports_dir, platform.language)
