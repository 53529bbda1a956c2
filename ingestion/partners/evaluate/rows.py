"""Which rows are observations (a tidy file's filled rows; a wide file's filled value cells) and the
checks each one goes through, in ``codes.REASONS`` order: a row gets the first that fails."""

from __future__ import annotations

from dataclasses import dataclass

from ingestion.partners.codes import KEY_FIELDS, REASONS
from ingestion.partners.details import detail_sql, detail_text, field_words
from ingestion.partners.evaluate.layout import FieldCells, Layout
from ingestion.partners.evaluate.numbers import range_text, range_violation
from ingestion.partners.evaluate.sqltext import filled
from ingestion.partners.read import CELLS, StagedFile
from ingestion.sql import literal

PERCENT = "PT"  # the unit a value written with a % sign must have (seed units)


@dataclass(frozen=True)
class Rows:
    source: str  # SQL: one row per observation, with ord, the cells, vcell (the value) and wheader
    has_content: str  # SQL: whether a staged row has any filled cell
    value_header: str  # SQL: the header of the value's column


@dataclass(frozen=True)
class Check:
    condition: str  # SQL boolean over the checked level
    reason: str  # a codes.REASONS key
    column: str  # SQL: the header of the column at fault
    cell: str  # SQL: the cell at fault
    detail: str = "null"  # SQL: more words for the report


def _all_cells(staged: StagedFile) -> list[str]:
    return [f"c{position}" for position in range(len(staged.headers))] + ["extra"]


def observation_rows(layout: Layout, staged: StagedFile) -> Rows:
    # Cell by cell: OR stops at the first filled cell, usually the first one.
    has_content = "(" + " or ".join(filled(cell) for cell in _all_cells(staged)) + ")"
    if layout.wide_columns:
        cells = ", ".join(f"c{position}" for position, _ in layout.wide_columns)
        headers = ", ".join(literal(header) for _, header in layout.wide_columns)
        unnest = f", unnest([{cells}]) as vcell, unnest([{headers}]) as wheader"
        source = (f"select * from (select rowid + 1 as ord, *{unnest} from {CELLS} where rowid >= {staged.header_row}"
                  f" and {has_content}) where {filled('vcell')}")
        return Rows(source, has_content, "wheader")
    value = layout.sources.get("value")
    vcell = f"c{value.column}" if value and value.kind == "column" else "null::varchar"
    source = (f"select rowid + 1 as ord, *, {vcell} as vcell, null::varchar as wheader from {CELLS}"
              f" where rowid >= {staged.header_row} and {has_content}")
    return Rows(source, has_content, literal(value.header) if value else "null")


def row_checks(staged: StagedFile, cells: FieldCells, value_header: str) -> list[Check]:
    """Every check of a row, in priority order."""
    raw, header, prefix_of = cells.raw, cells.header, cells.prefix
    checks: list[Check] = []
    other_delimiters = [d for d in (",", ";", "\t") if d != staged.delimiter] if staged.delimiter else []
    if len(staged.headers) > 1 and other_delimiters:
        contains = " or ".join(f"contains(c0, {literal(d)})" for d in other_delimiters)
        others = "(" + " or ".join(filled(cell) for cell in _all_cells(staged)[1:]) + ")"
        # CASE, not AND: only rows with another delimiter in c0 pay for looking at every cell.
        checks.append(Check(f"case when {contains} then not {others} else false end", "wrong_delimiter",
                            literal(staged.headers[0]), "c0"))
    checks.append(Check(filled("extra"), "extra_cells", "'(beyond the last column)'", "extra"))
    for name, prefix in prefix_of.items():
        checks.append(Check(f"{prefix}_problem = 'formula_text'", "formula_text", header[name], raw[name]))
    checks.append(Check("starts_with(v_text, '=')", "formula_text", value_header, "vcell"))
    for name in KEY_FIELDS:
        if name in raw:
            blank = "period__blank" if name == "period" else f"{prefix_of[name]}_blank"
            checks.append(Check(blank, "missing_key_field", header[name], raw[name], literal(detail_text("empty", field=field_words(name)))))
    for name, prefix in prefix_of.items():
        checks.append(Check(f"{prefix}_problem = 'unknown_code'", "unknown_code", header[name], raw[name],
                            literal(detail_text("unknown_label", field=field_words(name)))))
    if "period" in raw:
        checks.append(Check("period__label is null", "unparseable_period", header["period"], raw["period"]))
    checks.append(Check("not v_missing and v_num is null", "unparseable_value", value_header, "vcell"))
    for name, prefix in (("lower_bound", "lb"), ("upper_bound", "ub")):
        if name in raw:
            checks.append(Check(f"not {prefix}_missing and {prefix}_num is null", "unparseable_value", header[name],
                                raw[name], literal(detail_text("not_a_number", field=field_words(name)))))
    if "sample_size" in raw:
        checks.append(Check("not ss_missing and (ss_num is null or ss_num < 0 or ss_num <> floor(ss_num) or ss_qual is not null or ss_pct)",
                            "invalid_sample_size", header["sample_size"], raw["sample_size"]))
    checks.append(Check(f"v_pct and unit <> {literal(PERCENT)}", "unit_mismatch", value_header, "vcell", detail_sql("row_unit", unit="unit")))
    checks.append(Check(range_violation("unit", "v_num"), "value_out_of_range", value_header, "vcell", range_text("unit")))
    if "lower_bound" in raw or "upper_bound" in raw:
        low = "lb_num" if "lower_bound" in raw else "null"
        high = "ub_num" if "upper_bound" in raw else "null"
        checks.append(Check(f"{low} > v_num or {high} < v_num or {low} > {high}", "inconsistent_bounds", value_header, "vcell",
                            detail_sql("bounds", low=f"coalesce({low}::varchar, '-')", high=f"coalesce({high}::varchar, '-')")))
    unknown = [check.reason for check in checks if check.reason not in REASONS]
    if unknown:
        raise ValueError(f"checks without a reason text in codes.REASONS: {unknown}")
    return checks


def first_failing(checks: list[Check], part: str) -> str:
    """SQL: the ``part`` (reason, column, cell, detail) of the first check that failed (``k<i>``)."""
    values = [literal(check.reason) if part == "reason" else getattr(check, part) for check in checks]
    return "case " + " ".join(f"when k{index} then {value}" for index, value in enumerate(values)) + " end"
