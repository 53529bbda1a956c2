"""Second line at publication: only the declared columns, and no civil-society value from a small cell."""

from __future__ import annotations

from expectations.suites import _common as c
from ingestion.config import BuildSettings

TABLE = "marts.mart_source_comparison"
SAMPLE_COLUMNS = ["non_official_observation_id", "official_observation_id", "non_official_source_id",
                  "non_official_series_code", "geo_area_m49", "non_official_period_label"]


def expectations(settings: BuildSettings) -> list:
    return [
        c.only_declared_columns(TABLE),
        c.small_cells(settings.min_cell_size, value="non_official_value", sample_size="non_official_sample_size",
                      source_type="non_official_source_type"),
    ]
