"""The value rules (run in DuckDB) and the Python parsers of the small reference responses."""

import duckdb
import pytest

from ingestion.sdg_api.parse import parse_code_lists, parse_values

CASES = [
    ("12.5", 12.5, None, False, False),
    ("5.52", 5.52, None, False, False),
    ("12271", 12271.0, None, False, False),
    ("1,234.5", 1234.5, None, False, False),
    ("-3e2", -300.0, None, False, False),
    ("<5", 5.0, "<", False, False),
    ("> 95", 95.0, ">", False, False),
    ("NaN", None, None, True, False),
    ("N", None, None, True, False),
    ("NV", None, None, True, False),
    ("", None, None, True, False),
    (None, None, None, True, False),
    ("abc", None, None, False, True),
    ("<", None, None, False, True),
    ("1,5", None, None, False, True),
    ("Infinity", None, None, False, True),
    ("1e999", None, None, False, True),
    ("1,000e999", None, None, False, True),  # an overflow is not a number, with or without commas
    ("<= 5", 5.0, "<", False, False),
    (" 7 ", 7.0, None, False, False),
]


@pytest.mark.parametrize("raw, number, qualifier, missing, unparseable", CASES, ids=[repr(c[0]) for c in CASES])
def test_value_rules(raw, number, qualifier, missing, unparseable):
    with duckdb.connect() as con:
        [parsed] = parse_values(con, [raw])
    assert parsed.number == number
    assert parsed.qualifier == (None if qualifier is None else qualifier)
    assert parsed.is_missing is missing
    assert parsed.is_unparseable is unparseable


def test_value_rules_keep_order_over_a_list():
    with duckdb.connect() as con:
        parsed = parse_values(con, [c[0] for c in CASES])
    assert [p.number for p in parsed] == [c[1] for c in CASES]


def test_code_lists_map_api_codes_to_sdmx(sample_page):
    rows = parse_code_lists(sample_page["dimensions"], "dimension") + parse_code_lists(sample_page["attributes"], "attribute")
    codes = {(row["concept"], row["code"]): row["sdmx_code"] for row in rows}
    assert {row["kind"] for row in rows if row["concept"] == "Units"} == {"attribute"}
    assert codes[("Sex", "BOTHSEX")] == "_T"
    assert codes[("Age", "60+")] == "Y_GE60"
    assert codes[("Location", "URBAN")] == "U"
    assert codes[("Units", "PERCENT")] == "PT"
    assert codes[("Nature", "NA")] == "_X"
