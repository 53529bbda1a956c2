"""The file being landed and what every record of it is keyed by: one value handed down the stages
(land, the KoBo inbox, the failure record) instead of a dozen parameters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from ingestion.partners.contract import Contract, FileSpec
from ingestion.partners.results import batch_id_for
from ingestion.partners.sniff import Sniff


@dataclass(frozen=True)
class FileVersion:
    partner_id: str
    source_file: str
    sha256: str
    size_bytes: int
    modified_at: datetime

    @classmethod
    def of(cls, partner_id: str, path: Path, sniff: Sniff) -> FileVersion:
        modified = datetime.fromtimestamp(sniff.mtime_ns / 1e9, tz=timezone.utc)
        return cls(partner_id, path.name, sniff.sha256, sniff.size, modified)


@dataclass(frozen=True)
class FileContext:
    """One file version of one run. ``contract_sha256`` is what its landed rows depend on besides its
    bytes: the contract's sha256 (a KoBo file's also covers its survey contract and key; '' without a
    contract); with the file's sha256 it makes the batch id."""

    con: duckdb.DuckDBPyConnection
    version: FileVersion
    contract: Contract | None
    spec: FileSpec | None  # the contract's file entry the name matched
    contract_sha256: str
    run_id: str
    now: datetime  # ingested_at of everything this run writes
    pii_salt: str | None = None  # format kobo: hashes respondent identifiers

    @property
    def partner_id(self) -> str:
        return self.version.partner_id

    @property
    def source_file(self) -> str:
        return self.version.source_file

    @property
    def batch_id(self) -> str:
        return batch_id_for(self.version.sha256, self.contract_sha256)

    @property
    def file_entry(self) -> str | None:
        return self.spec.label if self.spec else None

    @property
    def file_format(self) -> str | None:
        return self.spec.format if self.spec else None
