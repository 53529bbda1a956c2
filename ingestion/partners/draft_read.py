"""Reading a partner's sample file for a draft contract, with the pipeline's own reader.

First the file's head, as the reader splits it (encoding and delimiter detected as ``auto`` would,
every sheet of a workbook): which sheet holds the data, on which row the column names are, and
whether it is a KoBoToolbox export. Then the whole file through ``read.stage_file``, exactly as an
ingestion with that sheet and header row would stage it, and one profile per column: the privacy
measures ``evaluate.privacy`` judges columns by, and the distinct labels in order of appearance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from ingestion.kobo.records import META_COLUMNS
from ingestion.partners.contract import FileSpec, ReadOptions
from ingestion.partners.evaluate.privacy import PROFILE_WIDTH, column_profile
from ingestion.partners.evaluate.sqltext import filled, strip
from ingestion.partners.read import CELLS, FileRejected, stage_file
from ingestion.partners.read.delimited import head_records
from ingestion.partners.read.staged import HEADER_SEARCH_ROWS, clean
from ingestion.partners.read.workbook import sheet_heads
from ingestion.partners.sniff import sniff_file

MAX_LABELS = 200  # distinct labels kept per column: a dimension has far fewer
KOBO_MIN_META = 2  # KoBo meta columns (_uuid, _submission_time, _index, ...) that make a header a KoBo export's


class DraftError(Exception):
    """No draft can be made: the message says why and what to do."""


@dataclass
class ColumnFacts:
    position: int
    header: str
    filled: int
    distinct: int
    longest: int
    contacts: int  # cells that look like a phone number or an e-mail address
    with_digits: int
    labels: list[str] = field(default_factory=list)  # distinct non-blank cells, in order of appearance

    @property
    def profile(self) -> tuple[int, int, int, int, int]:
        return self.filled, self.distinct, self.longest, self.contacts, self.with_digits


@dataclass
class SampleFile:
    path: Path
    sha256: str
    kind: str  # csv | xlsx
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    sheets: list[str] = field(default_factory=list)
    header_row: int = 1
    headers: list[str] = field(default_factory=list)
    columns: list[ColumnFacts] = field(default_factory=list)
    rows_read: int = 0
    kobo_meta: list[str] = field(default_factory=list)  # the KoBo meta columns found in the header
    head: list[list[str | None]] = field(default_factory=list)  # the first rows, as the reader splits them

    @property
    def is_kobo(self) -> bool:
        return len(self.kobo_meta) >= KOBO_MIN_META


def _width(record: list[str | None]) -> int:
    return sum(1 for cell in record if clean(cell))


def header_index(records: list[list[str | None]]) -> int:
    """0-based: the first row with at least two filled cells and most of the widest row's (titles above
    the column names fill one cell)."""
    widest = max((_width(record) for record in records), default=0)
    for index, record in enumerate(records):
        width = _width(record)
        if width >= 2 and width * 10 >= widest * 6:
            return index
    raise DraftError("no row of the file's first rows has two or more filled cells: it does not look like a table "
                     "of figures (one column per field). Check the file, or write the contract by hand")


def _data_sheet(heads: dict[str, list[list[str | None]]]) -> str:
    """The sheet that looks most like a table: the widest row, then the most rows of two cells or more."""
    def score(name: str) -> tuple[int, int]:
        records = heads[name]
        return max((_width(record) for record in records), default=0), sum(1 for record in records if _width(record) >= 2)

    best = max(heads, key=lambda name: (score(name), -list(heads).index(name)))
    if score(best)[0] < 2:
        raise DraftError(f"no sheet of the workbook ({', '.join(heads)}) has a row of two or more filled cells")
    return best


def read_sample(path: Path) -> SampleFile:
    """Read ``path`` as the pipeline would; raises ``DraftError`` when it cannot be read at all."""
    path = Path(path)
    if not path.is_file():
        raise DraftError(f"{path}: no such file")
    sniff = sniff_file(path)
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        sample = SampleFile(path, sniff.sha256, "xlsx")
        try:
            heads = sheet_heads(path, HEADER_SEARCH_ROWS)
        except FileRejected as exc:
            raise DraftError(f"{path}: {exc}") from exc
        sample.sheets = list(heads)
        sample.sheet = _data_sheet(heads)
        records = heads[sample.sheet]
    elif suffix in (".csv", ".txt", ".tsv"):
        sample = SampleFile(path, sniff.sha256, "csv")
        if sniff.kind != "text":
            raise DraftError(f"{path}: named {suffix} but its content is {sniff.kind}, not text")
        sample.encoding, sample.delimiter, records = head_records(path, sniff)
        if sample.encoding is None:
            raise DraftError(f"{path}: the text cannot be decoded")
    else:
        raise DraftError(f"{path}: files ending in '{suffix}' are not read by the pipeline (send .csv or .xlsx)")
    sample.head = [list(record) for record in records]
    index = header_index(records)
    sample.header_row = index + 1
    raw_header = [clean(cell) for cell in records[index]]
    sample.kobo_meta = [name for name in raw_header if name in META_COLUMNS]
    if sample.is_kobo:
        sample.headers = [name for name in raw_header if name]
        return sample
    spec = FileSpec(index=0, label="draft", patterns=("*",), format="open_sdg",
                    read=ReadOptions(sheet=sample.sheet, header_row=sample.header_row), constants={}, columns={},
                    dimensions={}, attributes=(), personal_data=(), missing_values=(), wide=None)
    con = duckdb.connect()
    try:
        try:
            staged = stage_file(con, path, spec, sniff)
        except FileRejected as exc:
            raise DraftError(f"{path}: {exc}") from exc
        sample.headers, sample.rows_read = staged.headers, staged.rows_read
        sample.encoding, sample.delimiter = staged.encoding or sample.encoding, staged.delimiter or sample.delimiter
        sample.columns = _profiles(con, staged.headers, staged.header_row)
    finally:
        con.close()
    return sample


def _profiles(con: duckdb.DuckDBPyConnection, headers: list[str], header_row: int) -> list[ColumnFacts]:
    if not headers:
        return []
    measures = con.execute("select " + ", ".join(column_profile(f"c{index}") for index in range(len(headers)))
                           + f" from {CELLS} where rowid >= {header_row}").fetchone()
    columns = []
    for index, header in enumerate(headers):
        facts = ColumnFacts(index, header, *measures[PROFILE_WIDTH * index:PROFILE_WIDTH * (index + 1)])
        cell = f"c{index}"
        facts.labels = [label for label, in con.execute(
            f"select label from (select {strip(cell)} as label, min(rowid) as first from {CELLS} "
            f"where rowid >= {header_row} and {filled(cell)} group by label) order by first limit {MAX_LABELS}"
        ).fetchall()]
        columns.append(facts)
    return columns
