"""The GX runner and the fct suite on small frames: what blocks, what only warns."""

import datetime as dt

import pandas as pd
import pytest

from expectations.runner import Validator
from expectations.suites import fct_indicator_observations as suite


@pytest.fixture(scope="module")
def validator():
    return Validator()


def good_frame() -> pd.DataFrame:
    base = {column: "_T" for column in suite.GRAIN}
    rows = []
    for i, (sex, value) in enumerate([("F", 12.0), ("M", 9.5), ("_T", 10.7)]):
        rows.append({**base, "observation_id": f"id{i}", "source_type": "official", "source_id": "unsd_sdg_api",
                     "series_code": "S", "geo_area_m49": 4, "period_label": "2020", "sex": sex,
                     "period_start": dt.date(2020, 1, 1), "value": value, "value_qualifier": None, "unit": "PT",
                     "is_suppressed": False, "sample_size": None, "other_disaggregation": None,
                     "ingested_at": dt.datetime(2026, 11, 21, tzinfo=dt.timezone.utc), "batch_id": "b1"})
    return pd.DataFrame(rows)


def test_good_frame_passes(validator):
    result = validator.validate(suite.TABLE, suite.expectations(), good_frame())
    assert result.passed and not result.warnings
    assert result.rows == 3 and len(result.outcomes) == len(suite.expectations())


@pytest.mark.parametrize(
    "mutate, expectation",
    [
        (lambda f: f.assign(value=[12.0, 101.0, 10.7]), 'expect_column_values_to_be_between(value) where unit == "PT"'),
        (lambda f: f.assign(observation_id=["id0", "id0", "id2"]), "expect_column_values_to_be_unique(observation_id)"),
        (lambda f: f.assign(sex=["F", "F", "_T"]), "expect_compound_columns_to_be_unique("),
        (lambda f: f.assign(batch_id=["b1", None, "b1"]), "expect_column_values_to_not_be_null(batch_id)"),
        (lambda f: f.assign(source_type=["official", "rumour", "official"]), "expect_column_values_to_be_in_set(source_type)"),
        (lambda f: f.drop(columns=["sample_size"]), "expect_table_columns_to_match_set("),
    ],
    ids=["percent-out-of-range", "duplicate-id", "duplicate-grain", "null-lineage", "unknown-source-type", "missing-column"],
)
def test_violations_block(validator, mutate, expectation):
    result = validator.validate(suite.TABLE, suite.expectations(), mutate(good_frame()))
    assert not result.passed
    assert any(o.expectation.startswith(expectation) for o in result.blocking_failures), result.summary_lines()


def test_unmapped_sex_only_warns(validator):
    result = validator.validate(suite.TABLE, suite.expectations(), good_frame().assign(sex=["F", "M", "unmapped"]))
    assert result.passed
    assert [o.expectation for o in result.warnings] == ["expect_column_values_to_be_in_set(sex)"]
    assert result.warnings[0].unexpected_sample == ["unmapped"]
