"""KoBo submissions, one row per respondent (restricted): structure, identity, lineage; no values shown.

Results of this suite never carry a respondent's answers or keys: offending rows are shown by survey,
source and row number only (``SHOW_VALUES = False``).
"""

from __future__ import annotations

from expectations.gx import gxe

from expectations.suites import _common as c
from ingestion.config import BuildSettings

TABLE = "raw_kobo_restricted.submissions"
ASSET_KEY = ("raw_kobo_restricted", "submissions")
IDENTITY = ["survey_id", "source_id", "submission_key"]
CHUNK_KEY = IDENTITY
SAMPLE_COLUMNS = ["survey_id", "source_id", "source_row", "batch_id"]
SHOW_VALUES = False
LINEAGE = ["survey_id", "source_id", "source_row", "source", "source_sha256", "ingested_at", "batch_id", "run_id"]


def expectations(settings: BuildSettings) -> list[gxe.Expectation]:
    return [
        *c.schema(c.landing_columns(TABLE)),
        c.unique(IDENTITY),
        *c.not_null(LINEAGE),
        *c.not_null(["submission_key", "fields", "coordinates_status"]),
        # KoBo's three validation statuses (or null); every one lands, the survey's policy is applied by dbt
        c.in_set("validation_status", ["approved", "on_hold", "not_approved"]),
        c.in_set("coordinates_status", ["valid", "invalid", "outside_area", "missing", "not_collected"], c.WARNING),
        gxe.ExpectColumnValuesToBeBetween(column="gps_latitude", min_value=-90, max_value=90, severity=c.CRITICAL),
        gxe.ExpectColumnValuesToBeBetween(column="gps_longitude", min_value=-180, max_value=180,
                                          severity=c.CRITICAL),
    ]
