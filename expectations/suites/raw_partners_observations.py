"""Partner observations accepted at landing: intact structure, one row per file cell, full lineage.

Ingestion sets aside rows with unknown codes or impossible values (``raw_partners.quarantine``), so
codes and ranges are only reported here; the marts' suite is where they block.
"""

from __future__ import annotations

from expectations.gx import gxe

from expectations.suites import _common as c
from ingestion import canonical
from ingestion.config import BuildSettings

TABLE = "raw_partners.observations"
ASSET_KEY = ("raw_partners", "observations")
IDENTITY = ["partner_id", "source_file", "source_row", "source_column"]
CHUNK_KEY = IDENTITY
SAMPLE_COLUMNS = [*IDENTITY, "series_code", "geo_area_m49", "period_label", "batch_id"]
LINEAGE = ["partner_id", "source_file", "source_row", "file_sha256", "batch_id", "ingested_at"]
DIMENSIONS = ["sex", "age_group", "disability_status", "location", "income_quantile", "migratory_status",
              "population_group"]


def expectations(settings: BuildSettings) -> list[gxe.Expectation]:
    return [
        *c.schema(c.landing_columns(TABLE)),
        c.unique(IDENTITY),
        *c.not_null(LINEAGE),
        *c.not_null(["series_code", "geo_area_m49", "period_label", "unit"]),
        # reported: content that ingestion should already have set aside
        c.in_set("source_type", list(canonical.load().landed_source_types), c.WARNING),
        *[gxe.ExpectColumnValuesToNotBeInSet(column=d, value_set=[c.UNMAPPED], severity=c.WARNING)
          for d in DIMENSIONS],
        *c.value_ranges("value", "unit", c.WARNING),
        *c.non_negative(["sample_size"], c.WARNING),
        *c.not_null(["value"], c.WARNING, where="value_is_missing == False"),
    ]
