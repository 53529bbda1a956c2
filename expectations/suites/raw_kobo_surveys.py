"""One row per KoBo survey contract: the organisation, country and year its indicators are published with."""

from __future__ import annotations

from expectations.gx import gxe

from expectations.suites import _common as c
from ingestion.config import BuildSettings
from ingestion.kobo.validation import POLICIES

TABLE = "raw_kobo.surveys"
ASSET_KEY = ("raw_kobo", "surveys")
CHUNK_KEY = ["survey_id"]
SAMPLE_COLUMNS = ["survey_id", "organisation", "geo_area_m49", "contract", "run_id"]
LINEAGE = ["contract", "contract_sha256", "ingested_at", "run_id"]


def expectations(settings: BuildSettings) -> list[gxe.Expectation]:
    return [
        *c.schema(c.landing_columns(TABLE)),
        # a survey listed twice would double each of its indicator cells
        c.unique(["survey_id"]),
        *c.not_null(["survey_id", "title", "organisation", "geo_area_m49", "synthetic",
                     "published_validation_statuses", "published_statuses"]),
        c.in_set("published_validation_statuses", list(POLICIES)),
        *c.not_null(LINEAGE),
        # reported: what the contract schema already bounds
        gxe.ExpectColumnValuesToBeBetween(column="geo_area_m49", min_value=1, max_value=999, severity=c.WARNING),
        gxe.ExpectColumnValuesToBeBetween(column="reference_year", min_value=1990, max_value=2100,
                                          severity=c.WARNING),
        gxe.ExpectColumnValuesToMatchRegex(column="asset_uid", regex=r"^[A-Za-z0-9]{8,40}$", severity=c.WARNING),
        gxe.ExpectColumnValuesToMatchRegex(column="contract_sha256", regex=r"^[0-9a-f]{64}$", severity=c.WARNING),
    ]
