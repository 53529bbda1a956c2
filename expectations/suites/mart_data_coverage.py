"""Coverage per indicator x area x group: one row per cell, canonical codes, consistent flags."""

from __future__ import annotations

from expectations.gx import gxe

from expectations.suites import _common as c
from ingestion.config import BuildSettings

TABLE = "marts.mart_data_coverage"
ASSET_KEY = ("marts", "mart_data_coverage")
DIMENSIONS = ["sex", "age_group", "disability_status", "location", "income_quantile", "migratory_status",
              "population_group"]
GRAIN = ["indicator_key", "geo_area_m49", *DIMENSIONS]
CHUNK_KEY = GRAIN
SAMPLE_COLUMNS = GRAIN
FLAGS = ["has_official", "has_civil_society", "has_citizen_generated", "civil_society_fills_gap"]

COLUMNS: dict[str, c.TypeSpec] = {
    "indicator_key": "VARCHAR",
    "indicator_code": "VARCHAR",
    "series_codes": "VARCHAR[]",
    "geo_area_m49": "INTEGER",
    **{column: "VARCHAR" for column in DIMENSIONS},
    **{column: "BOOLEAN" for column in FLAGS},
    "latest_official_period": "DATE",
    "latest_civil_society_period": "DATE",
    "latest_citizen_generated_period": "DATE",
    "observations": ("BIGINT", "INTEGER"),
}


def expectations(settings: BuildSettings) -> list[gxe.Expectation]:
    return [
        *c.schema(COLUMNS),
        c.unique(GRAIN),
        *c.not_null(["indicator_key", "geo_area_m49", "observations", *FLAGS]),
        *c.canonical_codes(DIMENSIONS),
        gxe.ExpectColumnValuesToBeBetween(column="observations", min_value=1, severity=c.CRITICAL),
        # a gap is filled only where official data are missing
        c.in_set("civil_society_fills_gap", [False], where="has_official == True"),
        *c.not_null(["latest_official_period"], where="has_official == True"),
    ]
