"""The GX runner and the suites on small DuckDB tables: what blocks, what only warns, what results say."""

import datetime as dt
import json
from pathlib import Path

import duckdb
import pytest

from expectations import registry
from expectations.gx import deferred
from expectations.registry import discover, previous_row_counts
from expectations.suites import _common as common
from expectations.suites import raw_kobo_restricted_submissions as kobo_submissions
from ingestion.config import load_settings
from ingestion.publish import publish
from tests import gx_testbed as fct
from tests.conftest import REPO, SNAPSHOT

runner = deferred("expectations.runner")  # GX is imported by the first test that validates, not at collection

pytestmark = pytest.mark.gx

SETTINGS = load_settings({"MIN_CELL_SIZE": "5"})
LANDING_TABLES = {"raw_sdg.series_observations", "raw_sdg.series_code_lists", "raw_sdg.series_loads",
                  "raw_sdg.series_hierarchy", "raw_sdg.geo_areas", "raw_sdg.geo_area_tree",
                  "raw_partners.observations", "raw_partners.quarantine", "raw_partners.files",
                  "raw_partners.partners", "raw_kobo_restricted.submissions", "raw_kobo.loads", "raw_kobo.surveys",
                  "raw_kobo.age_bands", "raw_kobo.indicator_definitions", "raw_kobo.indicator_conditions"}
SUITES = {suite.name: suite for suite in discover()}
LANDING_SUITES = sorted(name for name, suite in SUITES.items() if not suite.is_mart)
# landing tables of reference data and bookkeeping (the observation tables' suites are tested below and in
# tests/test_quality_gate.py)
REFERENCE_LANDING_SUITES = ["raw_sdg_geo_areas", "raw_sdg_geo_area_tree", "raw_sdg_series_code_lists",
                            "raw_sdg_series_hierarchy", "raw_sdg_series_loads", "raw_partners_files",
                            "raw_partners_partners", "raw_kobo_surveys", "raw_kobo_age_bands",
                            "raw_kobo_indicator_definitions", "raw_kobo_indicator_conditions"]


@pytest.fixture(scope="module")
def validator():
    return runner.Validator()


def fct_table(con: duckdb.DuckDBPyConnection, rows: int = 3) -> str:
    """marts.fct_indicator_observations with the suite's column types and ``rows`` good rows."""
    con.execute("create schema if not exists marts")
    columns = ", ".join(f'"{name}" {types if isinstance(types, str) else types[0]}'
                        for name, types in fct.COLUMNS.items())
    con.execute(f"create or replace table {fct.TABLE} ({columns})")
    con.execute(
        f"insert into {fct.TABLE} by name select 'id' || i as observation_id, 'official' as source_type, "
        "'unsd_sdg_api' as source_id, 'S' as series_code, 4 as geo_area_m49, (i + 2000)::varchar as period_label, "
        "'_T' as sex, '_T' as age_group, '_T' as disability_status, '_T' as location, '_T' as income_quantile, "
        "'_T' as migratory_status, '_T' as population_group, 'G' as reporting_type, "
        "null as other_disaggregation, make_date((i + 2000)::integer, 1, 1) as period_start, 10.5 + i % 80 as value, "
        "'PT' as unit, false as is_suppressed, 'https://unstats.un.org/sdgapi/v1/sdg/Series/Data' as source_request, "
        "timestamptz '2026-11-21 00:00:00+00' as ingested_at, 'b1' as batch_id from range($rows) as r(i)",
        {"rows": rows},
    )
    return fct.TABLE


def validate_fct(validator, con, **options):
    return validator.validate_table(con, fct.TABLE, fct.TABLE, fct.expectations(SETTINGS),
                                    chunk_key=fct.CHUNK_KEY, sample_columns=fct.SAMPLE_COLUMNS, **options)


def failing(result, severity="critical"):
    return {o.expectation: o for o in result.outcomes if not o.success and o.severity == severity}


# -- the registry ---------------------------------------------------------------------------------


def test_every_landing_table_and_every_mart_model_has_a_suite():
    suites = {suite.table: suite for suite in discover()}
    marts = {f"marts.{path.stem}" for path in (REPO / "dbt_project" / "models" / "marts").glob("*.sql")}
    missing = (LANDING_TABLES | marts) - set(suites)
    assert not missing, f"add expectations/suites/<name>.py for {sorted(missing)}"
    for suite in suites.values():
        assert suite.asset_key == tuple(suite.table.split(".")), suite.name
        expectations = suite.expectations(SETTINGS)
        assert expectations, suite.name
        severities = {str(getattr(e.severity, "value", e.severity)).lower() for e in expectations}
        assert severities <= {"critical", "warning"}, (suite.name, severities)
        assert "critical" in severities, suite.name
        # every suite checks schema and types
        assert any(runner.scope_of(e) == runner.SCHEMA and e.expectation_type == "expect_table_columns_to_match_set"
                   for e in expectations), suite.name


def test_a_new_suite_module_is_discovered(tmp_path, monkeypatch):
    package = tmp_path / "extra_suites"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "_helpers.py").write_text("TABLE = 'not.a_suite'\n")
    (package / "mart_new.py").write_text(
        '"""A new mart."""\nimport great_expectations.expectations as gxe\nTABLE = "marts.mart_new"\n'
        'ASSET_KEY = ("marts", "mart_new")\nCHUNK_KEY = ["id"]\n'
        'def expectations(settings):\n    return [gxe.ExpectColumnValuesToBeUnique(column="id", severity="critical")]\n'
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    [suite] = discover("extra_suites")
    assert (suite.name, suite.table, suite.asset_key, suite.check_name) == (
        "mart_new", "marts.mart_new", ("marts", "mart_new"), "mart_new_suite")
    assert suite.chunk_key == ("id",) and suite.description == "A new mart."


# -- the landing suites on the real landed data ---------------------------------------------------


@pytest.fixture(scope="module")
def landed(tmp_path_factory) -> Path:
    """A warehouse holding what the default run lands: the SDG replay snapshot (reference data and
    every default series) and the sample partner inbox (its KoBo export included), landed by the
    same ingestion code the Dagster assets call."""
    from ingestion.landing import ensure_landing_tables
    from ingestion.partners import ingest_inbox
    from ingestion.sdg_api.client import SdgApiClient, make_session
    from ingestion.sdg_api.land import land_series
    from ingestion.sdg_api.metadata import land_geo_areas, land_series_hierarchy
    from ingestion.sdg_api.series import default_series
    from ingestion.warehouse import connect

    root = tmp_path_factory.mktemp("landed")
    path = root / "warehouse.duckdb"
    base = "https://unstats.un.org/sdgapi"
    client = SdgApiClient(base, make_session("replay", base, SNAPSHOT))
    with connect(path) as con:
        ensure_landing_tables(con)
        land_series_hierarchy(con, client, "run-1")
        land_geo_areas(con, client, "run-1")
        areas = client.geo_area_codes()
        for series in default_series():
            land_series(con, client, series, areas, "run-1")
        ingest_inbox(con, REPO / "data" / "inbox", REPO / "contracts" / "partners", root / "reports", "run-1",
                     dt.datetime.now(dt.timezone.utc))
    return path


def validate_suite(validator, con, name: str):
    suite = SUITES[name]
    return validator.validate_table(con, suite.table, suite.table, suite.expectations(SETTINGS),
                                    chunk_key=suite.chunk_key, sample_columns=suite.sample_columns,
                                    show_values=suite.show_values)


def landed_copy(landed: Path, table: str) -> duckdb.DuckDBPyConnection:
    """An in-memory copy of one landed table (same types, real rows), for a test to break."""
    con = duckdb.connect()
    con.execute(f"attach '{landed}' as src (read_only)")
    schema = table.split(".")[0]
    con.execute(f"create schema {schema}")
    con.execute(f"create table {table} as select * from src.{table}")
    con.execute("detach src")
    return con


@pytest.mark.parametrize("name", LANDING_SUITES)
def test_landing_suite_passes_on_the_real_landed_data(validator, landed, name):
    with duckdb.connect(str(landed), read_only=True) as con:
        result = validate_suite(validator, con, name)
    assert result.rows > 0, f"{SUITES[name].table} is empty: the suite proved nothing"
    assert result.passed and not result.warnings, result.summary_lines()
    assert all(o.error is None for o in result.outcomes), [o.error for o in result.outcomes if o.error]


# (suite, how the landed table is broken, the critical expectation that must catch it, its unexpected count)
LANDING_VIOLATIONS = [
    ("raw_sdg_geo_areas", "duplicate-area", "insert into {t} select * from {t}",
     "expect_column_values_to_be_unique(geo_area_m49)", 2 * 370),  # every area of the 2020 extract, twice
    ("raw_sdg_geo_area_tree", "node-without-its-parent", "update {t} set parent_m49 = null where depth = 3",
     "expect_column_values_to_not_be_null(parent_m49) where depth > 0", 240),  # every country
    ("raw_sdg_geo_area_tree", "node-twice-under-its-parent", "insert into {t} select * from {t} where depth = 2",
     "expect_compound_columns_to_be_unique(root_m49,parent_m49,geo_area_m49)", 2 * 22),  # every sub-region
    ("raw_sdg_series_code_lists", "api-code-with-two-sdmx-codes",
     "insert into {t} select * replace ('_Z' as sdmx_code) from {t} where kind = 'dimension' and concept = 'Sex' "
     "and code = 'FEMALE' and series_code = 'SL_TLF_UEM'",
     "expect_compound_columns_to_be_unique(series_code,kind,concept,code)", 2),
    ("raw_sdg_series_code_lists", "null-lineage", "update {t} set batch_id = null where series_code = 'SL_TLF_UEM'",
     "expect_column_values_to_not_be_null(batch_id)", None),
    ("raw_sdg_series_hierarchy", "membership-twice",
     "insert into {t} select * from {t} where series_code = 'SH_OOP_XPD_EARNNET40' and release = '2025.Q4.G.01'",
     "expect_compound_columns_to_be_unique(goal_code,target_code,indicator_code,series_code,release)", 2),
    ("raw_sdg_series_hierarchy", "null-lineage",
     "update {t} set response_sha256 = null where goal_code = '4' and series_code in ('SE_TOT_CPLR', 'SE_AGP_CPRA')",
     "expect_column_values_to_not_be_null(response_sha256)", 2),
    ("raw_sdg_series_loads", "fewer-rows-than-the-api-reported",
     "update {t} set rows_landed = total_elements - 1 where series_code = 'SH_OOP_XPD_EARNNET40'",
     "expect_column_pair_values_to_be_equal(rows_landed,total_elements)", 1),
    ("raw_sdg_series_loads", "series-twice", "insert into {t} select * from {t} where series_code = 'SL_TLF_UEM'",
     "expect_column_values_to_be_unique(series_code)", 2),
    ("raw_partners_files", "landed-file-without-its-batch",
     "update {t} set landed_batch_id = null where partner_id = 'ability_forum'",
     'expect_column_values_to_not_be_null(landed_batch_id) where status in ["loaded", "loaded_with_rejections"]', 1),
    ("raw_partners_files", "landed-rows-of-another-version",
     "update {t} set landed_sha256 = repeat('0', 64) where partner_id = 'older_voices'",
     'expect_column_pair_values_to_be_equal(landed_sha256,sha256) where status in ["loaded", "loaded_with_rejections"]',
     1),
    ("raw_partners_files", "withdrawn-file-still-landed",
     "update {t} set status = 'withdrawn', landed_batch_id = null, landed_at = null where partner_id = 'older_voices'",
     'expect_column_values_to_be_null(landed_sha256) where status == "withdrawn"', 1),
    ("raw_partners_files", "file-twice", "insert into {t} select * from {t} where partner_id = 'older_voices'",
     "expect_compound_columns_to_be_unique(partner_id,source_file)", 2),
    ("raw_partners_partners", "partner-without-attribution",
     "update {t} set attribution = null where partner_id = 'older_voices'",
     "expect_column_values_to_not_be_null(attribution)", 1),
    ("raw_partners_partners", "partner-twice",
     "insert into {t} select * replace ('civil_society' as source_type) from {t} where partner_id = 'older_voices'",
     "expect_column_values_to_be_unique(partner_id)", 2),
    ("raw_kobo_surveys", "survey-twice",
     "insert into {t} select * replace ('Another title' as title) from {t}",
     "expect_column_values_to_be_unique(survey_id)", 2),
    ("raw_kobo_surveys", "survey-without-organisation", "update {t} set organisation = null",
     "expect_column_values_to_not_be_null(organisation)", 1),
    ("raw_kobo_age_bands", "band-that-holds-nobody", "update {t} set max_age = 17 where age_group = 'Y18T24'",
     "expect_column_pair_values_a_to_be_greater_than_b(max_age,min_age)", 1),
    ("raw_kobo_age_bands", "band-twice", "insert into {t} select * from {t} where age_group = 'Y25T64'",
     "expect_compound_columns_to_be_unique(survey_id,age_group)", 2),
    ("raw_kobo_indicator_definitions", "unknown-unit",
     "update {t} set unit = 'PERCENT' where series_code = 'CGD_INCOME_LOSS'",
     "expect_column_values_to_be_in_set(unit)", 1),
    ("raw_kobo_indicator_definitions", "definition-twice",
     "insert into {t} select * replace ('NUMBER' as unit) from {t} where series_code = 'CGD_INCOME_LOSS'",
     "expect_compound_columns_to_be_unique(survey_id,series_code)", 2),
    ("raw_kobo_indicator_conditions", "comparison-with-nothing",
     "update {t} set value = null where series_code = 'CGD_INCOME_LOSS' and op = 'eq'",
     'expect_column_values_to_not_be_null(value) where op in ["eq",', 1),
    ("raw_kobo_indicator_conditions", "list-operator-without-its-list",
     "update {t} set value_list = null where series_code = 'CGD_INCOME_LOSS' and op = 'in'",
     'expect_column_values_to_not_be_null(value_list) where op in ["in", "not_in"]', 1),
    ("raw_kobo_indicator_conditions", "unknown-operator", "update {t} set op = 'like' where op = 'contains'",
     "expect_column_values_to_be_in_set(op)", 1),
    ("raw_kobo_indicator_conditions", "unknown-role",
     "update {t} set role = 'filter' where series_code = 'CGD_HEALTH_COST_HARDSHIP' and role = 'denominator'",
     "expect_column_values_to_be_in_set(role)", 1),
]


@pytest.mark.parametrize("name, sql, expectation, count", [v[:1] + v[2:] for v in LANDING_VIOLATIONS],
                         ids=[f"{v[0]}-{v[1]}" for v in LANDING_VIOLATIONS])
def test_landing_suite_blocks_a_broken_landed_table(validator, landed, name, sql, expectation, count):
    suite = SUITES[name]
    with landed_copy(landed, suite.table) as con:
        assert validate_suite(validator, con, name).passed, "the copy is good before it is broken"
        con.execute(sql.format(t=suite.table))
        result = validate_suite(validator, con, name)
    assert not result.passed
    assert len(result.blocking_failures) == 1, result.summary_lines()
    [outcome] = result.blocking_failures
    assert outcome.expectation.startswith(expectation), outcome.expectation
    assert outcome.severity == "critical"
    assert outcome.unexpected_count == count if count is not None else outcome.unexpected_count >= 1
    assert outcome.sample_rows and set(suite.sample_columns) & set(outcome.sample_rows[0]), "offending rows shown"
    assert any(line.startswith(f"ERROR {outcome.expectation}") for line in result.summary_lines())


def test_each_reference_and_bookkeeping_landing_suite_has_a_blocking_violation_above():
    assert {v[0] for v in LANDING_VIOLATIONS} == set(REFERENCE_LANDING_SUITES) <= set(LANDING_SUITES)


@pytest.mark.parametrize(
    "name, sql, expectation",
    [("raw_partners_partners", "update {t} set source_type = 'rumour' where partner_id = 'older_voices'",
      "expect_column_values_to_be_in_set(source_type)"),
     ("raw_partners_files", "update {t} set status = 'pending' where partner_id = 'older_voices'",
      "expect_column_values_to_be_in_set(status)"),
     ("raw_sdg_series_code_lists", "update {t} set code = null where series_code = 'SL_TLF_UEM' "
      "and concept = 'Sex' and code = 'FEMALE'", "expect_column_values_to_not_be_null(code)")],
    ids=["partner-type-outside-the-vocabulary", "file-status-outside-the-vocabulary", "code-list-entry-without-code"],
)
def test_landing_suite_only_warns(validator, landed, name, sql, expectation):
    """Reported, not blocked: a rule downstream blocks it (dbt's accepted_values on the partner type, the
    marts' `unmapped` rule), or it does not change what is published."""
    suite = SUITES[name]
    with landed_copy(landed, suite.table) as con:
        con.execute(sql.format(t=suite.table))
        result = validate_suite(validator, con, name)
    assert result.passed
    assert [o.expectation for o in result.warnings] == [expectation]


# -- the fct suite -----------------------------------------------------------------------------


def test_good_table_passes_every_expectation(validator):
    with duckdb.connect() as con:
        fct_table(con)
        result = validate_fct(validator, con)
    assert result.passed and not result.warnings, result.summary_lines()
    assert result.rows == 3 and len(result.outcomes) == len(fct.expectations(SETTINGS))


def test_outcomes_follow_the_order_of_the_suite(validator):
    """GX returns results grouped its own way; each outcome must describe its own expectation."""
    expectations = fct.expectations(SETTINGS)
    with duckdb.connect() as con:
        fct_table(con)
        result = validate_fct(validator, con)
    for expectation, outcome in zip(expectations, result.outcomes):
        assert outcome.expectation.startswith(expectation.expectation_type), (expectation, outcome.expectation)


VIOLATIONS = [
    ("percent-out-of-range", "update {t} set value = 101.5 where observation_id = 'id1'",
     'expect_column_values_to_be_between(value) where unit == "PT"', 1, [101.5]),
    ("negative-rate", "update {t} set unit = 'PER_100000_EMP', value = -3 where observation_id = 'id1'",
     'expect_column_values_to_be_between(value) where unit == "PER_100000_EMP"', 1, [-3.0]),
    ("duplicate-grain", "update {t} set period_label = '2000' where observation_id = 'id1'",
     "expect_compound_columns_to_be_unique(", 2, None),
    ("duplicate-id", "update {t} set observation_id = 'id0' where observation_id = 'id1'",
     "expect_column_values_to_be_unique(observation_id)", 2, ["id0", "id0"]),
    ("unmapped-code", "update {t} set disability_status = 'unmapped' where observation_id = 'id2'",
     "expect_column_values_to_not_be_in_set(disability_status)", 1, ["unmapped"]),
    ("small-cell-with-a-value", "update {t} set source_type = 'citizen_generated', sample_size = 3, "
     "source_request = null where observation_id = 'id1'", "expect_column_values_to_be_null(value) where", 1, [11.5]),
    ("cell-of-unknown-size-with-a-value", "update {t} set source_type = 'citizen_generated', sample_size = null, "
     "source_request = null where observation_id = 'id1'", "expect_column_values_to_be_null(value) where", 1, [11.5]),
    ("small-civil-society-cell-with-a-value", "update {t} set source_type = 'civil_society', sample_size = 3, "
     "source_request = null where observation_id = 'id1'", "expect_column_values_to_be_null(value) where", 1, [11.5]),
    ("bounds-on-a-suppressed-cell", "update {t} set source_type = 'citizen_generated', sample_size = null, value = null, "
     "is_suppressed = true, lower_bound = 7.5, source_request = null where observation_id = 'id1'",
     "expect_column_values_to_be_null(lower_bound) where is_suppressed == True", 1, [7.5]),
    ("respondent-count-of-a-suppressed-cell", "update {t} set source_type = 'citizen_generated', sample_size = 3, "
     "value = null, is_suppressed = true, source_request = null where observation_id = 'id1'",
     "expect_column_values_to_be_null(sample_size) where is_suppressed == True", 1, [3]),
    ("null-lineage", "update {t} set batch_id = null where observation_id = 'id2'",
     "expect_column_values_to_not_be_null(batch_id)", 1, None),
    ("official-row-without-its-request", "update {t} set source_request = null",
     "expect_column_values_to_not_be_null(source_request)", 3, None),
    ("unknown-source-type", "update {t} set source_type = 'rumour' where observation_id = 'id0'",
     "expect_column_values_to_be_in_set(source_type)", 1, ["rumour"]),
    ("value-missing-but-not-suppressed", "update {t} set value = null where observation_id = 'id0'",
     "expect_column_values_to_not_be_null(value) where is_suppressed == False", 1, None),
    ("missing-column", "alter table {t} drop column sample_size", "expect_table_columns_to_match_set(", None, None),
    ("wrong-type", "alter table {t} alter column geo_area_m49 type varchar",
     "expect_column_values_to_be_in_set(geo_area_m49) [column types]", None, ["VARCHAR"]),
]


@pytest.mark.parametrize("sql, expectation, count, sample", [v[1:] for v in VIOLATIONS],
                         ids=[v[0] for v in VIOLATIONS])
def test_violations_block(validator, sql, expectation, count, sample):
    with duckdb.connect() as con:
        fct_table(con)
        con.execute(sql.format(t=fct.TABLE))
        result = validate_fct(validator, con)
    assert not result.passed
    matches = [o for label, o in failing(result).items() if label.startswith(expectation)]
    assert matches, result.summary_lines()
    outcome = matches[0]
    if count is not None:
        assert outcome.unexpected_count == count
        assert outcome.sample_rows, "offending rows are shown"
        assert set(fct.SAMPLE_COLUMNS) & set(outcome.sample_rows[0])
    if sample is not None:
        assert outcome.unexpected_sample == sample
    assert any(line.startswith(f"ERROR {outcome.expectation}") for line in result.summary_lines())


def test_a_suppressed_small_cell_passes(validator):
    with duckdb.connect() as con:
        fct_table(con)
        con.execute(f"update {fct.TABLE} set source_type = 'citizen_generated', sample_size = null, value = null, "
                    "is_suppressed = true, source_request = null where observation_id = 'id1'")
        result = validate_fct(validator, con)
    assert result.passed and not result.warnings, result.summary_lines()


def test_min_cell_size_comes_from_the_settings(validator):
    with duckdb.connect() as con:
        fct_table(con)
        con.execute(f"update {fct.TABLE} set source_type = 'citizen_generated', sample_size = 8, "
                    "source_request = null where observation_id = 'id1'")
        strict = validator.validate_table(con, fct.TABLE, fct.TABLE, fct.expectations(load_settings({"MIN_CELL_SIZE": "10"})))
        default = validate_fct(validator, con)
    assert not strict.passed and default.passed


@pytest.mark.parametrize(
    "sql, expectation",
    [("update {t} set sex = '_O' where observation_id = 'id0'", "expect_column_values_to_be_in_set(sex)"),
     ("update {t} set unit = 'FURLONGS' where observation_id = 'id0'", "expect_column_values_to_be_in_set(unit)")],
    ids=["code-outside-the-vocabulary", "unit-without-a-range"],
)
def test_only_warns(validator, sql, expectation):
    with duckdb.connect() as con:
        fct_table(con)
        con.execute(sql.format(t=fct.TABLE))
        result = validate_fct(validator, con)
    assert result.passed
    assert [o.expectation for o in result.warnings] == [expectation]
    assert result.summary_lines()[0].startswith(f"WARN {expectation}")


# -- row count against the last publication ------------------------------------------------------


def test_row_count_change_beyond_the_bound_warns(validator):
    with duckdb.connect() as con:
        fct_table(con, rows=10)
        within = validator.validate_table(con, fct.TABLE, fct.TABLE,
                                          [registry.row_count_expectation(previous=8, bound=0.5)])
        beyond = validator.validate_table(con, fct.TABLE, fct.TABLE,
                                          [registry.row_count_expectation(previous=4, bound=0.5)])
    assert within.passed and not within.warnings
    assert beyond.passed, "a row-count change is a warning, never blocking"
    [warning] = beyond.warnings
    assert warning.expectation.startswith("expect_table_row_count_to_be_between")
    assert warning.observed == 10 and "max_value=6" in warning.rule
    assert runner.scope_of(registry.row_count_expectation(4, 0.5)) == runner.TABLE


def test_row_count_change_bound_is_configurable():
    assert load_settings({}).row_count_change_warn == 0.5
    assert load_settings({"ROW_COUNT_CHANGE_WARN": "0.2"}).row_count_change_warn == 0.2
    for bad in ("lots", "-1"):
        with pytest.raises(ValueError, match="ROW_COUNT_CHANGE_WARN"):
            load_settings({"ROW_COUNT_CHANGE_WARN": bad})


def test_previous_row_counts_come_from_the_last_publication(tmp_path):
    warehouse, published = tmp_path / "w.duckdb", tmp_path / "p.duckdb"
    assert previous_row_counts(published) == {}
    with duckdb.connect(str(warehouse)) as con:
        fct_table(con, rows=4)
    publish(warehouse, published, [fct.TABLE], run_id="r1", checks={},
            input_snapshot={registry.LANDING_COUNTS_KEY: {"raw_sdg.series_observations": 40}})
    assert previous_row_counts(published) == {fct.TABLE: 4, "raw_sdg.series_observations": 40}


# -- chunks ------------------------------------------------------------------------------------


def test_chunks_find_duplicates_wherever_they_are(validator):
    """A table read in several DataFrames: a duplicate grain pair in different parts of the table is
    still found (rows are bucketed by the grain), and counts equal the one-chunk result."""
    with duckdb.connect() as con:
        fct_table(con, rows=200)
        con.execute(f"update {fct.TABLE} set period_label = '2003' where observation_id = 'id190'")
        con.execute(f"update {fct.TABLE} set value = 150 where observation_id in ('id5', 'id150')")
        whole = validate_fct(validator, con)
        chunked = validate_fct(validator, con, chunk_rows=30)
    assert whole.chunks == 1 and chunked.chunks == 7
    assert [(o.expectation, o.success, o.unexpected_count) for o in chunked.outcomes] == [
        (o.expectation, o.success, o.unexpected_count) for o in whole.outcomes]
    grain = next(o for o in chunked.blocking_failures if o.expectation.startswith("expect_compound_columns"))
    assert grain.unexpected_count == 2
    assert {row["observation_id"] for row in grain.sample_rows} == {"id3", "id190"}


def test_tables_without_a_chunk_key_are_streamed(validator):
    """Without uniqueness to keep exact, one scan is streamed in DataFrames of whole DuckDB vectors."""
    rules = [e for e in fct.expectations(SETTINGS) if "unique" not in e.expectation_type]
    with duckdb.connect() as con:
        fct_table(con, rows=5000)
        con.execute(f"update {fct.TABLE} set value = -1 where observation_id in ('id10', 'id4999')")
        whole = validator.validate_table(con, fct.TABLE, fct.TABLE, rules)
        streamed = validator.validate_table(con, fct.TABLE, fct.TABLE, rules, chunk_rows=2048,
                                            sample_columns=["observation_id"])
    assert (whole.chunks, streamed.chunks) == (1, 3)
    [percent] = streamed.blocking_failures
    assert percent.unexpected_count == 2 and percent.unexpected_sample == [-1.0, -1.0]
    assert sorted(row["observation_id"] for row in percent.sample_rows) == ["id10", "id4999"]
    assert [o.unexpected_count for o in whole.blocking_failures] == [2]


# -- privacy of results ----------------------------------------------------------------------


def test_respondent_level_results_show_no_values(validator):
    suite = next(s for s in discover() if s.table == kobo_submissions.TABLE)
    with duckdb.connect() as con:
        con.execute("create schema raw_kobo_restricted")
        columns = ", ".join(f'"{n}" {t if isinstance(t, str) else t[0]}' for n, t in common.landing_columns(kobo_submissions.TABLE).items())
        con.execute(f"create table {suite.table} ({columns})")
        for row in (1, 2):
            con.execute(
                f"insert into {suite.table} by name select 'survey' as survey_id, 'export.csv' as source_id, "
                "'secret-key' as submission_key, map {'age': '41'} as fields, 'valid' as coordinates_status, "
                "$row as source_row, 'export.csv' as source, 'sha' as source_sha256, now() as ingested_at, "
                "'b' as batch_id, 'r' as run_id", {"row": row})
        result = validator.validate_table(con, suite.table, suite.table, suite.expectations(SETTINGS),
                                          chunk_key=suite.chunk_key, sample_columns=suite.sample_columns,
                                          show_values=suite.show_values)
    [duplicate] = result.blocking_failures
    assert duplicate.expectation.startswith("expect_compound_columns_to_be_unique")
    assert duplicate.unexpected_count == 2 and duplicate.unexpected_sample == []
    assert [row["source_row"] for row in duplicate.sample_rows] == [1, 2]
    assert "secret-key" not in json.dumps([duplicate.sample_rows, result.summary_lines()])


# -- Data Docs -----------------------------------------------------------------------------------


def test_data_docs_page_for_each_validation(tmp_path):
    docs = tmp_path / "data_docs"
    validator = runner.Validator(data_docs_dir=docs)
    with duckdb.connect() as con:
        fct_table(con)
        con.execute(f"update {fct.TABLE} set value = 250 where observation_id = 'id0'")
        result = validate_fct(validator, con, run_name="run-42")
    assert result.data_docs and result.data_docs.startswith("file://")
    page = Path(result.data_docs.removeprefix("file://"))
    assert page.is_file() and "run-42" in page.parts
    html = page.read_text()
    assert "fct_indicator_observations" in html and "250" in html
    assert (docs / "index.html").is_file()


def test_data_docs_templates_are_compiled_once_per_process(tmp_path, monkeypatch):
    """GX builds a Jinja environment per page; the shared bytecode cache spares every later page the compile."""
    import jinja2

    with duckdb.connect() as con:
        fct_table(con)
        validate_fct(runner.Validator(data_docs_dir=tmp_path / "first"), con, run_name="warm")
        compiles = []
        original = jinja2.Environment.compile
        monkeypatch.setattr(jinja2.Environment, "compile", lambda self, *a, **k: compiles.append(a) or original(
            self, *a, **k))
        result = validate_fct(runner.Validator(data_docs_dir=tmp_path / "second"), con, run_name="again")
    page = Path(result.data_docs.removeprefix("file://"))
    assert page.is_file() and "fct_indicator_observations" in page.read_text()
    assert compiles == []


def test_vocabulary_and_units_come_from_the_dbt_seeds():
    assert {"F", "M", "_T"} <= set(common.vocabulary("sex"))
    assert "Y15T24" in common.vocabulary("age_group")
    assert ("PT", 0.0, 100.0) in common.units()


def test_low_cardinality_columns_read_as_categoricals_give_the_same_result(validator, monkeypatch):
    """Large tables read their code columns as categoricals (DuckDB ENUMs): same findings, same samples."""
    from expectations import runner

    with duckdb.connect() as con:
        fct_table(con, rows=300)
        con.execute(f"update {fct.TABLE} set sex = 'unmapped', value = 140 where observation_id = 'id7'")
        con.execute(f"update {fct.TABLE} set period_label = '2001' where observation_id = 'id250'")
        plain = validate_fct(validator, con, chunk_rows=100)
        monkeypatch.setattr(runner, "CATEGORY_MAX", 50)
        categorical = validate_fct(validator, con, chunk_rows=100)
        select = runner._select_list(con, fct.TABLE, ["sex", "observation_id"], runner.table_columns(con, fct.TABLE), 300)
    assert "as enum(" in select and '"observation_id"' in select.split(", ")[-1]
    summary = [(o.expectation, o.success, o.unexpected_count, o.unexpected_sample,
                sorted(json.dumps(r, sort_keys=True) for r in o.sample_rows)) for o in categorical.outcomes]
    assert summary == [(o.expectation, o.success, o.unexpected_count, o.unexpected_sample,
                        sorted(json.dumps(r, sort_keys=True) for r in o.sample_rows)) for o in plain.outcomes]
    assert {o.expectation.split("(")[0] for o in categorical.blocking_failures} >= {
        "expect_column_values_to_not_be_in_set", "expect_column_values_to_be_between", "expect_compound_columns_to_be_unique"}
