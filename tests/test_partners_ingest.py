"""Ingesting partner folders end to end: the UK Open SDG files, the sample inbox, versions,
atomicity, personal data, reports and the inbox helpers a Dagster sensor uses."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from datetime import datetime, timezone

import duckdb
import pytest

import ingestion.partners.land as land
from ingestion.partners import (
    DDL,
    InvalidPartnerIdError,
    inbox_problems,
    ingest_inbox,
    ingest_partner,
    list_partners,
    scan_inbox,
)
from tests.conftest import REPO
from tests.partners_corpus.support import (
    NOW,
    SAMPLE_CONTRACTS,
    SAMPLE_INBOX,
    UK_CONTRACTS,
    UK_FILES,
    fingerprints,
    workspace,
)


@pytest.fixture
def ws(tmp_path):
    space = workspace(tmp_path)
    yield space
    space.con.close()


def uk(ws):
    shutil.copyfile(UK_CONTRACTS / "uk_ons.yml", ws.contracts / "uk_ons.yml")
    return ws.drop("uk_ons", *UK_FILES)


# --- the UK Open SDG files: every value accounted for -----------------------------------------------


def test_uk_files_every_value_landed_or_set_aside_with_a_reason(ws):
    uk(ws)
    result = ws.run("uk_ons")
    assert result.errors == []
    by_file = {item.file_name: item for item in result.files}
    for path in UK_FILES:
        with open(path, newline="", encoding="utf-8") as handle:
            records = list(csv.DictReader(handle))
        landed = dict(ws.rows("select source_row, value_raw from raw_partners.observations where source_file = ?", [path.name]))
        rejected = dict(ws.rows("select source_row, reason_code from raw_partners.quarantine where source_file = ?", [path.name]))
        assert not set(landed) & set(rejected)
        for number, record in enumerate(records, start=2):  # row 1 is the header
            assert number in landed or number in rejected, (path.name, number)
            if number in landed:
                assert (landed[number] or "") == record["Value"]
        assert len(landed) + len(rejected) == len(records) == by_file[path.name].rows_read
    # 10-3-1: two ONS disability labels are deliberately not in the test contract's vocabulary.
    assert ws.rows("select source_row, reason_code, reason_column, reason_value from raw_partners.quarantine "
                   "where source_file = 'uk_ons_indicator_10-3-1.csv' order by 1") == [
        (20, "unknown_code", "Disability status", "Long-term health condition"),
        (21, "unknown_code", "Disability status", "Long-term health condition - Does not limit activities"),
    ]
    # 9-5-2: the 2012-2016 headline rows appear twice with different values: all ten set aside.
    assert ws.rows("select source_row, reason_detail from raw_partners.quarantine "
                   "where source_file = 'uk_ons_indicator_9-5-2.csv' and reason_code = 'conflicting_duplicate' order by 1") == [
        (166, "same breakdown in rows 166, 184"), (167, "same breakdown in rows 167, 185"),
        (168, "same breakdown in rows 168, 186"), (169, "same breakdown in rows 169, 187"),
        (170, "same breakdown in rows 170, 188"), (184, "same breakdown in rows 166, 184"),
        (185, "same breakdown in rows 167, 185"), (186, "same breakdown in rows 168, 186"),
        (187, "same breakdown in rows 169, 187"), (188, "same breakdown in rows 170, 188"),
    ]
    assert (by_file["uk_ons_indicator_10-3-1.csv"].observations_landed, by_file["uk_ons_indicator_9-5-2.csv"].observations_landed) == (97, 177)
    assert result.rejected_by_reason == {"conflicting_duplicate": 10, "unknown_code": 2}


def test_uk_values_land_in_canonical_codes(ws):
    uk(ws)
    ws.run("uk_ons")
    # Row 2 of 10-3-1: the disability hate-crime figure for 2007/08 to 2008/09, every breakdown blank.
    assert ws.rows("""
        select series_code, indicator_code, geo_area_m49, period_label, period_start, period_end, sex, age_group,
               disability_status, location, extra_dimensions, value, unit, attributes
        from raw_partners.observations where source_file = 'uk_ons_indicator_10-3-1.csv' and source_row = 2""") == [(
        "UK_VC_HATE_CRIME", "10.3.1", 826, "2007/08 to 2008/09", datetime(2007, 1, 1).date(), datetime(2009, 12, 31).date(),
        "_T", "_T", "_T", "_T", {"hate_crime_type": "Disability"}, 0.050195412582026123, "PT",
        {"Observation status": "Normal Value", "Unit multiplier": "Units"})]
    # The one blank Value (Mixed ethnic groups, 2017/18 to 2019/20) lands as a missing value.
    assert ws.rows("select value, value_is_missing, extra_dimensions from raw_partners.observations where value_is_missing") == [
        (None, True, {"ethnicity": "Mixed/multiple ethnic groups"})]
    # 9-5-2 by sex, age and region, in canonical codes; Region is the partner's own breakdown.
    assert ws.rows("""
        select sex, age_group, disability_status, extra_dimensions, unit, series_code from raw_partners.observations
        where source_file = 'uk_ons_indicator_9-5-2.csv' and source_row in (2, 40, 76) order by source_row""") == [
        ("M", "_T", "_T", None, "PER_1000000", "GB_POP_SCIERD"),
        ("_T", "Y55T64", "_T", None, "PER_1000000", "GB_POP_SCIERD"),
        ("_T", "_T", "_T", {"region": "North East"}, "PER_1000000", "GB_POP_SCIERD")]
    assert ws.rows("select attributes['GeoCode'] from raw_partners.observations "
                   "where source_file = 'uk_ons_indicator_9-5-2.csv' and source_row = 76") == [("E12000001",)]
    assert ws.rows("select source_type, file_sha256, batch_id, ingested_at from raw_partners.observations limit 1")[0][0] == "civil_society"


# --- the sample inbox (the embedded default data) --------------------------------------------------


def test_sample_inbox(tmp_path):
    before = fingerprints(SAMPLE_INBOX)
    con = duckdb.connect()
    results = ingest_inbox(con, SAMPLE_INBOX, SAMPLE_CONTRACTS, tmp_path / "reports", "run-1", NOW)
    assert fingerprints(SAMPLE_INBOX) == before
    summary = {result.partner_id: (result.observations_landed, result.observations_quarantined, result.rejected_by_reason)
               for result in results}
    # Hand-counted from scripts/make_sample_inbox.py (see data/inbox/README.md).
    assert summary == {
        "ability_forum": (98, 5, {"conflicting_duplicate": 2, "missing_key_field": 1, "unknown_code": 1, "value_out_of_range": 1}),
        "idp_monitoring_network": (49, 5, {"invalid_sample_size": 1, "unknown_code": 1, "unparseable_value": 1,
                                           "value_out_of_range": 1, "wrong_delimiter": 1}),
        "older_voices": (147, 6, {"formula_text": 1, "unknown_code": 3, "unparseable_value": 1, "value_out_of_range": 1}),
        # The KoBo export: interviews, not values (data/kobo/demo_wg_household_2025/README.md; tests/test_partners_kobo.py).
        "community_wg_survey": (320, 14, {"duplicate": 3, "not_approved": 3, "superseded_edit": 2,
                                          "test_before_launch": 4, "test_tagged": 2}),
        # Hand-written, clean (data/inbox/README.md): every row lands.
        "disability_rights_armenia": (32, 0, {}),
        "armenia_community_monitors": (8, 0, {}),
    }
    assert con.execute("select partner_id, source_row, source_column, reason_code from raw_partners.quarantine order by all").fetchall() == [
        ("ability_forum", 12, None, "conflicting_duplicate"), ("ability_forum", 101, None, "unknown_code"),
        ("ability_forum", 102, None, "value_out_of_range"), ("ability_forum", 103, None, "missing_key_field"),
        ("ability_forum", 104, None, "conflicting_duplicate"),
        ("idp_monitoring_network", 51, None, "unknown_code"), ("idp_monitoring_network", 52, None, "unparseable_value"),
        ("idp_monitoring_network", 53, None, "value_out_of_range"), ("idp_monitoring_network", 54, None, "invalid_sample_size"),
        ("idp_monitoring_network", 55, None, "wrong_delimiter"),
        ("older_voices", 41, "2016", "unknown_code"), ("older_voices", 41, "2020", "unknown_code"),
        ("older_voices", 41, "2022", "unknown_code"), ("older_voices", 42, "2018", "unparseable_value"),
        ("older_voices", 42, "2022", "value_out_of_range"), ("older_voices", 43, "2018", "formula_text"),
    ]
    # What each file exercises, as landed.
    files = {row[0]: row[1:] for row in con.execute(
        "select partner_id, reader, encoding, delimiter, decimal_separator, sheet, header_row from raw_partners.files").fetchall()}
    assert files == {
        "ability_forum": ("duckdb", "utf-8", ",", ".", None, 1),
        "idp_monitoring_network": ("python-csv", "cp1252", ";", ",", None, 1),
        "older_voices": ("xlsx", None, None, ".", "Data", 4),
        "community_wg_survey": ("csv_export", "utf-8", ";", None, None, 1),
        "disability_rights_armenia": ("duckdb", "utf-8", ",", ".", None, 1),
        "armenia_community_monitors": ("duckdb", "utf-8", ",", ".", None, 1),
    }
    assert con.execute("""
        select migratory_status, location, extra_dimensions, value, sample_size, period_label, source_type
        from raw_partners.observations where partner_id = 'idp_monitoring_network' and source_row = 2""").fetchall() == [
        ("IDP", "U", {"province": "Kaboul"}, 30.8, 281, "2019/20", "citizen_generated")]
    assert con.execute("""
        select count(*) filter (where migratory_status = 'HOST'), count(*) filter (where value_qualifier = '<')
        from raw_partners.observations where partner_id = 'idp_monitoring_network'""").fetchone() == (16, 1)
    assert con.execute("""
        select source_column, period_label, value, sex, age_group, location, series_code, indicator_code
        from raw_partners.observations where partner_id = 'older_voices' and source_row = 5 order by source_column""").fetchall() == [
        ("2016", "2016", 33.8, "_T", "Y_GE60", "_T", "SH_OOP_XPD_EARNNET40", "3.8.2"),
        ("2018", "2018", 36.1, "_T", "Y_GE60", "_T", "SH_OOP_XPD_EARNNET40", "3.8.2"),
        ("2020", "2020", 38.0, "_T", "Y_GE60", "_T", "SH_OOP_XPD_EARNNET40", "3.8.2"),
        ("2022", "2022", 39.0, "_T", "Y_GE60", "_T", "SH_OOP_XPD_EARNNET40", "3.8.2")]
    # Wide: the three empty year cells (row 41: 2018; row 43: 2016 and 2022) are not observations.
    assert con.execute("select cells_blank from raw_partners.files where partner_id = 'older_voices'").fetchone() == (3,)


def test_personal_data_never_lands_anywhere(tmp_path):
    con = duckdb.connect()
    ingest_inbox(con, SAMPLE_INBOX, SAMPLE_CONTRACTS, tmp_path / "reports", "run-1", NOW)
    names = ("Rahimi", "Noori", "Haidari")  # the values of the 'Data collector' column
    for schema, table, column in con.execute("""
            select table_schema, table_name, column_name from information_schema.columns
            where table_schema = 'raw_partners'""").fetchall():
        hits = con.execute(f'select count(*) from {schema}.{table} where ' + " or ".join(
            f'cast("{column}" as varchar) like ?' for _ in names), [f"%{name}%" for name in names]).fetchone()[0]
        assert hits == 0, (table, column)
    for report in (tmp_path / "reports").rglob("*.*"):
        text = report.read_text(encoding="utf-8")
        assert not any(name in text for name in names), report
    # Not even as an empty key of a set-aside row's raw values.
    assert con.execute("""select count(*) from raw_partners.quarantine
                          where partner_id = 'ability_forum' and json_exists(raw_values, '$."Data collector"')""").fetchone() == (0,)
    assert con.execute("""select count(*) from raw_partners.quarantine
                          where partner_id = 'ability_forum' and json_exists(raw_values, '$."Observation status"')""").fetchone() == (5,)
    assert "removed before anything was stored" in (tmp_path / "reports" / "ability_forum" / "files" /
                                                    "ability_forum_indicators_2016-2020.csv.md").read_text()


def test_same_input_same_output(tmp_path):
    tables = ("partners", "files", "file_observations", "labels")
    outputs = []
    for attempt in ("a", "b"):
        con = duckdb.connect(str(tmp_path / f"{attempt}.duckdb"))
        ingest_inbox(con, SAMPLE_INBOX, SAMPLE_CONTRACTS, tmp_path / attempt, "run-1", NOW)
        contents = {table: con.execute(f"select * exclude (modified_at) from raw_partners.{table} order by all").fetchall()
                    if table == "files" else con.execute(f"select * from raw_partners.{table} order by all").fetchall()
                    for table in tables}
        reports = {str(path.relative_to(tmp_path / attempt)): path.read_bytes() for path in sorted((tmp_path / attempt).rglob("*.*"))}
        outputs.append((contents, reports))
        con.close()
    assert outputs[0] == outputs[1]


# --- versions ----------------------------------------------------------------------------------------


def test_the_same_file_again_is_a_no_op(ws):
    paths = uk(ws)
    first = ws.run("uk_ons", run_id="run-1")
    before = ws.rows("select * from raw_partners.file_observations order by all")
    second = ws.run("uk_ons", run_id="run-2", now=datetime(2024, 7, 1, tzinfo=timezone.utc))
    assert [item.status for item in second.files] == ["unchanged", "unchanged"]
    assert [item.observations_landed for item in second.files] == [item.observations_landed for item in first.files]
    assert second.rejected_by_reason == first.rejected_by_reason
    assert ws.rows("select * from raw_partners.file_observations order by all") == before
    assert ws.rows("select distinct run_id, ingested_at from raw_partners.files") == [("run-1", NOW)]
    assert all(path.exists() for path in paths)


def test_a_changed_file_replaces_its_rows_and_nothing_else(ws):
    paths = uk(ws)
    ws.run("uk_ons")
    other = ws.rows("select * from raw_partners.file_observations where source_file = 'uk_ons_indicator_10-3-1.csv' order by all")
    old_batch = ws.rows("select landed_batch_id from raw_partners.files where source_file = 'uk_ons_indicator_9-5-2.csv'")[0][0]
    # The partner corrects 9-5-2: the second copies of the duplicated headline rows (184-188) go.
    lines = paths[1].read_bytes().split(b"\r\n")
    paths[1].write_bytes(b"\r\n".join(lines[:183] + lines[188:]))
    result = ws.run("uk_ons", run_id="run-2", now=datetime(2024, 7, 1, tzinfo=timezone.utc))
    statuses = {item.file_name: item.status for item in result.files}
    assert statuses == {"uk_ons_indicator_10-3-1.csv": "unchanged", "uk_ons_indicator_9-5-2.csv": "loaded"}
    assert ws.rows("select count(*), count(distinct batch_id), min(ingested_at) from raw_partners.observations "
                   "where source_file = 'uk_ons_indicator_9-5-2.csv'") == [(182, 1, datetime(2024, 7, 1, tzinfo=timezone.utc))]
    assert ws.rows("select count(*) from raw_partners.quarantine where source_file = 'uk_ons_indicator_9-5-2.csv'") == [(0,)]
    assert ws.rows("select landed_batch_id from raw_partners.files where source_file = 'uk_ons_indicator_9-5-2.csv'")[0][0] != old_batch
    assert ws.rows("select * from raw_partners.file_observations where source_file = 'uk_ons_indicator_10-3-1.csv' order by all") == other


def test_a_file_removed_from_the_inbox_is_withdrawn_and_comes_back_when_returned(ws):
    paths = uk(ws)
    ws.run("uk_ons")
    other = ws.rows("select * from raw_partners.file_observations where source_file = 'uk_ons_indicator_10-3-1.csv' order by all")
    landed = ws.rows("select * from raw_partners.file_observations where source_file = 'uk_ons_indicator_9-5-2.csv' order by all")
    assert landed
    kept = paths[1].read_bytes()
    paths[1].unlink()
    result = ws.run("uk_ons", run_id="run-2", now=datetime(2024, 7, 1, tzinfo=timezone.utc))
    statuses = {item.file_name: item.status for item in result.files}
    assert statuses == {"uk_ons_indicator_10-3-1.csv": "unchanged", "uk_ons_indicator_9-5-2.csv": "withdrawn"}
    assert ws.rows("select count(*) from raw_partners.file_observations where source_file = 'uk_ons_indicator_9-5-2.csv'") == [(0,)]
    assert ws.rows("select count(*) from raw_partners.observations where source_file = 'uk_ons_indicator_9-5-2.csv'") == [(0,)]
    assert ws.rows("select status, run_id from raw_partners.files where source_file = 'uk_ons_indicator_9-5-2.csv'") == [
        ("withdrawn", "run-2")]
    assert ws.rows("select * from raw_partners.file_observations where source_file = 'uk_ons_indicator_10-3-1.csv' order by all") == other
    withdrawn = next(item for item in result.files if item.status == "withdrawn")
    assert "no longer in your inbox folder" in withdrawn.report_markdown.read_text()
    # Again: still withdrawn, nothing redone.
    again = ws.run("uk_ons", run_id="run-3")
    assert {item.file_name: item.status for item in again.files} == statuses
    assert ws.rows("select run_id from raw_partners.files where source_file = 'uk_ons_indicator_9-5-2.csv'") == [("run-2",)]
    # The same bytes back: landed again, not taken for an unchanged file.
    paths[1].write_bytes(kept)
    back = ws.run("uk_ons", run_id="run-4")
    assert {item.file_name: item.status for item in back.files}["uk_ons_indicator_9-5-2.csv"] == "loaded_with_rejections"
    assert ws.rows("select * from raw_partners.file_observations where source_file = 'uk_ons_indicator_9-5-2.csv' order by all") == landed


@pytest.mark.parametrize("emptied", ["removed", "emptied"])
def test_a_missing_or_empty_partner_folder_withdraws_nothing(ws, emptied):
    paths = uk(ws)
    ws.run("uk_ons")
    before = ws.rows("select * from raw_partners.file_observations order by all")
    if emptied == "removed":
        shutil.rmtree(ws.inbox / "uk_ons")  # e.g. PARTNER_INBOX pointing at the wrong place
    else:
        for path in paths:  # e.g. a sync tool replacing the folder's contents
            path.unlink()
    result = ws.run("uk_ons", run_id="run-2")
    assert result.files == []
    assert ws.rows("select * from raw_partners.file_observations order by all") == before
    assert ws.rows("select distinct status from raw_partners.files order by 1") == [("loaded_with_rejections",)]


def test_a_failure_while_landing_leaves_the_previous_version(ws, monkeypatch):
    paths = uk(ws)
    ws.run("uk_ons")
    before = ws.rows("select * from raw_partners.file_observations order by all")
    paths[1].write_bytes(paths[1].read_bytes().replace(b"15771.5", b"15771.6"))

    def broken(*args, **kwargs):
        raise OSError("disk full")  # fails after the new rows were inserted, before the commit

    monkeypatch.setattr(land, "_insert_labels", broken)
    result = ws.run("uk_ons", run_id="run-2")
    changed = next(item for item in result.files if item.file_name == "uk_ons_indicator_9-5-2.csv")
    assert changed.status == "retry" and changed.errors[0].code == "internal_error"
    # the type, not the message: a database error's message can quote a cell
    assert "OSError" in changed.errors[0].message and "disk full" not in changed.errors[0].message
    assert ws.rows("select * from raw_partners.file_observations order by all") == before
    assert ws.rows("select status, landed_sha256 <> sha256 from raw_partners.files where source_file = 'uk_ons_indicator_9-5-2.csv'") == [
        ("retry", True)]
    monkeypatch.undo()
    again = ws.run("uk_ons", run_id="run-3")  # 'retry' is never a no-op
    assert {item.file_name: item.status for item in again.files}["uk_ons_indicator_9-5-2.csv"] == "loaded_with_rejections"
    assert ws.rows("select value from raw_partners.observations where source_file = 'uk_ons_indicator_9-5-2.csv' and source_row = 2") == [
        (15771.6,)]


def test_an_unreadable_new_version_keeps_the_landed_one(ws):
    paths = uk(ws)
    ws.run("uk_ons")
    paths[0].write_bytes(b"")
    result = ws.run("uk_ons", run_id="run-2")
    emptied = next(item for item in result.files if item.file_name == "uk_ons_indicator_10-3-1.csv")
    assert (emptied.status, [error.code for error in emptied.errors]) == ("rejected", ["empty"])
    assert ws.rows("select count(*) from raw_partners.observations where source_file = 'uk_ons_indicator_10-3-1.csv'") == [(97,)]
    report = emptied.report_markdown.read_text()
    assert "Not accepted" in report and "Your previous version of this file" in report
    again = ws.run("uk_ons", run_id="run-3")  # the same empty file again: still rejected, nothing redone
    assert [(item.status, [error.code for error in item.errors]) for item in again.files] == [
        ("rejected", ["empty"]), ("unchanged", [])]
    assert ws.rows("select run_id from raw_partners.files where source_file = 'uk_ons_indicator_10-3-1.csv'") == [("run-2",)]


def test_a_changed_contract_reprocesses_unchanged_files(ws):
    uk(ws)
    ws.run("uk_ons")
    contract = ws.contracts / "uk_ons.yml"
    contract.write_text(contract.read_text().replace(
        "    No long-term health condition: PWD\n",
        "    No long-term health condition: PWD\n    Long-term health condition: PD\n"
        "    Long-term health condition - Does not limit activities: PD\n"))
    result = ws.run("uk_ons", run_id="run-2")
    statuses = {item.file_name: item.status for item in result.files}
    assert statuses["uk_ons_indicator_10-3-1.csv"] == "loaded_with_rejections"
    # Now three rows of 2015/16 to 2017/18 say PD: a conflict the partner has to resolve.
    assert ws.rows("select source_row, reason_code from raw_partners.quarantine where source_file = 'uk_ons_indicator_10-3-1.csv' "
                   "order by 1") == [(19, "conflicting_duplicate"), (20, "conflicting_duplicate"), (21, "conflicting_duplicate")]


# --- partners, contracts and the inbox -----------------------------------------------------------------


def test_a_partner_without_contract_is_told_and_others_go_on(ws):
    ws.drop("no_contract_yet", UK_FILES[0])
    result = ws.run("no_contract_yet")
    assert [error.code for error in result.errors] == ["no_contract"]
    assert [(item.status, item.errors[0].code) for item in result.files] == [("rejected", "no_contract")]
    assert "no data contract" in result.report_markdown.read_text()
    uk(ws)
    assert ws.run("uk_ons").observations_landed == 274


def test_an_invalid_contract_is_reported_with_its_problems(ws):
    ws.drop("broken", UK_FILES[0])
    ws.contract("broken", "contract_version: 1\npartner: {id: broken, name: B, type: ngo}\n")
    result = ws.run("broken")
    assert [error.code for error in result.errors] == ["invalid_contract"]
    assert "partner.type: 'ngo' is not allowed" in result.errors[0].message
    assert result.files[0].status == "rejected"


def test_unsafe_partner_ids_are_refused_before_any_path_is_built(ws):
    for partner_id in ("../x", "..", "a/b", "Upper", "with space", "", "x" * 65, "-x"):
        with pytest.raises(InvalidPartnerIdError):
            ingest_partner(ws.con, partner_id, ws.inbox, ws.contracts, ws.reports, "run", NOW)
    assert not ws.reports.exists()


def test_inbox_listing_for_a_sensor(ws):
    uk(ws)
    (ws.inbox / "Bad Partner!").mkdir()
    (ws.inbox / "loose.csv").write_text("x")
    (ws.inbox / "uk_ons" / ".~lock.uk.csv#").write_text("lock")
    (ws.inbox / "uk_ons" / "nested").mkdir()
    os.symlink(UK_FILES[0], ws.inbox / "uk_ons" / "linked.csv")
    assert list_partners(ws.inbox) == ["uk_ons"]
    assert [(item.partner_id, item.path.name, item.size) for item in scan_inbox(ws.inbox)] == [
        ("uk_ons", "uk_ons_indicator_10-3-1.csv", UK_FILES[0].stat().st_size),
        ("uk_ons", "uk_ons_indicator_9-5-2.csv", UK_FILES[1].stat().st_size)]
    partner_id, path, size, mtime = scan_inbox(ws.inbox)[0]
    assert mtime == path.stat().st_mtime
    assert inbox_problems(ws.inbox) == [
        "Bad Partner!: folder name is not a valid partner id (lower-case letters, digits, _ and -); ignored",
        "loose.csv: not a partner folder (files go in <inbox>/<partner_id>/); ignored"]
    result = ws.run("uk_ons")
    assert sorted(result.skipped) == [("linked.csv", "symbolic links are not followed; put the file itself in the folder"),
                                      ("nested", "sub-folders are not read; put files directly in the partner folder")]
    assert list_partners(ws.root / "missing") == [] and scan_inbox(ws.root / "missing") == []


def test_metadata_for_dagster_is_plain_json(ws):
    uk(ws)
    metadata = ws.run("uk_ons").metadata()
    assert json.loads(json.dumps(metadata)) == metadata
    assert metadata["observations_landed"] == 274 and metadata["files_failed"] == 0
    assert metadata["report_markdown"].endswith("uk_ons/index.md")
    assert metadata["per_file"]["uk_ons_indicator_9-5-2.csv"]["rejected_by_reason"] == {"conflicting_duplicate": 10}


# --- reports ---------------------------------------------------------------------------------------------


def test_reports_explain_each_reason_with_examples_and_the_fix(ws):
    uk(ws)
    result = ws.run("uk_ons")
    page = next(item for item in result.files if item.file_name == "uk_ons_indicator_9-5-2.csv")
    markdown, html = page.report_markdown.read_text(), page.report_html.read_text()
    assert "10 × The same figure is given twice with different values (`conflicting_duplicate`)" in markdown
    assert "| 166 | Value | `8302.9` | same breakdown in rows 166, 184 |" in markdown
    assert "How to fix it: Keep only the correct row" in markdown
    assert "values accepted | 177" in markdown
    assert "<td>166</td><td>Value</td><td><code>8302.9</code></td>" in html
    index = result.report_markdown.read_text()
    assert "[uk_ons_indicator_9-5-2.csv](files/uk_ons_indicator_9-5-2.csv.md)" in index
    assert 'href="files/uk_ons_indicator_9-5-2.csv.html"' in result.report_html.read_text()


def test_reports_escape_what_partners_write(ws):
    ws.contract("escaper", """\
contract_version: 1
partner: {id: escaper, name: "Esc <b>aper</b>", type: civil_society}
licence: CC-BY-4.0
attribution: E
files:
  - pattern: "*.csv"
    format: open_sdg
    constants: {geo_area_m49: 4, unit: PT, series_code: SH_OOP_XPD_EARNNET40}
    columns: {period: Year, value: Value}
    dimensions: {sex: Sex}
""")
    ws.write("escaper", "x <script>.csv", 'Year,Sex,Value\n2019,<script>alert(1)</script>,1\n2019,F,"a|b`c"\n')
    result = ws.run("escaper")
    html = result.files[0].report_html.read_text()
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>" not in result.report_html.read_text()
    markdown = result.files[0].report_markdown.read_text()
    assert "``a\\|b`c``" in markdown  # a code span that survives the backtick and the table pipe
    assert result.files[0].report_markdown.name == "x_script_.csv-" + result.files[0].report_markdown.name.split("-")[-1]


def test_schema_is_idempotent():
    con = duckdb.connect()
    con.execute(DDL)
    con.execute(DDL)
    assert {row[0] for row in con.execute(
        "select table_name from information_schema.tables where table_schema = 'raw_partners'").fetchall()} == {
        "partners", "files", "file_observations", "labels", "observations", "quarantine"}


def test_the_memory_budget_is_restored(ws):
    uk(ws)
    ws.con.execute("set memory_limit = '2GiB'")
    ws.run("uk_ons")
    assert ws.rows("select current_setting('memory_limit')") == [("2.0 GiB",)]
    ws.con.execute("set memory_limit = '100MB'")  # never raised above the caller's own limit
    ingest_partner(ws.con, "uk_ons", ws.inbox, ws.contracts, ws.reports, "run-2", NOW, memory_limit="1GB")
    assert ws.rows("select current_setting('memory_limit')") == [("95.3 MiB",)]
    with pytest.raises(ValueError):
        ingest_partner(ws.con, "uk_ons", ws.inbox, ws.contracts, ws.reports, "run-3", NOW, memory_limit="1GB; drop")


def test_columns_with_many_distinct_labels_are_looked_up_by_join(ws):
    # More than evaluate.labels.CASE_LIMIT (200) distinct texts: the lookup goes through a table instead.
    ws.contract("many", """\
contract_version: 1
partner: {id: many, name: Many labels, type: civil_society}
licence: CC-BY-4.0
attribution: M
files:
  - pattern: "*.csv"
    format: open_sdg
    constants: {unit: NUMBER, series_code: CSO_VISITS}
    columns: {period: Date, geo_area_m49: Area code, value: Visits}
""")
    lines = ["Date,Area code,Visits"]
    lines += [f"2020-{1 + day // 28:02d}-{1 + day % 28:02d},{1 + day},{day}" for day in range(300)]
    lines += ["2020-02-30,4,1", "2020-03-01,ABC,1"]
    ws.write("many", "visits.csv", "\n".join(lines) + "\n")
    result = ws.run("many")
    assert (result.observations_landed, result.rejected_by_reason) == (300, {"unknown_code": 1, "unparseable_period": 1})
    assert ws.rows("select period_label, period_start, geo_area_m49, value from raw_partners.observations "
                   "where source_row = 301") == [("2020-11-20", datetime(2020, 11, 20).date(), 300, 299.0)]  # day 299
    assert ws.rows("select source_row, reason_code, reason_value from raw_partners.quarantine order by 1") == [
        (302, "unparseable_period", "2020-02-30"), (303, "unknown_code", "ABC")]


def test_wide_file_with_one_column_per_group(ws):
    ws.contract("by_sex", """\
contract_version: 1
partner: {id: by_sex, name: By sex, type: civil_society}
licence: CC-BY-4.0
attribution: B
vocabularies:
  sex: {Women: F, Men: M, Total: _T}
files:
  - pattern: "*.csv"
    format: wide
    constants: {geo_area_m49: 4, unit: PT, series_code: SL_TLF_UEM}
    columns: {period: Year}
    wide: {header_is: sex, value_columns: [Women, Men, Total, Other]}
""")
    ws.write("by_sex", "unemployment.csv", "Year,Women,Men,Total,Zone\n2019,14.2,10.1,11.8,a\n2020,,10.9,12.5,b\n")
    result = ws.run("by_sex")
    assert (result.observations_landed, result.observations_quarantined) == (5, 0)
    assert ws.rows("select period_label, sex, value, source_column, extra_dimensions from raw_partners.observations "
                   "order by source_row, source_column") == [
        ("2019", "M", 10.1, "Men", {"Zone": "a"}), ("2019", "_T", 11.8, "Total", {"Zone": "a"}),
        ("2019", "F", 14.2, "Women", {"Zone": "a"}),
        ("2020", "M", 10.9, "Men", {"Zone": "b"}), ("2020", "_T", 12.5, "Total", {"Zone": "b"})]
    assert ws.rows("select cells_blank from raw_partners.files") == [(1,)]
    # 'Zone' is not in the contract: kept as a breakdown, and the partner is told.
    assert "'Zone'" in result.files[0].report_markdown.read_text()


def test_columns_not_in_the_contract_that_look_personal_or_free_text_are_not_stored(ws):
    ws.contract("loose", """\
contract_version: 1
partner: {id: loose, name: Loose columns, type: civil_society}
licence: CC-BY-4.0
attribution: L
files:
  - pattern: "*.csv"
    format: open_sdg
    constants: {geo_area_m49: 4, unit: PT, series_code: SL_TLF_UEM}
    columns: {period: Year, value: Value}
""")
    long_text = "Collected in the camp by our two volunteers during the week of the flood and checked twice"
    rows = ["Year,Value,Region,Focal point,Enumerator,Details,Record"]
    for number in range(60):
        phone = "+254 712 345 678" if number == 0 else ""
        details = long_text if number == 1 else "ok"
        value = "lots" if number == 2 else f"{number}.5"  # set aside (unparseable): its raw cells are kept
        rows.append(f"{1960 + number},{value},R{number % 3},{phone},E{number % 2},{details},ID-{number:04d}")
    ws.write("loose", "figures.csv", "\n".join(rows) + "\n")
    result = ws.run("loose")
    assert (result.observations_landed, result.observations_quarantined) == (59, 1)
    # Only the category column is kept (as a breakdown); nothing of the others is stored anywhere.
    assert ws.rows("select distinct map_keys(extra_dimensions) from raw_partners.observations") == [(["Region"],)]
    assert ws.rows("select raw_values from raw_partners.quarantine") == [('{"Year":"1962","Value":"lots","Region":"R2",'
                                                                        '"(beyond the last column)":null}',)]
    stored = json.dumps(ws.rows("select * from raw_partners.observations union all by name "
                                "select * from raw_partners.quarantine"), default=str)
    for withheld in ("712 345", "volunteers", "ID-0001", "E1"):
        assert withheld not in stored
    report = result.files[0].report_markdown.read_text()
    assert "'Focal point' (1 cell(s) look like a phone number or an e-mail address)" in report
    assert "'Enumerator' (its name suggests personal data)" in report
    assert f"'Details' (it holds text up to {len(long_text)} characters long)" in report
    assert "'Record' (it holds 60 different values in 60 rows: identifiers or comments, not categories)" in report
    assert "'Region'" in report and "'Region' (" not in report


def test_identifiers_and_exact_ages_are_not_stored_from_a_small_file_either(ws):
    ws.contract("small", """\
contract_version: 1
partner: {id: small, name: Small file, type: citizen_generated}
licence: CC-BY-4.0
attribution: S
files:
  - pattern: "*.csv"
    format: open_sdg
    constants: {geo_area_m49: 4, unit: PT, series_code: SL_TLF_UEM}
    columns: {period: Year, value: Value, sample_size: N}
""")
    districts = ["Kabul", "Herat", "Balkh", "Kandahar", "Nangarhar", "Bamyan", "Ghazni", "Kunduz", "Badakhshan",
                 "Helmand", "Paktia", "Takhar"]  # a different district on every row: still a breakdown
    rows = ["Year,Value,N,Household ID,Age,Code,District"]
    for number in range(12):
        rows.append(f"{2000 + number},{number}.5,40,HH-{1000 + number},{30 + number % 7},C{number},{districts[number]}")
    ws.write("small", "figures.csv", "\n".join(rows) + "\n")
    result = ws.run("small")
    assert result.observations_landed == 12
    assert ws.rows("select distinct map_keys(extra_dimensions) from raw_partners.observations") == [(["District"],)]
    stored = json.dumps(ws.rows("select * from raw_partners.observations"), default=str)
    assert "HH-1000" not in stored and "C11" not in stored
    report = result.files[0].report_markdown.read_text()
    assert "'Household ID' (its name suggests personal data)" in report
    assert "'Age' (its name suggests personal data)" in report
    assert "'Code' (it holds 12 different values in 12 rows: identifiers or comments, not categories)" in report


STRAY_QUOTE_CONTRACT = """\
contract_version: 1
partner: {id: quotes, name: Quotes, type: civil_society}
licence: CC-BY-4.0
attribution: Q
files:
  - pattern: "*.csv"
    format: open_sdg
    constants: {geo_area_m49: 4, unit: PT, series_code: SL_TLF_UEM}
    columns: {period: Year, value: Value}
    dimensions: {sex: Sex}
    attributes: [Remark]
"""


@pytest.mark.parametrize("padding", ["", "\n"], ids=["duckdb-reader", "python-reader"])  # a blank line: Python reads it
@pytest.mark.parametrize("row, column", [('2017,F,"12,ok', "Value"), ('2017,F,12.5,"ok', "Remark")],
                         ids=["in-the-value", "in-an-attribute"])
def test_a_stray_quote_refuses_the_file_instead_of_swallowing_rows(ws, padding, row, column):
    ws.contract("quotes", STRAY_QUOTE_CONTRACT)
    lines = ["Year,Sex,Value,Remark", "2015,F,10.5,ok", "2016,F,11.5,ok", row, "2018,F,13.5,ok",
             "2019,F,14.5,ok", "2020,F,15.5,ok"]
    path = ws.write("quotes", "figures.csv", padding + "\n".join(lines) + "\n")
    before = path.read_bytes()
    result = ws.run("quotes")
    (item,) = result.files
    assert (item.status, [error.code for error in item.errors]) == ("rejected", ["unreadable"])
    assert "data row 3" in item.errors[0].message and f"'{column}'" in item.errors[0].message
    assert ws.rows("select count(*) from raw_partners.observations") == [(0,)]
    assert path.read_bytes() == before


def test_a_line_break_inside_a_quoted_cell_is_fine(ws):
    ws.contract("quotes", STRAY_QUOTE_CONTRACT.replace("{sex: Sex}", "{sex: Sex, population_group: Group}"))
    ws.write("quotes", "figures.csv", 'Year,Sex,Group,Value,Remark\n'
             '2015,F,"Women, 15-24\n(urban, formal)",10.5,"first line\nsecond, and last, line"\n2016,F,all,11.5,ok\n')
    result = ws.run("quotes")
    assert result.files[0].errors == []
    assert result.observations_landed + result.observations_quarantined == 2


def test_the_withdraw_script_takes_a_partners_last_file_out(ws):
    paths = uk(ws)
    ws.run("uk_ons")
    ws.con.close()  # the script is another process: one DuckDB writer at a time
    env = {**os.environ, "WAREHOUSE_PATH": str(ws.root / "warehouse.duckdb")}
    script = [sys.executable, str(REPO / "scripts" / "withdraw_partner_files.py"), "uk_ons"]
    done = subprocess.run([*script, paths[0].name, "never_sent.csv"], env=env, capture_output=True, text=True)
    assert done.returncode == 1  # one name was not a landed file
    assert f"uk_ons/{paths[0].name}: withdrawn" in done.stdout and "never_sent.csv: not found" in done.stdout
    with duckdb.connect(str(ws.root / "warehouse.duckdb"), read_only=True) as con:
        statuses = dict(con.execute("select source_file, status from raw_partners.files").fetchall())
        rows = con.execute("select count(*) from raw_partners.file_observations where source_file = ?",
                           [paths[0].name]).fetchone()[0]
    assert statuses[paths[0].name] == "withdrawn" and statuses[paths[1].name] != "withdrawn" and rows == 0
    assert all(path.exists() for path in paths)  # the inbox is never touched
