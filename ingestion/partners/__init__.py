"""Partner CSV/XLSX ingestion: contracts, robust reading, row-level quarantine, feedback reports.

The public API (everything a Dagster asset or sensor needs):

- ``list_partners(inbox)``, ``scan_inbox(inbox)``, ``inbox_problems(inbox)``: what is in the inbox.
- ``ingest_partner(con, partner_id, inbox, contracts_dir, reports_dir, run_id, now, *, pii_salt=None)``:
  land one partner's files into ``raw_partners`` and write its reports; returns ``PartnerIngestResult``.
  Files of a ``format: kobo`` entry (KoBoToolbox exports) land through ``ingestion.kobo.inbox`` into
  ``raw_kobo_restricted``/``raw_kobo`` (source ``<partner_id>/<file name>``), hashed with ``pii_salt``.
- ``ingest_inbox(...)``: the same for every partner folder.
- ``load_contract(path)``: read and check a contract (``ContractError`` lists every problem).

A file goes one way through stages that only call downward: ``ingest`` (the entry) discovers the files
(``inbox``), sniffs each (``sniff``), reads it into a staged table (``read``), evaluates every row against
the contract (``evaluate``), lands it (``land``) and writes the reports (``report``). ``LAYERS`` lists
the modules from the bottom up: a module imports only modules of lower layers (tests/test_partners_layers.py).

The names above are loaded on first use, so that ``ingestion.kobo.inbox`` (which sits between ``land``
and ``ingest``) can import the lower layers without importing ``ingest`` through this package.
"""

from __future__ import annotations

import importlib
from typing import Any

# Bottom to top; names relative to this package, "ingestion.kobo.*" for the KoBo modules that take
# part, "" for this package's own __init__. Modules in one layer do not import each other.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("i18n",),  # the reports' languages: msgids, catalogues, number and date formats
    ("codes", "details"),  # vocabulary: canonical codes (from ingestion.canonical), reasons, problems, row details
    ("periods", "inbox", "sniff", "results", "document"),
    ("contract",),
    ("contract_load", "context", "schema"),
    ("read.staged",),
    ("read.delimited", "read.workbook", "read.subjects"),
    ("read",),
    ("evaluate.sqltext",),
    ("evaluate.privacy",),
    ("evaluate.layout",),
    ("evaluate.labels", "evaluate.numbers"),
    ("evaluate.fields", "evaluate.rows"),
    ("evaluate",),
    ("land",),
    ("ingestion.kobo.inbox_report",),
    ("report", "ingestion.kobo.inbox"),
    ("ingest",),
    ("draft_codes", "draft_read"),  # a draft contract from a sample file (make draft-contract)
    ("draft_columns",),
    ("draft_write",),
    ("draft",),
    ("",),
)

_EXPORTS = {
    "REASONS": "codes",
    "Problem": "codes",
    "Contract": "contract",
    "ContractError": "contract",
    "load_contract": "contract_load",
    "InboxFile": "inbox",
    "InvalidPartnerIdError": "inbox",
    "inbox_problems": "inbox",
    "list_partners": "inbox",
    "scan_inbox": "inbox",
    "validate_partner_id": "inbox",
    "FileIngestResult": "results",
    "batch_id_for": "results",
    "PartnerIngestResult": "results",
    "ingest_file": "ingest",
    "ingest_inbox": "ingest",
    "ingest_partner": "ingest",
    "DDL": "schema",
    "ensure_schema": "schema",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
