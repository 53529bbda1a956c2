"""Applying a contract to a staged file: every row becomes an observation in canonical codes,
accepted or with the one reason it is set aside, in the temporary view ``_pt_eval``.

The work is one SQL statement over ``_pt_cells`` (vectorised: no Python per row), read once when
the lander inserts it. Labels and
periods are translated in Python once per *distinct* cell text (``Contract.map_label``,
``parse_period``) and the answers enter the statement as ``CASE`` lists (or a lookup table
when a column has many distinct texts). Partner text never becomes SQL: cells are referred to
as ``c<i>``, and headers and labels enter only as quoted literals (``lit``) or table rows.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

import duckdb
import pandas as pd

from ingestion.partners.codes import (
    CODED_FIELDS,
    DIMENSIONS,
    MISSING_MARKERS,
    REASONS,
    TOTAL,
    UNIT_RANGES,
    WHITESPACE,
    Problem,
    label_key,
)
from ingestion.partners.contract import Contract, FileSpec, MappedLabel
from ingestion.partners.periods import Period, parse_period
from ingestion.partners.read import CELLS, FileRejected, StagedFile
from ingestion.sql import literal

EVAL = "_pt_eval"  # a view: every observation, its canonical fields and its first failing check

# What identifies an observation (the fact table's grain plus the partner's own breakdowns); two
# accepted observations of a file with the same key are duplicates.
KEY = ("series_code", "geo_area_m49", "period_label", *[f"coalesce({dimension}, '{TOTAL}')" for dimension in DIMENSIONS],
       "coalesce(extra_dimensions::varchar, '')")
LOOKUP = "_pt_lookup"
PERIODS = "_pt_periods"

RAW_CELL_CHARS = 1_000  # longer cells are cut in rejected rows' raw values and reports


# DuckDB's trim(x, characters) is slow on a million rows; these regular expressions only do
# work on the rare cell that has spreadsheet whitespace (tabs, no-break spaces) at an edge.
_WS_CLASS = "[" + "".join(f"\\x{{{ord(char):04x}}}" for char in WHITESPACE) + "]"
_NOT_WS = "[^" + _WS_CLASS[1:]


def strip(expression: str) -> str:
    """SQL: ``expression`` without leading or trailing whitespace (null stays null)."""
    edges = literal(f"^{_WS_CLASS}+|{_WS_CLASS}+$")
    return (f"case when regexp_matches({expression}, {literal(f'^{_WS_CLASS}|{_WS_CLASS}$')})"
            f" then regexp_replace({expression}, {edges}, '', 'g') else {expression} end")


def filled(expression: str) -> str:
    """SQL: whether ``expression`` has any non-whitespace character (false for null)."""
    return f"coalesce(regexp_matches({expression}, {literal(_NOT_WS)}), false)"


@dataclass(frozen=True)
class Source:
    kind: str  # column | constant | wide
    column: int | None = None
    header: str | None = None
    constant: str | None = None


@dataclass
class Layout:
    sources: dict[str, Source] = field(default_factory=dict)  # field or dimension -> where it comes from
    custom_dimensions: list[tuple[str, Source]] = field(default_factory=list)  # the partner's own breakdowns
    unmapped: list[tuple[str, int]] = field(default_factory=list)  # columns not in the contract: kept as breakdowns
    withheld: list[tuple[str, int, str]] = field(default_factory=list)  # (header, position, why): not stored
    attributes: list[tuple[str, int]] = field(default_factory=list)
    wide_columns: list[tuple[int, str]] = field(default_factory=list)
    ignored_blank: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class LabelUse:
    """One distinct cell text of a coded column (or period) and what it was read as."""

    field: str
    column: str | None  # the header; None for a wide file's value-column headers
    label: str
    code: str | None
    problem: str | None
    rows: int


@dataclass
class Evaluation:
    """What ``evaluate`` found out besides the ``_pt_eval`` view itself."""

    layout: Layout
    blank_rows: int  # rows under the header with no content at all
    wide_columns: int  # wide files: value columns per row (0 for tidy files)
    value_header: str | None  # tidy files: the value column's header
    labels: list[LabelUse] = field(default_factory=list)


def _header_index(staged: StagedFile) -> dict[str, list[int]]:
    index: dict[str, list[int]] = {}
    for position, name in enumerate(staged.headers):
        index.setdefault(_base_key(name), []).append(position)
    return index


def _base_key(display_name: str) -> str:
    # read.plan_header shows a repeated header as "Name (2)"; they are the same header.
    key = label_key(display_name)
    if key.endswith(")") and " (" in key and key.rsplit(" (", 1)[1][:-1].isdigit():
        return key.rsplit(" (", 1)[0]
    return key


def resolve_layout(con: duckdb.DuckDBPyConnection, spec: FileSpec, staged: StagedFile) -> Layout:
    """Find each contract column in the header; raise ``FileRejected`` listing all that are missing."""
    index = _header_index(staged)
    layout = Layout()
    missing, duplicated = [], []
    used: set[int] = set()
    for name, ref in [*spec.columns.items(), *spec.dimensions.items()]:
        found = next((key for key in map(label_key, ref.headers) if key in index), None)
        if found is None:
            if ref.required:
                missing.append((name, ref))
            continue
        positions = index[found]
        if len(positions) > 1:
            duplicated.append((name, ref, len(positions)))
            continue
        source = Source("column", positions[0], staged.headers[positions[0]])
        used.add(positions[0])
        if name in CODED_FIELDS or name in ("period", "value", "sample_size", "lower_bound", "upper_bound"):
            layout.sources[name] = source
        else:
            layout.custom_dimensions.append((name, source))
    for name, value in spec.constants.items():
        layout.sources[name] = Source("constant", constant=value)
    for header in spec.attributes:
        for position in index.get(label_key(header), []):
            if position not in used:
                layout.attributes.append((staged.headers[position], position))
                used.add(position)
    if spec.wide:
        layout.wide_columns = [(position, name) for position, name in enumerate(staged.headers)
                               if position not in used and spec.wide.is_value_column(name)]
        used.update(position for position, _ in layout.wide_columns)
        if spec.wide.header_is in DIMENSIONS or spec.wide.header_is == "period":
            layout.sources[spec.wide.header_is] = Source("wide")
        else:
            layout.custom_dimensions.append((spec.wide.header_is, Source("wide")))

    problems = []
    if missing or (spec.wide and not layout.wide_columns):
        present = ", ".join(f"'{name}'" for name in staged.headers) or "(none)"
        lines = []
        for name, ref in missing:
            close = difflib.get_close_matches(ref.headers[0], staged.headers, n=1, cutoff=0.6)
            hint = f" (is '{close[0]}' meant to be it?)" if close else ""
            lines.append(f"{ref.display} for {name}{hint}")
        if spec.wide and not layout.wide_columns:
            lines.append("at least one value column (one per year or group)")
        problems.append(Problem(
            "required_columns_missing",
            f"required column(s) missing: {'; '.join(lines)}. The header (row {staged.header_row}) has: {present}",
            "Use the column names agreed in your contract (spelling matters, upper/lower case does not), "
            "or tell us the new names so we update the contract."))
    for name, ref, count in duplicated:
        problems.append(Problem(
            "duplicate_columns", f"the column {ref.display} (for {name}) appears {count} times",
            "Keep one column with that name, or rename the others."))
    if problems:
        raise FileRejected(problems)

    rest = [position for position in range(len(staged.headers)) if position not in used]
    if rest:
        measures = con.execute(
            "select " + ", ".join(_column_profile(f"c{p}") for p in rest)
            + f" from {CELLS} where rowid >= {staged.header_row}").fetchone()
        for index, position in enumerate(rest):
            header = staged.headers[position]
            count, distinct, longest, contacts, with_digits = measures[5 * index:5 * index + 5]
            if not count:
                layout.ignored_blank.append(header)
            elif (why := _not_a_breakdown(header, count, distinct, longest, contacts, with_digits)) is not None:
                layout.withheld.append((header, position, why))
            else:
                layout.unmapped.append((header, position))
    return layout


# A column the contract does not name is kept as a breakdown of the figures, and breakdowns are
# published. One that looks like personal data or free text is not stored at all: its header names
# personal data (or an identifier, or an age: exact ages single people out; age groups belong in the
# contract's age column), it holds phone numbers or e-mail addresses, long text, or a different value
# on most rows (identifiers and comments, not categories).
_PERSONAL_HEADER_WORDS = frozenset({
    "name", "names", "nom", "nombre", "phone", "telephone", "tel", "mobile", "cell", "email", "mail", "contact",
    "address", "adresse", "gps", "latitude", "longitude", "lat", "lon", "lng", "coordinates", "device", "deviceid",
    "imei", "comment", "comments", "note", "notes", "remark", "remarks", "observation", "observations", "passport",
    "birth", "dob", "signature", "respondent", "enumerator", "interviewer", "collector", "surveyor", "username",
    "id", "ids", "identifier", "uuid", "age", "ages", "edad",
})
# Every row different, on at least this many rows, mostly with digits: an identifier, however small the file.
MIN_ROWS_ALL_DISTINCT = 10
MAX_BREAKDOWN_CHARS = 80
_EMAIL = r"[^\s@]+@[^\s@]+\.[A-Za-z]{2,}"
# digits and phone punctuation only, written as a phone number is (a leading + or 0, or separators)
_PHONE = r"^(\+|0|\(|[0-9]+[ ().-])[0-9 ().-]+$"


def _column_profile(cell: str) -> str:
    """SQL: filled cells, distinct values, longest value, cells that look like a phone or e-mail, cells with a digit."""
    value = strip(cell)
    contact = (f"regexp_matches({cell}, {literal(_EMAIL)}) or (regexp_matches({value}, {literal(_PHONE)})"
               f" and length(regexp_replace({cell}, '[^0-9]', '', 'g')) >= 9)")
    return (f"count(*) filter (where {filled(cell)}), count(distinct {value}) filter (where {filled(cell)}), "
            f"coalesce(max(length({value})), 0), count(*) filter (where {filled(cell)} and ({contact})), "
            f"count(*) filter (where {filled(cell)} and regexp_matches({cell}, '[0-9]'))")


def _not_a_breakdown(header: str, filled_cells: int, distinct: int, longest: int, contacts: int,
                     with_digits: int) -> str | None:
    """Why an unnamed column is not kept as a breakdown, or None when it can be."""
    words = set(re.findall(r"[a-z]+", label_key(header)))
    if words & _PERSONAL_HEADER_WORDS:
        return "its name suggests personal data"
    if contacts:
        return f"{contacts} cell(s) look like a phone number or an e-mail address"
    if longest > MAX_BREAKDOWN_CHARS:
        return f"it holds text up to {longest} characters long"
    # A different value on every row of a small file is an identifier when the values carry numbers
    # (HH-1001, R07); twelve district names on twelve rows are a breakdown.
    if (distinct > 50 and distinct * 2 > filled_cells) or (
            distinct == filled_cells >= MIN_ROWS_ALL_DISTINCT and with_digits * 10 >= filled_cells * 8):
        return f"it holds {distinct} different values in {filled_cells} rows: identifiers or comments, not categories"
    return None


# --- lookups: Python decides, once per distinct text ----------------------------------------------

CASE_LIMIT = 200  # up to this many distinct texts a CASE list; beyond, a lookup table and a join


def _distinct(con: duckdb.DuckDBPyConnection, column: str, staged: StagedFile) -> dict[str, int]:
    """The distinct texts of a column's data rows and how many rows have each."""
    return dict(con.execute(
        f"select {column}, count(*) from {CELLS} where rowid >= {staged.header_row} and {column} is not null "
        f"group by 1").fetchall())


def _insert_frame(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> None:
    con.register("_pt_frame", frame)
    try:
        con.execute(f"insert into {table} by name select * from _pt_frame")
    finally:
        con.unregister("_pt_frame")


def _case(column: str, pairs: list[tuple[str, str]], default: str) -> str:
    if not pairs:
        return default
    return f"case {column} " + " ".join(f"when {literal(raw)} then {value}" for raw, value in pairs) + f" else {default} end"


class _Lookups:
    """Select-list items (and joins, for large lists) translating coded cells and periods."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con
        self.items: list[str] = []
        self.joins: list[str] = []
        con.execute(f"create or replace temp table {LOOKUP} (field varchar, raw varchar, code varchar, problem varchar, blank boolean)")
        con.execute(f"create or replace temp table {PERIODS} (raw varchar, label varchar, period_start date, period_end date, blank boolean)")

    def coded(self, prefix: str, field_name: str, column: str, mapped: dict[str, MappedLabel]) -> None:
        """``<prefix>_code``, ``<prefix>_problem``, ``<prefix>_blank`` for the cells of ``column``."""
        if len(mapped) <= CASE_LIMIT:
            self.items += [
                f"{_case(column, [(raw, literal(m.code)) for raw, m in mapped.items() if m.code is not None], 'null::varchar')} as {prefix}_code",
                f"{_case(column, [(raw, literal(m.problem)) for raw, m in mapped.items() if m.problem], 'null::varchar')} as {prefix}_problem",
                f"{_case(column, [(raw, 'true') for raw, m in mapped.items() if m.blank], f'{column} is null')} as {prefix}_blank",
            ]
            return
        rows = [(field_name, raw, m.code, m.problem, m.blank) for raw, m in mapped.items()]
        _insert_frame(self.con, LOOKUP, pd.DataFrame.from_records(rows, columns=["field", "raw", "code", "problem", "blank"]))
        alias = f"{prefix}_l"
        self.joins.append(f"left join {LOOKUP} {alias} on {alias}.field = {literal(field_name)} and {alias}.raw = src.{column}")
        self.items += [f"{alias}.code as {prefix}_code", f"{alias}.problem as {prefix}_problem",
                       f"coalesce({alias}.blank, true) as {prefix}_blank"]

    def periods(self, column: str, parsed: dict[str, Period | None]) -> None:
        """``period__label``, ``period__start``, ``period__end``, ``period__blank``."""
        blank = {raw for raw in parsed if not raw.strip(WHITESPACE)}
        if len(parsed) <= CASE_LIMIT:
            good = [(raw, period) for raw, period in parsed.items() if period]
            self.items += [
                f"{_case(column, [(raw, literal(p.label)) for raw, p in good], 'null::varchar')} as period__label",
                f"{_case(column, [(raw, literal(p.start.isoformat()) + '::date') for raw, p in good], 'null::date')} as period__start",
                f"{_case(column, [(raw, literal(p.end.isoformat()) + '::date') for raw, p in good], 'null::date')} as period__end",
                f"{_case(column, [(raw, 'true') for raw in blank], f'{column} is null')} as period__blank",
            ]
            return
        rows = [(raw, p.label if p else None, p.start if p else None, p.end if p else None, raw in blank)
                for raw, p in parsed.items()]
        _insert_frame(self.con, PERIODS, pd.DataFrame.from_records(rows, columns=["raw", "label", "period_start", "period_end", "blank"]))
        self.joins.append(f"left join {PERIODS} per on per.raw = src.{column}")
        self.items += ["per.label as period__label", "per.period_start as period__start", "per.period_end as period__end",
                       "coalesce(per.blank, true) as period__blank"]


# --- numbers ----------------------------------------------------------------------------------------

# Per decimal separator: a plain number (the fast path: most cells), a number with thousands
# groups, another accepted form (scientific notation; a dot decimal in a comma-decimal file),
# and the group separators.
_GROUPS_AFTER_DOT = "[, \u00a0\u202f']"  # 1,234.5  1 234.5  1'234.5
_GROUPS_AFTER_COMMA = "[. \u00a0\u202f]"  # 1.234,5  1 234,5
_NUMBER_PATTERNS = {
    ".": (r"[+-]?\d+(\.\d+)?", r"[+-]?\d{1,3}(" + _GROUPS_AFTER_DOT + r"\d{3})+(\.\d+)?",
          r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", _GROUPS_AFTER_DOT),
    ",": (r"[+-]?\d+(,\d+)?", r"[+-]?\d{1,3}(" + _GROUPS_AFTER_COMMA + r"\d{3})+(,\d+)?",
          r"[+-]?\d+\.\d+", _GROUPS_AFTER_COMMA),
}


def decimal_separator(spec: FileSpec, staged: StagedFile) -> str:
    if spec.read.decimal != "auto":
        return spec.read.decimal
    # Spreadsheets saved with ';' between columns are the ones that write '12,5'.
    return "," if staged.delimiter == ";" else "."


def _number(cell: str, prefix: str, decimal: str, markers: list[str]) -> list[list[str]]:
    """Select-list items, one list per query level, parsing ``cell`` as a number: ``12.5``,
    ``1,234``, ``<5``, ``45%``, ``n/a`` (missing). Columns: ``<prefix>_text``, ``_missing``,
    ``_qual`` ('<', '>'), ``_pct`` (had a % sign), ``_num`` (finite double or null).

    Levels, because DuckDB expands an alias reused within one SELECT (each use would repeat the
    parse); and a fast path, because nearly every cell is a plain number."""
    p, body = prefix, f"{prefix}_body"
    plain, grouped, other, groups = _NUMBER_PATTERNS[decimal]
    to_dot = "replace({}, ',', '.')" if decimal == "," else "{}"
    degrouped = f"regexp_replace({body}, {literal(groups)}, '', 'g')"
    number = (
        f"case when regexp_full_match({body}, {literal(plain)}) then try_cast({to_dot.format(body)} as double)"
        f" when regexp_full_match({body}, {literal(grouped)}) then try_cast({to_dot.format(degrouped)} as double)"
        f" when regexp_full_match({body}, {literal(other)}) then try_cast({body} as double) end"
    )
    marks = "[" + ", ".join(literal(marker) for marker in markers) + "]"
    unqualified = f"regexp_replace({p}_text, '^(<=?|>=?|≤|≥)', '')"
    unpercent = f"left({p}_b1, length({p}_b1) - 1)"
    fast = f"{p}_fast"
    return [
        [f"coalesce(regexp_full_match({cell}, {literal(plain)}), false) as {fast}"],
        [f"case when {fast} then {cell} else {strip(cell)} end as {p}_text"],
        [f"case when {fast} then false else {p}_text is null or list_contains({marks}, lower({p}_text)) end as {p}_missing"],
        [f"case when {fast} or {p}_missing then null when left({p}_text, 1) in ('<', '≤') then '<'"
         f" when left({p}_text, 1) in ('>', '≥') then '>' end as {p}_qual"],
        [f"case when {fast} then null when {p}_qual is null then {p}_text else {strip(unqualified)} end as {p}_b1"],
        [f"case when {fast} then false else coalesce(ends_with({p}_b1, '%'), false) end as {p}_pct"],
        [f"case when {fast} then null when {p}_pct then {strip(unpercent)} else {p}_b1 end as {body}"],
        [f"case when {fast} then try_cast({to_dot.format(cell)} as double) when {p}_missing then null else {number} end as {p}_n0"],
        [f"case when isfinite({p}_n0) then {p}_n0 end as {p}_num"],
    ]


def _range_violation(unit: str, number: str) -> str:
    branches = []
    for code, (low, high) in UNIT_RANGES.items():
        tests = ([f"{number} < {low}"] if low is not None else []) + ([f"{number} > {high}"] if high is not None else [])
        if tests:
            branches.append(f"when {literal(code)} then ({' or '.join(tests)})")
    return f"coalesce(case {unit} {' '.join(branches)} else false end, false)"


def _range_text(unit: str) -> str:
    branches = []
    for code, (low, high) in UNIT_RANGES.items():
        if low is not None or high is not None:
            span = f"between {low:g} and {high:g}" if low is not None and high is not None else (
                f"at least {low:g}" if low is not None else f"at most {high:g}")
            branches.append(f"when {literal(code)} then {literal(f'values in unit {code} must be {span}')}")
    return f"case {unit} {' '.join(branches)} end"


# --- the evaluation statement -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Check:
    condition: str  # SQL boolean over the checked level
    reason: str  # a codes.REASONS key
    column: str  # SQL: the header of the column at fault
    cell: str  # SQL: the cell at fault
    detail: str = "null"  # SQL: more words for the report


def evaluate(con: duckdb.DuckDBPyConnection, contract: Contract, spec: FileSpec, staged: StagedFile) -> Evaluation:
    """Create the view ``_pt_eval``: one row per observation (a tidy file's row, a wide file's
    non-empty value cell) with its canonical fields, ``reason_code`` null when every check passes,
    and ``raw_values`` for the rows set aside. Duplicates are found after landing (``land``)."""
    layout = resolve_layout(con, spec, staged)
    sources = layout.sources
    wide = bool(layout.wide_columns)
    all_cells = [f"c{position}" for position in range(len(staged.headers))] + ["extra"]
    # Cell by cell: OR stops at the first filled cell, usually the first one.
    has_content = "(" + " or ".join(filled(cell) for cell in all_cells) + ")"

    # 1. rows (wide: one per non-empty value cell, with its column's header)
    if wide:
        cells = ", ".join(f"c{position}" for position, _ in layout.wide_columns)
        headers = ", ".join(literal(header) for _, header in layout.wide_columns)
        unnest = f", unnest([{cells}]) as vcell, unnest([{headers}]) as wheader"
        src = (f"select * from (select rowid + 1 as ord, *{unnest} from {CELLS} where rowid >= {staged.header_row}"
               f" and {has_content}) where {filled('vcell')}")
    else:
        value = sources.get("value")
        vcell = f"c{value.column}" if value and value.kind == "column" else "null::varchar"
        src = (f"select rowid + 1 as ord, *, {vcell} as vcell, null::varchar as wheader from {CELLS}"
               f" where rowid >= {staged.header_row} and {has_content}")

    # 2. labels and periods
    lookups = _Lookups(con)
    extra_missing = frozenset(label_key(marker) for marker in spec.missing_values)
    raw_of: dict[str, str] = {}  # field -> the column holding its cells
    header_of: dict[str, str] = {}  # field -> SQL for that column's header
    prefix_of: dict[str, str] = {}  # coded field -> prefix of its lookup columns
    labels: list[LabelUse] = []
    wide_counts: dict[str, int] = {}
    if wide:
        counts = con.execute("select " + ", ".join(f"count(*) filter (where {filled(f'c{position}')})" for position, _ in layout.wide_columns)
                             + f" from {CELLS} where rowid >= {staged.header_row}").fetchone()
        wide_counts = {header: count for (_, header), count in zip(layout.wide_columns, counts)}
    coded = [(name, source) for name, source in sources.items() if name in CODED_FIELDS] + layout.custom_dimensions
    for number, (name, source) in enumerate(coded):
        if source.kind == "constant":
            continue
        column = f"c{source.column}" if source.kind == "column" else "wheader"
        texts = _distinct(con, column, staged) if source.kind == "column" else wide_counts
        mapped = {text: contract.map_label(name, text, extra_missing) for text in texts}
        prefix_of[name] = f"f{number}"
        lookups.coded(f"f{number}", name, column, mapped)
        raw_of[name] = column
        header_of[name] = literal(source.header) if source.kind == "column" else "wheader"
        for text, label in mapped.items():
            if not label.blank:
                labels.append(LabelUse(name, source.header if source.kind == "column" else None, text, label.code,
                                       label.problem, texts[text]))
    period = sources.get("period")
    if period and period.kind != "constant":
        column = f"c{period.column}" if period.kind == "column" else "wheader"
        texts = _distinct(con, column, staged) if period.kind == "column" else wide_counts
        parsed = {text: parse_period(text) for text in texts}
        lookups.periods(column, parsed)
        raw_of["period"], header_of["period"] = column, literal(period.header) if period.kind == "column" else "wheader"
        for text, found in parsed.items():
            if text.strip(WHITESPACE):
                labels.append(LabelUse("period", period.header if period.kind == "column" else None, text,
                                       found.label if found else None, None if found else "unparseable_period", texts[text]))

    # 3. numbers
    markers = sorted(MISSING_MARKERS | {label_key(marker) for marker in spec.missing_values})
    decimal = decimal_separator(spec, staged)
    numbers = _number("vcell", "v", decimal, markers)
    for name, prefix in (("sample_size", "ss"), ("lower_bound", "lb"), ("upper_bound", "ub")):
        source = sources.get(name)
        if source and source.kind == "column":
            numbers = [level + more for level, more in zip(numbers, _number(f"c{source.column}", prefix, decimal, markers))]
            raw_of[name], header_of[name] = f"c{source.column}", literal(source.header)
    value_header = "wheader" if wide else (literal(sources["value"].header) if "value" in sources else "null")

    # 4. canonical fields
    def code(name: str, blank_value: str) -> str:
        if name in prefix_of:
            return f"case when {prefix_of[name]}_blank then {blank_value} else {prefix_of[name]}_code end"
        source = sources.get(name)
        return literal(source.constant) if source and source.kind == "constant" else blank_value

    constant_period = parse_period(period.constant) if period and period.kind == "constant" else None
    fields = {
        "indicator_code": code("indicator_code", "null::varchar"),
        "series_code": code("series_code", "null::varchar"),
        "geo_area_m49": f"try_cast({code('geo_area_m49', 'null::varchar')} as integer)",
        "period_label": literal(constant_period.label) if constant_period else "period__label",
        "period_start": f"{literal(constant_period.start.isoformat())}::date" if constant_period else "period__start",
        "period_end": f"{literal(constant_period.end.isoformat())}::date" if constant_period else "period__end",
        # A blank cell (or no such column) is the total; stored as null, shown as _T by the views.
        **{dimension: code(dimension, "null::varchar") for dimension in DIMENSIONS},
        "unit": code("unit", "null::varchar"),
        "nature": code("nature", "null::varchar"),
    }
    breakdowns = [(name, code(name, "null::varchar")) for name, _ in layout.custom_dimensions]
    breakdowns += [(header, f"nullif({strip(f'c{position}')}, '')") for header, position in layout.unmapped]
    fields["extra_dimensions"] = _map(breakdowns)
    fields["attributes"] = _map([(header, f"nullif({strip(f'c{position}')}, '')") for header, position in layout.attributes])
    fields |= {
        "value": "v_num",
        "value_qualifier": "case when v_num is not null then v_qual end",
        "value_is_missing": "v_missing",
        "lower_bound": "lb_num" if "lower_bound" in raw_of else "null::double",
        "upper_bound": "ub_num" if "upper_bound" in raw_of else "null::double",
        "sample_size": "try_cast(ss_num as bigint)" if "sample_size" in raw_of else "null::bigint",
    }
    # The cells as written, for the fields that are parsed (a parse can lose what the partner
    # meant: '<5', '45%', '2019/20'). Coded cells are kept per distinct label (Evaluation.labels).
    # A period or sample size written exactly as its parsed form is stored once (the views
    # show it in both columns); a million copies of '2019' cost more than the rest of the row.
    raw_columns = {
        "period_raw": f"case when {raw_of['period']} is distinct from period_label then {raw_of['period']} end"
        if "period" in raw_of else None,
        "value_raw": "vcell",
        "sample_size_raw": f"case when {raw_of['sample_size']} is distinct from sample_size::varchar then {raw_of['sample_size']} end"
        if "sample_size" in raw_of else None,
        "lower_bound_raw": raw_of.get("lower_bound"),
        "upper_bound_raw": raw_of.get("upper_bound"),
    }

    # 5. checks, in codes.REASONS order: a row gets the first that fails
    checks: list[_Check] = []
    other_delimiters = [d for d in (",", ";", "\t") if d != staged.delimiter] if staged.delimiter else []
    if len(staged.headers) > 1 and other_delimiters:
        contains = " or ".join(f"contains(c0, {literal(d)})" for d in other_delimiters)
        others = "(" + " or ".join(filled(cell) for cell in all_cells[1:]) + ")"
        # CASE, not AND: only rows with another delimiter in c0 pay for looking at every cell.
        checks.append(_Check(f"case when {contains} then not {others} else false end", "wrong_delimiter",
                             literal(staged.headers[0]), "c0"))
    checks.append(_Check(filled("extra"), "extra_cells", "'(beyond the last column)'", "extra"))
    for name, prefix in prefix_of.items():
        checks.append(_Check(f"{prefix}_problem = 'formula_text'", "formula_text", header_of[name], raw_of[name]))
    checks.append(_Check("starts_with(v_text, '=')", "formula_text", value_header, "vcell"))
    for name in ("series_code", "geo_area_m49", "period", "unit"):
        if name in raw_of:
            blank = "period__blank" if name == "period" else f"{prefix_of[name]}_blank"
            checks.append(_Check(blank, "missing_key_field", header_of[name], raw_of[name],
                                 literal(f"the {name.replace('_', ' ')} is empty")))
    for name, prefix in prefix_of.items():
        checks.append(_Check(f"{prefix}_problem = 'unknown_code'", "unknown_code", header_of[name], raw_of[name],
                             literal(f"not an agreed label for {name.replace('_', ' ')}")))
    if "period" in raw_of:
        checks.append(_Check("period__label is null", "unparseable_period", header_of["period"], raw_of["period"]))
    checks.append(_Check("not v_missing and v_num is null", "unparseable_value", value_header, "vcell"))
    for name, prefix in (("lower_bound", "lb"), ("upper_bound", "ub")):
        if name in raw_of:
            checks.append(_Check(f"not {prefix}_missing and {prefix}_num is null", "unparseable_value", header_of[name],
                                 raw_of[name], literal(f"the {name.replace('_', ' ')} is not a number")))
    if "sample_size" in raw_of:
        checks.append(_Check("not ss_missing and (ss_num is null or ss_num < 0 or ss_num <> floor(ss_num) or ss_qual is not null or ss_pct)",
                             "invalid_sample_size", header_of["sample_size"], raw_of["sample_size"]))
    checks.append(_Check("v_pct and unit <> 'PT'", "unit_mismatch", value_header, "vcell", "'the unit of this row is ' || unit"))
    checks.append(_Check(_range_violation("unit", "v_num"), "value_out_of_range", value_header, "vcell", _range_text("unit")))
    if "lower_bound" in raw_of or "upper_bound" in raw_of:
        low = "lb_num" if "lower_bound" in raw_of else "null"
        high = "ub_num" if "upper_bound" in raw_of else "null"
        checks.append(_Check(f"{low} > v_num or {high} < v_num or {low} > {high}", "inconsistent_bounds", value_header, "vcell",
                             f"'lower ' || coalesce({low}::varchar, '-') || ', upper ' || coalesce({high}::varchar, '-')"))
    unknown = [check.reason for check in checks if check.reason not in REASONS]
    if unknown:
        raise ValueError(f"checks without a reason text in codes.REASONS: {unknown}")

    def first_failing(part: str) -> str:
        values = [literal(check.reason) if part == "reason" else getattr(check, part) for check in checks]
        return "case " + " ".join(f"when k{index} then {value}" for index, value in enumerate(values)) + " end"

    # Query levels, each computed once per row: lookups, numbers, canonical fields, checks.
    number_levels = "".join(f", n{depth + 1} as (select *, {', '.join(items)} from n{depth})"
                            for depth, items in enumerate(numbers))
    field_items = ", ".join(f"{expression} as {name}" for name, expression in fields.items())
    check_items = ", ".join(f"coalesce({check.condition}, false) as k{index}" for index, check in enumerate(checks))
    rejected = " or ".join(f"k{index}" for index in range(len(checks)))
    select = [
        "ord as source_row",
        "wheader as source_column",
        f"{first_failing('reason')} as reason_code",
        f"{first_failing('column')} as reason_column",
        f"left({first_failing('cell')}, {RAW_CELL_CHARS}) as reason_value",
        f"{first_failing('detail')} as reason_detail",
        f"case when {rejected} then {raw_values_json(staged.headers, withheld=layout)} end as raw_values",
        f"case when not ({rejected}) then hash({', '.join(KEY)}) end as observation_key",
        *fields,
        *[f"{expression or 'null::varchar'} as {name}" for name, expression in raw_columns.items()],
    ]
    looked = ", ".join(lookups.items)
    con.execute(f"""
        create or replace temp view {EVAL} as
        with src as ({src}),
        n0 as (select src.*{', ' if looked else ''}{looked} from src {' '.join(lookups.joins)}){number_levels},
        with_fields as (select *, {field_items} from n{len(numbers)}),
        checked as (select *, {check_items} from with_fields)
        select {', '.join(select)} from checked
    """)
    # Counted positively: a NOT around the ORs would make DuckDB test every cell of every row.
    filled_rows = con.execute(f"select count(*) from {CELLS} where rowid >= {staged.header_row} and {has_content}").fetchone()[0]
    blank_rows = staged.rows_read - filled_rows
    value = sources.get("value")
    return Evaluation(layout, blank_rows, len(layout.wide_columns), value.header if value and not wide else None, labels)


def raw_values_json(headers: list[str], table: str = "", withheld: Layout | None = None) -> str:
    """SQL: a row's cells as a JSON object by header (cut at RAW_CELL_CHARS characters), without the
    columns the layout withheld (personal data or free text is not stored, not even for a set-aside row)."""
    prefix = f"{table}." if table else ""
    skipped = {position for _, position, _ in withheld.withheld} if withheld else set()
    pairs = [f"{literal(header)}, left({prefix}c{index}, {RAW_CELL_CHARS})" for index, header in enumerate(headers)
             if index not in skipped]
    pairs.append(f"'(beyond the last column)', left({prefix}extra, {RAW_CELL_CHARS})")
    return f"json_object({', '.join(pairs)})"


def _map(entries: list[tuple[str, str]]) -> str:
    """SQL: a MAP of the non-null entries (name literal -> expression), or null when empty."""
    if not entries:
        return "null::map(varchar, varchar)"
    items = ", ".join(f"{{'k': {literal(name)}, 'v': {expression}}}" for name, expression in entries)
    built = f"map_from_entries(list_filter([{items}], lambda e: e.v is not null))"
    return f"case when cardinality({built}) = 0 then null else {built} end"
