"""What ingesting a partner's files gives back: one file's outcome is shared by the tabular path
(``ingest``) and the KoBo exports (``ingestion.kobo.inbox``), so both report a file the same way to a
Dagster asset and a sensor."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
    # a KoBo export landed by this run: per validation status, submissions landed, published and set aside
    validation_statuses: dict[str, dict[str, int]] = field(default_factory=dict)
    errors: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    batch_id: str = ""
    report_markdown: Path | None = None
    report_html: Path | None = None


def batch_id_for(file_sha256: str, contract_sha256: str) -> str:
    """Same file under the same contract: same batch id, whichever run lands it."""
    return hashlib.sha256(f"{file_sha256}:{contract_sha256}".encode()).hexdigest()[:16]


@dataclass
class PartnerIngestResult:
    partner_id: str
    partner_name: str | None
    contract_path: Path | None
    files: list[FileIngestResult] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)  # partner-level: no or invalid contract
    skipped: list[tuple[str, str]] = field(default_factory=list)  # inbox entries not read, with why
    report_markdown: Path | None = None
    report_html: Path | None = None

    @property
    def observations_landed(self) -> int:
        return sum(item.observations_landed for item in self.files)

    @property
    def observations_quarantined(self) -> int:
        return sum(item.observations_quarantined for item in self.files)

    @property
    def rejected_by_reason(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for item in self.files:
            for reason, count in item.rejected_by_reason.items():
                totals[reason] = totals.get(reason, 0) + count
        return dict(sorted(totals.items()))

    @property
    def failed_files(self) -> list[FileIngestResult]:
        return [item for item in self.files if item.status in ("rejected", "retry")]

    def metadata(self) -> dict[str, Any]:
        """Plain JSON-able figures for a Dagster asset's metadata."""
        return {
            "partner_id": self.partner_id,
            "partner_name": self.partner_name,
            "files": len(self.files),
            "files_failed": len(self.failed_files),
            "observations_landed": self.observations_landed,
            "observations_quarantined": self.observations_quarantined,
            "rejected_by_reason": self.rejected_by_reason,
            "partner_errors": [problem.message for problem in self.errors],
            "report_markdown": str(self.report_markdown) if self.report_markdown else None,
            "report_html": str(self.report_html) if self.report_html else None,
            "per_file": {
                item.file_name: {
                    "status": item.status, "sha256": item.sha256, "landed": item.observations_landed,
                    "quarantined": item.observations_quarantined, "rejected_by_reason": item.rejected_by_reason,
                    **({"validation_statuses": item.validation_statuses} if item.validation_statuses else {}),
                    "errors": [problem.message for problem in item.errors],
                    "report_markdown": str(item.report_markdown) if item.report_markdown else None,
                } for item in self.files
            },
        }
