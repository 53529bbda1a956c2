"""GeoArea/Tree, one row per node: each node once under its parent; every node below a root has one."""

from __future__ import annotations

from expectations.gx import gxe

from expectations.suites import _common as c
from ingestion.config import BuildSettings

TABLE = "raw_sdg.geo_area_tree"
ASSET_KEY = ("raw_sdg", "geo_area_tree")
IDENTITY = ["root_m49", "parent_m49", "geo_area_m49"]
CHUNK_KEY = IDENTITY
SAMPLE_COLUMNS = [*IDENTITY, "geo_area_name", "depth"]
LINEAGE = ["request_url", "fetched_at", "response_sha256", "run_id"]  # of the response each row came from


def expectations(settings: BuildSettings) -> list[gxe.Expectation]:
    return [
        *c.schema(c.landing_columns(TABLE)),
        c.unique(IDENTITY),
        *c.not_null(["root_m49", "geo_area_m49", "depth"]),
        *c.not_null(LINEAGE),
        # a node below a root without its parent loses its region memberships in dim_geo_areas
        *c.not_null(["parent_m49"], where="depth > 0"),
        # reported: a root is its own root and has no parent; depths count from 0
        gxe.ExpectColumnValuesToBeNull(column="parent_m49", severity=c.WARNING, row_condition="depth == 0",
                                       condition_parser="pandas"),
        gxe.ExpectColumnPairValuesToBeEqual(column_A="root_m49", column_B="geo_area_m49", severity=c.WARNING,
                                            row_condition="depth == 0", condition_parser="pandas"),
        *c.non_negative(["depth"], c.WARNING),
        c.in_set("geo_area_type", ["Region", "Country"], c.WARNING),
        *[gxe.ExpectColumnValuesToBeBetween(column=column, min_value=1, max_value=c.API_AREA_CODE_MAX, severity=c.WARNING)
          for column in IDENTITY],
    ]
