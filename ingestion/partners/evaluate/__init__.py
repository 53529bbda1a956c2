"""Applying a contract to a staged file: every row becomes an observation in canonical codes,
accepted or with the one reason it is set aside, in the temporary view ``_pt_eval``.

The work is one SQL statement over ``_pt_cells`` (vectorised: no Python per row), read once when
the lander inserts it, assembled here from the parts, each of which only builds SQL text:

- ``layout``: where each field comes from (header, constants, wide columns); ``privacy``: which
  unnamed columns may be kept as breakdowns;
- ``labels``: coded cells and periods, translated once per distinct text;
- ``numbers``: values, bounds and sample sizes parsed; unit ranges;
- ``fields``: the canonical fields and the observation key; ``rows``: the observations and their checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from ingestion.partners.contract import Contract, FileSpec
from ingestion.partners.evaluate.fields import KEY, canonical_fields, raw_columns
from ingestion.partners.evaluate.labels import LOOKUP, PERIODS, LabelUse, translate
from ingestion.partners.evaluate.layout import FieldCells, Layout, resolve_layout
from ingestion.partners.evaluate.numbers import decimal_separator, number_levels
from ingestion.partners.evaluate.rows import first_failing, observation_rows, row_checks
from ingestion.partners.evaluate.sqltext import RAW_CELL_CHARS, raw_values_json
from ingestion.partners.read import CELLS, StagedFile

EVAL = "_pt_eval"  # a view: every observation, its canonical fields and its first failing check
TEMP_TABLES = (LOOKUP, PERIODS)  # what evaluate leaves besides the view (dropped by the caller after landing)

__all__ = ["EVAL", "KEY", "RAW_CELL_CHARS", "TEMP_TABLES", "Evaluation", "LabelUse", "Layout", "evaluate",
           "raw_values_json"]


@dataclass
class Evaluation:
    """What ``evaluate`` found out besides the ``_pt_eval`` view itself."""

    layout: Layout
    blank_rows: int  # rows under the header with no content at all
    wide_columns: int  # wide files: value columns per row (0 for tidy files)
    value_header: str | None  # tidy files: the value column's header
    decimal: str  # the decimal separator numbers were read with
    labels: list[LabelUse] = field(default_factory=list)


def evaluate(con: duckdb.DuckDBPyConnection, contract: Contract, spec: FileSpec, staged: StagedFile) -> Evaluation:
    """Create the view ``_pt_eval``: one row per observation (a tidy file's row, a wide file's
    non-empty value cell) with its canonical fields, ``reason_code`` null when every check passes,
    and ``raw_values`` for the rows set aside. Duplicates are found after landing (``land``)."""
    layout = resolve_layout(con, spec, staged)
    rows = observation_rows(layout, staged)
    cells = FieldCells()
    translation = translate(con, contract, spec, staged, layout, cells)
    decimal = decimal_separator(spec, staged)
    numbers = number_levels(spec, layout, decimal, cells)
    fields = canonical_fields(layout, cells)
    checks = row_checks(staged, cells, rows.value_header)

    # Query levels, each computed once per row: lookups, numbers, canonical fields, checks.
    number_levels_sql = "".join(f", n{depth + 1} as (select *, {', '.join(items)} from n{depth})"
                                for depth, items in enumerate(numbers))
    field_items = ", ".join(f"{expression} as {name}" for name, expression in fields.items())
    check_items = ", ".join(f"coalesce({check.condition}, false) as k{index}" for index, check in enumerate(checks))
    rejected = " or ".join(f"k{index}" for index in range(len(checks)))
    select = [
        "ord as source_row",
        "wheader as source_column",
        f"{first_failing(checks, 'reason')} as reason_code",
        f"{first_failing(checks, 'column')} as reason_column",
        f"left({first_failing(checks, 'cell')}, {RAW_CELL_CHARS}) as reason_value",
        f"{first_failing(checks, 'detail')} as reason_detail",
        f"case when {rejected} then {raw_values_json(staged.headers, withheld=layout.withheld_positions)} end as raw_values",
        f"case when not ({rejected}) then hash({', '.join(KEY)}) end as observation_key",
        *fields,
        *[f"{expression} as {name}" for name, expression in raw_columns(cells).items()],
    ]
    looked = ", ".join(translation.items)
    con.execute(f"""
        create or replace temp view {EVAL} as
        with src as ({rows.source}),
        n0 as (select src.*{', ' if looked else ''}{looked} from src {' '.join(translation.joins)}){number_levels_sql},
        with_fields as (select *, {field_items} from n{len(numbers)}),
        checked as (select *, {check_items} from with_fields)
        select {', '.join(select)} from checked
    """)
    # Counted positively: a NOT around the ORs would make DuckDB test every cell of every row.
    filled_rows = con.execute(f"select count(*) from {CELLS} where rowid >= {staged.header_row} and {rows.has_content}").fetchone()[0]
    value = layout.sources.get("value")
    return Evaluation(layout, staged.rows_read - filled_rows, len(layout.wide_columns),
                      value.header if value and not layout.wide_columns else None, decimal, translation.labels)
