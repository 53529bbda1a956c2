"""CSV files into the staged table. UTF-8 without empty lines: DuckDB's own CSV reader (parallel,
constant memory). Other CSV (cp1252, latin-1, UTF-16, or with empty lines, which DuckDB would skip and
so shift row numbers): Python's csv module, streamed in chunks.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import duckdb

from ingestion.partners.codes import Problem
from ingestion.partners.contract import FileSpec
from ingestion.partners.i18n import N_
from ingestion.partners.read.staged import (
    CELLS,
    HEADER_SEARCH_ROWS,
    FileRejected,
    StagedFile,
    clean,
    find_header,
    plan_header,
    record_texts,
    stage_records,
    title_note,
)
from ingestion.partners.sniff import Sniff, choose_encoding

MAX_LINE_BYTES = 32 << 20  # one CSV row
DELIMITERS = (",", ";", "\t", "|")
_DELIMITER_NAMES = {",": N_("comma"), ";": N_("semicolon"), "\t": N_("tab"), "|": N_("vertical bar")}  # report: translated


def delimiter_name(delimiter: str | None) -> str:
    return _DELIMITER_NAMES.get(delimiter or "", repr(delimiter))


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
                yield record_texts(record)
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
    if not any(any(clean(cell) for cell in record) for record in records):
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
    title_note(staged)
    return staged


def stage_csv(con: duckdb.DuckDBPyConnection, path: Path, spec: FileSpec, sniff: Sniff) -> StagedFile:
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
    staged = stage_records(con, _python_csv_records(path, encoding, delimiter), spec, staged)
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


def head_records(path: Path, sniff: Sniff, encoding: str = "auto", delimiter: str = "auto",
                 rows: int = HEADER_SEARCH_ROWS) -> tuple[str | None, str, list[list[str]]]:
    """The encoding and delimiter the reader would choose, and the first ``rows`` records as it would
    split them (for a draft contract, before the header row is known)."""
    chosen, _ = choose_encoding(path, sniff, encoding)
    if chosen is None:
        return None, delimiter, []
    sample = _sample_text(sniff, chosen)
    if delimiter == "auto":
        delimiter = detect_delimiter(sample)
    return chosen, delimiter, list(csv.reader(io.StringIO(sample), delimiter=delimiter))[:rows]
