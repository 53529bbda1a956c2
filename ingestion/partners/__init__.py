"""Partner CSV/XLSX ingestion: contracts, robust reading, row-level quarantine, feedback reports.

The public API (everything a Dagster asset or sensor needs):

- ``list_partners(inbox)``, ``scan_inbox(inbox)``, ``inbox_problems(inbox)``: what is in the inbox.
- ``ingest_partner(con, partner_id, inbox, contracts_dir, reports_dir, run_id, now, *, pii_salt=None)``:
  land one partner's files into ``raw_partners`` and write its reports; returns ``PartnerIngestResult``.
  Files of a ``format: kobo`` entry (KoBoToolbox exports) land through ``ingestion.kobo`` into
  ``raw_kobo_restricted``/``raw_kobo`` (source ``<partner_id>/<file name>``), hashed with ``pii_salt``.
- ``ingest_inbox(...)``: the same for every partner folder.
- ``load_contract(path)``: read and check a contract (``ContractError`` lists every problem).
"""

from ingestion.partners.codes import REASONS, Problem
from ingestion.partners.contract import Contract, ContractError
from ingestion.partners.contract_load import load_contract
from ingestion.partners.inbox import (
    InboxFile,
    InvalidPartnerIdError,
    inbox_problems,
    list_partners,
    scan_inbox,
    validate_partner_id,
)
from ingestion.partners.ingest import (
    FileIngestResult,
    PartnerIngestResult,
    batch_id_for,
    ingest_file,
    ingest_inbox,
    ingest_partner,
)
from ingestion.partners.land import DDL, ensure_schema

__all__ = [
    "DDL",
    "REASONS",
    "Contract",
    "ContractError",
    "FileIngestResult",
    "InboxFile",
    "InvalidPartnerIdError",
    "PartnerIngestResult",
    "Problem",
    "batch_id_for",
    "ensure_schema",
    "inbox_problems",
    "ingest_file",
    "ingest_inbox",
    "ingest_partner",
    "list_partners",
    "load_contract",
    "scan_inbox",
    "validate_partner_id",
]
