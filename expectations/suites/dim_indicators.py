"""One row per series and SDG indicator: unique, named, with canonical units and sane counts."""

from __future__ import annotations

from expectations.gx import gxe

from expectations.suites import _common as c
from ingestion.config import BuildSettings

TABLE = "marts.dim_indicators"
ASSET_KEY = ("marts", "dim_indicators")
GRAIN = ["series_code", "indicator_code"]
CHUNK_KEY = GRAIN
SAMPLE_COLUMNS = GRAIN

COLUMNS: dict[str, c.TypeSpec] = {
    "series_code": "VARCHAR",
    "indicator_code": "VARCHAR",
    "goal_code": "VARCHAR",
    "target_code": "VARCHAR",
    "series_description": "VARCHAR",
    "unit": "VARCHAR",
    "source_types": "VARCHAR[]",
    "observations": ("BIGINT", "INTEGER"),
    "is_official_series": "BOOLEAN",
}


def expectations(settings: BuildSettings) -> list[gxe.Expectation]:
    return [
        *c.schema(COLUMNS),
        c.unique(GRAIN),
        *c.not_null(["series_code", "is_official_series", "observations"]),
        *c.non_negative(["observations"]),
        # a series with observations has a canonical unit (null only for hierarchy-only series)
        gxe.ExpectColumnValuesToNotBeInSet(column="unit", value_set=[c.UNMAPPED], severity=c.CRITICAL),
        *c.not_null(["unit"], where="observations > 0"),
        c.in_set("unit", [code for code, _, _ in c.units()], c.WARNING),
        gxe.ExpectColumnValuesToMatchRegex(column="indicator_code", regex=r"^\d{1,2}\.[0-9a-z]{1,2}\.\d{1,2}$",
                                           severity=c.WARNING),
    ]
