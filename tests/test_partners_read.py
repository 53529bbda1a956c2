"""Reading partner files: encodings, delimiters, row numbers, workbooks and their limits."""

from __future__ import annotations

import codecs
import hashlib
import zipfile
from pathlib import Path

import duckdb
import openpyxl
import pytest

from ingestion.partners import load_contract
from ingestion.partners.read import CELLS, FileRejected, stage_file
from ingestion.partners.read.delimited import detect_delimiter
from ingestion.partners.sniff import choose_encoding, sniff_file

CONTRACT = """\
contract_version: 1
partner: {id: reader, name: Reader test, type: civil_society}
licence: CC-BY-4.0
attribution: test
files:
  - pattern: "*.xlsx"
    format: open_sdg
    read: {sheet: Data}
    constants: {geo_area_m49: 4, unit: PT, series_code: SH_OOP_XPD_EARNNET40}
    columns: {period: Year, value: Value}
    dimensions: {sex: Sex}
  - pattern: "*"
    format: open_sdg
    constants: {geo_area_m49: 4, unit: PT, series_code: SH_OOP_XPD_EARNNET40}
    columns: {period: Year, value: Value}
    dimensions: {sex: Sex}
    personal_data: [Name]
"""


@pytest.fixture
def contract(tmp_path):
    path = tmp_path / "reader.yml"
    path.write_text(CONTRACT, encoding="utf-8")
    return load_contract(path)


def stage(tmp_path: Path, contract, name: str, content: bytes):
    path = tmp_path / name
    path.write_bytes(content)
    con = duckdb.connect()
    staged = stage_file(con, path, contract.spec_for(name), sniff_file(path))
    rows = con.execute(f"select rowid + 1, * from {CELLS} order by rowid").fetchall()
    return staged, rows


def test_sniff_hashes_the_exact_bytes_and_leaves_the_file_alone(tmp_path):
    path = tmp_path / "a.csv"
    content = b"Year,Sex,Value\n2019,F,1\n" * 5000
    path.write_bytes(content)
    before = path.stat().st_mtime_ns
    sniff = sniff_file(path)
    assert sniff.sha256 == hashlib.sha256(content).hexdigest()
    assert (sniff.size, sniff.kind, sniff.valid_utf8, sniff.has_blank_lines) == (len(content), "text", True, False)
    assert path.stat().st_mtime_ns == before and path.read_bytes() == content


@pytest.mark.parametrize(
    ("content", "kind"),
    [(b"", "empty"), (b"PK\x03\x04rest", "zip"), (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1rest", "ole"),
     (b"%PDF-1.4", "pdf"), (b"\x1f\x8b\x08\x00", "gzip"), (bytes(range(256)) * 4, "binary"),
     (codecs.BOM_UTF16_LE + "Year\tValue\n".encode("utf-16-le"), "text")],
)
def test_sniff_tells_what_a_file_really_is(tmp_path, content, kind):
    path = tmp_path / "x.csv"
    path.write_bytes(content)
    assert sniff_file(path).kind == kind


@pytest.mark.parametrize(
    ("content", "encoding"),
    [("Année;Valeur\n2019;1\n".encode("utf-8"), "utf-8"),
     (codecs.BOM_UTF8 + "Année;Valeur\n".encode("utf-8"), "utf-8-sig"),
     ("Communauté d’accueil;1\n".encode("cp1252"), "cp1252"),  # ’ exists in cp1252, not in latin-1
     ("Déplacés\x81;1\n".encode("latin-1"), "latin-1"),  # 0x81 is undefined in cp1252
     (codecs.BOM_UTF16_LE + "Année\n".encode("utf-16-le"), "utf-16")],
)
def test_encoding_detection(tmp_path, content, encoding):
    path = tmp_path / "x.csv"
    path.write_bytes(content)
    assert choose_encoding(path, sniff_file(path), "auto") == (encoding, None)


def test_a_named_encoding_that_does_not_fit_is_an_error(tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes("Année;Valeur\n".encode("cp1252"))
    encoding, why = choose_encoding(path, sniff_file(path), "utf-8")
    assert encoding is None and why == "byte 3 (0xe9) is not valid utf-8"


@pytest.mark.parametrize(
    ("sample", "delimiter"),
    [("a,b,c\n1,2,3\n", ","), ("a;b;c\n1;2,5;3\n4;5,5;6\n", ";"), ("a\tb\n1\t2\n", "\t"), ("a|b\n1|2\n", "|"),
     ('"x,y";b;c\n1;2;3\n4;5;6\n', ";"), ("title\n\na,b\n1,2\n3,4\n", ","), ("single\ncolumn\n", ",")],
)
def test_delimiter_detection(sample, delimiter):
    assert detect_delimiter(sample) == delimiter


def test_clean_utf8_goes_through_duckdb_with_spreadsheet_row_numbers(tmp_path, contract):
    content = b"Year,Sex,Value,Name\n" + b"".join(b"%d,F,%d.5,Person %d\n" % (2000 + i % 20, i, i) for i in range(3000))
    staged, rows = stage(tmp_path, contract, "clean.csv", content)
    assert staged.reader == "duckdb"
    assert (staged.header_row, staged.rows_read, staged.headers) == (1, 3000, ["Year", "Sex", "Value"])
    assert staged.personal_removed == ["Name"]
    assert rows[0] == (1, "Year", "Sex", "Value", None)
    assert rows[2500] == (2501, str(2000 + 2499 % 20), "F", "2499.5", None)  # row 2501 holds record 2499
    assert all("Person" not in str(row) for row in rows)  # personal data never staged


def test_blank_lines_keep_row_numbers_right(tmp_path, contract):
    # DuckDB would skip the empty lines and shift every later row; such files take the Python reader.
    content = b"Year,Sex,Value\r\n2019,F,1\r\n\r\n2020,M,2\r\n\r\n\r\n2021,F,3\r\n"
    staged, rows = stage(tmp_path, contract, "blank.csv", content)
    assert staged.reader == "python-csv"
    assert [(row[0], row[1]) for row in rows if row[1]] == [(1, "Year"), (2, "2019"), (4, "2020"), (7, "2021")]


def test_quoted_line_breaks_and_quotes_stay_in_their_cell(tmp_path, contract):
    content = b'Year,Sex,Value\n2019,"F\nwith a note",1\n2020,"M ""quoted""",2\n2021,F,3\n'
    staged, rows = stage(tmp_path, contract, "quoted.csv", content)
    assert rows[1][1:4] == ("2019", "F\nwith a note", "1")
    assert rows[2][1:4] == ("2020", 'M "quoted"', "2")
    assert rows[3][0] == 4  # a spreadsheet shows the multi-line cell as one row


def test_title_rows_above_the_header_are_found(tmp_path, contract):
    content = "Survey results\nSource: partner\n\nYear;Sex;Value\n2019;F;1,5\n".encode("cp1252")
    staged, rows = stage(tmp_path, contract, "titled.csv", content)
    assert (staged.header_row, staged.rows_read, staged.delimiter, staged.encoding) == (4, 1, ";", "utf-8")
    assert rows[4] == (5, "2019", "F", "1,5", None)
    assert any("rows 1 to 3" in note for note in staged.notes)


def test_cp1252_is_decoded(tmp_path, contract):
    content = "Year;Sex;Value\n2019;Féminin;1\n2020;Communauté d’accueil;2\n".encode("cp1252")
    staged, rows = stage(tmp_path, contract, "fr.csv", content)
    assert (staged.encoding, staged.reader) == ("cp1252", "python-csv")
    assert [row[2] for row in rows[1:]] == ["Féminin", "Communauté d’accueil"]


def test_utf16_excel_unicode_text(tmp_path, contract):
    content = codecs.BOM_UTF16_LE + "Year\tSex\tValue\r\n2019\tFéminin\t1\r\n".encode("utf-16-le")
    staged, rows = stage(tmp_path, contract, "unicode.txt", content)
    assert (staged.encoding, staged.delimiter) == ("utf-16", "\t")
    assert rows[1][1:4] == ("2019", "Féminin", "1")


def test_cells_beyond_the_header_are_kept_in_extra(tmp_path, contract):
    content = b"Year,Sex,Value\n2019,F,12,5\n2020,M,3,,\n"
    _, rows = stage(tmp_path, contract, "extra.csv", content)
    assert rows[1][1:] == ("2019", "F", "12", "5")
    assert rows[2][1:] == ("2020", "M", "3", None)  # trailing empty cells are not extra content


def workbook(path: Path, sheets: dict[str, list[list]], percent: bool = False) -> Path:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
        if percent:
            for row in sheet.iter_rows(min_row=2):
                row[2].number_format = "0.0%"
    book.save(path)
    return path


def test_xlsx_named_sheet_row_numbers_and_cell_types(tmp_path, contract):
    path = workbook(tmp_path / "book.xlsx", {
        "Notes": [["Read me"]],
        "Data": [["Title"], [], ["Year", "Sex", "Value"], [2019, "F", 0.455], [2020.0, "M", 12], [None, None, None],
                 ["2021", "F", None]],
    }, percent=False)
    book = openpyxl.load_workbook(path)
    book["Data"]["C4"].number_format = "0.0%"
    book.save(path)
    con = duckdb.connect()
    staged = stage_file(con, path, contract.spec_for("book.xlsx"), sniff_file(path))
    rows = con.execute(f"select rowid + 1, * exclude (extra) from {CELLS} order by rowid").fetchall()
    assert (staged.reader, staged.sheet, staged.header_row, staged.rows_read) == ("xlsx", "Data", 3, 4)
    assert rows[3:] == [(4, "2019", "F", "45.5%"), (5, "2020", "M", "12"), (6, None, None, None), (7, "2021", "F", None)]


def test_xlsx_missing_sheet_names_the_sheets(tmp_path, contract):
    path = workbook(tmp_path / "book.xlsx", {"Sheet1": [["Year", "Sex", "Value"]]})
    with pytest.raises(FileRejected) as caught:
        stage_file(duckdb.connect(), path, contract.spec_for("book.xlsx"), sniff_file(path))
    assert caught.value.problems[0].code == "sheet_not_found"
    assert "(it has: Sheet1)" in caught.value.problems[0].message


def test_truncated_workbook(tmp_path, contract):
    whole = workbook(tmp_path / "whole.xlsx", {"Data": [["Year", "Sex", "Value"], [2019, "F", 1]]}).read_bytes()
    path = tmp_path / "cut.xlsx"
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(FileRejected) as caught:
        stage_file(duckdb.connect(), path, contract.spec_for("cut.xlsx"), sniff_file(path))
    assert caught.value.problems[0].code == "unreadable"
    assert "truncated or damaged" in caught.value.problems[0].message


def test_decompression_bomb_is_refused_before_unpacking(tmp_path, contract):
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("xl/worksheets/sheet1.xml", "w") as member:
            block = b"\0" * (1 << 20)
            for _ in range(64):  # 64 MiB of zeros, about 64 KiB compressed
                member.write(block)
    assert path.stat().st_size < 1 << 20
    with pytest.raises(FileRejected) as caught:
        stage_file(duckdb.connect(), path, contract.spec_for("bomb.xlsx"), sniff_file(path))
    assert caught.value.problems[0].code == "too_large"
    assert "compression ratio" in caught.value.problems[0].message
