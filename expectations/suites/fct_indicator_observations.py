"""Rules every published observation must meet (table ``marts.fct_indicator_observations``)."""

from __future__ import annotations

import great_expectations.expectations as gxe

TABLE = "marts.fct_indicator_observations"
GRAIN = [
    "source_type", "source_id", "series_code", "geo_area_m49", "period_label", "sex", "age_group",
    "disability_status", "location", "income_quantile", "migratory_status", "population_group",
    "reporting_type", "other_disaggregation",
]
LINEAGE = ["ingested_at", "batch_id"]
REQUIRED_COLUMNS = ["observation_id", *GRAIN, "value", "unit", "is_suppressed", "sample_size", *LINEAGE]


def expectations() -> list[gxe.Expectation]:
    critical = "critical"
    return [
        gxe.ExpectTableColumnsToMatchSet(column_set=REQUIRED_COLUMNS, exact_match=False, severity=critical),
        gxe.ExpectColumnValuesToBeUnique(column="observation_id", severity=critical),
        gxe.ExpectCompoundColumnsToBeUnique(column_list=GRAIN, ignore_row_if="never", severity=critical),
        gxe.ExpectColumnValuesToBeInSet(
            column="source_type", value_set=["official", "civil_society", "citizen_generated"], severity=critical
        ),
        *[gxe.ExpectColumnValuesToNotBeNull(column=c, severity=critical)
          for c in ["series_code", "geo_area_m49", "period_start", *LINEAGE]],
        gxe.ExpectColumnValuesToNotBeNull(
            column="value", row_condition="is_suppressed == False", condition_parser="pandas", severity=critical
        ),
        gxe.ExpectColumnValuesToBeBetween(
            column="value", min_value=0, max_value=100,
            row_condition='unit == "PT"', condition_parser="pandas", severity=critical,
        ),
        gxe.ExpectColumnValuesToBeInSet(column="value_qualifier", value_set=["<", ">"], severity=critical),
        gxe.ExpectColumnValuesToBeInSet(column="sex", value_set=["F", "M", "_T"], severity="warning"),
    ]
