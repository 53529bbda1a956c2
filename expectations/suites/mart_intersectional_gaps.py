"""Second line at publication: only the declared columns, and neither side of a comparison is a small cell."""

from __future__ import annotations

from expectations.suites import _common as c
from ingestion.config import BuildSettings

TABLE = "marts.mart_intersectional_gaps"
SAMPLE_COLUMNS = ["observation_id", "comparison", "compared_dimension", "reference_observation_id", "source_id"]


def expectations(settings: BuildSettings) -> list:
    return [
        c.only_declared_columns(TABLE),
        c.small_cells(settings.min_cell_size, value="group_value", sample_size="group_sample_size"),
        c.small_cells(settings.min_cell_size, value="reference_value", sample_size="reference_sample_size"),
    ]
