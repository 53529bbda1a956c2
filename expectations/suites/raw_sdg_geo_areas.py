"""Every area GeoArea/List returns: one row per M49 code, with lineage."""

from __future__ import annotations

from expectations.gx import gxe

from expectations.suites import _common as c
from ingestion.config import BuildSettings

TABLE = "raw_sdg.geo_areas"
ASSET_KEY = ("raw_sdg", "geo_areas")
CHUNK_KEY = ["geo_area_m49"]
SAMPLE_COLUMNS = ["geo_area_m49", "geo_area_code_raw", "geo_area_name", "request_url"]
LINEAGE = ["request_url", "fetched_at", "response_sha256", "run_id"]  # of the response each row came from


def expectations(settings: BuildSettings) -> list[gxe.Expectation]:
    return [
        *c.schema(c.landing_columns(TABLE)),
        c.unique(["geo_area_m49"]),
        *c.not_null(["geo_area_code_raw", "geo_area_m49"]),
        *c.not_null(LINEAGE),
        # reported: an area without a name, or a code outside M49's three digits
        *c.not_null(["geo_area_name"], c.WARNING),
        gxe.ExpectColumnValuesToBeBetween(column="geo_area_m49", min_value=1, max_value=c.API_AREA_CODE_MAX, severity=c.WARNING),
    ]
