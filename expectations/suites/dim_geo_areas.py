"""Every geographic area once, named, with well-formed ISO codes."""

from __future__ import annotations

from expectations.gx import gxe

from expectations.suites import _common as c
from ingestion.config import BuildSettings

TABLE = "marts.dim_geo_areas"
ASSET_KEY = ("marts", "dim_geo_areas")
CHUNK_KEY = ["geo_area_m49"]
SAMPLE_COLUMNS = ["geo_area_m49", "geo_area_name", "iso3", "area_type"]

COLUMNS: dict[str, c.TypeSpec] = {
    "geo_area_m49": "INTEGER",
    "geo_area_name": "VARCHAR",
    "iso3": "VARCHAR",
    "iso2": "VARCHAR",
    "area_type": "VARCHAR",
    "region_m49_codes": "INTEGER[]",
    "region_names": "VARCHAR[]",
}


def expectations(settings: BuildSettings) -> list[gxe.Expectation]:
    return [
        *c.schema(COLUMNS),
        c.unique(["geo_area_m49"]),
        *c.not_null(["geo_area_m49", "area_type"]),
        *c.non_negative(["geo_area_m49"]),
        c.unique(["iso3"]),
        gxe.ExpectColumnValuesToMatchRegex(column="iso3", regex=r"^[A-Z]{3}$", severity=c.CRITICAL),
        gxe.ExpectColumnValuesToMatchRegex(column="iso2", regex=r"^[A-Z]{2}$", severity=c.CRITICAL),
        *c.not_null(["geo_area_name"], c.WARNING),
    ]
