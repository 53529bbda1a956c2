"""Official vs non-official values: one comparison per non-official row, canonical codes, no small cells."""

from __future__ import annotations

from expectations.gx import gxe

from expectations.suites import _common as c
from ingestion.config import BuildSettings, load_settings

TABLE = "marts.mart_source_comparison"
ASSET_KEY = ("marts", "mart_source_comparison")
DIMENSIONS = ["sex", "age_group", "disability_status", "location", "income_quantile", "migratory_status",
              "population_group"]
CHUNK_KEY = ["non_official_observation_id"]
SAMPLE_COLUMNS = ["non_official_observation_id", "official_observation_id", "non_official_source_id",
                  "non_official_series_code", "geo_area_m49", "non_official_period_label"]

COLUMNS: dict[str, c.TypeSpec] = {
    "non_official_observation_id": "VARCHAR",
    "official_observation_id": "VARCHAR",
    "matched_on": "VARCHAR",
    "official_series_code": "VARCHAR",
    "non_official_series_code": "VARCHAR",
    "geo_area_m49": "INTEGER",
    **{column: "VARCHAR" for column in DIMENSIONS},
    "unit": "VARCHAR",
    "period_gap_years": ("BIGINT", "INTEGER"),
    "non_official_source_type": "VARCHAR",
    "non_official_source_id": "VARCHAR",
    "official_value": "DOUBLE",
    "non_official_value": "DOUBLE",
    "non_official_sample_size": ("INTEGER", "BIGINT"),
    "difference": "DOUBLE",
    "exceeds_threshold": "BOOLEAN",
}


def expectations(settings: BuildSettings | None = None) -> list[gxe.Expectation]:
    settings = settings or load_settings()
    return [
        *c.schema(COLUMNS),
        c.unique(["non_official_observation_id"]),
        *c.not_null(["non_official_observation_id", "official_observation_id", "non_official_source_id",
                     "exceeds_threshold", "official_value", "non_official_value"]),
        c.in_set("matched_on", ["series", "indicator"]),
        c.in_set("non_official_source_type", ["civil_society", "citizen_generated"]),
        gxe.ExpectColumnValuesToBeBetween(column="period_gap_years", min_value=-1, max_value=1, severity=c.CRITICAL),
        *c.canonical_codes([*DIMENSIONS, "unit"]),
        *c.value_ranges("official_value", "unit"),
        *c.value_ranges("non_official_value", "unit")[:-1],
        c.small_cells(settings.min_cell_size, value="non_official_value", sample_size="non_official_sample_size",
                      source_type="non_official_source_type"),
    ]
