"""Partner rows set aside at landing: each says why, which file and row it came from. Never published."""

from __future__ import annotations

from expectations.gx import gxe

from expectations.suites import _common as c
from ingestion.config import BuildSettings

TABLE = "raw_partners.quarantine"
ASSET_KEY = ("raw_partners", "quarantine")
IDENTITY = ["partner_id", "source_file", "source_row", "source_column"]
CHUNK_KEY = IDENTITY
SAMPLE_COLUMNS = [*IDENTITY, "reason_code", "batch_id"]
LINEAGE = ["partner_id", "source_file", "source_row", "file_sha256", "batch_id", "ingested_at"]


def expectations(settings: BuildSettings) -> list[gxe.Expectation]:
    from ingestion.partners.codes import REASONS  # the reason codes partners are told about

    return [
        *c.schema(c.landing_columns(TABLE)),
        c.unique(IDENTITY),
        *c.not_null(LINEAGE),
        *c.not_null(["reason_code"]),
        c.in_set("reason_code", list(REASONS), c.WARNING),
    ]
