"""Official SDG observations as landed: intact structure, one row per API record, full lineage.

Content (ranges by unit, canonical codes) blocks at the marts, where codes are translated; here an
odd value is reported, not blocked, because the raw table keeps what the API sent.
"""

from __future__ import annotations

from expectations.gx import gxe

from expectations.suites import _common as c
from ingestion.config import BuildSettings

TABLE = "raw_sdg.series_observations"
ASSET_KEY = ("raw_sdg", "series_observations")
CHUNK_KEY = ["record_id"]
SAMPLE_COLUMNS = ["record_id", "series_code", "geo_area_m49", "time_period_start_raw", "request_url", "page",
                  "record_index"]
LINEAGE = ["request_url", "page", "record_index", "fetched_at", "response_sha256", "run_id"]


def expectations(settings: BuildSettings) -> list[gxe.Expectation]:
    readable = "value_is_missing == False and value_is_unparseable == False"
    return [
        *c.schema(c.landing_columns(TABLE)),
        c.unique(["record_id"]),
        c.unique(["request_url", "record_index"]),
        *c.not_null(["series_code", "geo_area_m49", "time_period_start_raw", "value_is_missing",
                     "value_is_unparseable"]),
        *c.not_null(LINEAGE),
        # reported: what the parser could not read, and values a percent series could not hold
        c.in_set("value_is_unparseable", [False], c.WARNING),
        *c.not_null(["value"], c.WARNING, where=readable),
        *c.not_null(["time_period"], c.WARNING),
        c.in_set("value_qualifier", ["<", ">"], c.WARNING),
    ]
