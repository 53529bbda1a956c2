"""A KoBo survey's age bands: each code once per survey, bounds that can hold an age."""

from __future__ import annotations

from expectations.gx import gxe

from expectations.suites import _common as c
from ingestion.config import BuildSettings

TABLE = "raw_kobo.age_bands"
ASSET_KEY = ("raw_kobo", "age_bands")
IDENTITY = ["survey_id", "age_group"]
CHUNK_KEY = IDENTITY
SAMPLE_COLUMNS = [*IDENTITY, "min_age", "max_age"]


def expectations(settings: BuildSettings) -> list[gxe.Expectation]:
    return [
        *c.schema(c.landing_columns(TABLE)),
        # a band listed twice would count its respondents twice
        c.unique(IDENTITY),
        *c.not_null(["survey_id", "age_group", "min_age"]),
        # a band whose maximum is below its minimum holds nobody: its respondents fall in no age cell
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="max_age", column_B="min_age", or_equal=True,
                                                    ignore_row_if="either_value_is_missing", severity=c.CRITICAL),
        # reported: ages are not negative; codes are the seed's age groups
        *c.non_negative(["min_age"], c.WARNING),
        *c.known_codes(["age_group"]),
    ]
