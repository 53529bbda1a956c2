"""Indicators each KoBo survey yields: one per survey and series, in a unit the aggregation knows."""

from __future__ import annotations

from expectations.gx import gxe

from expectations.suites import _common as c
from ingestion.config import BuildSettings

TABLE = "raw_kobo.indicator_definitions"
ASSET_KEY = ("raw_kobo", "indicator_definitions")
IDENTITY = ["survey_id", "series_code"]
CHUNK_KEY = IDENTITY
SAMPLE_COLUMNS = [*IDENTITY, "indicator_code", "unit"]
UNITS = ["PT", "NUMBER"]  # PT: percent of the denominator; NUMBER: respondents


def expectations(settings: BuildSettings) -> list[gxe.Expectation]:
    return [
        *c.schema(c.landing_columns(TABLE)),
        # a definition listed twice would double each of its cells
        c.unique(IDENTITY),
        *c.not_null(["survey_id", "series_code", "unit", "disaggregate_by"]),
        # the unit decides whether a cell's value is a percent or a count
        c.in_set("unit", UNITS),
        # reported: codes in the shapes the contract schema allows
        gxe.ExpectColumnValuesToMatchRegex(column="series_code", regex=r"^[A-Z][A-Z0-9_]{2,63}$",
                                           severity=c.WARNING),
        gxe.ExpectColumnValuesToMatchRegex(column="indicator_code", regex=r"^\d{1,2}\.[a-z0-9]{1,2}\.\d{1,2}$",
                                           severity=c.WARNING),
    ]
