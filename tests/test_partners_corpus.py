"""The bad-input corpus (tests/partners_corpus/bad/ and the binary cases built below).

Every case runs beside a good file in the same partner folder, and is checked for three things:
a clear file-level error or rows set aside with the right reason; no crash of the run; and no
row lost from the good file. Partner files must come out of the run byte-for-byte unchanged.
"""

from __future__ import annotations

import io
import os
import random
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
import pytest

from ingestion.partners import ingest_partner
from tests.partners_corpus.support import NOW, fingerprints, workspace

CORPUS = Path(__file__).parent / "partners_corpus"
BAD = CORPUS / "bad"
GOOD_ROWS = 5  # bad/good.csv


# --- the binary and oversized inputs, built here rather than committed -----------------------------


def _xlsx(sheets: dict[str, list[list]]) -> bytes:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("xl/worksheets/sheet1.xml", "w") as member:
            for _ in range(64):
                member.write(b"\0" * (1 << 20))  # 64 MiB that compress to about 64 KiB
    return buffer.getvalue()


DATA_SHEET = [["Year", "Series", "Sex", "Value"], [2019, "SH_OOP_XPD_EARNNET40", "Female", 12.5]]
BUILT = {
    "binary_garbage.csv": lambda: random.Random(7).randbytes(4096),
    "workbook_named.csv": lambda: _xlsx({"Data": DATA_SHEET}),
    "truncated.xlsx": lambda: _xlsx({"Data": DATA_SHEET})[:2000],
    "zip_bomb.xlsx": _bomb,
    "old_excel.xls": lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504),
    "report.pdf": lambda: b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n",
    "sheet_data.xlsx": lambda: _xlsx({"Sheet1": DATA_SHEET}),
    "formula_cells.xlsx": lambda: _formula_workbook(),
    "huge_line.csv": lambda: ("Year,Series,Sex,Age,Value\n2019,SH_OOP_XPD_EARNNET40,Female,15-24,12.5\n"
                              "2019,SH_OOP_XPD_EARNNET40,Male,15-24," + "9" * 3_000_000 + "x\n"
                              "2020,SH_OOP_XPD_EARNNET40,Male,60+,35.0\n").encode(),
}


def _formula_workbook() -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in DATA_SHEET + [[2020, "SH_OOP_XPD_EARNNET40", "Male", "=cmd|' /C calc'!A0"]]:
        sheet.append(row)
    sheet["D3"].data_type = "s"  # typed text that looks like a formula, as a partner would paste it
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# --- the expected outcome of each case ----------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    error: str | None = None  # a file-level problem code, or
    rejected: dict[int, str] = field(default_factory=dict)  # spreadsheet row -> reason code
    landed: int = 0
    says: str = ""  # a phrase the partner's report must contain


CASES = [
    # encodings
    Case("strict_utf8_but_cp1252.csv", error="unreadable", says="is not valid utf-8"),
    Case("latin1_labels.csv", landed=2),
    Case("utf16_unicode_text.txt", landed=1),
    Case("mixed_encodings.csv", rejected={2: "unknown_code"}, landed=2, says="UTF-8 text inside a non-UTF-8 file"),
    # not a table, or not ours to read
    Case("empty.csv", error="empty", says="0 bytes"),
    Case("header_only.csv", error="empty", says="no data rows"),
    Case("only_blank_rows.csv", error="empty", says="all 2 rows under the column names are empty"),
    Case("binary_garbage.csv", error="unreadable", says="binary data"),
    Case("workbook_named.csv", error="unreadable", says="Rename it to .xlsx"),
    Case("truncated.xlsx", error="unreadable", says="truncated or damaged"),
    Case("zip_bomb.xlsx", error="too_large", says="compression ratio"),
    Case("old_excel.xls", error="unsupported_format", says="Old .xls"),
    Case("report.pdf", error="unsupported_format", says="'.pdf' are not read"),
    Case("notes.docx", error="no_matching_pattern", says="matches no file pattern"),
    Case("sheet_data.xlsx", error="sheet_not_found", says="no sheet named 'Data' (it has: Sheet1)"),
    # layout
    Case("missing_value_column.csv", error="required_columns_missing", says="'Value' for value (is 'Valeu' meant to be it?)"),
    Case("duplicate_columns.csv", error="duplicate_columns", says="'Sex' (for sex) appears 2 times"),
    Case("too_many_columns.csv", error="too_large", says="604 columns"),
    Case("mixed_delimiters.csv", rejected={3: "wrong_delimiter", 5: "wrong_delimiter"}, landed=2),
    Case("extra_cells.csv", rejected={2: "extra_cells"}, landed=1),
    Case("unterminated_quote.csv", error="unreadable", says="data row 2: the cell under 'Value' runs on over the next lines"),
    Case("title_rows_bom_crlf_blank_lines.csv", rejected={7: "unknown_code"}, landed=1, says="rows 1 to 3 above the column names"),
    Case("huge_line.csv", rejected={3: "unparseable_value"}, landed=2),
    # cells
    Case("formula_cells.csv", rejected={2: "formula_text", 3: "formula_text", 4: "unparseable_value"}, landed=0),
    Case("formula_cells.xlsx", rejected={3: "formula_text"}, landed=1),
    Case("sql_column_names.csv", landed=1, says="not in your data contract"),
    Case("unknown_codes.csv", rejected={2: "unknown_code", 3: "unknown_code", 4: "unknown_code"}, landed=1),
    Case("conflicting_duplicates.csv", rejected={2: "conflicting_duplicate", 3: "conflicting_duplicate", 5: "duplicate_row"}, landed=2),
    Case("counts_negative.csv", rejected={2: "value_out_of_range", 4: "unit_mismatch"}, landed=1),
    Case("percent_over_100.csv", rejected={2: "value_out_of_range", 3: "value_out_of_range", 4: "value_out_of_range"}, landed=1),
    Case("bad_periods.csv", rejected={2: "unparseable_period", 3: "unparseable_period", 4: "unparseable_period",
                                      5: "unparseable_period"}, landed=1),
    Case("unparseable_values.csv", rejected={2: "unparseable_value", 3: "unparseable_value", 4: "unparseable_value"}, landed=1),
    Case("missing_keys.csv", rejected={2: "missing_key_field", 3: "missing_key_field"}, landed=1),
    Case("invalid_sample_size.csv", rejected={2: "invalid_sample_size", 3: "invalid_sample_size", 4: "invalid_sample_size"}, landed=1),
    Case("inconsistent_bounds.csv", rejected={3: "inconsistent_bounds"}, landed=2),
    Case("personal_data.csv", rejected={3: "unknown_code"}, landed=1, says="removed before anything was stored"),
]


def test_the_corpus_is_large_enough_and_every_file_has_a_case():
    assert len(CASES) >= 25
    committed = {path.name for path in BAD.iterdir() if path.name not in ("good.csv", "README.md")}
    assert committed | set(BUILT) == {case.name for case in CASES}


@pytest.fixture
def corpus_inbox(tmp_path):
    space = workspace(tmp_path)
    shutil.copyfile(CORPUS / "corpus.yml", space.contracts / "corpus.yml")
    space.drop("corpus", BAD / "good.csv")
    yield space
    space.con.close()


def _put(space, name: str) -> Path:
    if name in BUILT:
        return space.write("corpus", name, BUILT[name]())
    return space.drop("corpus", BAD / name)[0]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_bad_input(corpus_inbox, case):
    space = corpus_inbox
    _put(space, case.name)
    before = fingerprints(space.inbox)
    result = space.run("corpus")  # never raises for a bad file
    assert fingerprints(space.inbox) == before
    files = {item.file_name: item for item in result.files}
    good = files["good.csv"]
    assert (good.status, good.observations_landed, good.observations_quarantined) == ("loaded", GOOD_ROWS, 0)
    bad = files[case.name]
    if case.error:
        assert bad.status == "rejected"
        assert [problem.code for problem in bad.errors] == [case.error]
        assert bad.errors[0].fix  # every problem says how to fix it
    else:
        assert bad.errors == []
        assert bad.observations_landed == case.landed
        rejected = dict(space.rows("select source_row, reason_code from raw_partners.quarantine where source_file = ?",
                                   [case.name]))
        assert rejected == case.rejected
        assert bad.observations_quarantined == len(case.rejected)
    if case.says:
        assert case.says.lower() in bad.report_markdown.read_text(encoding="utf-8").lower()


def test_whole_corpus_in_one_run(corpus_inbox):
    """All bad inputs at once: the run finishes and the good file lands whole."""
    space = corpus_inbox
    for case in CASES:
        _put(space, case.name)
    (space.inbox / "Bad Partner!").mkdir()  # a path-like or unsafe folder name is skipped, not read
    before = fingerprints(space.inbox)
    result = space.run("corpus")
    assert fingerprints(space.inbox) == before
    outcome = {item.file_name: item for item in result.files}
    assert outcome["good.csv"].observations_landed == GOOD_ROWS
    for case in CASES:
        item = outcome[case.name]
        if case.error:
            assert [problem.code for problem in item.errors] == [case.error], case.name
        else:
            assert (item.observations_landed, item.observations_quarantined) == (case.landed, len(case.rejected)), case.name
    assert result.report_markdown.exists() and result.report_html.exists()


def test_what_specific_inputs_land_as(corpus_inbox):
    space = corpus_inbox
    for name in ("latin1_labels.csv", "sql_column_names.csv", "huge_line.csv", "conflicting_duplicates.csv",
                 "personal_data.csv", "unparseable_values.csv", "formula_cells.csv"):
        _put(space, name)
    space.run("corpus")
    # cp1252 labels and decimal commas (';' file) read as meant.
    assert space.rows("select sex, value from raw_partners.observations where source_file = 'latin1_labels.csv' order by 1") == [
        ("F", 12.5), ("M", 10.1)]
    # SQL-looking headers are data, kept verbatim as breakdown names; every table is still there.
    assert space.rows("select extra_dimensions from raw_partners.observations where source_file = 'sql_column_names.csv'") == [
        ({'Value"); DROP TABLE raw_partners.files; --': "x", "'; select 1; --": "y"},)]
    assert space.rows("select count(*) from raw_partners.files") == [(8,)]
    # A 3 MB cell is kept, cut, in the set-aside row; the row after it lands.
    cut = space.rows("select length(reason_value), length(raw_values->>'Value') from raw_partners.quarantine "
                     "where source_file = 'huge_line.csv'")
    assert cut == [(1000, 1000)]
    assert space.rows("select source_row from raw_partners.observations where source_file = 'huge_line.csv' order by 1") == [(2,), (4,)]
    # An exact repeat keeps the first row; different values keep neither.
    assert space.rows("select source_row, value from raw_partners.observations where source_file = 'conflicting_duplicates.csv' "
                      "order by 1") == [(4, 10.1), (6, 20.0)]
    assert space.rows("select reason_detail from raw_partners.quarantine where source_file = 'conflicting_duplicates.csv' "
                      "order by source_row") == [("same breakdown in rows 2, 3",), ("same breakdown in rows 2, 3",),
                                                 ("same breakdown in rows 4, 5",)]
    # Personal data never reaches the quarantine's raw values.
    raw = space.rows("select raw_values from raw_partners.quarantine where source_file = 'personal_data.csv'")[0][0]
    assert "Rahim" not in raw and "+93" not in raw and "Phone" not in raw and '"Sex":"Femal"' in raw
    # 'n/a' is an accepted row without a value.
    assert space.rows("select value, value_is_missing, value_raw from raw_partners.observations "
                      "where source_file = 'unparseable_values.csv'") == [(None, True, "n/a")]
    # A formula-looking cell is shown as text in the report, never as a live formula or markup.
    report = next((space.reports / "corpus" / "files").glob("formula_cells.csv*.html")).read_text()
    assert "<code>=cmd|&#x27; /C calc&#x27;!A0</code>" in report


def test_a_symbolic_link_in_a_partner_folder_is_not_followed(corpus_inbox, tmp_path):
    space = corpus_inbox
    secret = tmp_path / "outside.csv"
    secret.write_text("Year,Series,Sex,Value\n2019,SH_OOP_XPD_EARNNET40,Female,1\n")
    os.symlink(secret, space.inbox / "corpus" / "link.csv")
    result = space.run("corpus")
    assert [item.file_name for item in result.files] == ["good.csv"]
    assert result.skipped == [("link.csv", "symbolic links are not followed; put the file itself in the folder")]


def test_path_like_partner_names_never_reach_the_file_system(corpus_inbox):
    from ingestion.partners import InvalidPartnerIdError

    for partner_id in ("../corpus", "corpus/../corpus", "/etc", "corpus\0"):
        with pytest.raises(InvalidPartnerIdError):
            ingest_partner(corpus_inbox.con, partner_id, corpus_inbox.inbox, corpus_inbox.contracts,
                           corpus_inbox.reports, "run", NOW)
