"""The API's code lists per series (API code to SDMX code): one SDMX code per API code, with lineage."""

from __future__ import annotations

from expectations.gx import gxe

from expectations.suites import _common as c
from ingestion.config import BuildSettings

TABLE = "raw_sdg.series_code_lists"
ASSET_KEY = ("raw_sdg", "series_code_lists")
IDENTITY = ["series_code", "kind", "concept", "code"]
CHUNK_KEY = IDENTITY
SAMPLE_COLUMNS = [*IDENTITY, "sdmx_code", "request_url", "batch_id"]
LINEAGE = ["request_url", "fetched_at", "response_sha256", "batch_id"]


def expectations(settings: BuildSettings) -> list[gxe.Expectation]:
    return [
        *c.schema(c.landing_columns(TABLE)),
        # an API code listed twice would give its observations two SDMX codes (and two rows each)
        c.unique(IDENTITY),
        *c.not_null(["series_code", "kind", "concept"]),
        *c.not_null(LINEAGE),
        # reported: a code of another kind, or one without an SDMX code, leaves its observations
        # `unmapped`, and the marts' suites block that
        c.in_set("kind", ["dimension", "attribute"], c.WARNING),
        # sdmx_code may be null: the API's lists leave some codes without one, and the crosswalk seed maps
        # those; a code neither maps is reported downstream (assert_no_unmapped_codes, the fact suite).
        *c.not_null(["code"], c.WARNING),
    ]
