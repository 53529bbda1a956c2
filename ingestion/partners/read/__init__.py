"""Reading a partner file into a temporary DuckDB table of text cells, one row per spreadsheet row
(``staged``: the table and its header). Two readers fill it: ``delimited`` (CSV, through DuckDB or
Python's csv module) and ``workbook`` (XLSX, through openpyxl).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from ingestion.partners.codes import Problem
from ingestion.partners.contract import FileSpec
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
        raise FileRejected([Problem("too_large", f"the file is {sniff.size / (1 << 30):.1f} GiB; the limit is {MAX_FILE_BYTES >> 30} GiB",
                                    "Split the file (for example one file per year).")])
    if sniff.kind == "empty":
        raise FileRejected([Problem("empty", "the file is empty (0 bytes)", "Send the file again; it may not have been saved.")])
    if suffix in XLSX_EXTENSIONS:
        if sniff.kind != "zip":
            raise FileRejected([Problem("unreadable", "the file is named .xlsx but is not an Excel workbook",
                                        "Open it in your spreadsheet program and save it as .xlsx (Excel Workbook).")])
        return stage_xlsx(con, path, spec)
    if suffix in CSV_EXTENSIONS:
        if sniff.kind == "zip":
            raise FileRejected([Problem("unreadable", f"the file is named {suffix} but is a zip archive, probably an Excel workbook",
                                        "Rename it to .xlsx, or save it from your spreadsheet program as 'CSV UTF-8'.")])
        if sniff.kind == "ole":
            raise FileRejected([Problem("unsupported_format", f"the file is named {suffix} but is an old Excel (.xls) workbook",
                                        "Save it as .xlsx or as 'CSV UTF-8'.")])
        if sniff.kind != "text":
            raise FileRejected([Problem("unreadable", f"the file is named {suffix} but contains binary data ({sniff.kind}), not text",
                                        "Export the data from your spreadsheet program as 'CSV UTF-8' or .xlsx.")])
        staged = stage_csv(con, path, spec, sniff)
        return split_subjects(con, staged, spec.subjects) if spec.subjects else staged
    raise FileRejected([Problem(
        "unsupported_format", f"files ending in '{suffix or '(no extension)'}' are not read",
        "Send .csv (UTF-8, or the encoding in your contract) or .xlsx files. Old .xls and .ods files: save them as .xlsx.")])
