"""A draft contract from a sample file (``ingestion.partners.draft``, ``make draft-contract``): it loads with
``load_contract`` as it is, and the real ``ingest_partner`` lands the sample's rows with it; labels get
the seeds' codes or an ``# unknown: choose one of ...`` comment; personal columns are listed under
``personal_data``; an existing contract is never overwritten."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from ingestion.partners import load_contract
from ingestion.partners.draft import draft_contract, main
from ingestion.partners.draft_codes import propose_label
from ingestion.partners.draft_read import DraftError
from tests.conftest import REPO
from tests.partners_corpus.support import SAMPLE_INBOX, UK_FILES, workspace

NOW = datetime(2025, 3, 1, 9, 30, tzinfo=timezone.utc)
KOBO_SAMPLE = SAMPLE_INBOX / "community_wg_survey" / "demo_wg_household_2025.csv"
# What a person gives on the command line for the fields the files have no column for: the bundled
# partners report on Afghanistan (M49 4), the ONS files on the United Kingdom (826); the French file's
# unit label 'Pourcentage' is not in the seeds (the draft leaves it unknown), so its unit is given.
SAMPLE_CONSTANTS = {
    "idp_monitoring_network": {"geo_area_m49": "4", "unit": "PT"},
    "disability_rights_armenia": {"geo_area_m49": "51"},
    "armenia_community_monitors": {"geo_area_m49": "51", "series_code": "SI_POV_NAHC"},
    "uk_ons_indicator_10-3-1.csv": {"geo_area_m49": "826", "series_code": "UK_VC_HATE_CRIME"},
    "uk_ons_indicator_9-5-2.csv": {"geo_area_m49": "826"},
}
TABULAR_SAMPLES = sorted(path for path in SAMPLE_INBOX.glob("*/*") if path.suffix in (".csv", ".xlsx")
                         and path != KOBO_SAMPLE)


@pytest.fixture
def ws(tmp_path):
    space = workspace(tmp_path)
    yield space
    space.con.close()


def draft(ws, partner_id: str, path: Path, **options):
    return draft_contract(partner_id, path, ws.contracts, now=NOW, **options)


def lines_with(text: str, needle: str) -> list[str]:
    return [line for line in text.splitlines() if needle in line]


@pytest.mark.parametrize(
    ("partner_id", "path"),
    [*[(path.parent.name, path) for path in TABULAR_SAMPLES], *[("uk_ons", path) for path in UK_FILES]],
    ids=lambda value: value.name if isinstance(value, Path) else value,
)
def test_the_draft_of_each_sample_validates_and_lands_its_rows(ws, partner_id, path):
    constants = SAMPLE_CONSTANTS.get(partner_id) or SAMPLE_CONSTANTS.get(path.name) or {"geo_area_m49": "4"}
    result = draft(ws, partner_id, path, constants=constants)
    assert result.path == ws.contracts / f"{partner_id}.yml" and result.format in ("open_sdg", "wide")
    contract = load_contract(result.path)
    assert contract.spec_for(path.name) is not None

    ws.drop(partner_id, path)
    ingested = ws.run(partner_id)
    assert ingested.errors == []
    (outcome,) = ingested.files
    assert outcome.status in ("loaded", "loaded_with_rejections"), outcome.errors
    assert outcome.observations_landed > 0
    assert ws.rows("select count(*) from raw_partners.observations where partner_id = ?", [partner_id])[0][0] \
        == outcome.observations_landed


def test_the_draft_says_what_it_is_from_which_file_and_when(ws):
    path = SAMPLE_INBOX / "ability_forum" / "ability_forum_indicators_2016-2020.csv"
    text = draft(ws, "ability_forum", path, constants={"geo_area_m49": "4"}).text
    top = text.split("contract_version")[0]
    assert top.startswith("# DRAFT data contract for partner 'ability_forum'")
    assert "review" in top and "data/inbox/ability_forum/ability_forum_indicators_2016-2020.csv" in top
    assert "on 2025-03-01 09:30 UTC" in top
    assert all(line.startswith("#") for line in top.strip().splitlines())


def test_labels_the_seeds_know_get_their_code(ws):
    forum = draft(ws, "ability_forum", SAMPLE_INBOX / "ability_forum" / "ability_forum_indicators_2016-2020.csv",
                  constants={"geo_area_m49": "4"})
    vocabularies = load_contract(forum.path).vocabularies
    assert vocabularies["sex"] == {"female": "F", "male": "M"}  # vocabulary seed: Female, Male
    assert vocabularies["age_group"]["60 and over"] == "Y_GE60"  # age_groups seed, by its bounds
    assert vocabularies["unit"] == {"percentage": "PT"}
    assert lines_with(forum.text, '"Female": F') == ['    "Female": F                         # vocabulary seed: \'Female\'']

    voices = draft(ws, "older_voices", SAMPLE_INBOX / "older_voices" / "older_voices_survey.xlsx",
                   constants={"geo_area_m49": "4"})
    contract = load_contract(voices.path)
    assert contract.vocabularies["location"] == {"all": "_T", "urban": "U", "rural": "R"}
    assert contract.vocabularies["age_group"]["60+"] == "Y_GE60"  # label crosswalk (sdg_api)
    spec = contract.files[0]
    assert (spec.format, spec.read.sheet, spec.wide.header_is) == ("wide", "Data", "period")
    assert "column names on row 4" in voices.text


def test_an_unknown_label_is_left_out_with_the_codes_to_choose_from(ws):
    forum = draft(ws, "ability_forum", SAMPLE_INBOX / "ability_forum" / "ability_forum_indicators_2016-2020.csv",
                  constants={"geo_area_m49": "4"})
    (line,) = lines_with(forum.text, '"Femal"')
    assert re.fullmatch(r'\s+# "Femal":\s+# unknown: choose one of _T, F, M, _U, _X', line)
    assert "femal" not in load_contract(forum.path).vocabularies["sex"]

    idp = draft(ws, "idp_monitoring_network", SAMPLE_INBOX / "idp_monitoring_network" / "suivi_deplaces_2019-2021.csv",
                constants={"geo_area_m49": "4", "unit": "PT"})
    (line,) = lines_with(idp.text, '"Urbain"')
    assert "# unknown: choose one of _T, U, R, _U" in line
    assert load_contract(idp.path).vocabularies["location"] == {"rural": "R"}


def test_a_breakdown_the_seeds_do_not_know_is_kept_as_the_partners_own(ws):
    idp = draft(ws, "idp_monitoring_network", SAMPLE_INBOX / "idp_monitoring_network" / "suivi_deplaces_2019-2021.csv",
                constants={"geo_area_m49": "4", "unit": "PT"})
    spec = load_contract(idp.path).files[0]
    assert spec.dimensions["province"].headers == ("Province",)
    assert spec.dimensions["statut_migratoire"].headers == ("Statut migratoire",)
    assert "migratory_status" not in spec.dimensions  # no label of it is in the seeds: nothing coded wrongly
    assert spec.columns["sample_size"].headers == ("Taille de l'échantillon",)
    assert spec.attributes == ("Unité",)  # the unit was given as a constant


def test_personal_columns_are_listed_with_the_reason(ws, tmp_path):
    rows = ["Year,Series,Sex,Units,Value,Enumerator,Reach"]
    rows += [f"{2010 + index},SH_OOP_XPD_EARNNET40,{'Female' if index % 2 else 'Male'},Percent,{30 + index}.5,"
             f"Agent {index % 3},+93 70 555 {1000 + index}" for index in range(12)]
    path = tmp_path / "survey.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    result = draft(ws, "people_first", path, constants={"geo_area_m49": "4"})
    spec = load_contract(result.path).files[0]
    assert spec.personal_data == ("Enumerator", "Reach")
    assert "its name suggests personal data" in lines_with(result.text, '- "Enumerator"')[0]
    assert "look like a phone number" in lines_with(result.text, '- "Reach"')[0]

    ws.drop("people_first", path)
    (outcome,) = ws.run("people_first").files
    assert outcome.observations_landed == 12
    stored = ws.rows("select * from raw_partners.observations")
    assert not any("+93" in str(cell) or "Agent" in str(cell) for row in stored for cell in row)


def test_a_kobo_export_gets_format_kobo_and_its_survey_contract(ws):
    result = draft(ws, "community_wg_survey", KOBO_SAMPLE)
    spec = load_contract(result.path).files[0]
    assert (result.format, spec.format, spec.kobo_contract) == ("kobo", "kobo", "contracts/kobo/demo_wg_household_2025.yml")
    assert any("respondent/resp_phone" in line for line in lines_with(result.text, "personal"))
    ws.drop("community_wg_survey", KOBO_SAMPLE)
    (outcome,) = ws.run("community_wg_survey").files  # the bundled survey contract is synthetic: no salt needed
    assert outcome.observations_landed > 0


def test_a_kobo_export_without_a_survey_contract_says_one_is_needed(ws):
    result = draft(ws, "new_survey_org", KOBO_SAMPLE)
    assert result.format == "kobo"
    (line,) = lines_with(result.text, "kobo_contract:")
    assert "contracts/kobo/new_survey_org.yml" in line and "contracts/kobo/README.md" in line
    assert result.warnings and "contracts/kobo/README.md" in result.warnings[0]


def test_an_existing_contract_is_never_overwritten(ws, capsys):
    path = SAMPLE_INBOX / "ability_forum" / "ability_forum_indicators_2016-2020.csv"
    existing = ws.contract("ability_forum", "# the partner's real contract\n")
    with pytest.raises(DraftError, match="never overwrites"):
        draft(ws, "ability_forum", path, constants={"geo_area_m49": "4"})
    assert existing.read_text(encoding="utf-8") == "# the partner's real contract\n"

    code = main(["--partner", "ability_forum", "--file", str(path), "--contracts-dir", str(ws.contracts),
                 "--constant", "geo_area_m49=4"])
    assert code != 0 and "never overwrites" in capsys.readouterr().err
    assert existing.read_text(encoding="utf-8") == "# the partner's real contract\n"


def test_a_key_field_without_a_column_must_be_given_and_nothing_is_written(ws):
    with pytest.raises(DraftError) as raised:
        draft(ws, "uk_ons", UK_FILES[0], constants={"geo_area_m49": "826"})
    assert "series_code: the SDG series code, e.g. series_code=" in str(raised.value)
    assert "geo_area_m49" not in str(raised.value)  # given
    assert list(ws.contracts.iterdir()) == []


def test_the_command_line(ws):
    path = SAMPLE_INBOX / "older_voices" / "older_voices_survey.xlsx"
    done = subprocess.run(
        [sys.executable, "-m", "ingestion.partners.draft", "--partner", "older_voices", "--file", str(path),
         "--contracts-dir", str(ws.contracts), "--constant", "geo_area_m49=4", "--name", "Older Voices"],
        cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "draft contract written" in done.stdout and "unknown" in done.stdout
    assert load_contract(ws.contracts / "older_voices.yml").name == "Older Voices"
    again = subprocess.run(
        [sys.executable, "-m", "ingestion.partners.draft", "--partner", "older_voices", "--file", str(path),
         "--contracts-dir", str(ws.contracts), "--constant", "geo_area_m49=4"],
        cwd=REPO, capture_output=True, text=True)
    assert again.returncode == 2 and "never overwrites" in again.stderr


@pytest.mark.parametrize(("label", "code"), [("Households with a member with disability", "PD"),
                                             ("Households with a member without disability", "PWD"),
                                             ("Households with a member", None)])
def test_a_seed_label_found_inside_a_longer_label_is_proposed_for_review(label, code):
    proposal = propose_label("disability_status", label)
    assert proposal.code == code
    assert code is None or "found inside the label: check" in proposal.how
