"""Coded cells and periods, translated in Python once per *distinct* cell text (``Contract.map_label``,
``parse_period``); the answers enter the evaluation statement as ``CASE`` lists, or as a lookup table
and a join when a column has many distinct texts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import pandas as pd

from ingestion.partners.codes import CODED_FIELDS, WHITESPACE, label_key
from ingestion.partners.contract import Contract, FileSpec, MappedLabel
from ingestion.partners.evaluate.layout import FieldCells, Layout, Source
from ingestion.partners.evaluate.sqltext import case_of, filled, insert_frame
from ingestion.partners.periods import Period, parse_period
from ingestion.partners.read import CELLS, StagedFile
from ingestion.sql import literal

LOOKUP = "_pt_lookup"
PERIODS = "_pt_periods"
CASE_LIMIT = 200  # up to this many distinct texts a CASE list; beyond, a lookup table and a join


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
class Translation:
    """Select-list items (and joins, for large lists) translating coded cells and periods, and every
    distinct label met (for ``raw_partners.labels`` and the report)."""

    items: list[str] = field(default_factory=list)
    joins: list[str] = field(default_factory=list)
    labels: list[LabelUse] = field(default_factory=list)


def _distinct(con: duckdb.DuckDBPyConnection, column: str, staged: StagedFile) -> dict[str, int]:
    """The distinct texts of a column's data rows and how many rows have each."""
    return dict(con.execute(
        f"select {column}, count(*) from {CELLS} where rowid >= {staged.header_row} and {column} is not null "
        f"group by 1").fetchall())


def _coded(con: duckdb.DuckDBPyConnection, out: Translation, prefix: str, field_name: str, column: str,
           mapped: dict[str, MappedLabel]) -> None:
    """``<prefix>_code``, ``<prefix>_problem``, ``<prefix>_blank`` for the cells of ``column``."""
    if len(mapped) <= CASE_LIMIT:
        out.items += [
            f"{case_of(column, [(raw, literal(m.code)) for raw, m in mapped.items() if m.code is not None], 'null::varchar')} as {prefix}_code",
            f"{case_of(column, [(raw, literal(m.problem)) for raw, m in mapped.items() if m.problem], 'null::varchar')} as {prefix}_problem",
            f"{case_of(column, [(raw, 'true') for raw, m in mapped.items() if m.blank], f'{column} is null')} as {prefix}_blank",
        ]
        return
    rows = [(field_name, raw, m.code, m.problem, m.blank) for raw, m in mapped.items()]
    insert_frame(con, LOOKUP, pd.DataFrame.from_records(rows, columns=["field", "raw", "code", "problem", "blank"]))
    alias = f"{prefix}_l"
    out.joins.append(f"left join {LOOKUP} {alias} on {alias}.field = {literal(field_name)} and {alias}.raw = src.{column}")
    out.items += [f"{alias}.code as {prefix}_code", f"{alias}.problem as {prefix}_problem",
                  f"coalesce({alias}.blank, true) as {prefix}_blank"]


def _periods(con: duckdb.DuckDBPyConnection, out: Translation, column: str, parsed: dict[str, Period | None]) -> None:
    """``period__label``, ``period__start``, ``period__end``, ``period__blank``."""
    blank = {raw for raw in parsed if not raw.strip(WHITESPACE)}
    if len(parsed) <= CASE_LIMIT:
        good = [(raw, period) for raw, period in parsed.items() if period]
        out.items += [
            f"{case_of(column, [(raw, literal(p.label)) for raw, p in good], 'null::varchar')} as period__label",
            f"{case_of(column, [(raw, literal(p.start.isoformat()) + '::date') for raw, p in good], 'null::date')} as period__start",
            f"{case_of(column, [(raw, literal(p.end.isoformat()) + '::date') for raw, p in good], 'null::date')} as period__end",
            f"{case_of(column, [(raw, 'true') for raw in blank], f'{column} is null')} as period__blank",
        ]
        return
    rows = [(raw, p.label if p else None, p.start if p else None, p.end if p else None, raw in blank)
            for raw, p in parsed.items()]
    insert_frame(con, PERIODS, pd.DataFrame.from_records(rows, columns=["raw", "label", "period_start", "period_end", "blank"]))
    out.joins.append(f"left join {PERIODS} per on per.raw = src.{column}")
    out.items += ["per.label as period__label", "per.period_start as period__start", "per.period_end as period__end",
                  "coalesce(per.blank, true) as period__blank"]


def _wide_counts(con: duckdb.DuckDBPyConnection, layout: Layout, staged: StagedFile) -> dict[str, int]:
    """Wide files: the value columns' headers (the texts of the field ``header_is``) and their filled cells."""
    if not layout.wide_columns:
        return {}
    counts = con.execute("select " + ", ".join(f"count(*) filter (where {filled(f'c{position}')})" for position, _ in layout.wide_columns)
                         + f" from {CELLS} where rowid >= {staged.header_row}").fetchone()
    return {header: count for (_, header), count in zip(layout.wide_columns, counts)}


def _cells_of(source: Source) -> tuple[str, str]:
    """SQL for a cell-read field's cells and for their header."""
    if source.kind == "column":
        return f"c{source.column}", literal(source.header)
    return "wheader", "wheader"


def translate(con: duckdb.DuckDBPyConnection, contract: Contract, spec: FileSpec, staged: StagedFile,
              layout: Layout, cells: FieldCells) -> Translation:
    """Look up every coded field and the period read from cells; record in ``cells`` where they are."""
    con.execute(f"create or replace temp table {LOOKUP} (field varchar, raw varchar, code varchar, problem varchar, blank boolean)")
    con.execute(f"create or replace temp table {PERIODS} (raw varchar, label varchar, period_start date, period_end date, blank boolean)")
    out = Translation()
    extra_missing = frozenset(label_key(marker) for marker in spec.missing_values)
    wide_counts = _wide_counts(con, layout, staged)
    coded = [(name, source) for name, source in layout.sources.items() if name in CODED_FIELDS] + layout.custom_dimensions
    for number, (name, source) in enumerate(coded):
        if source.kind == "constant":
            continue
        column, header = _cells_of(source)
        texts = _distinct(con, column, staged) if source.kind == "column" else wide_counts
        mapped = {text: contract.map_label(name, text, extra_missing) for text in texts}
        cells.prefix[name] = f"f{number}"
        _coded(con, out, f"f{number}", name, column, mapped)
        cells.raw[name], cells.header[name] = column, header
        for text, label in mapped.items():
            if not label.blank:
                out.labels.append(LabelUse(name, source.header, text, label.code, label.problem, texts[text]))
    period = layout.sources.get("period")
    if period and period.kind != "constant":
        column, header = _cells_of(period)
        texts = _distinct(con, column, staged) if period.kind == "column" else wide_counts
        parsed = {text: parse_period(text) for text in texts}
        _periods(con, out, column, parsed)
        cells.raw["period"], cells.header["period"] = column, header
        for text, found in parsed.items():
            if text.strip(WHITESPACE):
                out.labels.append(LabelUse("period", period.header, text, found.label if found else None,
                                           None if found else "unparseable_period", texts[text]))
    return out
