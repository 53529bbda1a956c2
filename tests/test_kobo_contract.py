"""KoBo contracts: the examples load, and every kind of mistake is refused with file, key and fix."""

import copy
from pathlib import Path

import pytest
import yaml

from ingestion.kobo.contract import (
    Condition,
    contract_for_asset,
    load_contract,
    load_contracts,
    parse_condition_text,
    parse_contract,
)
from ingestion.kobo.errors import KoboContractError

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "contracts" / "kobo" / "demo_wg_household_2025.yml"
TEST_CONTRACTS = REPO / "tests" / "data" / "kobo" / "contracts"


def demo_data() -> dict:
    return yaml.safe_load(DEMO.read_text(encoding="utf-8"))


def refused(data: dict) -> str:
    with pytest.raises(KoboContractError) as caught:
        parse_contract(data, origin="contracts/kobo/x.yml", base_dir=REPO)
    return str(caught.value)


def test_demo_contract_loads_with_its_fields_and_indicators():
    contract = load_contract(DEMO, base_dir=REPO)
    assert contract.survey_id == "demo_wg_household_2025"
    assert contract.synthetic is True and contract.geo_area_m49 == 466
    assert contract.origin == "contracts/kobo/demo_wg_household_2025.yml"
    assert contract.form_path == REPO / "data/kobo/demo_wg_household_2025/demo_wg_household_2025_form.xlsx"
    assert [spec.name for spec in contract.fields][:5] == ["sex", "age", "location", "admin1", "migratory_status"]
    assert contract.field("lost_income").sources == ("economy/lost_income", "livelihood/lost_income")
    assert contract.field("wg_cognition").codes["a_lot_of_difficulty"] == "A_LOT_OF_DIFFICULTY"  # YAML anchor
    assert contract.field("lost_income").codes == {"yes": "YES", "no": "NO", "dont_know": "DK"}
    assert contract.launch_date.isoformat() == "2025-03-10" and contract.test_tags == ("test", "pilot")
    assert contract.respondent_id == ("respondent/hh_code",)
    assert [(b.code, b.min_age, b.max_age) for b in contract.age_bands] == [
        ("Y18T24", 18, 24), ("Y25T64", 25, 64), ("Y_GE65", 65, None)]
    assert set(contract.derived_fields) == {"disability_status", "age_group"}
    income = contract.indicators[0]
    assert income.series_code == "CGD_INCOME_LOSS" and income.indicator_code == "1.2.2"
    assert income.numerator == (Condition("lost_income", "eq", value="YES"),)
    assert income.denominator == (Condition("lost_income", "in", values=("YES", "NO")),)
    assert income.disaggregate_by == ("disability_status", "sex", "age_group", "location")
    barrier = contract.indicators[3]
    assert barrier.numerator == (Condition("service_barriers", "contains", value="INACCESSIBLE_BUILDING"),)
    assert barrier.denominator == (Condition("service_barriers", "not_null"),)
    assert len(contract.sha256) == 64


def test_every_test_contract_loads():
    contracts = load_contracts(TEST_CONTRACTS, base_dir=REPO)
    assert sorted(contracts) == ["formpack_grouped_repeatable", "gc_biocultural_monitoring", "robotoolbox_group_names"]
    assert contracts["robotoolbox_group_names"].field("sex").codes == {"1": "M", "2": "F"}  # YAML numbers as keys
    assert contracts["formpack_grouped_repeatable"].repeats[0].sheet == "houshold_member_repeat"


def test_condition_shorthand_parses_to_triples():
    assert parse_condition_text(
        "lost_income == 'YES' and age >= 18 and sex in ('F', \"M\") and status not in (IDP) "
        "and barriers contains 'COST' and note is null and wg is not null and x != 3"
    ) == (
        Condition("lost_income", "eq", value="YES"),
        Condition("age", "ge", value="18"),
        Condition("sex", "in", values=("F", "M")),
        Condition("status", "not_in", values=("IDP",)),
        Condition("barriers", "contains", value="COST"),
        Condition("note", "is_null"),
        Condition("wg", "not_null"),
        Condition("x", "ne", value="3"),
    )
    for bad in ("a == 'x' or b == 'y'", "a ~ 'x'", "a in ('x'", "== 'x'"):
        with pytest.raises(ValueError):
            parse_condition_text(bad)


def test_a_misspelt_key_names_the_file_the_key_and_the_fix():
    data = demo_data()
    data["feilds"] = data.pop("fields")
    message = refused(data)
    assert "contracts/kobo/x.yml: $: Additional properties are not allowed ('feilds' was unexpected)" in message
    assert "Fix: remove it or fix its spelling" in message
    assert "'fields' is a required property" in message


def test_unquoted_yes_no_are_refused_with_the_quoting_hint():
    text = DEMO.read_text(encoding="utf-8").replace('{"yes": "YES", "no": "NO", dont_know: DK}',
                                                    '{yes: "YES", no: "NO", dont_know: DK}')
    with pytest.raises(KoboContractError, match=r"\$\.fields\.lost_income\.codes: a key reads as True\. Fix: quote it"):
        parse_contract(yaml.safe_load(text), origin="x.yml", base_dir=REPO)
    data = demo_data()
    data["fields"]["lost_income"]["codes"] = {"yes": True, "no": "NO"}
    assert "$.fields.lost_income.codes.yes: True is not of type 'string'. Fix: quote it" in refused(data)


def test_a_wrong_enum_lists_the_allowed_values():
    data = demo_data()
    data["fields"]["age"]["type"] = "number"
    message = refused(data)
    assert "$.fields.age.type: 'number' is not one of" in message
    assert 'Fix: use one of "select_one", "select_multiple", "integer", "decimal", "date", "text"' in message


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d["fields"].update(name={"source": "respondent/resp_name", "type": "text"}),
         "$.fields.name.source: respondent/resp_name is personal"),
        (lambda d: d["fields"].update(enumerator={"source": "_submitted_by", "type": "text"}),
         "$.fields.enumerator.source: _submitted_by is personal"),
        (lambda d: d["fields"].update(household={"source": "respondent/hh_code", "type": "text"}),
         "$.fields.household.source: respondent/hh_code is personal"),
        (lambda d: d["fields"]["sex"]["codes"].update(female="W"),
         "$.fields.sex.codes: W is not a canonical code for sex. Fix: use F, M"),
        (lambda d: d["fields"]["location"].pop("codes"),
         "$.fields.location: location is a standard field: it must be a select_one with codes"),
        (lambda d: d["fields"].pop("wg_selfcare"),
         "Washington Group short set incomplete: wg_selfcare missing"),
        (lambda d: d["indicators"][0].update(numerator="lost_income == 'yes'"),
         "$.indicators[0].numerator[0]: 'yes' is not a code of lost_income. Fix: use one of DK, NO, YES"),
        (lambda d: d["indicators"][0].update(numerator="income == 'YES'"),
         "$.indicators[0].numerator[0].field: 'income' is neither a canonical field"),
        (lambda d: d["indicators"][0].update(numerator="lost_income contains 'YES'"),
         "op contains is for select_multiple fields; lost_income is select_one"),
        (lambda d: d["indicators"][0].update(numerator="sex >= 'F'"),
         "op ge compares numbers but sex is select_one"),
        (lambda d: d["indicators"][0].update(disaggregate_by=["age"]),
         "$.indicators[0].disaggregate_by: age is integer; only single-choice fields"),
        (lambda d: d["indicators"][0].update(numerator="lost_income = 'YES'"),
         "$.indicators[0].numerator: cannot read the condition at \" = 'YES'\". Fix: write e.g."),
        (lambda d: d["indicators"].append(copy.deepcopy(d["indicators"][0])),
         "$.indicators[4].series_code: CGD_INCOME_LOSS is declared twice"),
        (lambda d: d["age_groups"][0].update(max=25),
         "$.age_groups[0]: code Y18T24 means min 18, max 24 but the band says min 18, max 25"),
        (lambda d: d["age_groups"][1].update(min=26),
         "$.age_groups[1]: bands must be contiguous and ascending: expected min 25"),
        (lambda d: d.update(form="data/kobo/nowhere/form.xlsx"),
         "$.form: data/kobo/nowhere/form.xlsx does not exist"),
        (lambda d: d["gps"].update(source="location/admin1"),
         "$.gps.source: the GPS question is also mapped as a field"),
        (lambda d: d["test_submissions"].update(launch_date="2025-02-30"),
         "$.test_submissions.launch_date: '2025-02-30' is not a calendar date"),
        (lambda d: d.update(survey_id="Demo Survey"),
         "$.survey_id: 'Demo Survey' does not match"),
    ],
    ids=["personal-name", "meta-username", "respondent-id", "sex-code", "standard-without-codes", "wg-incomplete",
         "condition-code-case", "unknown-field", "contains-on-select-one", "numeric-op-on-code", "disaggregate-integer",
         "bad-operator", "duplicate-series", "age-band-bounds", "age-band-gap", "missing-form", "gps-mapped",
         "impossible-date", "survey-id-pattern"],
)
def test_meaning_errors_name_the_key_and_the_fix(change, expected):
    data = demo_data()
    change(data)
    assert expected in refused(data)


def test_labels_select_multiple_without_form_needs_codes():
    data = {
        "survey_id": "labels_survey", "title": "t", "organisation": "org", "geo_area_m49": 4,
        "export": {"headers": "labels"},
        "fields": {"threats": {"source": "What threatens?", "type": "select_multiple"}},
    }
    assert "$.fields.threats.codes: a select_multiple read from label headers without a form needs codes" in refused(data)


def test_file_name_must_match_the_survey_id(tmp_path):
    path = tmp_path / "other_name.yml"
    path.write_text(DEMO.read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(KoboContractError, match=r"survey_id is 'demo_wg_household_2025' but the file is named "
                                                r"'other_name.yml'\. Fix: rename the file"):
        load_contract(path, base_dir=REPO)


def test_an_asset_without_a_contract_is_refused():
    contracts = load_contracts(TEST_CONTRACTS, base_dir=REPO).values()
    assert contract_for_asset(contracts, "aDMHypRASH2EuJdvKMx5Mi").survey_id == "robotoolbox_group_names"
    with pytest.raises(KoboContractError, match="KoBo asset aUnknownAsset1: no contract declares it"):
        contract_for_asset(contracts, "aUnknownAsset1")
