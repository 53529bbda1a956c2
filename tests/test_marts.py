"""The dbt marts on a small hand-made warehouse, against values computed by hand.

Raw rows are written straight into the landing tables (the dbt project is what is under test),
then the real `dbt build` runs on that file, tests included.
"""

import datetime as dt

import re
from pathlib import Path

import duckdb
import pytest

from ingestion.landing import ensure_landing_tables
from ingestion.warehouse import connect
from tests.conftest import run_dbt

pytestmark = pytest.mark.dbt

FETCHED = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)
SERIES = "SL_TLF_UEM"

# Official unemployment (%), Afghanistan 2020, as the API codes it.
OFFICIAL = [
    ({"Sex": "BOTHSEX", "Disability status": "_T", "Age": "ALLAGE"}, "10"),
    ({"Sex": "FEMALE", "Disability status": "_T", "Age": "ALLAGE"}, "12"),
    ({"Sex": "MALE", "Disability status": "_T", "Age": "ALLAGE"}, "8"),
    ({"Sex": "BOTHSEX", "Disability status": "PD", "Age": "ALLAGE"}, "20"),
    ({"Sex": "BOTHSEX", "Disability status": "PWD", "Age": "ALLAGE"}, "9"),
    ({"Sex": "FEMALE", "Disability status": "PD", "Age": "ALLAGE"}, "24"),
    ({"Sex": "FEMALE", "Disability status": "PWD", "Age": "ALLAGE"}, "10.8"),
    ({"Sex": "MALE", "Disability status": "PD", "Age": "ALLAGE"}, "16"),
    ({"Sex": "BOTHSEX", "Disability status": "_T", "Age": "15-24"}, "30"),  # API age code "15-24"
    ({"Sex": "BOTHSEX", "Disability status": "_T", "Age": "12-20"}, "33"),  # a code no vocabulary knows
]
CODE_LISTS = [
    ("Sex", "BOTHSEX", "_T"), ("Sex", "FEMALE", "F"), ("Sex", "MALE", "M"),
    ("Disability status", "_T", "_T"), ("Disability status", "PD", "PD"), ("Disability status", "PWD", "PWD"),
    ("Age", "ALLAGE", "_T"), ("Age", "15-24", "Y15T24"), ("Age", "12-20", "Y12T20"),
]

# Partner rows as landed (codes already canonical by the partner's contract):
# (partner, type, sex, age, disability, migratory, period, value, sample_size)
PARTNER = [
    ("youth_net", "civil_society", "_T", "Y15T24", "_T", "_T", "2021", 36.0, 400),  # partner label "15 to 24 years"
    ("youth_net", "civil_society", "_T", "_T", "_T", "IDP", "2021", 40.0, 300),  # no official IDP data
    ("survey_net", "citizen_generated", "_T", "_T", "_T", "_T", "2020", 25.0, 40),
    ("survey_net", "citizen_generated", "_T", "_T", "PD", "_T", "2020", 66.7, 3),  # under MIN_CELL_SIZE
    ("survey_net", "citizen_generated", "_T", "_T", "PWD", "_T", "2020", 21.6, 37),  # recoverable: 40 = 3 + 37
    ("youth_net", "civil_society", "_T", "_T", "PD", "_T", "2020", 26.0, 200),
    # A national statistics office's platform (ingestion/national): beside the UN's PD figure (20), and a
    # group the UN does not publish (men without disabilities).
    ("national_afg", "national_official", "_T", "_T", "PD", "_T", "2020", 21.5, None),
    ("national_afg", "national_official", "M", "_T", "PWD", "_T", "2020", 7.5, None),
]
# Breakdowns with no canonical column (published as other_disaggregation): (breakdowns, value, sample_size).
# The total says household_type=_T; the province cells leave the household type out (also the total).
HOUSEHOLDS = [({"household_type": "_T"}, 30.0, 100), ({"household_type": "single"}, 50.0, 3),  # 3 < MIN_CELL_SIZE
              ({"household_type": "couple"}, 28.3, 97),  # 100 = 3 + 97
              ({"province": "A"}, 20.0, 40), ({"province": "B"}, 35.0, 60)]

# Small cells that carry more than a value, 2023: (partner, type, sex, value, sample_size, lower, upper, qualifier).
DETAILED = [
    ("youth_net", "civil_society", "_T", 20.0, 50, 15.0, 25.0, None),
    ("youth_net", "civil_society", "F", 10.0, 2, 5.0, 15.0, "<"),  # a civil-society count under MIN_CELL_SIZE
    ("youth_net", "civil_society", "M", 20.4, 48, 16.0, 24.8, None),  # 50 = 2 + 48
    ("survey_net", "citizen_generated", "_T", 12.0, None, None, None, None),  # a survey cell of unknown size
]


def _load_fixture(con: duckdb.DuckDBPyConnection) -> None:
    ensure_landing_tables(con)
    for index, (dims, value) in enumerate(OFFICIAL):
        con.execute(
            """insert into raw_sdg.series_observations by name select
                 md5(?) as record_id, ? as series_code, ['8.5.2'] as indicator_codes, '4' as geo_area_code_raw,
                 4 as geo_area_m49, 'Afghanistan' as geo_area_name, '2020.0' as time_period_start_raw,
                 2020 as time_period, ? as value_raw, ?::double as value, false as value_is_missing,
                 false as value_is_unparseable, map(?, ?) as dimensions,
                 map(['Units', 'Nature'], ['PERCENT', 'E']) as attributes, 'https://example.test/page' as request_url,
                 1 as page, ? as record_index, ?::timestamptz as fetched_at, 'sha' as response_sha256, 'run' as run_id""",
            [str(index), SERIES, value, value, list(dims), list(dims.values()), index, FETCHED],
        )
    for concept, code, sdmx in CODE_LISTS:
        con.execute("insert into raw_sdg.series_code_lists values (?, 'dimension', ?, ?, ?, ?, 'u', ?, 'sha', 'b1')",
                    [SERIES, concept, code, code, sdmx, FETCHED])
    con.execute("insert into raw_sdg.series_code_lists values (?, 'attribute', 'Units', 'PERCENT', 'Percent', 'PT', "
                "'u', ?, 'sha', 'b1')", [SERIES, FETCHED])
    con.execute("insert into raw_sdg.series_loads values (?, 'b1', 'run', ?, ?, 1, 0, 0, 0, 0, ?, ?, 0, null, null)",
                [SERIES, len(OFFICIAL), len(OFFICIAL), FETCHED, FETCHED])
    for partner, kind in {(p[0], p[1]) for p in PARTNER}:
        con.execute("insert into raw_partners.partners values (?, ?, ?, 'CC-BY-4.0', ?, 'c.yml', 'csha', 'run', ?)",
                    [partner, partner, kind, f"{partner} (fictional)", FETCHED])
        con.execute(
            """insert into raw_partners.files by name select ? as partner_id, 'data.csv' as source_file,
                 'fsha' as sha256, 1 as size_bytes, 'csha' as contract_sha256, 'loaded' as status, '[]' as errors,
                 '[]' as notes, 1 as rows_read, 0 as rows_blank, 0 as cells_blank, 1 as observations_landed,
                 0 as observations_quarantined, 0 as values_missing, 'b2' as batch_id, 'run' as run_id,
                 ?::timestamptz as ingested_at, 'fsha' as landed_sha256, 'b2' as landed_batch_id,
                 ?::timestamptz as landed_at""",
            [partner, FETCHED, FETCHED],
        )
    for row, (partner, _, sex, age, disability, migratory, period, value, size) in enumerate(PARTNER, start=2):
        con.execute(
            """insert into raw_partners.file_observations by name select ? as partner_id, 'data.csv' as source_file,
                 ? as source_row, '8.5.2' as indicator_code, ? as series_code, 4 as geo_area_m49,
                 ? as period_label, make_date(?::integer, 1, 1) as period_start, ? as sex, ? as age_group,
                 ? as disability_status, ? as migratory_status, map() as extra_dimensions, ? as value,
                 false as value_is_missing, 'PT' as unit, ? as sample_size, map() as attributes,
                 ?::varchar as value_raw""",
            [partner, row, SERIES, period, period, sex, age, disability, migratory, value, size, value],
        )
    for row, (breakdowns, value, size) in enumerate(HOUSEHOLDS, start=len(PARTNER) + 2):
        con.execute(
            """insert into raw_partners.file_observations by name select 'survey_net' as partner_id,
                 'data.csv' as source_file, ? as source_row, '8.5.2' as indicator_code, ? as series_code,
                 4 as geo_area_m49, '2022' as period_label, make_date(2022, 1, 1) as period_start, '_T' as sex,
                 '_T' as age_group, '_T' as disability_status, '_T' as migratory_status,
                 map(?::varchar[], ?::varchar[]) as extra_dimensions, ? as value, false as value_is_missing,
                 'PT' as unit, ? as sample_size, map() as attributes, ?::varchar as value_raw""",
            [row, SERIES, list(breakdowns), list(breakdowns.values()), value, size, value],
        )

    for row, (partner, _, sex, value, size, lower, upper, qualifier) in enumerate(DETAILED, start=100):
        con.execute(
            """insert into raw_partners.file_observations by name select ? as partner_id, 'data.csv' as source_file,
                 ? as source_row, '8.5.2' as indicator_code, ? as series_code, 4 as geo_area_m49,
                 '2023' as period_label, make_date(2023, 1, 1) as period_start, ? as sex, '_T' as age_group,
                 '_T' as disability_status, '_T' as migratory_status, map() as extra_dimensions, ? as value,
                 false as value_is_missing, 'PT' as unit, ? as sample_size, ? as lower_bound, ? as upper_bound,
                 ? as value_qualifier, map() as attributes, ?::varchar as value_raw""",
            [partner, row, SERIES, sex, value, size, lower, upper, qualifier, value],
        )


@pytest.fixture(scope="module")
def marts(tmp_path_factory):
    directory = tmp_path_factory.mktemp("marts")
    warehouse = directory / "warehouse.duckdb"
    with connect(warehouse) as con:
        _load_fixture(con)
    # build, then test: the fixture's unknown age code blocks in the tests (test_unknown_code_blocks_publication),
    # and a failing test in `dbt build` would skip every mart downstream of it.
    completed = run_dbt("build", "--exclude-resource-type", "test", "--target-path", str(directory / "target"),
                        warehouse=warehouse)
    assert completed.returncode == 0, completed.stdout[-4000:]
    tested = run_dbt("test", "--target-path", str(directory / "target"), warehouse=warehouse)
    (directory / "dbt_test.log").write_text(tested.stdout)
    con = duckdb.connect(str(warehouse), read_only=True)
    yield con
    con.close()


def test_gap_of_women_with_disabilities(marts):
    rows = marts.execute(
        "select comparison, compared_dimension, reference_code, group_value, reference_value, difference, ratio, "
        "intersection_depth, dimensions_crossed from marts.mart_intersectional_gaps "
        "where source_type = 'official' and sex = 'F' and disability_status = 'PD' order by all"
    ).fetchall()
    by_comparison = {(r[0], r[1]): r for r in rows}
    assert set(by_comparison) == {("reference_group", "disability_status"), ("reference_group", "sex"), ("total", None)}
    # against women without disabilities: 24 / 10.8
    _, _, ref, group, reference, difference, ratio, depth, crossed = by_comparison[("reference_group", "disability_status")]
    assert (ref, group, reference, depth, crossed) == ("PWD", 24.0, 10.8, 2, "sex x disability_status")
    assert difference == pytest.approx(13.2) and ratio == pytest.approx(24 / 10.8)
    # against men with disabilities: 24 / 16; against everyone: 24 / 10
    assert by_comparison[("reference_group", "sex")][6] == pytest.approx(1.5)
    assert by_comparison[("total", None)][6] == pytest.approx(2.4)


def test_coverage_flags_where_civil_society_fills_the_gap(marts):
    flags = dict(marts.execute(
        "select migratory_status || '/' || age_group, civil_society_fills_gap from marts.mart_data_coverage "
        "where indicator_key = '8.5.2' and sex = '_T' and disability_status = '_T'"
    ).fetchall())
    assert flags["IDP/_T"] is True  # only the partner speaks about displaced people
    assert flags["_T/Y15T24"] is False  # official data exist for youth
    assert flags["_T/_T"] is False


def test_age_range_matches_across_vocabularies(marts):
    """The API's "15-24" and the partner's contract-mapped "15 to 24 years" meet as Y15T24."""
    rows = marts.execute(
        "select official_value, non_official_value, official_period_label, non_official_period_label, "
        "period_gap_years, difference, exceeds_threshold from marts.mart_source_comparison where age_group = 'Y15T24'"
    ).fetchall()
    assert rows == [(30.0, 36.0, "2020", "2021", 1, 6.0, True)]  # 6 points > the 5-point PT threshold


def test_national_figures_are_compared_with_the_un_and_civil_society_with_both(marts):
    rows = marts.execute(
        "select official_source_type, non_official_source_type, non_official_source_id, official_value, "
        "non_official_value, difference, exceeds_threshold from marts.mart_source_comparison "
        "where disability_status = 'PD' and sex = '_T' and age_group = '_T' order by all").fetchall()
    assert [(r[0], r[1], r[2], r[3], r[4], r[6]) for r in rows] == [
        ("national_official", "civil_society", "youth_net", 21.5, 26.0, False),  # 4.5 points: within the threshold
        ("official", "civil_society", "youth_net", 20.0, 26.0, True),  # 6 points
        ("official", "national_official", "national_afg", 20.0, 21.5, False),
    ]
    assert [r[5] for r in rows] == pytest.approx([4.5, 6.0, 1.5])


def test_national_data_fills_a_gap_the_un_leaves_and_is_never_suppressed(marts):
    coverage = marts.execute(
        "select has_official, has_national_official, national_fills_gap, civil_society_fills_gap "
        "from marts.mart_data_coverage where indicator_key = '8.5.2' and sex = 'M' and disability_status = 'PWD' "
        "and age_group = '_T' and migratory_status = '_T'").fetchall()
    assert coverage == [(False, True, True, False)]
    # no respondent count, yet published: suppression is for survey cells, not official aggregates
    assert marts.execute("select value, is_suppressed from marts.fct_indicator_observations "
                         "where source_id = 'national_afg' order by value").fetchall() == [(7.5, False), (21.5, False)]


def _cells(marts, key: str, source_id: str, period: str) -> dict:
    """Published cells by ``key``: (value, sample_size, is_suppressed, is_secondary_suppression)."""
    return {r[0]: r[1:] for r in marts.execute(
        f"select {key}, published.value, published.sample_size, published.is_suppressed, "
        "suppressed.is_secondary_suppression from marts.fct_indicator_observations as published "
        "join intermediate.int_observations_suppressed as suppressed using (observation_id) "
        "where published.source_id = ? and published.period_label = ?", [source_id, period]
    ).fetchall()}


def test_small_cell_and_its_secondary_suppression(marts):
    cells = _cells(marts, "published.disability_status", "survey_net", "2020")
    assert cells["PD"] == (None, None, True, False)  # primary: 3 respondents < 5; the count is not published
    assert cells["PWD"] == (None, None, True, True)  # secondary: else PD = total - PWD
    assert cells["_T"] == (25.0, 40, False, False)


def test_a_breakdown_without_a_canonical_column_is_protected_too(marts):
    cells = _cells(marts, "published.other_disaggregation", "survey_net", "2022")
    assert cells["household_type=single"] == (None, None, True, False)  # primary: 3 respondents < 5
    # secondary, along the household type (its total is the cell marked _T), not the smaller province cell
    assert cells["household_type=couple"] == (None, None, True, True)
    assert cells["household_type=_T"] == (30.0, 100, False, False)
    assert cells["province=A"] == (20.0, 40, False, False) and cells["province=B"] == (35.0, 60, False, False)


def test_a_suppressed_cell_gives_nothing_away(marts):
    """Bounds and a qualifier would bracket the hidden value; the respondent count would show how small."""
    rows = {r[0]: r[1:] for r in marts.execute(
        "select sex, value, sample_size, lower_bound, upper_bound, value_qualifier, is_suppressed "
        "from marts.fct_indicator_observations where source_id = 'youth_net' and period_label = '2023'"
    ).fetchall()}
    assert rows["F"] == (None, None, None, None, None, True)  # primary: a civil-society count of 2
    assert rows["M"] == (None, None, None, None, None, True)  # secondary: else F = 50 - 48, bounds included
    assert rows["_T"] == (20.0, 50, 15.0, 25.0, None, False)


def test_a_survey_cell_of_unknown_size_is_suppressed(marts):
    assert _cells(marts, "published.sex", "survey_net", "2023") == {"_T": (None, None, True, False)}


def test_unknown_code_flows_through_as_unmapped(marts):
    rows = marts.execute(
        "select age_group, unmapped_codes, value from marts.fct_indicator_observations where unmapped_codes is not null"
    ).fetchall()
    assert rows == [("unmapped", "age_group=12-20", 33.0)]


def test_unknown_code_blocks_publication_and_nothing_else_fails(marts):
    output = (Path(marts.execute("select path from duckdb_databases() where database_name = current_database()")
                   .fetchone()[0]).parent / "dbt_test.log").read_text()
    """The mart layer's gate is dbt: an unmapped code in a dimension fails (error severity, so Dagster blocks
    publication); every other rule on the fixture's marts passes."""
    failures = re.findall(r"Failure in test (\S+)", output)
    assert failures == ["canonical_codes_fct_indicator_observations_reporting_type"], output[-3000:]


def test_descriptions_are_persisted_as_comments(marts):
    missing = marts.execute(
        "select table_name, column_name from duckdb_columns() where schema_name = 'marts' and comment is null"
    ).fetchall()
    assert missing == []
