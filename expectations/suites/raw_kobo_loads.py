"""One row per KoBo survey source landed: counts that add up, and lineage."""

from __future__ import annotations

from expectations.gx import gxe

from expectations.suites import _common as c
from ingestion.config import BuildSettings

TABLE = "raw_kobo.loads"
ASSET_KEY = ("raw_kobo", "loads")
IDENTITY = ["survey_id", "source_id"]
CHUNK_KEY = IDENTITY
SAMPLE_COLUMNS = [*IDENTITY, "source_kind", "batch_id"]
LINEAGE = ["source", "source_sha256", "contract_sha256", "batch_id", "run_id", "ingested_at"]
COUNTS = ["submissions_read", "submissions_landed", "submissions_excluded", "repeat_rows_read",
          "repeat_rows_landed", "repeat_rows_excluded", "invalid_coordinates", "personal_columns_dropped"]


def expectations(settings: BuildSettings) -> list[gxe.Expectation]:
    return [
        *c.schema(c.landing_columns(TABLE)),
        c.unique(IDENTITY),
        *c.not_null(IDENTITY + LINEAGE + COUNTS),
        *c.non_negative(COUNTS),
        c.in_set("source_kind", ["csv_export", "xlsx_export", "api"]),
        c.in_set("salt_kind", ["configured", "public_test_salt"]),
        # what was read was either landed or excluded, with a reason
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="submissions_read", column_B="submissions_landed",
                                                    or_equal=True, severity=c.CRITICAL),
    ]
