"""The staged table ``_pt_cells(c0 .. cN, extra)``: every row of a partner file in order, title rows and
the header included, so ``rowid + 1`` is the row number a spreadsheet program shows. ``c<i>`` is the i-th
kept column as the text the partner wrote; ``extra`` the first non-empty cell beyond the header's width (a
row that is too long). Columns the contract marks as personal data are never copied into it.

Here: the header (found among the first rows, planned: which columns are kept and how they are shown)
and the writer the Python CSV and XLSX readers share.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import duckdb
import pandas as pd

from ingestion.partners.codes import WHITESPACE, Problem, label_key
from ingestion.partners.contract import FileSpec
from ingestion.partners.i18n import Msg

CELLS = "_pt_cells"

MAX_COLUMNS = 500
HEADER_SEARCH_ROWS = 30  # title rows above the header are common in spreadsheets
CHUNK_ROWS = 20_000


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


# --- header handling -----------------------------------------------------------------------


def clean(cell: object) -> str:
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
        keys = {label_key(clean(cell)) for cell in record if clean(cell)}
        found = sum(1 for options in needed if keys & options)
        if spec.wide:
            found += any(spec.wide.is_value_column(clean(cell)) for cell in record if clean(cell))
        return found

    scores = [score(record) for record in records[:HEADER_SEARCH_ROWS]]
    full = len(needed) + (1 if spec.wide else 0)
    for index, value in enumerate(scores):
        if value == full:
            return index
    # No row has everything: the best one, so the message lists what is missing from it.
    best = max(scores, default=0)
    if best == 0:
        return next((index for index, record in enumerate(records) if any(clean(cell) for cell in record)), 0)
    return scores.index(best)


@dataclass(frozen=True)
class HeaderPlan:
    keep: list[int]  # raw column positions copied into c0, c1, ...
    names: list[str]  # their display names
    personal_removed: list[str]
    width: int  # number of raw columns in the header


def plan_header(raw_header: Sequence[str | None], spec: FileSpec) -> HeaderPlan:
    personal = {label_key(name) for name in spec.personal_data}
    names = [clean(cell) for cell in raw_header]
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


def record_texts(record: Iterable[object]) -> list[str | None]:
    return [None if cell is None else str(cell) for cell in record]


def title_note(staged: StagedFile) -> None:
    if staged.header_row > 1:
        staged.notes.append(Msg("rows 1 to {last} above the column names were read as titles and skipped",
                                last=staged.header_row - 1))


def stage_records(
    con: duckdb.DuckDBPyConnection, records: Iterator[list[str | None]], spec: FileSpec, staged: StagedFile
) -> StagedFile:
    """Shared by the Python CSV and XLSX readers: find the header, then stream every row."""
    head: list[list[str | None]] = []
    for record in records:
        head.append(record)
        if len(head) >= HEADER_SEARCH_ROWS:
            break
    if not any(any(clean(cell) for cell in record) for record in head):
        raise FileRejected([Problem("empty", Msg("the file has no content (no header row, no data)"),
                                    Msg("Check that you sent the right file, and that it was saved with its data."))])
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
    title_note(staged)
    return staged
