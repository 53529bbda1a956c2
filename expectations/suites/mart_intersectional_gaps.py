"""Group vs reference values: one row per comparison, canonical codes, values in range, no small cells."""

from __future__ import annotations

from expectations.gx import gxe

from expectations.suites import _common as c
from ingestion.config import BuildSettings, load_settings

TABLE = "marts.mart_intersectional_gaps"
ASSET_KEY = ("marts", "mart_intersectional_gaps")
DIMENSIONS = ["sex", "age_group", "disability_status", "location", "income_quantile", "migratory_status",
              "population_group"]
GRAIN = ["observation_id", "comparison", "compared_dimension"]
CHUNK_KEY = GRAIN
SAMPLE_COLUMNS = [*GRAIN, "reference_observation_id", "source_id", "series_code", "geo_area_m49", "period_label"]

COLUMNS: dict[str, c.TypeSpec] = {
    "observation_id": "VARCHAR",
    "comparison": "VARCHAR",
    "compared_dimension": "VARCHAR",
    "source_type": "VARCHAR",
    "source_id": "VARCHAR",
    "series_code": "VARCHAR",
    "geo_area_m49": "INTEGER",
    "period_label": "VARCHAR",
    "unit": "VARCHAR",
    **{column: "VARCHAR" for column in DIMENSIONS},
    "intersection_depth": "INTEGER",
    "reference_observation_id": "VARCHAR",
    "group_value": "DOUBLE",
    "reference_value": "DOUBLE",
    "group_sample_size": ("INTEGER", "BIGINT"),
    "reference_sample_size": ("INTEGER", "BIGINT"),
}


def expectations(settings: BuildSettings | None = None) -> list[gxe.Expectation]:
    settings = settings or load_settings()
    return [
        *c.schema(COLUMNS),
        c.unique(GRAIN),
        c.in_set("comparison", ["total", "reference_group"]),
        *c.not_null(["compared_dimension"], where='comparison == "reference_group"'),
        c.in_set("compared_dimension", DIMENSIONS),
        gxe.ExpectColumnValuesToBeBetween(column="intersection_depth", min_value=1, max_value=len(DIMENSIONS),
                                          severity=c.CRITICAL),
        *c.canonical_codes([*DIMENSIONS, "unit"]),
        # lineage: both sides are rows of fct_indicator_observations
        *c.not_null(["observation_id", "reference_observation_id", "source_type", "source_id", "series_code"]),
        *c.not_null(["group_value", "reference_value"]),
        *c.value_ranges("group_value", "unit"),
        *c.value_ranges("reference_value", "unit")[:-1],  # the unknown-unit warning once is enough
        c.small_cells(settings.min_cell_size, value="group_value", sample_size="group_sample_size"),
        c.small_cells(settings.min_cell_size, value="reference_value", sample_size="reference_sample_size"),
    ]
