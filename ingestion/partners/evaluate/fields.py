"""The canonical fields of an observation as SQL over the translated and parsed cells, and the key that
identifies an observation within a file (for duplicates)."""

from __future__ import annotations

from ingestion import canonical
from ingestion.partners.codes import DIMENSIONS, TOTAL
from ingestion.partners.evaluate.layout import FieldCells, Layout
from ingestion.partners.evaluate.sqltext import sql_map, strip
from ingestion.partners.periods import parse_period
from ingestion.sql import literal

# What identifies an observation within one partner file: the canonical grain (dbt_project.yml's
# observation_identity, dimensions, observation_qualifiers) less what one file holds constant; a
# dimension left blank is the total, and the partner's own breakdowns are its other_disaggregation.
_CONSTANT_PER_FILE = frozenset({"source_type", "source_id", "reporting_type"})
_FILE_COLUMNS = {"series_code": "series_code", "geo_area_m49": "geo_area_m49", "period_label": "period_label",
                 "other_disaggregation": "coalesce(extra_dimensions::varchar, '')",
                 **{dimension: f"coalesce({dimension}, {literal(TOTAL)})" for dimension in DIMENSIONS}}


def _key(grain: tuple[str, ...]) -> tuple[str, ...]:
    unknown = [column for column in grain if column not in _CONSTANT_PER_FILE and column not in _FILE_COLUMNS]
    if unknown:  # a new grain column must be given a partner-file meaning here
        raise ValueError(f"the observation grain names {unknown}, which a partner file does not have")
    return tuple(_FILE_COLUMNS[column] for column in grain if column not in _CONSTANT_PER_FILE)


KEY = _key(canonical.load().observation_grain)


def canonical_fields(layout: Layout, cells: FieldCells) -> dict[str, str]:
    """Field name -> SQL over a row whose lookups and numbers are computed."""
    sources = layout.sources

    def code(name: str, blank_value: str) -> str:
        if name in cells.prefix:
            prefix = cells.prefix[name]
            return f"case when {prefix}_blank then {blank_value} else {prefix}_code end"
        source = sources.get(name)
        return literal(source.constant) if source and source.kind == "constant" else blank_value

    period = sources.get("period")
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
    fields["extra_dimensions"] = sql_map(breakdowns)
    fields["attributes"] = sql_map([(header, f"nullif({strip(f'c{position}')}, '')") for header, position in layout.attributes])
    fields |= {
        "value": "v_num",
        "value_qualifier": "case when v_num is not null then v_qual end",
        "value_is_missing": "v_missing",
        "lower_bound": "lb_num" if "lower_bound" in cells.raw else "null::double",
        "upper_bound": "ub_num" if "upper_bound" in cells.raw else "null::double",
        "sample_size": "try_cast(ss_num as bigint)" if "sample_size" in cells.raw else "null::bigint",
    }
    return fields


def raw_columns(cells: FieldCells) -> dict[str, str]:
    """The cells as written, for the fields that are parsed (a parse can lose what the partner meant:
    '<5', '45%', '2019/20'). Coded cells are kept per distinct label (``labels``). A period or sample
    size written exactly as its parsed form is stored once (the views show it in both columns); a
    million copies of '2019' cost more than the rest of the row."""
    raw = cells.raw
    columns = {
        "period_raw": f"case when {raw['period']} is distinct from period_label then {raw['period']} end"
        if "period" in raw else None,
        "value_raw": "vcell",
        "sample_size_raw": f"case when {raw['sample_size']} is distinct from sample_size::varchar then {raw['sample_size']} end"
        if "sample_size" in raw else None,
        "lower_bound_raw": raw.get("lower_bound"),
        "upper_bound_raw": raw.get("upper_bound"),
    }
    return {name: expression or "null::varchar" for name, expression in columns.items()}
