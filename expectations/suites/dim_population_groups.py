"""Population groups: each canonical code once, labelled, with non-negative observation counts."""

from __future__ import annotations

from expectations.gx import gxe

from expectations.suites import _common as c
from ingestion.config import BuildSettings

TABLE = "marts.dim_population_groups"
ASSET_KEY = ("marts", "dim_population_groups")
CHUNK_KEY = ["population_group"]
SAMPLE_COLUMNS = ["population_group", "label"]
COUNTS = ["official_observations", "non_official_observations"]

COLUMNS: dict[str, c.TypeSpec] = {
    "population_group": "VARCHAR",
    "label": "VARCHAR",
    "description": "VARCHAR",
    "official_coverage": "VARCHAR",
    **{column: ("BIGINT", "INTEGER") for column in COUNTS},
}


def expectations(settings: BuildSettings) -> list[gxe.Expectation]:
    return [
        *c.schema(COLUMNS),
        c.unique(["population_group"]),
        *c.canonical_codes(["population_group"]),
        *c.not_null(["label", *COUNTS]),
        *c.non_negative(COUNTS),
    ]
