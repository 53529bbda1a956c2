"""Reading periods and numbers as partners write them."""

from __future__ import annotations

import csv
from datetime import date

import duckdb
import pytest

from ingestion import canonical
from ingestion.partners.codes import (
    CODE_LISTS,
    DIMENSIONS,
    MISSING_MARKERS,
    TOTAL,
    UNIT_RANGES,
    is_valid_code,
    label_key,
)
from ingestion.partners.evaluate.numbers import number_parse
from ingestion.partners.periods import parse_period
from tests.conftest import REPO


@pytest.mark.parametrize(
    ("raw", "label", "start", "end"),
    [
        ("2019", "2019", date(2019, 1, 1), date(2019, 12, 31)),
        (" 2019 ", "2019", date(2019, 1, 1), date(2019, 12, 31)),
        ("2019.0", "2019", date(2019, 1, 1), date(2019, 12, 31)),
        ("2019/20", "2019/20", date(2019, 1, 1), date(2020, 12, 31)),
        ("2019-20", "2019/20", date(2019, 1, 1), date(2020, 12, 31)),
        ("2019/2020", "2019/20", date(2019, 1, 1), date(2020, 12, 31)),
        ("1999/00", "1999/00", date(1999, 1, 1), date(2000, 12, 31)),
        ("2015-2017", "2015 to 2017", date(2015, 1, 1), date(2017, 12, 31)),
        ("2013/14 to 2015/16", "2013/14 to 2015/16", date(2013, 1, 1), date(2016, 12, 31)),
        ("2007/08 to 2008/09", "2007/08 to 2008/09", date(2007, 1, 1), date(2009, 12, 31)),
        ("2010 to 2012", "2010 to 2012", date(2010, 1, 1), date(2012, 12, 31)),
        ("2019-06-30", "2019-06-30", date(2019, 6, 30), date(2019, 6, 30)),
        ("2019-06-30 00:00:00", "2019-06-30", date(2019, 6, 30), date(2019, 6, 30)),
        ("30/06/2019", "2019-06-30", date(2019, 6, 30), date(2019, 6, 30)),
        ("30.06.2019", "2019-06-30", date(2019, 6, 30), date(2019, 6, 30)),
    ],
)
def test_periods(raw, label, start, end):
    period = parse_period(raw)
    assert period is not None, raw
    assert (period.label, period.start, period.end) == (label, start, end)


@pytest.mark.parametrize("raw", ["", " ", None, "2019/18", "2019/22", "20019", "1850", "next year", "2019-02-30",
                                 "31/02/2019", "2016 to 2014", "2019 Q1", "FY2019"])
def test_unreadable_periods(raw):
    assert parse_period(raw) is None


def _parse(cells: list[str | None], decimal: str) -> list[tuple]:
    levels = number_parse("cell", "v", decimal, sorted(MISSING_MARKERS))
    query = "with n0 as (select * from (select unnest(?::varchar[]) as cell, unnest(range(?)) as i))"
    query += "".join(f", n{depth + 1} as (select *, {', '.join(items)} from n{depth})" for depth, items in enumerate(levels))
    # value_qualifier as evaluate lands it: only beside a number
    query += f" select v_num, case when v_num is not null then v_qual end, v_missing, v_pct from n{len(levels)} order by i"
    return duckdb.connect().execute(query, [cells, len(cells)]).fetchall()


@pytest.mark.parametrize(
    ("cell", "number", "qualifier", "missing", "percent"),
    [
        ("12.5", 12.5, None, False, False),
        ("-3", -3.0, None, False, False),
        (" 7 ", 7.0, None, False, False),
        ("\u00a07.25\t", 7.25, None, False, False),
        ("1,234", 1234.0, None, False, False),
        ("1,234,567.5", 1234567.5, None, False, False),
        ("1 234.5", 1234.5, None, False, False),
        ("1'234", 1234.0, None, False, False),
        ("45%", 45.0, None, False, True),
        ("45 %", 45.0, None, False, True),
        ("<5", 5.0, "<", False, False),
        ("< 5", 5.0, "<", False, False),
        ("<=5", 5.0, "<", False, False),
        (">95", 95.0, ">", False, False),
        (">95%", 95.0, ">", False, True),
        ("1.5e3", 1500.0, None, False, False),
        (".5", 0.5, None, False, False),
        ("", None, None, True, False),
        (None, None, None, True, False),
        ("n/a", None, None, True, False),
        ("NA", None, None, True, False),
        ("..", None, None, True, False),
        ("-", None, None, True, False),
        ("x", None, None, True, False),
        ("12,5", None, None, False, False),  # a decimal comma in a dot-decimal file: not a number
        ("1,23", None, None, False, False),
        ("12.5.3", None, None, False, False),
        ("twelve", None, None, False, False),
        ("1e999", None, None, False, False),  # not finite
        ("inf", None, None, False, False),
        ("<", None, None, False, False),
        ("=1+1", None, None, False, False),
    ],
)
def test_numbers_with_a_decimal_point(cell, number, qualifier, missing, percent):
    assert _parse([cell], ".") == [(number, qualifier, missing, percent)]


@pytest.mark.parametrize(
    ("cell", "number"),
    [("12,5", 12.5), ("12", 12.0), ("1.234", 1234.0), ("1.234,5", 1234.5), ("1 234,5", 1234.5),
     ("12.5", 12.5), ("-0,5", -0.5), ("12,5,3", None), ("1.2.3", None)],
)
def test_numbers_with_a_decimal_comma(cell, number):
    assert _parse([cell], ",")[0][0] == number


def test_many_cells_keep_their_order():
    cells = [str(index) if index % 3 else f"{index},5" for index in range(50)]
    expected = [float(index) if index % 3 else None for index in range(50)]
    assert [row[0] for row in _parse(cells, ".")] == expected


@pytest.mark.parametrize(
    ("field", "code", "valid"),
    [("sex", "F", True), ("sex", "W", False), ("sex", "_T", True), ("location", "U", True),
     ("disability_status", "PD", True), ("disability_status", "PWND", False), ("income_quantile", "Q5", True),
     ("income_quantile", "Q6", False), ("age_group", "Y15T24", True), ("age_group", "Y_GE60", True),
     ("age_group", "15-24", False), ("unit", "PT", True), ("unit", "PERCENT", False),
     ("unit", "PER_100000_POP", True), ("unit", "PER_10000", False),
     ("series_code", "SH_OOP_XPD_EARNNET40", True), ("series_code", "sh oop", False),
     ("indicator_code", "3.8.2", True), ("indicator_code", "16.b.1", True), ("indicator_code", "3.8", False),
     ("migratory_status", "IDP", True), ("province", "HER", True), ("province", "Hérat", False),
     # closed lists are the vocabulary seed's (what the marts use): unknown (_U) is a code there
     ("sex", "_U", True), ("location", "_U", True), ("disability_status", "_U", True), ("income_quantile", "B40", True)],
)
def test_canonical_codes(field, code, valid):
    assert is_valid_code(field, code) is valid


def test_closed_code_lists_and_dimensions_are_the_canonical_model():
    model = canonical.load()
    assert DIMENSIONS == model.dimensions and TOTAL == model.total_code
    assert set(CODE_LISTS) == set(model.closed_code_lists)
    for dimension, codes in CODE_LISTS.items():
        assert codes == canonical.code_list(dimension) and TOTAL in codes


def test_partner_units_and_their_ranges_are_the_ones_dbt_loads():
    """The seed dbt maps units with is the list partner rows are checked against, read here on its own."""
    with (REPO / "dbt_project" / "seeds" / "units.csv").open(newline="", encoding="utf-8") as handle:
        seed = {row["code"]: (row["min_value"], row["max_value"]) for row in csv.DictReader(handle)}
    assert set(UNIT_RANGES) == set(seed) and "PT" in seed
    for code, (low, high) in UNIT_RANGES.items():
        assert (low, high) == tuple(float(bound) if bound else None for bound in seed[code])
    assert UNIT_RANGES["PT"] == (0.0, 100.0) and UNIT_RANGES["INDEX"] == (None, None)


def test_labels_compare_ignoring_case_spaces_and_unicode_form():
    assert label_key("  Déplacés   internes ") == label_key("de\u0301place\u0301s internes".upper()).casefold()
    assert label_key("FEMME") == label_key("femme")
