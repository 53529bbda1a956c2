"""Every published observation: grain, canonical codes, ranges by unit, small cells, lineage."""

from __future__ import annotations

from expectations.gx import gxe

from expectations.suites import _common as c
from ingestion.config import BuildSettings, load_settings

TABLE = "marts.fct_indicator_observations"
ASSET_KEY = ("marts", "fct_indicator_observations")
DIMENSIONS = [
    "sex", "age_group", "disability_status", "location", "income_quantile", "migratory_status",
    "population_group", "reporting_type",
]
GRAIN = [
    "source_type", "source_id", "series_code", "geo_area_m49", "period_label", "sex", "age_group",
    "disability_status", "location", "income_quantile", "migratory_status", "population_group",
    "reporting_type", "other_disaggregation",
]
LINEAGE = ["ingested_at", "batch_id"]
CHUNK_KEY = GRAIN
SAMPLE_COLUMNS = ["observation_id", "source_type", "source_id", "series_code", "geo_area_m49", "period_label",
                  "batch_id"]
SOURCE_TYPES = ["official", "civil_society", "citizen_generated"]

COLUMNS: dict[str, c.TypeSpec] = {
    "observation_id": "VARCHAR",
    **{column: "VARCHAR" for column in GRAIN},
    "geo_area_m49": "INTEGER",
    "indicator_code": "VARCHAR",
    "series_description": "VARCHAR",
    "period_start": "DATE",
    "value": "DOUBLE",
    "value_qualifier": "VARCHAR",
    "unit": "VARCHAR",
    "lower_bound": "DOUBLE",
    "upper_bound": "DOUBLE",
    "nature": "VARCHAR",
    "sample_size": ("INTEGER", "BIGINT"),
    "is_suppressed": "BOOLEAN",
    "data_source": "VARCHAR",
    "source_file": "VARCHAR",
    "source_request": "VARCHAR",
    "iso3": "VARCHAR",
    "geo_area_name": "VARCHAR",
    "ingested_at": "TIMESTAMP WITH TIME ZONE",
    "batch_id": "VARCHAR",
}
REQUIRED_COLUMNS = list(COLUMNS)


def expectations(settings: BuildSettings | None = None) -> list[gxe.Expectation]:
    settings = settings or load_settings()
    return [
        *c.schema(COLUMNS),
        # grain
        c.unique(["observation_id"]),
        c.unique(GRAIN),
        c.in_set("source_type", SOURCE_TYPES),
        *c.not_null(["source_id", "series_code", "geo_area_m49", "period_start", "period_label", "is_suppressed"]),
        # canonical codes only: nothing unmapped (blocks); closed vocabularies as the seeds list them (warns)
        *c.canonical_codes([*DIMENSIONS, "unit"]),
        *c.known_codes(["sex", "disability_status", "location", "income_quantile", "reporting_type", "age_group"]),
        # values
        *c.not_null(["value"], where="is_suppressed == False"),
        *c.value_ranges("value", "unit"),
        c.in_set("value_qualifier", ["<", ">"]),
        *c.non_negative(["sample_size"]),
        c.small_cells(settings.min_cell_size),
        # a suppressed cell gives nothing away: no value, respondent count, bounds or qualifier
        *c.null(["value", "sample_size", "lower_bound", "upper_bound", "value_qualifier"], where="is_suppressed == True"),
        # lineage
        *c.not_null(LINEAGE),
        *c.not_null(["source_request"], where='source_type == "official"'),
    ]
