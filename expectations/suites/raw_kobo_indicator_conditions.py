"""Numerator and denominator conditions of KoBo indicators: known roles and operators, operands present."""

from __future__ import annotations

from expectations.gx import gxe

from expectations.suites import _common as c
from ingestion.config import BuildSettings

TABLE = "raw_kobo.indicator_conditions"
ASSET_KEY = ("raw_kobo", "indicator_conditions")
IDENTITY = ["survey_id", "series_code", "role", "position"]
CHUNK_KEY = IDENTITY
SAMPLE_COLUMNS = [*IDENTITY, "field", "op"]
# what dbt's int_kobo_indicator_cells_aggregated evaluates (ingestion/kobo/contract.py: OPS_*)
OPS_WITH_VALUE = ["eq", "ne", "lt", "le", "gt", "ge", "contains"]
OPS_WITH_VALUES = ["in", "not_in"]
OPS_WITHOUT_VALUE = ["is_null", "not_null"]


def _ops(ops: list[str]) -> str:
    return "op in [" + ", ".join(f'"{op}"' for op in ops) + "]"


def expectations(settings: BuildSettings) -> list[gxe.Expectation]:
    return [
        *c.schema(c.landing_columns(TABLE)),
        c.unique(IDENTITY),
        *c.not_null([*IDENTITY, "field", "op"]),
        # a condition of another role is ignored, one with an unknown operator or a missing operand
        # never holds: either way the indicator counts the wrong respondents
        c.in_set("role", ["numerator", "denominator"]),
        c.in_set("op", OPS_WITH_VALUE + OPS_WITH_VALUES + OPS_WITHOUT_VALUE),
        *c.not_null(["value"], where=_ops(OPS_WITH_VALUE)),
        *c.not_null(["value_list"], where=_ops(OPS_WITH_VALUES)),
        # reported
        *c.non_negative(["position"], c.WARNING),
    ]
