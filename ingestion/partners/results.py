"""What ingesting one partner file gives back: shared by the tabular reader (``ingest``) and the
KoBo exports (``kobo``), so both report a file the same way to a Dagster asset and a sensor."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from ingestion.partners.codes import Problem


@dataclass
class FileIngestResult:
    """One file's outcome. For a KoBo export, rows are interviews (submissions): ``rows_read`` the
    submissions in the file, ``observations_landed`` those kept, ``observations_quarantined`` and
    ``rejected_by_reason`` those set aside and why."""

    partner_id: str
    file_name: str
    sha256: str
    status: str  # loaded | loaded_with_rejections | rejected | retry | unchanged (landed before, same bytes)
    #              | withdrawn (landed before, no longer in the inbox: its rows are gone)
    rows_read: int = 0
    observations_landed: int = 0
    observations_quarantined: int = 0
    values_missing: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    errors: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    batch_id: str = ""
    report_markdown: Path | None = None
    report_html: Path | None = None


def batch_id_for(file_sha256: str, contract_sha256: str) -> str:
    """Same file under the same contract: same batch id, whichever run lands it."""
    return hashlib.sha256(f"{file_sha256}:{contract_sha256}".encode()).hexdigest()[:16]
