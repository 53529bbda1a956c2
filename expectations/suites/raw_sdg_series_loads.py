"""One row per SDG series landed: every row the API reported was landed, counts add up, lineage."""

from __future__ import annotations

from expectations.gx import gxe

from expectations.suites import _common as c
from ingestion.config import BuildSettings

TABLE = "raw_sdg.series_loads"
ASSET_KEY = ("raw_sdg", "series_loads")
CHUNK_KEY = ["series_code"]
SAMPLE_COLUMNS = ["series_code", "batch_id", "run_id", "rows_landed", "total_elements"]
LINEAGE = ["batch_id", "run_id", "first_fetched_at", "last_fetched_at"]
VALUE_COUNTS = ["missing_values", "unparseable_values", "qualified_values"]
COUNTS = ["rows_landed", "total_elements", "pages", "retries", *VALUE_COUNTS]


def expectations(settings: BuildSettings) -> list[gxe.Expectation]:
    return [
        *c.schema(c.landing_columns(TABLE)),
        c.unique(["series_code"]),
        *c.not_null(["series_code"]),
        *c.not_null(LINEAGE),
        *c.not_null(COUNTS),
        # a series is complete: as many rows landed as the API's totalElements said it holds
        gxe.ExpectColumnPairValuesToBeEqual(column_A="rows_landed", column_B="total_elements", severity=c.CRITICAL),
        # reported: bookkeeping that does not add up
        *c.non_negative(["total_elements", "retries", *VALUE_COUNTS], c.WARNING),
        gxe.ExpectColumnValuesToBeBetween(column="pages", min_value=1, severity=c.WARNING),
        *[gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="rows_landed", column_B=column, or_equal=True,
                                                      severity=c.WARNING) for column in VALUE_COUNTS],
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="last_fetched_at", column_B="first_fetched_at",
                                                    or_equal=True, severity=c.WARNING),
        gxe.ExpectColumnValuesToMatchRegex(column="batch_id", regex=r"^[0-9a-f]{16}$", severity=c.WARNING),
    ]
