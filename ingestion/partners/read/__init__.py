"""Reading a partner file into a temporary DuckDB table of text cells, one row per spreadsheet row
(``staged``: the table and its header). Two readers fill it: ``delimited`` (CSV, through DuckDB or
Python's csv module) and ``workbook`` (XLSX, through openpyxl).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from ingestion.partners.codes import Problem
from ingestion.partners.contract import FileSpec
from ingestion.partners.i18n import Msg
from ingestion.partners.read.delimited import delimiter_name, stage_csv
from ingestion.partners.read.staged import CELLS, FileRejected, StagedFile
from ingestion.partners.read.subjects import split_subjects
from ingestion.partners.read.workbook import stage_xlsx
from ingestion.partners.sniff import Sniff

__all__ = ["CELLS", "FileRejected", "StagedFile", "delimiter_name", "stage_file"]

MAX_FILE_BYTES = 2 << 30  # 2 GiB: far above any partner file, below what would fill a disk
CSV_EXTENSIONS = (".csv", ".txt", ".tsv")
XLSX_EXTENSIONS = (".xlsx", ".xlsm")


def stage_file(con: duckdb.DuckDBPyConnection, path: Path, spec: FileSpec, sniff: Sniff) -> StagedFile:
    """Fill ``_pt_cells`` from ``path``; raises ``FileRejected`` when the file cannot be read at all."""
    suffix = path.suffix.lower()
    if sniff.size > MAX_FILE_BYTES:
        raise FileRejected([Problem("too_large", Msg("the file is {size} GiB; the limit is {limit} GiB",
                                                     size=round(sniff.size / (1 << 30), 1), limit=MAX_FILE_BYTES >> 30),
                                    Msg("Split the file (for example one file per year)."))])
    if sniff.kind == "empty":
        raise FileRejected([Problem("empty", Msg("the file is empty (0 bytes)"),
                                    Msg("Send the file again; it may not have been saved."))])
    if suffix in XLSX_EXTENSIONS:
        if sniff.kind != "zip":
            raise FileRejected([Problem("unreadable", Msg("the file is named .xlsx but is not an Excel workbook"),
                                        Msg("Open it in your spreadsheet program and save it as .xlsx (Excel Workbook)."))])
        return stage_xlsx(con, path, spec)
    if suffix in CSV_EXTENSIONS:
        if sniff.kind == "zip":
            raise FileRejected([Problem(
                "unreadable", Msg("the file is named {suffix} but is a zip archive, probably an Excel workbook", suffix=suffix),
                Msg("Rename it to .xlsx, or save it from your spreadsheet program as 'CSV UTF-8'."))])
        if sniff.kind == "ole":
            raise FileRejected([Problem("unsupported_format",
                                        Msg("the file is named {suffix} but is an old Excel (.xls) workbook", suffix=suffix),
                                        Msg("Save it as .xlsx or as 'CSV UTF-8'."))])
        if sniff.kind != "text":
            raise FileRejected([Problem(
                "unreadable", Msg("the file is named {suffix} but contains binary data ({kind}), not text",
                                  suffix=suffix, kind=sniff.kind),
                Msg("Export the data from your spreadsheet program as 'CSV UTF-8' or .xlsx."))])
        staged = stage_csv(con, path, spec, sniff)
        return split_subjects(con, staged, spec.subjects) if spec.subjects else staged
    raise FileRejected([Problem(
        "unsupported_format", Msg("files ending in '{suffix}' are not read", suffix=suffix or "(no extension)"),
        Msg("Send .csv (UTF-8, or the encoding in your contract) or .xlsx files. Old .xls and .ods files: save them as .xlsx."))])
