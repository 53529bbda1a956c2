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

COLUMNS: dict[str, c.TypeSpec] = {
    "record_id": "VARCHAR",
    "series_code": "VARCHAR",
    "indicator_codes": "VARCHAR[]",
    "geo_area_m49": "INTEGER",
    "geo_area_name": "VARCHAR",
    "time_period_start_raw": "VARCHAR",
    "time_period": "INTEGER",
    "time_detail": "VARCHAR",
    "value_raw": "VARCHAR",
    "value": "DOUBLE",
    "value_qualifier": "VARCHAR",
    "value_is_missing": "BOOLEAN",
    "value_is_unparseable": "BOOLEAN",
    "upper_bound": "DOUBLE",
    "lower_bound": "DOUBLE",
    "source": "VARCHAR",
    "attributes": "MAP(VARCHAR, VARCHAR)",
    "dimensions": "MAP(VARCHAR, VARCHAR)",
    "request_url": "VARCHAR",
    "page": "INTEGER",
    "record_index": "INTEGER",
    "fetched_at": "TIMESTAMP WITH TIME ZONE",
    "response_sha256": "VARCHAR",
    "run_id": "VARCHAR",
}


def expectations(settings: BuildSettings) -> list[gxe.Expectation]:
    readable = "value_is_missing == False and value_is_unparseable == False"
    return [
        *c.schema(COLUMNS),
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
