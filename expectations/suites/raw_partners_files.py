"""One row per partner file: its latest version, its status, and for a landed file the version in use."""

from __future__ import annotations

from expectations.gx import gxe

from expectations.suites import _common as c
from ingestion.config import BuildSettings

TABLE = "raw_partners.files"
ASSET_KEY = ("raw_partners", "files")
IDENTITY = ["partner_id", "source_file"]
CHUNK_KEY = IDENTITY
SAMPLE_COLUMNS = [*IDENTITY, "status", "sha256", "batch_id", "landed_batch_id"]
LINEAGE = ["sha256", "contract_sha256", "batch_id", "run_id", "ingested_at"]
# what raw_partners.observations and .quarantine take as each row's file_sha256, batch_id, ingested_at
LANDED_LINEAGE = ["landed_sha256", "landed_batch_id", "landed_at"]
COUNTS = ["size_bytes", "rows_read", "rows_blank", "cells_blank", "observations_landed", "observations_quarantined",
          "values_missing"]
STATUSES = ["loaded", "loaded_with_rejections", "rejected", "retry", "withdrawn"]
LANDED = 'status in ["loaded", "loaded_with_rejections"]'


def expectations(settings: BuildSettings) -> list[gxe.Expectation]:
    return [
        *c.schema(c.landing_columns(TABLE)),
        c.unique(IDENTITY),
        *c.not_null(IDENTITY + LINEAGE + ["status"]),
        # a file that landed names the version its rows come from, and it is the version just read
        # (a missing one is the rule above's finding, not counted again)
        *c.not_null(LANDED_LINEAGE, where=LANDED),
        # a file withdrawn from the inbox has no landed version left
        *c.null(LANDED_LINEAGE, where='status == "withdrawn"'),
        *[gxe.ExpectColumnPairValuesToBeEqual(column_A=f"landed_{column}", column_B=column, severity=c.CRITICAL,
                                              ignore_row_if="either_value_is_missing", row_condition=LANDED,
                                              condition_parser="pandas")
          for column in ("sha256", "batch_id")],
        # reported: vocabularies, counts and digests that do not change what is published
        c.in_set("status", STATUSES, c.WARNING),
        c.in_set("format", ["open_sdg", "wide", "kobo"], c.WARNING),
        *c.not_null(["errors", "notes", *COUNTS], c.WARNING),
        *c.non_negative(COUNTS, c.WARNING),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="observations_landed", column_B="values_missing",
                                                    or_equal=True, severity=c.WARNING),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="rows_read", column_B="rows_blank", or_equal=True,
                                                    severity=c.WARNING),
        gxe.ExpectColumnValuesToMatchRegex(column="sha256", regex=r"^[0-9a-f]{64}$", severity=c.WARNING),
    ]
