"""Parsing of UN SDG API ``Series/Data`` records into flat landing rows.

The API types nearly everything as a string (``"5.52"``, ``"<5"``, ``"NaN"``) and the
period as a float (``2007.0``). Every parsed value is landed beside the raw string it came
from, so a data engineer can always see what the API actually said.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

# Strings the API uses for "no value": NaN, N (not available), NV (no value).
MISSING_VALUE_MARKERS = frozenset({"", "nan", "n", "nv", "na", "n/a", "null", "none", ".."})

_QUALIFIED = re.compile(r"^\s*([<>])\s*=?\s*(.+?)\s*$")

# Fields of an observation record that the parser knows. Anything else is schema drift:
# it is kept (in ``extra_fields``) and reported, never dropped.
KNOWN_FIELDS = frozenset(
    {
        "goal", "target", "indicator", "series", "seriesDescription", "seriesCount",
        "geoAreaCode", "geoAreaName", "timePeriodStart", "value", "valueType",
        "time_detail", "timeCoverage", "upperBound", "lowerBound", "basePeriod",
        "source", "geoInfoUrl", "footnotes", "attributes", "dimensions",
    }
)
REQUIRED_FIELDS = ("series", "geoAreaCode", "timePeriodStart", "value")


class RecordError(ValueError):
    """A record lacks a field the pipeline cannot do without."""


@dataclass(frozen=True)
class ParsedValue:
    number: float | None
    qualifier: str | None  # "<", ">" or None
    is_missing: bool  # the API said "no value" (NaN, N, NV, empty)
    is_unparseable: bool  # the API said something we cannot read as a number


def parse_value(raw: Any) -> ParsedValue:
    """Parse an API value string such as ``"12.5"``, ``"<5"``, ``">95"`` or ``"NaN"``."""
    if raw is None:
        return ParsedValue(None, None, True, False)
    if isinstance(raw, bool):
        return ParsedValue(None, None, False, True)
    if isinstance(raw, (int, float)):
        number = float(raw)
        if math.isnan(number):
            return ParsedValue(None, None, True, False)
        return ParsedValue(number, None, False, not math.isfinite(number))
    text = str(raw).strip()
    if text.lower() in MISSING_VALUE_MARKERS:
        return ParsedValue(None, None, True, False)
    qualifier = None
    match = _QUALIFIED.match(text)
    if match:
        qualifier, text = match.group(1), match.group(2)
    try:
        number = float(text.replace(",", "")) if _looks_numeric(text) else None
    except ValueError:
        number = None
    if number is None or not math.isfinite(number):
        return ParsedValue(None, None, False, True)
    return ParsedValue(number, qualifier, False, False)


_NUMERIC = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+)?(\.\d+)?([eE][+-]?\d+)?$")


def _looks_numeric(text: str) -> bool:
    return bool(text) and text not in {".", "+", "-"} and bool(_NUMERIC.match(text))


def parse_year(raw: Any) -> int | None:
    """``timePeriodStart`` arrives as a float (``2007.0``); the year is its integer part."""
    if raw is None or raw == "":
        return None
    number = float(raw)
    if not math.isfinite(number):
        return None
    return int(number)


def parse_m49(raw: Any) -> int:
    """``geoAreaCode`` is an unpadded string (``"4"``); M49 codes are integers."""
    return int(str(raw).strip())


def _text(raw: Any) -> str | None:
    if raw is None:
        return None
    return str(raw)


def _str_list(raw: Any) -> list[str]:
    if raw is None:
        return []
    if isinstance(raw, list):
        return [str(item) for item in raw if item is not None]
    return [str(raw)]


def _str_map(raw: Any) -> dict[str, str]:
    if not isinstance(raw, dict):
        return {}
    return {str(key): "" if value is None else str(value) for key, value in raw.items()}


def parse_observation(record: dict[str, Any]) -> dict[str, Any]:
    """Flatten one ``Series/Data`` record into a landing row (lineage is added by the lander)."""
    missing = [name for name in REQUIRED_FIELDS if name not in record]
    if missing:
        raise RecordError(f"record lacks required field(s) {', '.join(missing)}")
    for name in ("series", "geoAreaCode", "timePeriodStart"):
        if record[name] in (None, ""):
            raise RecordError(f"record has an empty {name}")
    value = parse_value(record["value"])
    upper = parse_value(record.get("upperBound"))
    lower = parse_value(record.get("lowerBound"))
    extra = {key: record[key] for key in record if key not in KNOWN_FIELDS}
    try:
        geo_area_m49 = parse_m49(record["geoAreaCode"])
        time_period = parse_year(record["timePeriodStart"])
    except (TypeError, ValueError) as exc:
        raise RecordError(f"unreadable geoAreaCode/timePeriodStart: {exc}") from exc
    return {
        "series_code": str(record["series"]).strip(),
        "series_description": _text(record.get("seriesDescription")),
        "goal_codes": _str_list(record.get("goal")),
        "target_codes": _str_list(record.get("target")),
        "indicator_codes": _str_list(record.get("indicator")),
        "geo_area_code_raw": str(record["geoAreaCode"]),
        "geo_area_m49": geo_area_m49,
        "geo_area_name": _text(record.get("geoAreaName")),
        "time_period_start_raw": _text(record["timePeriodStart"]),
        "time_period": time_period,
        "time_detail": _text(record.get("time_detail")),
        "time_coverage": _text(record.get("timeCoverage")),
        "value_raw": _text(record["value"]),
        "value": value.number,
        "value_qualifier": value.qualifier,
        "value_is_missing": value.is_missing,
        "value_is_unparseable": value.is_unparseable,
        "value_type": _text(record.get("valueType")),
        "upper_bound_raw": _text(record.get("upperBound")),
        "upper_bound": upper.number,
        "lower_bound_raw": _text(record.get("lowerBound")),
        "lower_bound": lower.number,
        "base_period": _text(record.get("basePeriod")),
        "source": _text(record.get("source")),
        "footnotes": _str_list(record.get("footnotes")),
        "geo_info_url": _text(record.get("geoInfoUrl")),
        "series_count_raw": _text(record.get("seriesCount")),
        # JSON text here; the lander casts it to MAP(VARCHAR, VARCHAR) inside DuckDB.
        "attributes": json.dumps(_str_map(record.get("attributes")), sort_keys=True),
        "dimensions": json.dumps(_str_map(record.get("dimensions")), sort_keys=True),
        "extra_fields": json.dumps(extra, sort_keys=True, default=str) if extra else None,
    }


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
