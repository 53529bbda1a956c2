"""KoBoToolbox exports through the partner inbox: a contract file entry with ``format: kobo`` names
its survey contract, and the file lands through ``ingestion.kobo`` into raw_kobo_restricted/raw_kobo,
tracked in raw_partners.files and explained in the partner's feedback report, without any answer
or personal data in reports, logs or raw_partners.

The exact numbers come from the committed sample (data/kobo/demo_wg_household_2025/README.md):
334 submissions, 320 kept, 14 set aside (4 before launch, 2 tagged test, 3 not approved,
3 re-sent copies, 2 versions replaced by an edit). The 3 not approved land in raw_kobo_restricted, like every
validation status: the survey's policy (published_validation_statuses) sets them aside in dbt.
"""

from __future__ import annotations

import csv
import html
import json
import logging
import re
import shutil
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pytest
import yaml

from ingestion.partners import ContractError, PartnerIngestResult, ingest_inbox, ingest_partner, load_contract
from tests.partners_corpus.support import REPO, SAMPLE_CONTRACTS, SAMPLE_INBOX, fingerprints

PARTNER = "community_wg_survey"
EXPORT = "demo_wg_household_2025.csv"
SAMPLE_CSV = SAMPLE_INBOX / PARTNER / EXPORT
DEMO_SURVEY = REPO / "contracts" / "kobo" / "demo_wg_household_2025.yml"
SOURCE_ID = f"{PARTNER}/{EXPORT}"
NOW = datetime(2025, 6, 2, 12, 0, tzinfo=timezone.utc)
LATER = datetime(2025, 6, 9, 12, 0, tzinfo=timezone.utc)
SALT = "partner-kobo-test-salt-5c2e9a71"
SAMPLE_EXCLUSIONS = {"duplicate": 3, "not_approved": 3, "superseded_edit": 2, "test_before_launch": 4, "test_tagged": 2}
SAMPLE_SUMMARY = ("320 interviews kept, 14 set aside: 4 pilot interviews before the launch date, 3 interviews not "
                  "approved, 3 re-sent copies of interviews, 2 interviews tagged as tests, 2 earlier versions replaced "
                  "by an edit.")


@pytest.fixture
def con():
    connection = duckdb.connect()
    yield connection
    connection.close()


def run(con, inbox: Path, contracts: Path, reports: Path, partner_id: str = PARTNER, *, run_id: str = "run-1",
        now: datetime = NOW, pii_salt: str | None = None) -> PartnerIngestResult:
    return ingest_partner(con, partner_id, inbox, contracts, reports, run_id, now, pii_salt=pii_salt)


def rows(con, sql: str, params: list | None = None) -> list[tuple]:
    return con.execute(sql, params or []).fetchall()


def sample_copy(tmp_path: Path) -> tuple[Path, Path, Path]:
    """The sample partner in a scratch inbox (its export may then be changed): inbox, contracts, export."""
    inbox, contracts = tmp_path / "inbox", tmp_path / "contracts"
    (inbox / PARTNER).mkdir(parents=True)
    contracts.mkdir()
    shutil.copyfile(SAMPLE_CONTRACTS / f"{PARTNER}.yml", contracts / f"{PARTNER}.yml")
    export = inbox / PARTNER / EXPORT
    shutil.copyfile(SAMPLE_CSV, export)
    return inbox, contracts, export


def read_export(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(encoding="utf-8", newline="") as handle:
        table = list(csv.reader(handle, delimiter=";"))
    return table[0], table[1:]


def write_export(path: Path, header: list[str], body: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=";", quoting=csv.QUOTE_ALL, lineterminator="\n")
        writer.writerows([header, *body])


def report_texts(reports: Path) -> dict[str, str]:
    """Every report page, HTML unescaped (so an escaped apostrophe in a name cannot hide it from a scan)."""
    return {str(path.relative_to(reports)): html.unescape(path.read_text(encoding="utf-8"))
            for path in sorted(reports.rglob("*")) if path.suffix in (".md", ".html")}


# --- the sample partner: the embedded default data -------------------------------------------------------


def test_the_sample_partner_lands_its_kobo_export_through_its_partner_contract(con, tmp_path):
    before = fingerprints(SAMPLE_INBOX)
    result = run(con, SAMPLE_INBOX, SAMPLE_CONTRACTS, tmp_path / "reports")
    assert fingerprints(SAMPLE_INBOX) == before  # the inbox is only read
    assert result.errors == [] and result.partner_name == "Community Disability Survey Network (fictional)"
    assert [(item.file_name, item.status, item.rows_read, item.observations_landed, item.observations_quarantined,
             item.rejected_by_reason, item.errors) for item in result.files] == [
        (EXPORT, "loaded_with_rejections", 334, 320, 14, SAMPLE_EXCLUSIONS, [])]
    # The interviews land in raw_kobo_restricted under the partner-relative source, counts in raw_kobo: the 3 not
    # approved land too (dbt applies the survey's validation status policy), and the partner reads them set aside.
    assert rows(con, "select survey_id, source_id, count(*) from raw_kobo_restricted.submissions group by all") == [
        ("demo_wg_household_2025", SOURCE_ID, 323)]
    assert rows(con, "select reason, row_count from raw_kobo.exclusions where source_id = ? order by reason",
                [SOURCE_ID]) == sorted((r, n) for r, n in SAMPLE_EXCLUSIONS.items() if r != "not_approved")
    assert rows(con, "select organisation, synthetic from raw_kobo.surveys") == [(PARTNER, True)]
    load = rows(con, "select source_kind, salt_kind, submissions_read, submissions_landed, batch_id from raw_kobo.loads")
    assert load[0][:4] == ("csv_export", "public_test_salt", 334, 323)
    # The partner side tracks the file (for the sensor and the report) but holds no interview.
    assert rows(con, """select format, status, sha256 = landed_sha256, landed_batch_id, rows_read, observations_landed,
                               observations_quarantined, contract_file from raw_partners.files""") == [
        ("kobo", "loaded_with_rejections", True, load[0][4], 334, 320, 14, f"{PARTNER}.yml")]
    assert rows(con, "select count(*) from raw_partners.file_observations") == [(0,)]
    assert rows(con, "select count(*) from raw_partners.labels") == [(0,)]
    assert rows(con, "select source_type from raw_partners.partners") == [("citizen_generated",)]
    metadata = result.metadata()
    assert json.loads(json.dumps(metadata)) == metadata
    assert metadata["per_file"][EXPORT]["rejected_by_reason"] == SAMPLE_EXCLUSIONS


def test_the_sample_report_explains_each_reason_in_plain_language(con, tmp_path):
    result = run(con, SAMPLE_INBOX, SAMPLE_CONTRACTS, tmp_path / "reports")
    page = result.files[0]
    markdown, page_html = page.report_markdown.read_text(), page.report_html.read_text()
    assert SAMPLE_SUMMARY in markdown and f"<p>{SAMPLE_SUMMARY}</p>" in page_html
    assert "**Accepted: some interviews were set aside (see below why).**" in markdown
    assert "| interviews in the file (KoBo submissions) | 334 |" in markdown
    assert "| interviews kept | 320 |" in markdown and "| interviews set aside | 14 |" in markdown
    assert "### 4 pilot interviews before the launch date (`test_before_launch`)" in markdown
    assert ("How to fix it: Nothing to do if the decision stands. If the interview was checked and is fine, change "
            "its validation status in KoBoToolbox and export again.") in markdown
    assert "- Interviews submitted before 2025-03-10, the launch date in the survey contract, count as pilot interviews" in markdown
    assert "- 12 columns identify people or devices" in markdown
    assert "- GPS points were rounded to 1 decimal (about 11 km) before being stored" in markdown
    assert "- `CGD_INCOME_LOSS`: Respondents who lost all or part of their income" in markdown
    index = result.report_markdown.read_text()
    assert (f"| [{EXPORT}](files/{EXPORT}.md) | loaded with rejections | 320 interviews | 14 interviews |  |"
            in index)


def test_the_sample_inbox_lands_every_partner_kobo_included(con, tmp_path):
    results = {result.partner_id: result for result in ingest_inbox(
        con, SAMPLE_INBOX, SAMPLE_CONTRACTS, tmp_path / "reports", "run-1", NOW)}
    assert sorted(results) == ["ability_forum", "armenia_community_monitors", PARTNER, "disability_rights_armenia",
                               "idp_monitoring_network", "older_voices"]
    assert all(not result.failed_files and not result.errors for result in results.values())
    assert rows(con, "select partner_id, format from raw_partners.files order by 1") == [
        ("ability_forum", "open_sdg"), ("armenia_community_monitors", "open_sdg"), (PARTNER, "kobo"),
        ("disability_rights_armenia", "open_sdg"), ("idp_monitoring_network", "open_sdg"), ("older_voices", "wide")]
    assert rows(con, "select distinct partner_id from raw_partners.file_observations order by 1") == [
        ("ability_forum",), ("armenia_community_monitors",), ("disability_rights_armenia",), ("idp_monitoring_network",),
        ("older_voices",)]


# --- versions ----------------------------------------------------------------------------------------------


def test_the_same_export_again_is_a_no_op(con, tmp_path):
    first = run(con, SAMPLE_INBOX, SAMPLE_CONTRACTS, tmp_path / "reports")
    kobo_before = {table: rows(con, f"select * from {table} order by all") for table in (
        "raw_kobo_restricted.submissions", "raw_kobo.loads", "raw_kobo.exclusions")}
    files_before = rows(con, "select * from raw_partners.files")
    report_before = first.files[0].report_markdown.read_text()
    second = run(con, SAMPLE_INBOX, SAMPLE_CONTRACTS, tmp_path / "reports", run_id="run-2", now=LATER)
    item = second.files[0]
    assert (item.status, item.rows_read, item.observations_landed, item.observations_quarantined,
            item.rejected_by_reason) == ("unchanged", 334, 320, 14, SAMPLE_EXCLUSIONS)
    assert item.batch_id == first.files[0].batch_id
    assert {table: rows(con, f"select * from {table} order by all") for table in kobo_before} == kobo_before
    assert rows(con, "select * from raw_partners.files") == files_before
    assert rows(con, "select distinct run_id, ingested_at from raw_kobo_restricted.submissions") == [("run-1", NOW)]
    assert item.report_markdown.read_text() == report_before


def test_an_export_removed_from_the_inbox_withdraws_its_interviews(con, tmp_path):
    inbox, contracts, export = sample_copy(tmp_path)
    other = inbox / PARTNER / "wave2.csv"
    shutil.copyfile(export, other)  # a second export: the folder is not left empty
    run(con, inbox, contracts, tmp_path / "reports")
    assert rows(con, "select count(*) from raw_kobo_restricted.submissions where source_id = ?",
                [f"{PARTNER}/{EXPORT}"])[0][0] == 323  # 334 read, 11 excluded (3 not approved land, unpublished)
    other.unlink()
    export.unlink()
    (inbox / PARTNER / "placeholder.csv").write_text("")  # something left in the folder (refused as empty)
    second = run(con, inbox, contracts, tmp_path / "reports", run_id="run-2", now=LATER)
    assert {item.file_name: item.status for item in second.files} == {
        "placeholder.csv": "rejected", EXPORT: "withdrawn", "wave2.csv": "withdrawn"}
    for table in ("raw_kobo_restricted.submissions", "raw_kobo_restricted.repeat_rows", "raw_kobo.loads",
                  "raw_kobo.exclusions", "raw_kobo.field_issues"):
        assert rows(con, f"select count(*) from {table}") == [(0,)], table
    assert rows(con, "select source_file, status from raw_partners.files order by 1") == [
        (EXPORT, "withdrawn"), ("placeholder.csv", "rejected"), ("wave2.csv", "withdrawn")]
    withdrawn = next(item for item in second.files if item.file_name == EXPORT)
    assert "no longer in your inbox folder" in withdrawn.report_markdown.read_text()


def test_a_changed_export_replaces_the_previous_one(con, tmp_path):
    inbox, contracts, export = sample_copy(tmp_path)
    first = run(con, inbox, contracts, tmp_path / "reports")
    old_batch = first.files[0].batch_id
    # The partner's supervisor deletes the three "Not Approved" interviews and exports again.
    header, body = read_export(export)
    status = header.index("_validation_status")
    kept = [row for row in body if row[status] != "Not Approved"]
    assert len(body) - len(kept) == 3
    write_export(export, header, kept)
    second = run(con, inbox, contracts, tmp_path / "reports", run_id="run-2", now=LATER)
    item = second.files[0]
    expected = {reason: n for reason, n in SAMPLE_EXCLUSIONS.items() if reason != "not_approved"}
    assert (item.status, item.rows_read, item.observations_landed, item.observations_quarantined,
            item.rejected_by_reason) == ("loaded_with_rejections", 331, 320, 11, expected)
    assert item.batch_id != old_batch
    # Only the new version is there, in every table, with the new lineage.
    assert rows(con, "select source_id, batch_id, run_id, ingested_at, count(*) from raw_kobo_restricted.submissions "
                     "group by all") == [(SOURCE_ID, item.batch_id, "run-2", LATER, 320)]
    assert rows(con, "select batch_id, submissions_read, submissions_excluded from raw_kobo.loads") == [
        (item.batch_id, 331, 11)]
    assert rows(con, "select reason, row_count from raw_kobo.exclusions order by reason") == sorted(expected.items())
    assert rows(con, "select sha256 = landed_sha256, landed_batch_id, rows_read, run_id from raw_partners.files") == [
        (True, item.batch_id, 331, "run-2")]
    markdown = item.report_markdown.read_text()
    assert "320 interviews kept, 11 set aside: 4 pilot interviews before the launch date," in markdown
    assert "not_approved" not in markdown


def test_an_unreadable_new_export_leaves_the_previous_one_in_use(con, tmp_path):
    inbox, contracts, export = sample_copy(tmp_path)
    first = run(con, inbox, contracts, tmp_path / "reports")
    before = rows(con, "select * from raw_kobo_restricted.submissions order by all")
    # Re-saved by a spreadsheet program with commas: the survey contract says semicolons.
    header, body = read_export(export)
    with export.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, delimiter=",", lineterminator="\n").writerows([header, *body])
    second = run(con, inbox, contracts, tmp_path / "reports", run_id="run-2", now=LATER)
    item = second.files[0]
    assert (item.status, [error.code for error in item.errors]) == ("rejected", ["kobo_export_unreadable"])
    assert item.errors[0].message.startswith("the file is separated by ',', but the contract says export.separator: ';'")
    assert rows(con, "select * from raw_kobo_restricted.submissions order by all") == before
    assert rows(con, "select status, sha256 <> landed_sha256, landed_batch_id from raw_partners.files") == [
        ("rejected", True, first.files[0].batch_id)]
    markdown = item.report_markdown.read_text()
    assert "**Not accepted: the file could not be used as a whole (see below).**" in markdown
    assert "is still the one in use" in markdown and "| interviews kept | 320 |" in markdown
    # The same broken bytes again: still rejected, not read again.
    third = run(con, inbox, contracts, tmp_path / "reports", run_id="run-3", now=LATER)
    assert [(entry.status, entry.errors[0].code) for entry in third.files] == [("rejected", "kobo_export_unreadable")]


def test_answers_that_cannot_be_used_are_counted_in_the_report_never_shown(con, tmp_path):
    inbox, contracts, export = sample_copy(tmp_path)
    header, body = read_export(export)
    age, sex = header.index("respondent/resp_age"), header.index("respondent/resp_sex")
    # Three interviews that are kept (after launch, approved or not yet validated, sent once).
    body[10][age], body[11][age], body[12][sex] = "131", "forty", "Femme"
    write_export(export, header, body)
    item = run(con, inbox, contracts, tmp_path / "reports").files[0]
    assert (item.observations_landed, item.rejected_by_reason) == (320, SAMPLE_EXCLUSIONS)  # kept, answer emptied
    assert rows(con, "select field, issue, row_count from raw_kobo.field_issues order by all") == [
        ("age", "invalid_integer", 1), ("age", "out_of_range", 1), ("sex", "unmapped_code", 1)]
    markdown = item.report_markdown.read_text()
    assert "## Answers we could not use" in markdown
    assert "| `age` | a number outside the range agreed in the survey contract (left empty) | 1 |" in markdown
    assert "| `age` | not a whole number (left empty) | 1 |" in markdown
    assert "| `sex` | a choice that is not in the survey contract's list (kept as `unmapped`) | 1 |" in markdown
    assert not {"131", "forty", "Femme"} & set(re.findall(r"\w+", markdown))


def test_an_export_with_no_interviews_is_refused_and_replaces_nothing(con, tmp_path):
    inbox, contracts, export = sample_copy(tmp_path)
    run(con, inbox, contracts, tmp_path / "reports")
    header, _ = read_export(export)
    write_export(export, header, [])
    item = run(con, inbox, contracts, tmp_path / "reports", run_id="run-2", now=LATER).files[0]
    assert (item.status, [error.code for error in item.errors]) == ("rejected", ["empty"])
    assert rows(con, "select count(*), min(run_id) from raw_kobo_restricted.submissions") == [(323, "run-1")]


# --- real surveys need PII_SALT ------------------------------------------------------------------------------------

MIXED_CONTRACT = """\
contract_version: 1
partner: {{id: mixed_partner, name: Mixed partner, type: citizen_generated}}
licence: CC-BY-4.0
attribution: Mixed partner
files:
  - label: household survey export
    pattern: "survey_*.csv"
    format: kobo
    kobo_contract: {kobo_contract}
  - label: yearly figures
    pattern: "figures.csv"
    format: open_sdg
    constants: {{geo_area_m49: 466, unit: PT, series_code: SH_OOP_XPD_EARNNET40}}
    columns: {{period: Year, value: Value}}
    dimensions: {{sex: Sex}}
"""


def real_survey_partner(tmp_path: Path) -> tuple[Path, Path]:
    """A partner sending a real (not synthetic) KoBo survey and a small Open SDG file."""
    survey = yaml.safe_load(DEMO_SURVEY.read_text(encoding="utf-8"))
    del survey["synthetic"]
    survey["organisation"] = "mixed_partner"
    (tmp_path / "kobo").mkdir()
    survey_path = tmp_path / "kobo" / "demo_wg_household_2025.yml"
    survey_path.write_text(yaml.safe_dump(survey, allow_unicode=True), encoding="utf-8")
    inbox, contracts = tmp_path / "inbox", tmp_path / "contracts"
    (inbox / "mixed_partner").mkdir(parents=True)
    contracts.mkdir()
    (contracts / "mixed_partner.yml").write_text(MIXED_CONTRACT.format(kobo_contract=survey_path), encoding="utf-8")
    shutil.copyfile(SAMPLE_CSV, inbox / "mixed_partner" / "survey_2025.csv")
    (inbox / "mixed_partner" / "figures.csv").write_text("Year,Sex,Value\n2024,F,31.5\n2024,M,28.0\n", encoding="utf-8")
    return inbox, contracts


def test_a_real_survey_without_a_salt_is_a_file_level_error_and_the_other_files_land(con, tmp_path, caplog):
    inbox, contracts = real_survey_partner(tmp_path)
    caplog.set_level(logging.INFO)
    result = run(con, inbox, contracts, tmp_path / "reports", "mixed_partner")
    assert result.errors == []
    by_name = {item.file_name: item for item in result.files}
    survey, figures = by_name["survey_2025.csv"], by_name["figures.csv"]
    assert (survey.status, [error.code for error in survey.errors], survey.observations_landed) == (
        "retry", ["pii_salt_missing"], 0)
    assert survey.errors[0].message == ("the pipeline's secret key for protecting respondent identifiers (PII_SALT) "
                                        "is missing or too short, so nothing from this survey was stored")
    assert (figures.status, figures.observations_landed) == ("loaded", 2)
    assert [item.file_name for item in result.failed_files] == ["survey_2025.csv"]
    assert rows(con, "select count(*) from raw_kobo_restricted.submissions") == [(0,)]
    assert rows(con, "select source_file, status from raw_partners.files order by 1") == [
        ("figures.csv", "loaded"), ("survey_2025.csv", "retry")]
    for text in (survey.report_markdown.read_text(), html.unescape(survey.report_html.read_text())):
        assert "Not processed yet: we will try again at the next run." in text
        assert "The pipeline's secret key for protecting respondent identifiers (PII_SALT) is missing" in text
    assert "survey_2025.csv" in caplog.text and "PII_SALT is not set" in caplog.text
    # Once the data team sets the salt, the same bytes are read again (a salt-less try never counts).
    later = run(con, inbox, contracts, tmp_path / "reports", "mixed_partner", run_id="run-2", now=LATER, pii_salt=SALT)
    by_name = {item.file_name: item for item in later.files}
    assert (by_name["survey_2025.csv"].status, by_name["survey_2025.csv"].observations_landed) == (
        "loaded_with_rejections", 320)
    assert by_name["figures.csv"].status == "unchanged"
    assert rows(con, "select salt_kind, source_id from raw_kobo.loads") == [("configured", "mixed_partner/survey_2025.csv")]
    for text in report_texts(tmp_path / "reports").values():
        assert SALT not in text


def test_setting_a_salt_later_re_lands_a_synthetic_survey_with_it(con, tmp_path):
    inbox, contracts, _ = sample_copy(tmp_path)
    first = run(con, inbox, contracts, tmp_path / "reports")
    second = run(con, inbox, contracts, tmp_path / "reports", run_id="run-2", now=LATER, pii_salt=SALT)
    assert second.files[0].status == "loaded_with_rejections" and second.files[0].batch_id != first.files[0].batch_id
    assert rows(con, "select salt_kind from raw_kobo.loads") == [("configured",)]
    third = run(con, inbox, contracts, tmp_path / "reports", run_id="run-3", now=LATER, pii_salt=SALT)
    assert third.files[0].status == "unchanged"


# --- contract errors -------------------------------------------------------------------------------------------------

KOBO_ENTRY = """\
contract_version: 1
partner: {{id: {partner}, name: K, type: citizen_generated}}
licence: CC-BY-4.0
attribution: K
files:
  - pattern: "*.csv"
    format: kobo
{extra}"""


def contract_problems(tmp_path: Path, extra: str, partner: str = PARTNER) -> str:
    path = tmp_path / f"{partner}.yml"
    path.write_text(KOBO_ENTRY.format(partner=partner, extra=extra), encoding="utf-8")
    with pytest.raises(ContractError) as caught:
        load_contract(path)
    return str(caught.value)


def test_a_bad_kobo_contract_path_is_a_clear_contract_error(con, tmp_path):
    message = contract_problems(tmp_path, "    kobo_contract: contracts/kobo/nowhere.yml\n")
    assert ("files[0].kobo_contract: contracts/kobo/nowhere.yml does not exist. Fix: write the survey contract there "
            "(see contracts/kobo/README.md) or correct the path (relative to the repository root)") in message
    # Through the inbox: the partner is told, its file is not read, nothing lands.
    inbox, contracts, _ = sample_copy(tmp_path)
    (contracts / f"{PARTNER}.yml").write_text(
        (SAMPLE_CONTRACTS / f"{PARTNER}.yml").read_text(encoding="utf-8").replace(
            "contracts/kobo/demo_wg_household_2025.yml", "contracts/kobo/nowhere.yml"), encoding="utf-8")
    result = run(con, inbox, contracts, tmp_path / "reports")
    assert [error.code for error in result.errors] == ["invalid_contract"]
    assert "contracts/kobo/nowhere.yml does not exist" in result.errors[0].message
    assert [(item.status, item.errors[0].code) for item in result.files] == [("rejected", "invalid_contract")]
    assert "contracts/kobo/nowhere.yml does not exist" in result.report_markdown.read_text()
    assert rows(con, "select count(*) from information_schema.tables where table_schema like 'raw_kobo%'") == [(0,)]


def test_a_kobo_contract_that_does_not_parse_is_a_clear_contract_error(tmp_path):
    broken = tmp_path / "kobo" / "broken_survey.yml"
    broken.parent.mkdir()
    broken.write_text("survey_id: broken_survey\ntitle: t\norganisation: community_wg_survey\ngeo_area_m49: 466\n"
                      "fields:\n  sex: {source: sex, type: select_one, codes: {f: W}}\n", encoding="utf-8")
    message = contract_problems(tmp_path, f"    kobo_contract: {broken}\n")
    assert f"files[0].kobo_contract: the survey contract {broken} is not valid:" in message
    assert "$.fields.sex" in message
    assert "Fix: correct the survey contract as each line says" in message
    broken.write_text("survey_id: [unclosed\n", encoding="utf-8")
    assert "not valid UTF-8 YAML" in contract_problems(tmp_path, f"    kobo_contract: {broken}\n")


def test_kobo_entries_are_checked_for_meaning(tmp_path):
    assert "files[0]: format 'kobo' needs the survey contract" in contract_problems(tmp_path, "")
    # A partner cannot send its exports under another organisation's survey contract.
    message = contract_problems(tmp_path, "    kobo_contract: contracts/kobo/demo_wg_household_2025.yml\n", "other_partner")
    assert ("the survey contract contracts/kobo/demo_wg_household_2025.yml belongs to organisation "
            "'community_wg_survey', not to this partner. Fix: set organisation: other_partner in it") in message
    # The survey contract alone says how the export is read and what is personal.
    message = contract_problems(tmp_path, "    kobo_contract: contracts/kobo/demo_wg_household_2025.yml\n"
                                          "    personal_data: [respondent/resp_name]\n    columns: {value: v}\n")
    assert "files[0].personal_data: a KoBo export is described by its survey contract" in message
    assert "files[0].columns: a KoBo export is described by its survey contract" in message
    message = contract_problems(tmp_path, "    kobo_contract: contracts/kobo/demo_wg_household_2025.yml\n"
                                          "  - pattern: '*.xlsx'\n    format: wide\n    kobo_contract: x.yml\n")
    assert "files[1].kobo_contract: only used with format 'kobo'. Fix: remove it or set format: kobo" in message


def test_the_sample_partner_contract_names_the_sample_survey():
    spec = load_contract(SAMPLE_CONTRACTS / f"{PARTNER}.yml").spec_for(EXPORT)
    assert (spec.format, spec.kobo_contract, spec.kobo.survey_id, spec.kobo.synthetic) == (
        "kobo", "contracts/kobo/demo_wg_household_2025.yml", "demo_wg_household_2025", True)
    assert spec.kobo.form_path == REPO / "data" / "kobo" / "demo_wg_household_2025" / "demo_wg_household_2025_form.xlsx"


# --- privacy -----------------------------------------------------------------------------------------------------

PERSONAL_COLUMNS = ("respondent/resp_name", "respondent/resp_phone", "respondent/hh_code", "comments", "deviceid",
                    "_submitted_by", "_uuid", "_location/gps_latitude", "_location/gps_longitude", "location/gps")
# Answers (region choices, as written and as labelled): counts and reasons only, never what people said.
ANSWERS = ("bamako", "kayes", "koulikoro", "sikasso", "segou", "Ségou", "mopti", "tombouctou", "Timbuktu", "gao")


def personal_values() -> set[str]:
    values: set[str] = set()
    with SAMPLE_CSV.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter=";"):
            values.update(row[column] for column in PERSONAL_COLUMNS)
    return {value for value in values if value.strip()}


def leaks(text: str, values: set[str] | tuple[str, ...]) -> list[str]:
    """Every value found in ``text`` as a whole word, ignoring case (so "gao" does not match "Gaoussou")."""
    alternatives = "|".join(re.escape(value) for value in sorted(values, key=len, reverse=True))
    return sorted(set(re.findall(rf"(?<![\w.])(?:{alternatives})(?![\w])", text, flags=re.IGNORECASE)))


def test_no_personal_data_or_answer_in_the_partner_reports_logs_or_raw_partners(con, tmp_path, caplog):
    values = personal_values()
    assert {"Mariam Kané", "+223 00 56 92 33", "HH-KAY-3359", "13.935388", "-10.469602", "enum_demo_05"} <= values
    sample_text = SAMPLE_CSV.read_text(encoding="utf-8")
    assert len(leaks(sample_text, values)) > 1000 and leaks(sample_text, ANSWERS)  # the scan finds them where they are
    caplog.set_level(logging.DEBUG)
    reports = tmp_path / "reports"
    results = [run(con, SAMPLE_INBOX, SAMPLE_CONTRACTS, reports),
               run(con, SAMPLE_INBOX, SAMPLE_CONTRACTS, reports, run_id="run-2", now=LATER)]
    inbox, contracts = real_survey_partner(tmp_path)
    results.append(run(con, inbox, contracts, reports, "mixed_partner"))  # refused: no salt
    results.append(run(con, inbox, contracts, reports, "mixed_partner", run_id="run-2", now=LATER, pii_salt=SALT))
    pages = report_texts(reports)
    assert {f"{PARTNER}/index.md", f"{PARTNER}/index.html", f"{PARTNER}/files/{EXPORT}.md",
            f"{PARTNER}/files/{EXPORT}.html", "mixed_partner/files/survey_2025.csv.md",
            "mixed_partner/files/survey_2025.csv.html"} <= set(pages)
    for name, text in pages.items():
        assert leaks(text, values) == [], name
        assert leaks(text, ANSWERS) == [], name
        assert SALT not in text, name
    assert "interviews kept" in pages[f"{PARTNER}/files/{EXPORT}.md"]  # the pages scanned are the real ones
    for result in results:
        assert leaks(json.dumps(result.metadata()), values) == []
        assert leaks(repr(result), values) == []
    assert "demo_wg_household_2025" in caplog.text  # the KoBo library's log lines were captured
    assert leaks(caplog.text, values) == [] and SALT not in caplog.text
    tables = rows(con, "select table_name from information_schema.tables where table_schema = 'raw_partners' "
                       "and table_type = 'BASE TABLE' order by 1")
    dump = "\n".join(repr(rows(con, f"select * from raw_partners.{table}")) for (table,) in tables)
    assert "survey_2025.csv" in dump and leaks(dump, values) == [] and leaks(dump, ANSWERS) == []
