"""Partner data contracts: schema and meaning checks, clear errors, label mapping."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingestion.partners import ContractError, load_contract
from tests.partners_corpus.support import SAMPLE_CONTRACTS, UK_CONTRACTS


GOOD = """\
contract_version: 1
partner: {id: demo, name: Demo partner, type: civil_society}
licence: CC-BY-4.0
attribution: Demo
vocabularies:
  sex: {Female: F, Femme: F, women: F, Male: M, Homme: M}
  disability_status: {Yes: PD, No: PWD}
files:
  - pattern: "*.csv"
    format: open_sdg
    constants: {geo_area_m49: 4, unit: PT, series_code: SH_OOP_XPD_EARNNET40}
    columns: {period: Year, value: Value}
    dimensions: {sex: Sex, disability_status: Disabled}
"""


def write(tmp_path: Path, text: str, name: str = "demo.yml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems(tmp_path: Path, text: str, name: str = "demo.yml") -> str:
    with pytest.raises(ContractError) as caught:
        load_contract(write(tmp_path, text, name))
    return str(caught.value)


def test_the_committed_contracts_load():
    for path in [*sorted(SAMPLE_CONTRACTS.glob("*.yml")), UK_CONTRACTS / "uk_ons.yml"]:
        contract = load_contract(path)
        assert contract.partner_id == path.stem
        assert contract.type in ("civil_society", "citizen_generated")
        assert len(contract.sha256) == 64
    assert {path.stem for path in SAMPLE_CONTRACTS.glob("*.yml")} == {"ability_forum", "community_wg_survey", "idp_monitoring_network",
                                                                      "older_voices", "disability_rights_armenia",
                                                                      "armenia_community_monitors"}


def test_a_good_contract_maps_labels_in_the_partners_language(tmp_path):
    contract = load_contract(write(tmp_path, GOOD))
    for label in ("Female", "femme", "  WOMEN ", "F", "f"):
        assert contract.map_label("sex", label).code == "F", label
    assert contract.map_label("sex", "Homme").code == "M"
    unknown = contract.map_label("sex", "Femal")
    assert (unknown.code, unknown.problem, unknown.blank) == (None, "unknown_code", False)
    blank = contract.map_label("sex", " \u00a0")
    assert (blank.code, blank.blank) == (None, True)
    formula = contract.map_label("sex", "=cmd|' /C calc'!A0")
    assert (formula.code, formula.problem) == (None, "formula_text")


def test_yes_and_no_stay_labels_not_booleans(tmp_path):
    # YAML 1.1 would read `Yes:` and `No:` as true/false; the contract loader keeps them as text.
    contract = load_contract(write(tmp_path, GOOD))
    assert contract.map_label("disability_status", "Yes").code == "PD"
    assert contract.map_label("disability_status", "no").code == "PWD"


def test_unknown_field_is_named_with_a_suggestion_and_the_file(tmp_path):
    text = GOOD.replace("    columns: {period: Year, value: Value}", "    colums: {period: Year, value: Value}")
    message = problems(tmp_path, text)
    assert str(tmp_path / "demo.yml") in message
    assert "files[0]: unknown field 'colums' (did you mean 'columns'?)" in message
    assert "Fix:" in message


def test_every_problem_is_listed_at_once(tmp_path):
    text = GOOD.replace("type: civil_society", "type: charity").replace("licence: CC-BY-4.0\n", "")
    message = problems(tmp_path, text)
    assert "2 problem(s)" in message
    assert "'licence' is a required property" in message
    assert "partner.type: 'charity' is not allowed. Fix: use one of 'civil_society', 'citizen_generated'" in message


def test_wrong_codes_in_a_vocabulary_or_constant_are_refused(tmp_path):
    text = GOOD.replace("Femme: F", "Femme: W").replace("geo_area_m49: 4", "geo_area_m49: Afghanistan")
    message = problems(tmp_path, text)
    assert "vocabularies.sex.Femme: 'W' is not a valid sex code. Fix: use F, M, _T" in message
    assert "files[0].constants.geo_area_m49: 'Afghanistan' is not an M49 area code" in message


def test_every_key_field_needs_a_source(tmp_path):
    text = GOOD.replace("unit: PT, series_code: SH_OOP_XPD_EARNNET40", "unit: PT")
    assert "files[0]: no source for 'series_code'" in problems(tmp_path, text)


def test_partner_id_must_be_the_file_name(tmp_path):
    message = problems(tmp_path, GOOD, name="other.yml")
    assert "partner.id: 'demo' differs from the file name 'other.yml'" in message


def test_path_like_partner_ids_are_refused(tmp_path):
    message = problems(tmp_path, GOOD.replace("id: demo", "id: ../x"))
    assert "partner.id: '../x' has the wrong form" in message


def test_a_vocabulary_for_no_mapped_column_is_a_likely_typo(tmp_path):
    text = GOOD.replace("  disability_status: {Yes: PD, No: PWD}", "  disability_status: {Yes: PD, No: PWD}\n  sexe: {F: F}")
    assert "vocabularies.sexe: no file entry maps a column to 'sexe' (did you mean 'sex'?)" in problems(tmp_path, text)


def test_personal_columns_cannot_also_be_data(tmp_path):
    text = GOOD + "    personal_data: [Sex]\n"
    assert "personal_data: 'Sex' is also mapped as data" in problems(tmp_path, text)


def test_wide_files_need_their_value_columns_described(tmp_path):
    text = GOOD.replace("format: open_sdg", "format: wide").replace("columns: {period: Year, value: Value}", "columns: {}")
    assert "format 'wide' needs a 'wide' section" in problems(tmp_path, text)


def test_yaml_syntax_errors_give_the_line(tmp_path):
    text = GOOD.replace("licence: CC-BY-4.0", "licence: [CC-BY-4.0")
    message = problems(tmp_path, text)
    assert "line " in message and "not valid YAML" in message


def test_patterns_ignore_case_and_a_kobo_entry_needs_its_survey_contract(tmp_path):
    contract = load_contract(write(tmp_path, GOOD))
    assert contract.spec_for("data.CSV").format == "open_sdg"  # patterns ignore case
    assert contract.spec_for("notes.txt") is None
    text = GOOD + """\
  - pattern: "*.xlsx"
    format: kobo
"""
    assert "files[1]: format 'kobo' needs the survey contract. Fix: add kobo_contract:" in problems(tmp_path, text)
    # Format kobo is fully tested in tests/test_partners_kobo.py.
