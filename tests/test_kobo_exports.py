"""KoBo exports (CSV and XLSX) into DuckDB: every submission landed or counted, bad files refused clearly."""

import csv
import hashlib
import hmac
import json
import shutil
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import openpyxl
import pytest
import yaml

from ingestion.kobo import (
    PUBLIC_TEST_SALT,
    KoboExportError,
    KoboFormMismatchError,
    ingest_kobo_export,
    load_contract,
    parse_contract,
)
from ingestion.warehouse import connect

REPO = Path(__file__).resolve().parent.parent
KOBO = REPO / "tests" / "data" / "kobo"
GC_CSV = KOBO / "kobo_csv_export_labels_semicolon__gc-scripts-hub.csv"
FORMPACK = KOBO / "formpack_grouped_repeatable_v1__submissions_with_repeat.json"
SAMPLE_DIR = REPO / "data" / "kobo" / "demo_wg_household_2025"
SAMPLE_CSV = REPO / "data" / "inbox" / "community_wg_survey" / "demo_wg_household_2025.csv"  # the partner's export
SAMPLE_FORM = SAMPLE_DIR / "demo_wg_household_2025_form.xlsx"
NOW = datetime(2025, 6, 2, 12, 0, tzinfo=timezone.utc)
SALT = "test-salt-not-a-secret-0123456789"


def gc_contract():
    return load_contract(KOBO / "contracts" / "gc_biocultural_monitoring.yml", base_dir=REPO)


def demo_contract():
    return load_contract(REPO / "contracts" / "kobo" / "demo_wg_household_2025.yml", base_dir=REPO)


def formpack_contract():
    return load_contract(KOBO / "contracts" / "formpack_grouped_repeatable.yml", base_dir=REPO)


def yaml_load(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def demo_data() -> dict:
    return yaml_load(REPO / "contracts" / "kobo" / "demo_wg_household_2025.yml")


def land(con, path, contract, **kwargs):
    options = {"pii_salt": SALT, "run_id": "run-1", "now": NOW, **kwargs}
    return ingest_kobo_export(con, path, contract, **options)


def rows(con, sql, *params):
    return con.execute(sql, list(params)).fetchall()


def read_csv(path: Path, separator=";") -> tuple[list[str], list[list[str]]]:
    with path.open(encoding="utf-8", newline="") as handle:
        table = list(csv.reader(handle, delimiter=separator))
    return table[0], table[1:]


def write_csv(path: Path, header, body, separator=";") -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, delimiter=separator, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows([header, *body])
    return path


# -- the real labels-mode fixture ------------------------------------------------------------------------------
def test_gc_labels_export_lands_every_submission_with_canonical_codes(tmp_path):
    with connect(tmp_path / "w.duckdb") as con:
        result = land(con, GC_CSV, gc_contract())
        assert (result.submissions_read, result.submissions_landed, result.exclusions) == (3, 3, {})
        landed = rows(con, """select source_row, fields, gps_latitude, gps_longitude, coordinates_status, form_version,
                                  submission_time::varchar, validation_status
                              from raw_kobo_restricted.submissions order by source_row""")
    assert landed == [
        (1, {"community": "Arlington", "ecosystem_state": "FLOURISHING", "harvest_frequency": "Daily",
             "migratory_species_changes": "YES", "tek_transmission": "ORAL", "threats": "MINING"},
         2.2, -56.0, "valid", "vAn4JY89YxfVohbgTaxmfQ", "2023-07-19 18:33:06+00", None),
        (2, {"community": "Springfield", "ecosystem_state": "DECLINING", "harvest_frequency": "Daily",
             "migratory_species_changes": "YES", "tek_transmission": "RITUALS", "threats": "LAND_ENCROACHMENT"},
         38.8, -77.2, "valid", "vAn4JY89YxfVohbgTaxmfQ", "2023-07-19 18:35:52+00", None),
        # Longitude -199.058787: flagged, no point kept. The 0/1 columns (1,1,0,1,0,0) win over the summary.
        (3, {"community": "Fairfax", "ecosystem_state": "STABLE", "harvest_frequency": "Monthly",
             "migratory_species_changes": "DK", "tek_transmission": "APPRENTICESHIP ORAL RITUALS", "threats": "LOGGING"},
         None, None, "invalid", "v5t5GP9oHw5GN4Gyd9ZT48", "2023-07-19 18:37:22+00", None),
    ]
    assert result.invalid_coordinates == 1
    assert result.form_versions == ("v5t5GP9oHw5GN4Gyd9ZT48", "vAn4JY89YxfVohbgTaxmfQ")
    # Summaries with empty 0/1 cells (the fixture's real defect) are read from the summary and counted.
    assert result.field_issues == {"tek_transmission: summary_only": 2, "threats: summary_only": 3}
    assert result.unmapped_columns == (
        "start", "end", "today",
        "How would you rate the availability of traditional resources over the past decade?",
        "Have you noticed any changes in the abundance or health of key indicator species?",
    )
    # 7 listed personal questions, 2 media _URL columns, _notes/_submitted_by/_geolocation, the geopoint and its 4 parts.
    assert result.personal_columns_dropped == 17


def test_submission_key_is_the_hmac_of_the_uuid(tmp_path):
    with connect(tmp_path / "w.duckdb") as con:
        land(con, GC_CSV, gc_contract())
        keys = [key for (key,) in rows(con, "select submission_key from raw_kobo_restricted.submissions order by source_row")]
    expected = hmac.new(SALT.encode(), b"92eb7237-89d6-4a15-aa71-09ec99279bbb", hashlib.sha256).hexdigest()
    assert keys[0] == expected


# -- the bundled sample ----------------------------------------------------------------------------------------------
def test_sample_export_lands_323_counts_each_of_the_11_exclusions_and_publishes_320(tmp_path):
    with connect(tmp_path / "w.duckdb") as con:
        result = land(con, SAMPLE_CSV, demo_contract(), pii_salt=None)
        assert result.salt_kind == "public_test_salt"
        assert (result.submissions_read, result.submissions_landed, result.submissions_published) == (334, 323, 320)
        assert result.exclusions == {"duplicate": 3, "superseded_edit": 2, "test_before_launch": 4, "test_tagged": 2}
        # Every validation status lands; the default policy (all_but_not_approved) sets the 3 not approved aside.
        assert result.validation_statuses == {
            "approved": {"landed": 266, "published": 266, "set_aside": 0},
            "on_hold": {"landed": 2, "published": 2, "set_aside": 0},
            "not_approved": {"landed": 3, "published": 0, "set_aside": 3},
            "none": {"landed": 52, "published": 52, "set_aside": 0}}
        assert result.set_aside_by_policy == {"not_approved": 3}
        assert result.invalid_coordinates == 3
        statuses = dict(rows(con, "select coordinates_status, count(*) from raw_kobo_restricted.submissions group by 1"))
        assert statuses == {"valid": 314, "invalid": 2, "outside_area": 1, "missing": 6}
        # The economy questions moved from group livelihood (v1) to economy (v2): answered in every landed row.
        assert rows(con, """select count(*) filter (where fields['lost_income'] is not null),
                                   count(*) filter (where fields['income_sources'] is not null),
                                   count(distinct form_version)
                            from raw_kobo_restricted.submissions""") == [(323, 323, 2)]
        assert rows(con, "select count(*) from raw_kobo_restricted.submissions where fields['admin1'] = 'unmapped'") == [(0,)]
        load = rows(con, """select submissions_read, submissions_landed, submissions_excluded, invalid_coordinates,
                                   salt_kind, source_kind from raw_kobo.loads""")
        assert load == [(334, 323, 11, 3, "public_test_salt", "csv_export")]
        exclusions = rows(con, "select unit, reason, row_count from raw_kobo.exclusions order by reason")
        assert exclusions == [("submission", "duplicate", 3), ("submission", "superseded_edit", 2),
                              ("submission", "test_before_launch", 4), ("submission", "test_tagged", 2)]
        assert rows(con, "select published_validation_statuses, published_statuses from raw_kobo.surveys") == [
            ("all_but_not_approved", ["approved", "on_hold", "none"])]
        assert result.field_issues == {}
        assert rows(con, "select count(*), count(distinct submission_key), count(respondent_key) "
                         "from raw_kobo_restricted.submissions") == [(323, 323, 323)]
        assert rows(con, "select count(*) from raw_kobo.indicator_definitions") == [(4,)]


def test_sample_edits_replace_the_version_they_deprecate(tmp_path):
    header, body = read_csv(SAMPLE_CSV)
    column = {name: index for index, name in enumerate(header)}
    edits = [row for row in body if row[column["meta/deprecatedID"]]]
    assert len(edits) == 2

    def key(value: str) -> str:
        return hmac.new(PUBLIC_TEST_SALT.encode(), value.encode(), hashlib.sha256).hexdigest()

    with connect(tmp_path / "w.duckdb") as con:
        land(con, SAMPLE_CSV, demo_contract(), pii_salt=None)
        for edit in edits:
            original_uuid = edit[column["meta/deprecatedID"]].removeprefix("uuid:")
            landed = rows(con, "select submission_key, fields['age'] from raw_kobo_restricted.submissions "
                               "where instance_key = ?", key(edit[column["_uuid"]]))
            assert landed == [(key(original_uuid), edit[column["respondent/resp_age"]])]
            assert rows(con, "select count(*) from raw_kobo_restricted.submissions where instance_key = ?",
                        key(original_uuid)) == [(0,)]


def test_same_file_again_gives_the_same_rows_and_never_duplicates(tmp_path):
    query = "select * exclude (run_id) from raw_kobo_restricted.submissions order by source_row"
    with connect(tmp_path / "a.duckdb") as con:
        first = land(con, SAMPLE_CSV, demo_contract(), pii_salt=None)
        rows_first = rows(con, query)
        second = land(con, SAMPLE_CSV, demo_contract(), pii_salt=None, run_id="run-2")
        assert rows(con, query) == rows_first
        assert rows(con, "select count(*), list(distinct run_id) from raw_kobo_restricted.submissions") == [(323, ["run-2"])]
        assert rows(con, "select count(*) from raw_kobo.loads") == [(1,)]
        assert rows(con, "select count(*) from raw_kobo.surveys") == [(1,)]
    assert first.batch_id == second.batch_id
    with connect(tmp_path / "b.duckdb") as con:
        land(con, SAMPLE_CSV, demo_contract(), pii_salt=None, run_id="elsewhere")
        assert rows(con, query) == rows_first


def test_the_source_file_is_never_modified(tmp_path):
    copy = shutil.copy(SAMPLE_CSV, tmp_path / "export.csv")
    before = (Path(copy).read_bytes(), Path(copy).stat().st_mtime_ns)
    with connect(tmp_path / "w.duckdb") as con:
        land(con, Path(copy), demo_contract(), pii_salt=None)
    assert (Path(copy).read_bytes(), Path(copy).stat().st_mtime_ns) == before


def test_legacy_comma_export_lands_when_the_contract_says_so(tmp_path):
    header, body = read_csv(SAMPLE_CSV)
    comma = write_csv(tmp_path / "comma.csv", header, body, separator=",")
    data = demo_data()
    data["export"]["separator"] = ","
    with connect(tmp_path / "w.duckdb") as con:
        assert land(con, comma, parse_contract(data, base_dir=REPO), pii_salt=None).submissions_landed == 323
    data["export"]["separator"] = "auto"
    with connect(tmp_path / "w2.duckdb") as con:
        assert land(con, comma, parse_contract(data, base_dir=REPO), pii_salt=None).submissions_landed == 323


# -- bad inputs: a clear error, or a counted exclusion -----------------------------------------------------------------
def test_wrong_separator_is_refused_and_the_previous_load_stays(tmp_path):
    header, body = read_csv(SAMPLE_CSV)
    comma = write_csv(tmp_path / "export.csv", header, body, separator=",")
    with connect(tmp_path / "w.duckdb") as con:
        land(con, SAMPLE_CSV, demo_contract(), pii_salt=None, source_id="demo/export.csv")
        with pytest.raises(KoboExportError) as caught:
            land(con, comma, demo_contract(), pii_salt=None, run_id="run-2", source_id="demo/export.csv")
        assert rows(con, "select count(*), list(distinct run_id) from raw_kobo_restricted.submissions") == [(323, ["run-1"])]
    message = str(caught.value)
    assert message.startswith("demo_wg_household_2025: export.csv: the file is separated by ','")
    assert "Fix: set export.separator: ',' in the contract" in message


def test_labels_in_an_unexpected_language_are_refused_with_the_language_found(tmp_path):
    header = ["Répondant/Sexe du répondant", "Répondant/Âge du répondant (années révolues)", "_id", "_uuid",
              "_submission_time", "_validation_status", "_index"]
    body = [["Féminin", "34", "1", "6f1c1b2e-3a52-4cf5-9d0b-3b1b8a4c2d10", "2025-04-01T10:00:00", "", "1"],
            ["Masculin", "71", "2", "0b7f3e0c-2a1d-4c8e-8f55-6f0d2c9e7a11", "2025-04-01T11:00:00", "", "2"]]
    export = write_csv(tmp_path / "labels_fr.csv", header, body)
    data = {
        "survey_id": "labels_demo", "title": "t", "organisation": "demo_cso", "geo_area_m49": 466, "synthetic": True,
        "form": str(SAMPLE_FORM),
        "export": {"headers": "labels", "language": "English (en)"},
        "fields": {"sex": {"source": "respondent/resp_sex", "type": "select_one", "codes": {"female": "F", "male": "M"}},
                   "age": {"source": "respondent/resp_age", "type": "integer"}},
    }
    with connect(tmp_path / "w.duckdb") as con:
        with pytest.raises(KoboExportError) as caught:
            land(con, export, parse_contract(data, base_dir=REPO))
        message = str(caught.value)
        assert "no column for sex (looked for 'respondent/resp_sex'); age (looked for 'respondent/resp_age')" in message
        assert ("The header row matches 2 question labels in 'Français (fr)' but 0 in 'English (en)': the export was "
                "made in another language. Fix: export again with labels in 'English (en)', or set export.language: "
                "'Français (fr)'") in message
        # With the language the header actually uses, the same file lands, labels translated to codes.
        data["export"]["language"] = "Français (fr)"
        land(con, export, parse_contract(data, base_dir=REPO))
        assert rows(con, "select fields from raw_kobo_restricted.submissions order by source_row") == [
            ({"age": "34", "sex": "F"},), ({"age": "71", "sex": "M"},)]


def test_a_missing_meta_column_is_refused_by_name(tmp_path):
    header, body = read_csv(SAMPLE_CSV)
    drop = {header.index("_uuid"), header.index("meta/rootUuid")}
    export = write_csv(tmp_path / "no_uuid.csv", [h for i, h in enumerate(header) if i not in drop],
                       [[c for i, c in enumerate(row) if i not in drop] for row in body])
    with connect(tmp_path / "w.duckdb") as con:
        with pytest.raises(KoboExportError, match=r"no_uuid.csv: missing meta column\(s\) _uuid \(or meta/rootUuid\)\. "
                                                  r"Meta columns are matched by name, never by position"):
            land(con, export, demo_contract(), pii_salt=None)


def test_meta_columns_are_matched_by_name_not_position(tmp_path):
    header, body = read_csv(GC_CSV)
    order = list(reversed(range(len(header))))
    export = write_csv(tmp_path / "reversed.csv", [header[i] for i in order], [[row[i] for i in order] for row in body])
    with connect(tmp_path / "w.duckdb") as con:
        land(con, GC_CSV, gc_contract())
        expected = rows(con, "select submission_key, fields, coordinates_status from raw_kobo_restricted.submissions order by 1")
        land(con, export, gc_contract())
        reordered = rows(con, "select submission_key, fields, coordinates_status from raw_kobo_restricted.submissions "
                              "where source_id = 'export:reversed.csv' order by 1")
    assert reordered == expected


def test_duplicated_uuid_with_different_content_excludes_both_copies(tmp_path):
    header, body = read_csv(GC_CSV)
    body[2][header.index("_uuid")] = body[1][header.index("_uuid")]
    export = write_csv(tmp_path / "dup_uuid.csv", header, body)
    with connect(tmp_path / "w.duckdb") as con:
        result = land(con, export, gc_contract())
        assert rows(con, "select fields['community'] from raw_kobo_restricted.submissions") == [("Arlington",)]
    assert (result.submissions_read, result.submissions_landed) == (3, 1)
    assert result.exclusions == {"conflicting_duplicate": 2}


def test_an_exact_copy_is_dropped_and_counted(tmp_path):
    header, body = read_csv(GC_CSV)
    copy = list(body[0])
    copy[header.index("_id")], copy[header.index("_index")] = "254199999", "4"
    export = write_csv(tmp_path / "copy.csv", header, [*body, copy])
    with connect(tmp_path / "w.duckdb") as con:
        result = land(con, export, gc_contract())
    assert (result.submissions_read, result.submissions_landed, result.exclusions) == (4, 3, {"duplicate": 1})


def test_select_multiple_that_became_select_one_in_the_form_is_refused(tmp_path):
    form = tmp_path / "form.xlsx"
    workbook = openpyxl.load_workbook(SAMPLE_FORM)
    for row in workbook["survey"].iter_rows(min_row=2):
        if row[1].value == "income_sources":
            row[0].value = "select_one income_source"
    workbook.save(form)
    data = demo_data()
    data["form"] = str(form)
    with connect(tmp_path / "w.duckdb") as con:
        with pytest.raises(KoboFormMismatchError) as caught:
            land(con, SAMPLE_CSV, parse_contract(data, base_dir=REPO), pii_salt=None)
        assert rows(con, "select count(*) from information_schema.tables where table_schema like 'raw_kobo%'") == [(0,)]
    assert ("field income_sources is select_multiple in the contract, but the form version 2 defines "
            "economy/income_sources as select_one") in str(caught.value)
    assert "change fields.income_sources.type to select_one" in str(caught.value)


def test_select_multiple_without_choice_columns_in_the_export_is_refused(tmp_path):
    header, body = read_csv(SAMPLE_CSV)
    drop = {i for i, name in enumerate(header) if "/income_sources/" in name}
    export = write_csv(tmp_path / "one_choice.csv", [h for i, h in enumerate(header) if i not in drop],
                       [[c for i, c in enumerate(row) if i not in drop] for row in body])
    with connect(tmp_path / "w.duckdb") as con:
        with pytest.raises(KoboFormMismatchError, match=r"field income_sources is select_multiple in the contract, but "
                                                        r"the export has no per-choice 0/1 columns for "
                                                        r"'economy/income_sources'.*probably changed to select_one"):
            land(con, export, demo_contract(), pii_salt=None)


def test_a_malformed_row_is_counted_with_its_row_number(tmp_path):
    text = GC_CSV.read_text(encoding="utf-8").splitlines()
    text.insert(2, '"only";"three";"cells"')
    export = tmp_path / "short_row.csv"
    export.write_text("\n".join(text) + "\n", encoding="utf-8")
    with connect(tmp_path / "w.duckdb") as con:
        result = land(con, export, gc_contract())
        assert rows(con, "select reason, row_count, detail from raw_kobo.exclusions") == [("malformed_row", 1, "source rows 2")]
    assert (result.submissions_read, result.submissions_landed) == (4, 3)


def test_a_file_that_is_not_utf8_is_refused_and_nothing_lands(tmp_path):
    export = tmp_path / "latin1.csv"
    export.write_bytes(GC_CSV.read_text(encoding="utf-8").replace("Arlington", "Arlingtön").encode("latin-1"))
    with connect(tmp_path / "w.duckdb") as con:
        with pytest.raises(KoboExportError, match="not UTF-8"):
            land(con, export, gc_contract())
        assert rows(con, "select count(*) from raw_kobo_restricted.submissions") == [(0,)]


def test_hxl_hashtag_row_is_skipped(tmp_path):
    header, body = read_csv(GC_CSV)
    hashtags = ["#date+start", "", "", "#loc+name"] + [""] * (len(header) - 4)
    export = write_csv(tmp_path / "hxl.csv", header, [hashtags, *body])
    with connect(tmp_path / "w.duckdb") as con:
        result = land(con, export, gc_contract())
    assert (result.submissions_read, result.submissions_landed) == (3, 3)


# -- XLSX with a repeat group ---------------------------------------------------------------------------------------------
def formpack_xlsx(path: Path, *, orphan: bool = False, duplicate_last: bool = False) -> Path:
    """A KoBo XLSX export of the formpack fixture: the submissions sheet, then one sheet for the repeat."""
    fixture = json.loads(FORMPACK.read_text(encoding="utf-8"))
    submissions = list(fixture["submissions"])
    if duplicate_last:
        submissions.append(submissions[-1])
    workbook = openpyxl.Workbook()
    main = workbook.active
    main.title = "Household visit"
    main.append(["start", "end", "household_visit/household_location", "meta/instanceID", "_id", "_uuid",
                 "_submission_time", "_validation_status", "_notes", "_status", "_submitted_by", "__version__",
                 "_tags", "_index"])
    members = workbook.create_sheet("houshold_member_repeat")
    members.append(["household_visit/houshold_member_repeat/household_member_name", "_index", "_parent_table_name",
                    "_parent_index", "_submission__id", "_submission__uuid"])
    member_index = 0
    for index, submission in enumerate(submissions, start=1):
        uuid = submission["meta/instanceID"].removeprefix("uuid:")
        main.append([submission["start"], submission["end"], submission["household_visit/household_location"],
                     submission["meta/instanceID"], 1000 + index, uuid, "2016-03-14T20:00:00", None, None,
                     "submitted_via_web", None, submission["meta/versionID"], None, index])
        for member in submission["household_visit/houshold_member_repeat"]:
            member_index += 1
            members.append([member["household_visit/houshold_member_repeat/household_member_name"], member_index,
                            "Household visit", index, 1000 + index, uuid])
    if orphan:
        members.append(["ghost", member_index + 1, "Household visit", 99, 1099, "no-such-submission"])
    workbook.save(path)
    return path


def test_xlsx_export_lands_submissions_and_repeat_rows_joined_by_parent_index(tmp_path):
    export = formpack_xlsx(tmp_path / "visits.xlsx")
    with connect(tmp_path / "w.duckdb") as con:
        result = land(con, export, formpack_contract())
        per_submission = rows(con, """select s.source_row, count(r.row_index), list(r.row_path order by r.row_index)
            from raw_kobo_restricted.submissions s
            left join raw_kobo_restricted.repeat_rows r using (survey_id, source_id, submission_key)
            group by 1 order by 1""")
        assert rows(con, "select distinct fields from raw_kobo_restricted.submissions order by 1") == [
            ({"interview_date": "2016-03-14"},)]
    assert (result.source_kind, result.submissions_read, result.submissions_landed) == ("xlsx_export", 6, 6)
    assert (result.repeat_rows_read, result.repeat_rows_landed, result.repeat_exclusions) == (13, 13, {})
    assert [count for _, count, _ in per_submission] == [1, 2, 1, 2, 2, 5]
    assert per_submission[5][2] == [f"houshold_member_repeat[{n}]" for n in range(1, 6)]


def test_a_repeat_row_whose_parent_is_missing_is_counted_not_landed(tmp_path):
    export = formpack_xlsx(tmp_path / "orphan.xlsx", orphan=True, duplicate_last=True)
    with connect(tmp_path / "w.duckdb") as con:
        result = land(con, export, formpack_contract())
        exclusions = rows(con, "select unit, reason, row_count, detail from raw_kobo.exclusions order by 1, 2")
    assert (result.submissions_read, result.submissions_landed, result.exclusions) == (7, 6, {"duplicate": 1})
    # The re-sent copy's 5 members go with it; the row pointing at _index 99 has no parent at all.
    assert (result.repeat_rows_read, result.repeat_rows_landed) == (19, 13)
    assert result.repeat_exclusions == {"orphan_repeat_row": 1, "parent_excluded": 5}
    assert exclusions == [("repeat_row", "orphan_repeat_row", 1, "sheet rows 19"),
                          ("repeat_row", "parent_excluded", 5, None), ("submission", "duplicate", 1, None)]


def test_a_repeat_sheet_without_parent_index_is_refused(tmp_path):
    export = formpack_xlsx(tmp_path / "broken.xlsx")
    workbook = openpyxl.load_workbook(export)
    workbook["houshold_member_repeat"]["D1"] = "parent"
    workbook.save(export)
    with connect(tmp_path / "w.duckdb") as con:
        with pytest.raises(KoboExportError, match="sheet 'houshold_member_repeat': a repeat sheet without _parent_index"):
            land(con, export, formpack_contract())


def test_other_file_types_are_refused(tmp_path):
    path = tmp_path / "export.json"
    path.write_text("{}")
    with connect(tmp_path / "w.duckdb") as con, pytest.raises(KoboExportError, match="KoBo exports are .csv or .xlsx"):
        land(con, path, gc_contract())


def test_an_export_lands_in_one_transaction_per_file(tmp_path):
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        land(con, GC_CSV, gc_contract(), source_id="partner_a/gc.csv")
        land(con, SAMPLE_CSV, demo_contract(), pii_salt=None, source_id="partner_b/demo.csv")
        assert rows(con, "select source_id, submissions_landed from raw_kobo.loads order by 1") == [
            ("partner_a/gc.csv", 3), ("partner_b/demo.csv", 323)]


def test_a_failure_half_way_through_a_file_leaves_the_previous_load_intact(tmp_path):
    broken = tmp_path / "export.csv"
    data = SAMPLE_CSV.read_bytes()
    broken.write_bytes(data[:-200] + b"\xff" + data[-199:])  # an invalid byte in the last row, far past the first read
    with connect(tmp_path / "w.duckdb") as con:
        land(con, SAMPLE_CSV, demo_contract(), pii_salt=None, source_id="demo/export.csv")
        with pytest.raises(KoboExportError, match="not UTF-8"):
            land(con, broken, demo_contract(), pii_salt=None, run_id="run-2", source_id="demo/export.csv")
        assert rows(con, "select count(*), list(distinct run_id) from raw_kobo_restricted.submissions") == [(323, ["run-1"])]
        assert rows(con, "select submissions_landed, run_id from raw_kobo.loads") == [(323, "run-1")]


@pytest.mark.parametrize("with_form", [True, False], ids=["form-translates-names", "sources-matched-by-name"])
def test_an_export_without_group_names_lands_the_same_answers(tmp_path, with_form):
    header, body = read_csv(SAMPLE_CSV)
    keep = [i for i, name in enumerate(header) if not name.startswith(("livelihood/", "_livelihood/"))]

    def without_group(name: str) -> str:  # the sample's groups are one level deep
        if name.startswith("_location/"):
            return "_" + name.removeprefix("_location/")  # _gps_latitude
        return name.split("/", 1)[1] if "/" in name else name  # rootUuid, resp_sex, income_sources/farming

    short = [without_group(header[i]) for i in keep]
    assert "rootUuid" in short and "_gps_latitude" in short and "income_sources/farming" in short
    export = write_csv(tmp_path / "no_groups.csv", short, [[row[i] for i in keep] for row in body])
    data = demo_data()
    data["export"]["group_separator"] = ""
    if not with_form:
        data.pop("form")
    with connect(tmp_path / "w.duckdb") as con:
        land(con, SAMPLE_CSV, demo_contract(), pii_salt=None, source_id="grouped")
        result = land(con, export, parse_contract(data, base_dir=REPO), pii_salt=None, source_id="flat")
        compare = rows(con, """select count(*) from raw_kobo_restricted.submissions g
            join raw_kobo_restricted.submissions f using (submission_key)
            where g.source_id = 'grouped' and f.source_id = 'flat' and g.fields['sex'] = f.fields['sex']
              and g.fields['wg_walking'] = f.fields['wg_walking'] and g.fields['admin1'] = f.fields['admin1']
              and g.gps_latitude is not distinct from f.gps_latitude and g.respondent_key = f.respondent_key
              and (g.form_version = 'vQm7KfT3pXw9LrB2nD8sHa' or g.fields['income_sources'] = f.fields['income_sources'])""")
    assert result.submissions_landed == 323 and compare == [(323,)]


def test_an_unmapped_answer_without_a_form_is_counted_without_an_example(tmp_path):
    data = yaml_load(KOBO / "contracts" / "gc_biocultural_monitoring.yml")
    del data["fields"]["ecosystem_state"]["codes"]["Stable"]
    data["fields"]["threats"]["codes"].pop("Logging")
    with connect(tmp_path / "w.duckdb") as con:
        land(con, GC_CSV, parse_contract(data, base_dir=REPO))
        assert rows(con, "select fields['ecosystem_state'], fields['threats'] from raw_kobo_restricted.submissions "
                         "where source_row = 3") == [("unmapped", "unmapped")]
        # Free text typed into a select cannot be told from a choice without the form: no example leaves.
        # "Logging" is one of the export's own per-choice columns, so it may serve as an example.
        assert rows(con, "select field, issue, row_count, examples from raw_kobo.field_issues "
                         "where issue = 'unmapped_code' order by 1") == [
            ("ecosystem_state", "unmapped_code", 1, None), ("threats", "unmapped_code", 1, ["Logging"])]
