"""Parsing of UN SDG API responses.

``Series/Data`` pages are parsed inside DuckDB (``spooled_pages_sql``): ``read_json`` of the spooled
page bodies into typed columns, then the value rules below as SQL macros, in one statement that
appends straight to the landing table. The API types nearly everything as a string (``"5.52"``,
``"<5"``, ``"NaN"``) and the period as a float (``2007.0``); every parsed value is landed beside the
raw string it came from.

The small reference responses (code lists, hierarchy, geo tree) are parsed in Python below.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import duckdb

from ingestion.sql import identifier, literal

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
_PLAIN_NUMBER = r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?"
_THOUSANDS_NUMBER = r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?([eE][+-]?\d+)?"
# The value rules as SQL macros, built from small steps so that the page query can run each step
# once per value (a macro's argument is re-evaluated wherever the macro uses it):
#   sdg_number(raw) = sdg_finite(sdg_text_number(sdg_number_text(raw))) unless sdg_is_missing(raw).
MACROS_SQL = rf"""
create or replace temp macro sdg_is_missing(raw) as raw is null or lower(trim(raw)) in ({_MARKERS_SQL});
-- The text of the number: trimmed, without a leading qualifier (<, >, <=, >=) and the spaces after it.
create or replace temp macro sdg_number_text(raw) as
    case when left(trim(raw), 1) in ('<', '>') then regexp_replace(trim(raw), '^[<>]\s*=?\s*', '')
         else trim(raw) end;
-- Commas only as thousands separators (1,234.5); a decimal comma is not a format the API uses.
create or replace temp macro sdg_text_number(text) as
    case
        when regexp_full_match(text, '{_PLAIN_NUMBER}') then try_cast(text as double)
        when contains(text, ',') and regexp_full_match(text, '{_THOUSANDS_NUMBER}') then
            try_cast(replace(text, ',', '') as double)
    end;
-- An overflow (1e999, 1,000e999) reads as infinity: not a number we land.
create or replace temp macro sdg_finite(number) as case when isfinite(number) then number end;
create or replace temp macro sdg_number(raw) as
    case when not sdg_is_missing(raw) then sdg_finite(sdg_text_number(sdg_number_text(raw))) end;
create or replace temp macro sdg_qualifier(raw) as
    case when sdg_number(raw) is not null and left(trim(raw), 1) in ('<', '>') then left(trim(raw), 1) end;
create or replace temp macro sdg_is_unparseable(raw) as not sdg_is_missing(raw) and sdg_number(raw) is null;
-- timePeriodStart arrives as a float (2007.0); the year is its integer part.
create or replace temp macro sdg_year(raw) as cast(floor(try_cast(raw as double)) as integer);
"""

# Spooled pages -> typed rows, in one pass from the files to the table. Each page's body is written to
# a file as received and read by DuckDB's read_json with explicit types: a field whose JSON type
# changed fails the read loudly (never coerced to NULL). sdg_page_lineage maps each spool file to its
# request's lineage and its page's unknown fields. Layers: typed fields -> numbers parsed once per
# value -> checks and final columns.
_TYPED_SQL = """
select
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
    sdg_is_missing(r.value) as value_is_missing,
    case when not sdg_is_missing(r.value) then sdg_number_text(r.value) end as value_text,
    r.valueType as value_type,
    r.upperBound as upper_bound_raw,
    case when not sdg_is_missing(r.upperBound) then sdg_number_text(r.upperBound) end as upper_bound_text,
    r.lowerBound as lower_bound_raw,
    case when not sdg_is_missing(r.lowerBound) then sdg_number_text(r.lowerBound) end as lower_bound_text,
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
    lineage.ordinal,
    lineage.file as spool_file
from (
    select unnest(body.data) as r, generate_subscripts(body.data, 1) - 1 as i, filename
    from read_json({files}, format = 'unstructured', records = false, filename = true,
                   maximum_object_size = {max_bytes}, columns = {{'body': {body_type}}})
) as spooled
join sdg_page_lineage as lineage on lineage.file = spooled.filename
"""

_NUMBERS_SQL = """
select
    * exclude (value_text, upper_bound_text, lower_bound_text),
    sdg_text_number(value_text) as value_number,
    sdg_text_number(upper_bound_text) as upper_bound_number,
    sdg_text_number(lower_bound_text) as lower_bound_number,
    case
        when series_code is null or series_code = '' then 'an empty series'
        when series_code <> {series} then 'belongs to series ' || series_code
        when geo_area_m49 is null then 'no readable geoAreaCode (' || coalesce(geo_area_code_raw, 'null') || ')'
        when time_period is null then 'no readable timePeriodStart (' || coalesce(time_period_start_raw, 'null') || ')'
    end as problem
from ({typed})
"""

# A record the checks refuse stops the insert (error() inside the statement, so a clean page costs no
# extra pass); the lander then asks page_problems_sql which record came first, to name it.
_INSERT_SQL = """
select
    md5(request_url || '#' || record_index::varchar) as record_id,
    case when problem is null then series_code
         else error('sdg record problem in ' || spool_file || ' record ' || record_index::varchar || ': ' || problem)
    end as series_code,
    * exclude (series_code, value_number, upper_bound_number, lower_bound_number, problem, ordinal, spool_file),
    sdg_finite(value_number) as value,
    case when isfinite(value_number) and left(trim(value_raw), 1) in ('<', '>') then left(trim(value_raw), 1)
    end as value_qualifier,
    not value_is_missing and sdg_finite(value_number) is null as value_is_unparseable,
    sdg_finite(upper_bound_number) as upper_bound,
    sdg_finite(lower_bound_number) as lower_bound
from ({numbers})
"""

_PROBLEMS_SQL = """
select spool_file, record_index, problem from ({numbers})
where problem is not null
order by ordinal, record_index
limit 1
"""


def _duckdb_type(spec: Any) -> str:
    return "VARCHAR[]" if isinstance(spec, list) else spec


def _numbers_sql(files: Sequence[str], unknown_fields: Sequence[str], series_code: str, max_bytes: int) -> str:
    fields = {**{name: _duckdb_type(spec) for name, spec in RECORD_FIELDS.items()},
              **{name: "JSON" for name in unknown_fields}}
    columns = "STRUCT(" + ", ".join(f"{identifier(name)} {kind}" for name, kind in fields.items()) + ")"
    if unknown_fields:
        # The unknown fields of the record's own page (lineage.unknown_fields), whatever else the batch holds.
        entries = ", ".join(f"struct_pack(k := {literal(name)}, v := r.{identifier(name)})"
                            for name in unknown_fields)
        extra = (f"case when len(lineage.unknown_fields) > 0 then to_json(map_from_entries(list_filter("
                 f"[{entries}], e -> list_contains(lineage.unknown_fields, e.k)))) end")
    else:
        extra = "null::json"
    file_list = "[" + ", ".join(literal(f) for f in files) + "]"
    # read_json reserves twice maximum_object_size per reading thread: ask for what the pages need
    # (the next power of two above the largest page, at least 1 MB).
    max_bytes = max(1 << 20, 1 << max_bytes.bit_length())
    typed = _TYPED_SQL.format(extra_fields=extra, files=file_list, body_type=literal(f"STRUCT(data {columns}[])"),
                              max_bytes=max_bytes)
    return _NUMBERS_SQL.format(series=literal(series_code), typed=typed)


def spooled_pages_sql(files: Sequence[str], unknown_fields: Sequence[str], series_code: str, max_bytes: int) -> str:
    """Spooled pages (none larger than ``max_bytes``) as rows of ``raw_sdg.series_observations``; unknown
    fields are read as JSON and kept in ``extra_fields``. A record of another series, or without a readable
    area or year, makes the query fail (see ``page_problems_sql``)."""
    return _INSERT_SQL.format(numbers=_numbers_sql(files, unknown_fields, series_code, max_bytes))


def page_problems_sql(files: Sequence[str], unknown_fields: Sequence[str], series_code: str, max_bytes: int) -> str:
    """The first record (in fetch order) that ``spooled_pages_sql`` refuses: (spool_file, record_index, problem)."""
    return _PROBLEMS_SQL.format(numbers=_numbers_sql(files, unknown_fields, series_code, max_bytes))


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
