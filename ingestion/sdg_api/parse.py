"""Parsing of UN SDG API responses.

``Series/Data`` pages are parsed inside DuckDB (``PAGE_SQL``): one ``from_json`` per page into typed
columns, then the value rules below as SQL macros, so a million observations never become Python
objects. The API types nearly everything as a string (``"5.52"``, ``"<5"``, ``"NaN"``) and the period
as a float (``2007.0``); every parsed value is landed beside the raw string it came from.

The small reference responses (code lists, hierarchy, geo tree) are parsed in Python below.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import duckdb

# Strings the API uses for "no value": NaN, N (not available), NV (no value), and friends.
MISSING_VALUE_MARKERS = ("", "nan", "n", "nv", "na", "n/a", "null", "none", "..")

# Every record field the parser knows, with the type ``from_json`` gives it. Anything else is
# schema drift: kept in ``extra_fields`` and reported, never dropped.
RECORD_FIELDS: dict[str, Any] = {
    "goal": ["VARCHAR"], "target": ["VARCHAR"], "indicator": ["VARCHAR"],
    "series": "VARCHAR", "seriesDescription": "VARCHAR", "seriesCount": "VARCHAR",
    "geoAreaCode": "VARCHAR", "geoAreaName": "VARCHAR", "timePeriodStart": "VARCHAR",
    "value": "VARCHAR", "valueType": "VARCHAR", "time_detail": "VARCHAR", "timeCoverage": "VARCHAR",
    "upperBound": "VARCHAR", "lowerBound": "VARCHAR", "basePeriod": "VARCHAR", "source": "VARCHAR",
    "geoInfoUrl": "VARCHAR", "footnotes": ["VARCHAR"],
    "attributes": "MAP(VARCHAR, VARCHAR)", "dimensions": "MAP(VARCHAR, VARCHAR)",
}
KNOWN_FIELDS = frozenset(RECORD_FIELDS)
# A record without one of these cannot be placed (what, where, when); a page without one is an error.
REQUIRED_FIELDS = ("series", "geoAreaCode", "timePeriodStart", "value")

_MARKERS_SQL = ", ".join(f"'{marker}'" for marker in MISSING_VALUE_MARKERS)
MACROS_SQL = f"""
create or replace temp macro sdg_is_missing(raw) as raw is null or lower(trim(raw)) in ({_MARKERS_SQL});
create or replace temp macro sdg_number_text(raw) as regexp_replace(trim(raw), '^[<>]\s*=?\s*', '');
-- Commas only as thousands separators (1,234.5); a decimal comma is not a format the API uses.
-- Plain numbers take the fast path (one cast); only text with a comma goes through the regex.
create or replace temp macro sdg_plain_number(text) as
    case when regexp_full_match(text, '[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?') then try_cast(text as double) end;
create or replace temp macro sdg_number(raw) as
    case
        when sdg_is_missing(raw) then null
        when not contains(sdg_number_text(raw), ',') then
            case when isfinite(sdg_plain_number(sdg_number_text(raw))) then sdg_plain_number(sdg_number_text(raw)) end
        when regexp_full_match(sdg_number_text(raw), '[+-]?\d{{1,3}}(,\d{{3}})+(\.\d+)?([eE][+-]?\d+)?') then
            try_cast(replace(sdg_number_text(raw), ',', '') as double)
    end;
create or replace temp macro sdg_qualifier(raw) as
    case when sdg_number(raw) is not null and regexp_matches(trim(raw), '^[<>]') then left(trim(raw), 1) end;
create or replace temp macro sdg_is_unparseable(raw) as not sdg_is_missing(raw) and sdg_number(raw) is null;
-- timePeriodStart arrives as a float (2007.0); the year is its integer part.
create or replace temp macro sdg_year(raw) as cast(floor(try_cast(raw as double)) as integer);
"""

# Spooled pages -> typed rows. Each page's body is written to a file as received and read by
# DuckDB's read_json with explicit types: a field whose JSON type changed fails the read loudly
# (never coerced to NULL). {files} and {columns} are filled by spooled_pages_sql; sdg_page_lineage
# maps each spool file to its request's lineage.
_PAGES_SQL = """
select
    * exclude (value_number_text),
    -- derived from the parsed number, so each value's rules run once
    case when value is not null and regexp_matches(value_number_text, '^[<>]') then left(value_number_text, 1)
    end as value_qualifier,
    not value_is_missing and value is null as value_is_unparseable
from (
    select
        md5(lineage.request_url || '#' || spooled.i::varchar) as record_id,
        trim(r.series) as series_code,
        r.seriesDescription as series_description,
        coalesce(r.goal, []) as goal_codes,
        coalesce(r.target, []) as target_codes,
        coalesce(r.indicator, []) as indicator_codes,
        r.geoAreaCode as geo_area_code_raw,
        try_cast(trim(r.geoAreaCode) as integer) as geo_area_m49,
        r.geoAreaName as geo_area_name,
        r.timePeriodStart as time_period_start_raw,
        sdg_year(r.timePeriodStart) as time_period,
        r.time_detail,
        r.timeCoverage as time_coverage,
        r.value as value_raw,
        trim(r.value) as value_number_text,
        sdg_number(r.value) as value,
        sdg_is_missing(r.value) as value_is_missing,
        r.valueType as value_type,
        r.upperBound as upper_bound_raw,
        sdg_number(r.upperBound) as upper_bound,
        r.lowerBound as lower_bound_raw,
        sdg_number(r.lowerBound) as lower_bound,
        r.basePeriod as base_period,
        r.source,
        coalesce(r.footnotes, []) as footnotes,
        r.geoInfoUrl as geo_info_url,
        r.seriesCount as series_count_raw,
        coalesce(r.attributes, map()) as attributes,
        coalesce(r.dimensions, map()) as dimensions,
        {extra_fields} as extra_fields,
        lineage.request_url,
        lineage.page,
        spooled.i as record_index,
        lineage.fetched_at,
        lineage.response_sha256,
        lineage.run_id,
        lineage.file as spool_file
    from (
        select unnest(data) as r, generate_subscripts(data, 1) - 1 as i, filename
        from read_json({files}, format = 'unstructured', filename = true, maximum_object_size = 67108864,
                       columns = {{'data': '{columns}[]'}})
    ) as spooled
    join sdg_page_lineage as lineage on lineage.file = spooled.filename
)
"""


def _duckdb_type(spec: Any) -> str:
    return "VARCHAR[]" if isinstance(spec, list) else spec


def spooled_pages_sql(files: Sequence[str], unknown_fields: Sequence[str]) -> str:
    """The read of spooled pages; unknown fields are read as JSON and kept in ``extra_fields``."""
    fields = {**{name: _duckdb_type(spec) for name, spec in RECORD_FIELDS.items()},
              **{name: "JSON" for name in unknown_fields}}
    quote = lambda name: '"' + name.replace('"', '""').replace("'", "''") + '"'  # noqa: E731
    columns = "STRUCT(" + ", ".join(f"{quote(name)} {kind}" for name, kind in fields.items()) + ")"
    if unknown_fields:
        packed = ", ".join(f"{quote(name)} := r.{quote(name)}" for name in unknown_fields)
        extra = f"to_json(struct_pack({packed}))"
    else:
        extra = "null::json"
    file_list = "[" + ", ".join("'" + f.replace("'", "''") + "'" for f in files) + "]"
    return _PAGES_SQL.format(extra_fields=extra, files=file_list, columns=columns)


class RecordError(ValueError):
    """A record lacks a field the pipeline cannot do without."""


@dataclass(frozen=True)
class ParsedValue:
    number: float | None
    qualifier: str | None  # "<", ">" or None
    is_missing: bool  # the API said "no value" (NaN, N, NV, empty)
    is_unparseable: bool  # the API said something we cannot read as a number


def parse_values(con: duckdb.DuckDBPyConnection, raw_values: Sequence[str | None]) -> list[ParsedValue]:
    """The landing rules for value strings, applied to a list (for inspection and tests)."""
    con.execute(MACROS_SQL)
    rows = con.execute(
        "select sdg_number(v), sdg_qualifier(v), sdg_is_missing(v), sdg_is_unparseable(v) "
        "from (select unnest($values) as v, generate_subscripts($values, 1) as i) order by i",
        {"values": list(raw_values)},
    ).fetchall()
    return [ParsedValue(*row) for row in rows]


def parse_m49(raw: Any) -> int:
    """``geoAreaCode`` is an unpadded string (``"4"``); M49 codes are integers."""
    return int(str(raw).strip())


def _text(raw: Any) -> str | None:
    if raw is None:
        return None
    return str(raw)


def parse_code_lists(concepts: Any, kind: str) -> list[dict[str, str | None]]:
    """An ``ApiDimension`` list (``[{id, codes: [{code, description, sdmx}]}]``) as flat rows.

    ``Series/{code}/Dimensions`` and ``/Attributes`` answer in this shape, and so do the
    ``dimensions``/``attributes`` fields of a ``Series/Data`` page envelope.
    """
    rows: list[dict[str, str | None]] = []
    for concept in concepts or []:
        concept_id = concept.get("id") if isinstance(concept, dict) else None
        if not concept_id:
            continue
        for code in concept.get("codes") or []:
            rows.append(
                {
                    "kind": kind,
                    "concept": str(concept_id),
                    "code": _text(code.get("code")),
                    "description": _text(code.get("description")),
                    "sdmx_code": _text(code.get("sdmx")),
                }
            )
    return rows


def parse_goal_hierarchy(goals: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``Goal/List?includechildren=true`` flattened to one row per goal x target x indicator x series release.

    A series appears once per release and may sit under several indicators; every occurrence
    is kept so dbt can choose the latest release and keep every membership.
    """
    rows: list[dict[str, Any]] = []
    for goal in goals:
        base = {"goal_code": _text(goal.get("code")), "goal_title": _text(goal.get("title")),
                "goal_description": _text(goal.get("description"))}
        for target in goal.get("targets") or [None]:
            target_row = {**base, "target_code": None, "target_title": None, "target_description": None}
            if target:
                target_row.update(target_code=_text(target.get("code")), target_title=_text(target.get("title")),
                                  target_description=_text(target.get("description")))
            for indicator in (target or {}).get("indicators") or [None]:
                indicator_row = {**target_row, "indicator_code": None, "indicator_description": None, "tier": None}
                if indicator:
                    indicator_row.update(indicator_code=_text(indicator.get("code")),
                                         indicator_description=_text(indicator.get("description")),
                                         tier=_text(indicator.get("tier")))
                for series in (indicator or {}).get("series") or [None]:
                    rows.append({
                        **indicator_row,
                        "series_code": _text((series or {}).get("code")),
                        "series_description": _text((series or {}).get("description")),
                        "release": _text((series or {}).get("release")),
                    })
    return rows


def parse_geo_tree(roots: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``GeoArea/Tree`` (nested ``children``) flattened to one row per node with its parent and root."""
    rows: list[dict[str, Any]] = []
    stack = [(node, None, None, 0) for node in reversed(roots)]
    while stack:  # iterative: the tree is deep enough that recursion limits are not worth risking
        node, parent, root, depth = stack.pop()
        code = int(node["geoAreaCode"]) if node.get("geoAreaCode") is not None else None
        root = root if root is not None else code
        rows.append({"root_m49": root, "parent_m49": parent, "geo_area_m49": code,
                     "geo_area_name": _text(node.get("geoAreaName")), "geo_area_type": _text(node.get("type")),
                     "depth": depth})
        for child in reversed(node.get("children") or []):
            stack.append((child, code, root, depth + 1))
    return rows
