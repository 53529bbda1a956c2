"""Readers for KoBo export files: CSV (``;`` or legacy ``,``) and XLSX (one sheet per repeat group).

Both stream: rows are produced one at a time and never held all together, so memory does not grow
with the export. Files are opened read-only and never modified. A file the contract cannot read
(wrong separator, another label language, missing meta columns) raises :class:`KoboExportError`
naming the file and the fix; a single unreadable row becomes a counted exclusion instead.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl

from ingestion.kobo.contract import KoboContract
from ingestion.kobo.errors import KoboExportError
from ingestion.kobo.form import FormDefinition
from ingestion.kobo.records import (
    INSTANCE_KEYS,
    ROOT_UUID_KEYS,
    Layout,
    SourceRecord,
    check_export_columns,
    export_layout,
)

_IDENTITY_COLUMNS = frozenset({"_uuid", "_submission_time", *ROOT_UUID_KEYS, *INSTANCE_KEYS})
_SNIFF_BYTES = 1 << 20


def _looks_like_kobo_header(row: Sequence[str]) -> bool:
    return bool(_IDENTITY_COLUMNS & set(row))


def _is_hxl_row(row: Sequence[Any]) -> bool:
    cells = [str(cell).strip() for cell in row if cell not in (None, "")]
    return bool(cells) and all(cell.startswith("#") for cell in cells)


def choose_separator(path: Path, configured: str, *, where: str) -> str:
    """The separator to read with; a file written with the other one is refused with the fix."""
    with path.open("r", encoding="utf-8-sig", errors="replace", newline="") as handle:
        sample = handle.read(_SNIFF_BYTES)
    headers = {}
    for separator in (";", ","):
        try:
            headers[separator] = next(csv.reader(io.StringIO(sample), delimiter=separator), [])
        except csv.Error:
            headers[separator] = []
    if not sample.strip():
        raise KoboExportError(f"{where}: the file is empty. Fix: export the survey's data again from KoBo")
    if configured == "auto":
        fitting = [separator for separator, row in headers.items() if _looks_like_kobo_header(row)]
        return fitting[0] if fitting else max(headers, key=lambda separator: len(headers[separator]))
    other = "," if configured == ";" else ";"
    if not _looks_like_kobo_header(headers[configured]) and (
        _looks_like_kobo_header(headers[other]) or (len(headers[configured]) <= 1 < len(headers[other]))
    ):
        raise KoboExportError(
            f"{where}: the file is separated by {other!r}, but the contract says export.separator: "
            f"{configured!r} (its header splits into {len(headers[configured])} column(s) with {configured!r} "
            f"and {len(headers[other])} with {other!r}). Fix: set export.separator: {other!r} in the contract, "
            "or export again from KoBo with the separator the contract expects"
        )
    return configured


@dataclass
class CsvExport:
    """An open CSV export: its layout (translated header) and its rows as records."""

    path: Path
    layout: Layout
    separator: str
    hxl_row: bool

    def records(self, *, where: str) -> Iterator[SourceRecord]:
        keys = self.layout.keys or ()
        skip = 2 if self.hxl_row else 1
        try:
            with self.path.open("r", encoding="utf-8-sig", newline="") as handle:
                reader = csv.reader(handle, delimiter=self.separator, quotechar='"')
                position = 0
                for line, row in enumerate(reader, start=1):
                    if line <= skip or not row:
                        continue
                    position += 1
                    if len(row) != len(keys):
                        yield SourceRecord(position=position, values=None, error="malformed_row")
                        continue
                    values: dict[str, str | None] = {}
                    for key, cell in zip(keys, row):
                        values.setdefault(key, cell)  # a duplicated header keeps its first column
                    yield SourceRecord(position=position, values=values)
        except UnicodeDecodeError as exc:
            raise KoboExportError(
                f"{where}: not UTF-8 (byte {exc.start} of a read block); nothing was landed. Fix: export again "
                "from KoBo (its exports are UTF-8) rather than re-saving the file in a spreadsheet program"
            ) from exc
        except csv.Error as exc:
            raise KoboExportError(
                f"{where}: the CSV is malformed near line {reader.line_num} ({exc}); nothing was landed. "
                "Fix: export again from KoBo"
            ) from exc


def open_csv_export(path: Path, contract: KoboContract, form: FormDefinition | None, *, where: str) -> CsvExport:
    separator = choose_separator(path, contract.export.separator, where=where)
    try:
        with path.open("r", encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle, delimiter=separator, quotechar='"')
            header = next(reader, [])
            second = next(reader, [])
    except UnicodeDecodeError as exc:
        raise KoboExportError(f"{where}: the header is not UTF-8. Fix: export again from KoBo") from exc
    hxl = contract.export.hxl_header is not False and _is_hxl_row(second)
    if contract.export.hxl_header is True and not hxl:
        raise KoboExportError(f"{where}: the contract expects an HXL hashtag row under the header, but the "
                              "second row is not one. Fix: set export.hxl_header: auto")
    layout = export_layout([cell.strip() for cell in header], contract, form)
    check_export_columns(layout, contract, contract.fields, where=where)
    return CsvExport(path=path, layout=layout, separator=separator, hxl_row=hxl)


# -- XLSX ---------------------------------------------------------------------------------------------------
def cell_text(value: Any) -> str | None:
    """An XLSX cell as the text a CSV export would hold."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


@dataclass
class XlsxSheet:
    name: str
    layout: Layout
    hxl_row: bool
    _sheet: Any

    def rows(self) -> Iterator[tuple[int, dict[str, str | None]]]:
        """(1-based data row, values by key); blank rows are skipped."""
        keys = self.layout.keys or ()
        position = 0
        for line, row in enumerate(self._sheet.iter_rows(values_only=True), start=1):
            if line == 1 or (line == 2 and self.hxl_row):
                continue
            if not any(cell not in (None, "") for cell in row):
                continue
            position += 1
            values: dict[str, str | None] = {}
            for key, cell in zip(keys, row):
                values.setdefault(key, cell_text(cell))
            yield position, values


class XlsxExport:
    """A KoBo XLSX export: the first sheet is the submissions, each further sheet a repeat group."""

    def __init__(self, path: Path, contract: KoboContract, form: FormDefinition | None, *, where: str) -> None:
        self.path, self.contract, self.form, self.where = path, contract, form, where
        try:
            self._book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # zipfile, XML and openpyxl errors alike mean "not a readable workbook"
            raise KoboExportError(f"{where}: not a readable XLSX workbook ({type(exc).__name__}). "
                                  "Fix: export again from KoBo as XLS") from exc

    def __enter__(self) -> "XlsxExport":
        return self

    def __exit__(self, *exc: object) -> None:
        self._book.close()

    def sheets(self) -> list[XlsxSheet]:
        sheets = []
        by_sheet = {spec.sheet: spec for spec in self.contract.repeats}
        for index, worksheet in enumerate(self._book.worksheets):
            rows = worksheet.iter_rows(min_row=1, max_row=2, values_only=True)
            header = [cell_text(cell) or "" for cell in next(rows, ())]
            second = next(rows, ())
            hxl = self.contract.export.hxl_header is not False and _is_hxl_row(second)
            layout = export_layout([cell.strip() for cell in header], self.contract, self.form)
            where = f"{self.where} sheet {worksheet.title!r}"
            if index == 0:
                check_export_columns(layout, self.contract, self.contract.fields, where=where)
            else:
                spec = by_sheet.get(worksheet.title)
                if "_parent_index" not in (layout.keys or ()):
                    raise KoboExportError(
                        f"{where}: a repeat sheet without _parent_index cannot be joined to its submissions. "
                        "Fix: export again from KoBo as XLS without removing columns"
                    )
                if spec is not None:
                    check_export_columns(layout, self.contract, spec.fields, where=where, need_meta=False)
            sheets.append(XlsxSheet(name=worksheet.title, layout=layout, hxl_row=hxl, _sheet=worksheet))
        if not sheets:
            raise KoboExportError(f"{self.where}: the workbook has no sheets")
        if len(sheets) > 1 and "_index" not in (sheets[0].layout.keys or ()):
            raise KoboExportError(f"{self.where}: the submissions sheet lacks _index, which repeat sheets refer "
                                  "to through _parent_index. Fix: export again from KoBo without removing columns")
        return sheets
