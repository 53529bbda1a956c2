"""Helpers shared by tests/test_partners_*.py: a temporary inbox, one ingestion run, file fingerprints."""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from ingestion.partners import PartnerIngestResult, ingest_partner

REPO = Path(__file__).resolve().parents[2]
PARTNER_DATA = REPO / "tests" / "data" / "partners"
UK_FILES = (PARTNER_DATA / "uk_ons_indicator_10-3-1.csv", PARTNER_DATA / "uk_ons_indicator_9-5-2.csv")
UK_CONTRACTS = PARTNER_DATA / "contracts"
SAMPLE_INBOX = REPO / "data" / "inbox"
SAMPLE_CONTRACTS = REPO / "contracts" / "partners"
NOW = datetime(2024, 6, 1, 12, 0, tzinfo=timezone.utc)


@dataclass
class Workspace:
    root: Path
    inbox: Path
    contracts: Path
    reports: Path
    con: duckdb.DuckDBPyConnection

    def run(self, partner_id: str, run_id: str = "run-1", now: datetime = NOW) -> PartnerIngestResult:
        return ingest_partner(self.con, partner_id, self.inbox, self.contracts, self.reports, run_id, now)

    def drop(self, partner_id: str, *files: Path, names: list[str] | None = None) -> list[Path]:
        """Copy files into the partner's inbox folder (optionally under other names)."""
        folder = self.inbox / partner_id
        folder.mkdir(parents=True, exist_ok=True)
        copied = []
        for index, source in enumerate(files):
            target = folder / (names[index] if names else source.name)
            shutil.copyfile(source, target)
            copied.append(target)
        return copied

    def write(self, partner_id: str, name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
        folder = self.inbox / partner_id
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        if isinstance(content, str):
            path.write_bytes(content.encode(encoding))
        else:
            path.write_bytes(content)
        return path

    def contract(self, partner_id: str, text: str) -> Path:
        self.contracts.mkdir(parents=True, exist_ok=True)
        path = self.contracts / f"{partner_id}.yml"
        path.write_text(text, encoding="utf-8")
        return path

    def rows(self, sql: str, params: list | None = None) -> list[tuple]:
        return self.con.execute(sql, params or []).fetchall()


def workspace(tmp_path: Path) -> Workspace:
    root = tmp_path
    (root / "inbox").mkdir()
    (root / "contracts").mkdir()
    con = duckdb.connect(str(root / "warehouse.duckdb"))
    return Workspace(root, root / "inbox", root / "contracts", root / "reports", con)


def fingerprint(path: Path) -> tuple[str, int, int]:
    """What must not change when the pipeline reads a file: content, modification time, size."""
    data = path.read_bytes()
    info = path.stat()
    return hashlib.sha256(data).hexdigest(), info.st_mtime_ns, info.st_size


def fingerprints(folder: Path) -> dict[str, tuple[str, int, int]]:
    return {str(path.relative_to(folder)): fingerprint(path) for path in sorted(folder.rglob("*")) if path.is_file()}
