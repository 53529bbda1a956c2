"""Goal > target > indicator > series, one row per series release: each membership once, with lineage."""

from __future__ import annotations

from expectations.gx import gxe

from expectations.suites import _common as c
from ingestion.config import BuildSettings

TABLE = "raw_sdg.series_hierarchy"
ASSET_KEY = ("raw_sdg", "series_hierarchy")
IDENTITY = ["goal_code", "target_code", "indicator_code", "series_code", "release"]
CHUNK_KEY = IDENTITY
SAMPLE_COLUMNS = [*IDENTITY, "request_url"]
LINEAGE = ["request_url", "fetched_at", "response_sha256", "run_id"]  # of the response each row came from
GOALS = [str(goal) for goal in range(1, 18)]


def expectations(settings: BuildSettings) -> list[gxe.Expectation]:
    return [
        *c.schema(c.landing_columns(TABLE)),
        c.unique(IDENTITY),
        *c.not_null(["goal_code"]),
        *c.not_null(LINEAGE),
        # reported: dim_indicators picks a series' latest release; one without a release or
        # indicator cannot be placed
        *c.not_null(["release", "indicator_code"], c.WARNING, where="series_code.notna()"),
        c.in_set("goal_code", GOALS, c.WARNING),
        gxe.ExpectColumnValuesToMatchRegex(column="tier", regex=r"^[123](/[123])*$", severity=c.WARNING),
    ]
