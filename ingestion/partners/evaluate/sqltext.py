"""SQL text over the staged cells ``_pt_cells``, shared by the parts of ``evaluate`` (and the lander's
duplicate check). Partner text never becomes SQL: cells are referred to as ``c<i>``, and headers and
labels enter only as quoted literals (``ingestion.sql.literal``) or as rows of a registered frame.
"""

from __future__ import annotations

from collections.abc import Collection

import duckdb
import pandas as pd

from ingestion.partners.codes import WHITESPACE
from ingestion.sql import literal

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


def case_of(column: str, pairs: list[tuple[str, str]], default: str) -> str:
    """SQL: ``column``'s value translated by (raw text, SQL expression) pairs, else ``default``."""
    if not pairs:
        return default
    return f"case {column} " + " ".join(f"when {literal(raw)} then {value}" for raw, value in pairs) + f" else {default} end"


def sql_map(entries: list[tuple[str, str]]) -> str:
    """SQL: a MAP of the non-null entries (name literal -> expression), or null when empty."""
    if not entries:
        return "null::map(varchar, varchar)"
    items = ", ".join(f"{{'k': {literal(name)}, 'v': {expression}}}" for name, expression in entries)
    built = f"map_from_entries(list_filter([{items}], lambda e: e.v is not null))"
    return f"case when cardinality({built}) = 0 then null else {built} end"


def insert_frame(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> None:
    con.register("_pt_frame", frame)
    try:
        con.execute(f"insert into {table} by name select * from _pt_frame")
    finally:
        con.unregister("_pt_frame")


def raw_values_json(headers: list[str], table: str = "", withheld: Collection[int] = ()) -> str:
    """SQL: a row's cells as a JSON object by header (cut at RAW_CELL_CHARS characters), without the
    ``withheld`` column positions (personal data or free text is not stored, not even for a set-aside row)."""
    prefix = f"{table}." if table else ""
    pairs = [f"{literal(header)}, left({prefix}c{index}, {RAW_CELL_CHARS})" for index, header in enumerate(headers)
             if index not in withheld]
    pairs.append(f"'(beyond the last column)', left({prefix}extra, {RAW_CELL_CHARS})")
    return f"json_object({', '.join(pairs)})"
