"""Reading a partner file into a temporary DuckDB table of text cells, one row per spreadsheet row.

The staged table ``_pt_cells(c0 .. cN, extra)`` holds every row of the file in order, title
rows and the header included, so ``rowid + 1`` is the row number a spreadsheet program shows.
``c<i>`` is the i-th kept column as the text the partner wrote; ``extra`` the first non-empty
cell beyond the header's width (a row that is too long). Columns the contract marks as personal
data are never copied into it.

Three readers fill it:
- UTF-8 CSV without empty lines: DuckDB's own CSV reader (parallel, constant memory).
- Other CSV (cp1252, latin-1, UTF-16, or with empty lines, which DuckDB would skip and so shift
  row numbers): Python's csv module, streamed in chunks.
- XLSX: openpyxl in read-only (streaming) mode, after checking the archive against size limits.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from ingestion.partners.codes import WHITESPACE, Problem, label_key
from ingestion.partners.contract import FileSpec
from ingestion.partners.sniff import Sniff, choose_encoding

CELLS = "_pt_cells"

MAX_FILE_BYTES = 2 << 30  # 2 GiB: far above any partner file, below what would fill a disk
MAX_LINE_BYTES = 32 << 20  # one CSV row
MAX_COLUMNS = 500
HEADER_SEARCH_ROWS = 30  # title rows above the header are common in spreadsheets
CHUNK_ROWS = 20_000
# XLSX is a zip archive: refuse decompression bombs before opening it.
MAX_XLSX_UNCOMPRESSED = 256 << 20
MAX_XLSX_RATIO = 200
MAX_XLSX_MEMBERS = 2_000
MAX_XLSX_ROWS = 1_048_576  # Excel's own limit

CSV_EXTENSIONS = (".csv", ".txt", ".tsv")
XLSX_EXTENSIONS = (".xlsx", ".xlsm")
DELIMITERS = (",", ";", "\t", "|")
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "vertical bar"}


class FileRejected(Exception):
    """The file cannot be read as a whole; ``problems`` says why and how to fix it."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(problem.message for problem in problems))


@dataclass
class StagedFile:
    headers: list[str]  # display names of the kept columns: c0, c1, ...
    header_row: int  # 1-based row number of the header
    rows_read: int = 0  # rows after the header, blank ones included
    reader: str = ""  # duckdb | python-csv | xlsx
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    personal_removed: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def delimiter_name(delimiter: str | None) -> str:
    return _DELIMITER_NAMES.get(delimiter or "", repr(delimiter))


# --- header handling -----------------------------------------------------------------------


def _clean(cell: object) -> str:
    return "" if cell is None else " ".join(str(cell).strip(WHITESPACE).split())


def header_requirements(spec: FileSpec) -> list[set[str]]:
    """For each column the contract requires, the label keys of its accepted headers."""
    refs = [*spec.columns.values(), *spec.dimensions.values()]
    return [{label_key(header) for header in ref.headers} for ref in refs if ref.required]


def find_header(records: Sequence[Sequence[str | None]], spec: FileSpec) -> int:
    """0-based index of the header record among the first ``records``."""
    if spec.read.header_row:
        return spec.read.header_row - 1
    needed = header_requirements(spec)

    def score(record: Sequence[str | None]) -> int:
        keys = {label_key(_clean(cell)) for cell in record if _clean(cell)}
        found = sum(1 for options in needed if keys & options)
        if spec.wide:
            found += any(spec.wide.is_value_column(_clean(cell)) for cell in record if _clean(cell))
        return found

    scores = [score(record) for record in records[:HEADER_SEARCH_ROWS]]
    full = len(needed) + (1 if spec.wide else 0)
    for index, value in enumerate(scores):
        if value == full:
            return index
    # No row has everything: the best one, so the message lists what is missing from it.
    best = max(scores, default=0)
    if best == 0:
        return next((index for index, record in enumerate(records) if any(_clean(cell) for cell in record)), 0)
    return scores.index(best)


@dataclass(frozen=True)
class HeaderPlan:
    keep: list[int]  # raw column positions copied into c0, c1, ...
    names: list[str]  # their display names
    personal_removed: list[str]
    width: int  # number of raw columns in the header


def plan_header(raw_header: Sequence[str | None], spec: FileSpec) -> HeaderPlan:
    personal = {label_key(name) for name in spec.personal_data}
    names = [_clean(cell) for cell in raw_header]
    # Trailing unnamed columns are what spreadsheet programs add; they carry no data.
    while names and not names[-1]:
        names.pop()
    if len(names) > MAX_COLUMNS:
        raise FileRejected([Problem(
            "too_large", f"the header has {len(names)} columns; at most {MAX_COLUMNS} are read",
            "Send the data in the layout agreed in your contract (one column per field).")])
    keep, display, removed = [], [], []
    seen: Counter[str] = Counter()
    for position, name in enumerate(names):
        if name and label_key(name) in personal:
            removed.append(name)
            continue
        shown = name or f"column {position + 1}"
        seen[label_key(shown)] += 1
        if seen[label_key(shown)] > 1:
            shown = f"{shown} ({seen[label_key(shown)]})"
        keep.append(position)
        display.append(shown)
    return HeaderPlan(keep, display, removed, len(names))


# --- the staged table ----------------------------------------------------------------------


def _create_cells(con: duckdb.DuckDBPyConnection, width: int) -> None:
    columns = "".join(f"c{index} varchar, " for index in range(width))
    con.execute(f"create or replace temp table {CELLS} ({columns}extra varchar)")


class _CellWriter:
    """Appends rows in order (so rowid + 1 stays the row number), in chunks, so memory stays flat."""

    def __init__(self, con: duckdb.DuckDBPyConnection, plan: HeaderPlan):
        self.con = con
        self.plan = plan
        self.rows: list[tuple] = []
        self.count = 0
        _create_cells(con, len(plan.keep))

    def add(self, record: Sequence[str | None]) -> None:
        cells = [record[position] if position < len(record) else None for position in self.plan.keep]
        overflow = [cell for cell in record[self.plan.width:] if cell not in (None, "")]
        self.rows.append((*[cell if cell != "" else None for cell in cells], overflow[0] if overflow else None))
        if len(self.rows) >= CHUNK_ROWS:
            self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        names = [*[f"c{index}" for index in range(len(self.plan.keep))], "extra"]
        chunk = pd.DataFrame.from_records(self.rows, columns=names).astype(object)
        self.con.register("_pt_chunk", chunk)
        try:
            self.con.execute(f"insert into {CELLS} select * from _pt_chunk")
        finally:
            self.con.unregister("_pt_chunk")
        self.count += len(self.rows)
        self.rows = []


def _record_texts(record: Iterable[object]) -> list[str | None]:
    return [None if cell is None else str(cell) for cell in record]


def _title_note(staged: StagedFile) -> None:
    if staged.header_row > 1:
        staged.notes.append(f"rows 1 to {staged.header_row - 1} above the column names were read as titles and skipped")


def _stage_records(
    con: duckdb.DuckDBPyConnection, records: Iterator[list[str | None]], spec: FileSpec, staged: StagedFile
) -> StagedFile:
    """Shared by the Python CSV and XLSX readers: find the header, then stream every row."""
    head: list[list[str | None]] = []
    for record in records:
        head.append(record)
        if len(head) >= HEADER_SEARCH_ROWS:
            break
    if not any(any(_clean(cell) for cell in record) for record in head):
        raise FileRejected([Problem("empty", "the file has no content (no header row, no data)",
                                    "Check that you sent the right file, and that it was saved with its data.")])
    header_index = find_header(head, spec)
    if header_index >= len(head):
        raise FileRejected([Problem("empty", f"the contract says the header is on row {header_index + 1}, "
                                    f"but the file has only {len(head)} row(s)", "Check the file, or header_row in the contract.")])
    plan = plan_header(head[header_index], spec)
    staged.headers, staged.personal_removed, staged.header_row = plan.names, plan.personal_removed, header_index + 1
    writer = _CellWriter(con, plan)
    for record in head:
        writer.add(record)
    for record in records:
        writer.add(record)
    writer.flush()
    staged.rows_read = writer.count - staged.header_row
    _title_note(staged)
    return staged


# --- CSV ---------------------------------------------------------------------------------------


def _sample_text(sniff: Sniff, encoding: str) -> str:
    text = sniff.head.decode(encoding, errors="replace")
    if len(sniff.head) < sniff.size:
        cut = max(text.rfind("\n"), text.rfind("\r"))
        text = text[:cut] if cut > 0 else text
    return text


def detect_delimiter(sample: str) -> str:
    """The delimiter that splits most sample rows into the same number (>1) of cells."""
    best, best_score = ",", (0.0, 0)
    for delimiter in DELIMITERS:
        counts = [len(row) for row in csv.reader(io.StringIO(sample), delimiter=delimiter) if row]
        split = [count for count in counts if count > 1]  # title lines have one cell whatever the delimiter
        if not split:
            continue
        mode, frequency = Counter(split).most_common(1)[0]
        score = (frequency / len(counts), mode)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _python_csv_records(path: Path, encoding: str, delimiter: str) -> Iterator[list[str | None]]:
    # csv's per-field limit is process-wide; it is only ever raised, to the row limit.
    if csv.field_size_limit() < MAX_LINE_BYTES:
        csv.field_size_limit(MAX_LINE_BYTES)
    with open(path, encoding=encoding, newline="") as text:
        reader = csv.reader(text, delimiter=delimiter, quotechar='"', doublequote=True, strict=False)
        try:
            for record in reader:
                yield _record_texts(record)
        except csv.Error as exc:
            raise FileRejected([Problem(
                "unreadable", f"the file could not be read as CSV near row {reader.line_num}: {exc}",
                f"Check row {reader.line_num} (a very long cell, or a stray quote); re-save the file from your spreadsheet program.")]) from exc
        except UnicodeDecodeError as exc:
            raise FileRejected([Problem("unreadable", f"the text is not valid {encoding}: {exc.reason}",
                                        "Save the file as 'CSV UTF-8' from your spreadsheet program.")]) from exc


def _duckdb_csv(con: duckdb.DuckDBPyConnection, path: Path, spec: FileSpec, sample: str, delimiter: str,
                staged: StagedFile) -> StagedFile | None:
    """The fast path; None when DuckDB cannot read it exactly as the sample says (then Python reads it)."""
    records = list(csv.reader(io.StringIO(sample), delimiter=delimiter))[:HEADER_SEARCH_ROWS]
    if not any(any(_clean(cell) for cell in record) for record in records):
        return None
    header_index = find_header(records, spec)
    if header_index >= len(records):
        return None
    plan = plan_header(records[header_index], spec)
    raw_width = max(plan.width, 1)
    columns = {f"r{index}": "VARCHAR" for index in range(raw_width + 2)}  # two more: cells beyond the header
    kept = "".join(f"r{position} as c{index}, " for index, position in enumerate(plan.keep))
    # No ordinality column: it would make the reader single-threaded. With insertion order
    # preserved, the table's rowid is the record's position in the file.
    query = f"""
        create or replace temp table {CELLS} as
        select {kept}coalesce(r{raw_width}, r{raw_width + 1}) as extra
        from read_csv($path, header = false, auto_detect = false, skip = 0, delim = $delim, quote = '"',
                      escape = '"', columns = $columns, strict_mode = false, null_padding = true,
                      encoding = 'utf-8', {{options}})
    """
    params = {"path": str(path), "delim": delimiter, "columns": columns}
    ordered = con.execute("select current_setting('preserve_insertion_order')").fetchone()[0]
    if not ordered:
        con.execute("set preserve_insertion_order = true")
    try:
        # First the fast way (parallel, lines up to 2 MB); the parallel reader refuses some quoted
        # line breaks, and a longer line needs bigger buffers, which make the reader sequential.
        attempts = ("parallel = true", f"parallel = false, max_line_size = {MAX_LINE_BYTES}")
        for attempt in attempts:
            try:
                con.execute(query.format(options=attempt), params)
                break
            except duckdb.Error:
                if attempt == attempts[-1]:
                    return None
    finally:
        if not ordered:
            con.execute("set preserve_insertion_order = false")
    # Check the reading agrees with the sample on the first rows (header included).
    first = con.execute(f"select * exclude (extra) from {CELLS} where rowid <= {header_index} order by rowid").fetchall()
    if len(first) != header_index + 1:
        return None
    for record, row in zip(records, first):
        expected = [record[position] if position < len(record) else "" for position in plan.keep]
        if [cell or "" for cell in row] != [cell or "" for cell in expected]:
            return None
    total = con.execute(f"select count(*) from {CELLS}").fetchone()[0]
    staged.headers, staged.personal_removed, staged.header_row = plan.names, plan.personal_removed, header_index + 1
    staged.rows_read = total - staged.header_row
    _title_note(staged)
    return staged


def _stage_csv(con: duckdb.DuckDBPyConnection, path: Path, spec: FileSpec, sniff: Sniff) -> StagedFile:
    encoding, why = choose_encoding(path, sniff, spec.read.encoding)
    if encoding is None:
        raise FileRejected([Problem(
            "unreadable", f"the file is not in the {spec.read.encoding} encoding the contract names: {why}",
            "Save the file as 'CSV UTF-8' from your spreadsheet program (or ask us to change the contract's encoding).")])
    sample = _sample_text(sniff, encoding)
    delimiter = spec.read.delimiter if spec.read.delimiter != "auto" else detect_delimiter(sample)
    staged = StagedFile(headers=[], header_row=1, encoding=encoding, delimiter=delimiter)
    if encoding == "cp1252" or encoding == "latin-1":
        mojibake = sum(sample.count(marker) for marker in ("Ã©", "Ã¨", "Ã ", "â€"))
        if mojibake:
            staged.notes.append("parts of the file look like UTF-8 text inside a non-UTF-8 file (for example 'Ã©' "
                                "for 'é'); save the whole file as 'CSV UTF-8'")
    if encoding in ("utf-8", "utf-8-sig") and not sniff.has_blank_lines:
        fast = _duckdb_csv(con, path, spec, sample, delimiter, staged)
        if fast is not None:
            fast.reader = "duckdb"
            _check_no_runaway_quote(con, fast)
            return fast
    staged.reader = "python-csv"
    staged = _stage_records(con, _python_csv_records(path, encoding, delimiter), spec, staged)
    _check_no_runaway_quote(con, staged)
    return staged


def _check_no_runaway_quote(con: duckdb.DuckDBPyConnection, staged: StagedFile) -> None:
    """A stray quote (``"12``) opens a quoted cell that runs on over the next lines until another quote:
    those lines would be read as part of one cell, and the rows on them would vanish from every count.
    A line break is legitimate in a quoted cell (a two-line label); a line inside a cell that holds
    nearly a whole row's worth of delimiters is a swallowed row: the file is refused with the row to fix.
    (Columns dropped as personal data are not kept, so not looked at.)"""
    if not staged.headers or not staged.delimiter:
        return
    width = len(staged.headers) + len(staged.personal_removed)
    threshold = max(1, width - 2)
    swallowed = [
        f"coalesce(list_max(list_transform(string_split(c{index}, chr(10))[2:], "
        f"line -> length(line) - length(replace(line, $delimiter, '')))) >= {threshold}, false)"
        for index in range(len(staged.headers))]
    found = con.execute(
        f"select rowid, list_position([{', '.join(swallowed)}], true) from {CELLS} "
        f"where rowid >= {staged.header_row} and list_bool_or([{', '.join(swallowed)}]) order by rowid limit 1",
        {"delimiter": staged.delimiter},
    ).fetchone()
    if found is None:
        return
    rowid, position = found
    raise FileRejected([Problem(
        "unreadable",
        f"data row {rowid - staged.header_row + 1}: the cell under '{staged.headers[position - 1]}' runs on over the "
        "next lines, so a quote (\") opened in it is not closed where the cell ends; the rows on those lines "
        "would be read as part of that one cell",
        "Remove the stray quote in that row (or close it), save the file again and resend it.")])


# --- XLSX ----------------------------------------------------------------------------------------


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


def _stage_xlsx(con: duckdb.DuckDBPyConnection, path: Path, spec: FileSpec) -> StagedFile:
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
            return _stage_records(con, _xlsx_records(workbook[sheet_name], MAX_COLUMNS + 2), spec, staged)
        except FileRejected:
            raise
        except Exception as exc:
            raise FileRejected([Problem("unreadable", f"the sheet '{sheet_name}' cannot be read ({type(exc).__name__}: {exc})",
                                        "Open it in your spreadsheet program, save it again as .xlsx, and resend it.")]) from exc
    finally:
        workbook.close()


# --- entry point -----------------------------------------------------------------------------


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
        return _stage_xlsx(con, path, spec)
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
        return _stage_csv(con, path, spec, sniff)
    raise FileRejected([Problem(
        "unsupported_format", f"files ending in '{suffix or '(no extension)'}' are not read",
        "Send .csv (UTF-8, or the encoding in your contract) or .xlsx files. Old .xls and .ods files: save them as .xlsx.")])
