"""Numbers in partner cells (``12.5``, ``1,234``, ``<5``, ``45%``, ``n/a``) parsed in SQL, and the range
a value in its unit can take (seed ``units``, through ``codes.UNIT_RANGES``)."""

from __future__ import annotations

from ingestion.partners.codes import MISSING_MARKERS, UNIT_RANGES, label_key
from ingestion.partners.contract import FileSpec
from ingestion.partners.details import detail_text
from ingestion.partners.evaluate.layout import FieldCells, Layout
from ingestion.partners.evaluate.sqltext import strip
from ingestion.partners.read import StagedFile
from ingestion.sql import literal

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
# Number fields besides the value, and the prefix of their parsed columns.
BOUNDS_AND_SIZE = (("sample_size", "ss"), ("lower_bound", "lb"), ("upper_bound", "ub"))


def decimal_separator(spec: FileSpec, staged: StagedFile) -> str:
    if spec.read.decimal != "auto":
        return spec.read.decimal
    # Spreadsheets saved with ';' between columns are the ones that write '12,5'.
    return "," if staged.delimiter == ";" else "."


def number_parse(cell: str, prefix: str, decimal: str, markers: list[str]) -> list[list[str]]:
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


def number_levels(spec: FileSpec, layout: Layout, decimal: str, cells: FieldCells) -> list[list[str]]:
    """The query levels parsing the value (``vcell``) and the number columns a file has (``ss``, ``lb``,
    ``ub``); records in ``cells`` where the latter are."""
    markers = sorted(MISSING_MARKERS | {label_key(marker) for marker in spec.missing_values})
    levels = number_parse("vcell", "v", decimal, markers)
    for name, prefix in BOUNDS_AND_SIZE:
        source = layout.sources.get(name)
        if source and source.kind == "column":
            levels = [level + more for level, more in zip(levels, number_parse(f"c{source.column}", prefix, decimal, markers))]
            cells.raw[name], cells.header[name] = f"c{source.column}", literal(source.header)
    return levels


def range_violation(unit: str, number: str) -> str:
    """SQL: whether ``number`` is outside the range of its ``unit``."""
    branches = []
    for code, (low, high) in UNIT_RANGES.items():
        tests = ([f"{number} < {low}"] if low is not None else []) + ([f"{number} > {high}"] if high is not None else [])
        if tests:
            branches.append(f"when {literal(code)} then ({' or '.join(tests)})")
    return f"coalesce(case {unit} {' '.join(branches)} else false end, false)"


def range_text(unit: str) -> str:
    """SQL: the range of ``unit`` in words, for the report."""
    branches = []
    for code, (low, high) in UNIT_RANGES.items():
        if low is not None or high is not None:
            kind = ("range_between" if low is not None and high is not None
                    else "range_at_least" if low is not None else "range_at_most")
            text = detail_text(kind, unit=code, low=f"{low:g}" if low is not None else "",
                               high=f"{high:g}" if high is not None else "")
            branches.append(f"when {literal(code)} then {literal(text)}")
    return f"case {unit} {' '.join(branches)} end"
