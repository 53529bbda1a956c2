import json

import pytest

from ingestion.sdg_api.parse import RecordError, parse_code_lists, parse_observation, parse_value


@pytest.mark.parametrize(
    "raw, number, qualifier, missing, unparseable",
    [
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
        ("Infinity", None, None, False, True),
    ],
)
def test_parse_value(raw, number, qualifier, missing, unparseable):
    parsed = parse_value(raw)
    assert parsed.number == number
    assert parsed.qualifier == qualifier
    assert parsed.is_missing is missing
    assert parsed.is_unparseable is unparseable


def test_real_record_is_flattened_with_raw_strings_kept(sample_page):
    row = parse_observation(sample_page["data"][0])
    assert row["series_code"] == "SH_OOP_XPD_EARNNET40"
    assert row["geo_area_code_raw"] == "4" and row["geo_area_m49"] == 4
    assert row["time_period_start_raw"] == "2007.0" and row["time_period"] == 2007
    assert row["value_raw"] == "5.52" and row["value"] == 5.52
    assert row["indicator_codes"] == ["3.8.2"]
    assert json.loads(row["dimensions"]) == {
        "Age": "ALLAGE", "Location": "URBAN", "Sex": "BOTHSEX", "Reporting Type": "G",
        "Quantile": "_T", "Type_of_household": "_T",
    }
    assert json.loads(row["attributes"]) == {"Nature": "G", "Units": "PERCENT"}
    assert row["extra_fields"] is None


def test_every_sample_record_parses(sample_page):
    rows = [parse_observation(record) for record in sample_page["data"]]
    assert len(rows) == sample_page["totalElements"] == 62
    assert {row["time_period"] for row in rows} == {2007, 2013, 2016, 2020}
    assert not any(row["value_is_missing"] or row["value_is_unparseable"] for row in rows)


def test_unknown_fields_are_kept(sample_page):
    record = {**sample_page["data"][0], "newField": {"a": 1}}
    assert json.loads(parse_observation(record)["extra_fields"]) == {"newField": {"a": 1}}


@pytest.mark.parametrize("field", ["series", "geoAreaCode", "timePeriodStart", "value"])
def test_missing_required_field_is_an_error(sample_page, field):
    record = dict(sample_page["data"][0])
    del record[field]
    with pytest.raises(RecordError, match=field):
        parse_observation(record)


def test_code_lists_map_api_codes_to_sdmx(sample_page):
    rows = parse_code_lists(sample_page["dimensions"], "dimension") + parse_code_lists(sample_page["attributes"], "attribute")
    codes = {(row["concept"], row["code"]): row["sdmx_code"] for row in rows}
    assert {row["kind"] for row in rows if row["concept"] == "Units"} == {"attribute"}
    assert codes[("Sex", "BOTHSEX")] == "_T"
    assert codes[("Age", "60+")] == "Y_GE60"
    assert codes[("Location", "URBAN")] == "U"
    assert codes[("Units", "PERCENT")] == "PT"
    assert codes[("Nature", "NA")] == "_X"
