"""Second line at publication, for the two rules that protect people: only the declared columns, and no value
in a cell too few respondents answered. Every other rule on the marts is a dbt test (models/marts/_marts.yml)."""

from __future__ import annotations

from expectations.suites import _common as c
from ingestion.config import BuildSettings

TABLE = "marts.fct_indicator_observations"
SAMPLE_COLUMNS = ["observation_id", "source_type", "source_id", "series_code", "geo_area_m49", "period_label",
                  "batch_id"]


def expectations(settings: BuildSettings) -> list:
    return [c.only_declared_columns(TABLE), c.small_cells(settings.min_cell_size)]
