"""XLSX workbooks into the staged table: openpyxl in read-only (streaming) mode, after checking the
archive against size limits (an XLSX is a zip archive: decompression bombs are refused before opening)."""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Iterator
from pathlib import Path

import duckdb

from ingestion.partners.codes import Problem, label_key
from ingestion.partners.contract import FileSpec
from ingestion.partners.read.staged import MAX_COLUMNS, FileRejected, StagedFile, stage_records

MAX_XLSX_UNCOMPRESSED = 256 << 20
MAX_XLSX_RATIO = 200
MAX_XLSX_MEMBERS = 2_000
MAX_XLSX_ROWS = 1_048_576  # Excel's own limit


def _check_archive(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise FileRejected([Problem("unreadable", f"the workbook cannot be opened ({exc}); it may be truncated or damaged",
                                    "Open it in your spreadsheet program, save it again as .xlsx, and resend it.")]) from exc
    total = sum(member.file_size for member in members)
    worst = max((member.file_size / max(member.compress_size, 1) for member in members if member.file_size > 1 << 20), default=0)
    if len(members) > MAX_XLSX_MEMBERS or total > MAX_XLSX_UNCOMPRESSED or worst > MAX_XLSX_RATIO:
        raise FileRejected([Problem(
            "too_large", f"the workbook would unpack to {total / (1 << 20):.0f} MiB in {len(members)} parts "
            f"(limits: {MAX_XLSX_UNCOMPRESSED >> 20} MiB, {MAX_XLSX_MEMBERS} parts, compression ratio {MAX_XLSX_RATIO})",
            "Send only the data sheet, or save it as CSV UTF-8.")])
    if not any(member.filename.startswith("xl/worksheets/") for member in members):
        raise FileRejected([Problem("unreadable", "the file is a zip archive but not an Excel workbook (no worksheets inside)",
                                    "Save the data from your spreadsheet program as .xlsx or as CSV UTF-8.")])


def _cell_text(value: object, number_format: str | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        if number_format and "%" in number_format:
            return f"{value * 100:.12g}%"  # what the partner sees: 0.455 shown as 45.5%
        if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)


def _xlsx_records(sheet, width_limit: int) -> Iterator[list[str | None]]:
    number = 0
    for row in sheet.iter_rows(max_col=width_limit):
        number += 1
        actual = next((cell.row for cell in row if getattr(cell, "row", None)), number)
        while number < actual:  # keep rowid + 1 equal to the sheet's row number
            yield []
            number += 1
        if number > MAX_XLSX_ROWS:
            raise FileRejected([Problem("too_large", f"the sheet has more than {MAX_XLSX_ROWS} rows", "Split the data or send CSV.")])
        yield [_cell_text(cell.value, getattr(cell, "number_format", None)) for cell in row]


def stage_xlsx(con: duckdb.DuckDBPyConnection, path: Path, spec: FileSpec) -> StagedFile:
    import openpyxl  # only needed for workbooks

    _check_archive(path)
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for damaged workbooks
        raise FileRejected([Problem("unreadable", f"the workbook cannot be read ({type(exc).__name__}: {exc})",
                                    "Open it in your spreadsheet program, save it again as .xlsx, and resend it.")]) from exc
    try:
        names = workbook.sheetnames
        if spec.read.sheet is not None:
            match = next((name for name in names if label_key(name) == label_key(spec.read.sheet)), None)
            if match is None:
                raise FileRejected([Problem(
                    "sheet_not_found", f"the workbook has no sheet named '{spec.read.sheet}' (it has: {', '.join(names)})",
                    f"Name the data sheet '{spec.read.sheet}', as agreed in your contract.")])
            sheet_name = match
        else:
            sheet_name = names[0]
        staged = StagedFile(headers=[], header_row=1, sheet=sheet_name, reader="xlsx")
        try:
            return stage_records(con, _xlsx_records(workbook[sheet_name], MAX_COLUMNS + 2), spec, staged)
        except FileRejected:
            raise
        except Exception as exc:
            raise FileRejected([Problem("unreadable", f"the sheet '{sheet_name}' cannot be read ({type(exc).__name__}: {exc})",
                                        "Open it in your spreadsheet program, save it again as .xlsx, and resend it.")]) from exc
    finally:
        workbook.close()


def sheet_heads(path: Path, rows: int) -> dict[str, list[list[str | None]]]:
    """The first ``rows`` rows of every sheet, as the reader would show their cells (for a draft contract,
    before the data sheet and its header row are known)."""
    import openpyxl

    _check_archive(path)
    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        heads = {}
        for name in workbook.sheetnames:
            records = _xlsx_records(workbook[name], MAX_COLUMNS + 2)
            heads[name] = [record for record, _ in zip(records, range(rows))]
        return heads
    finally:
        workbook.close()
