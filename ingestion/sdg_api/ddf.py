"""UN SDG API responses rebuilt from Gapminder's DDF copy of the Global SDG Indicators Database.

The copy (``open-numbers/ddf--unstats--sdg_indicators``, October 2020, CC-BY-4.0) is what UNSD's CSV
API returned then, one ``ddf--datapoints--<series>--by--<keys>--year.csv`` per series and set of
dimensions, with the API's own codes in each ``ddf--entities--<dimension>.csv``. This module turns it
back into the JSON the API answers (``Series/Data`` pages, code lists, goal hierarchy, geo areas), in
the shape of the real recordings, so the real client, parser and lander run on it unchanged.

Taken from the copy as it is: series code and description, goal/target/indicator codes, area code
and name, year, the value's text, every dimension's and attribute's API code.
Reconstructed (the copy lacks it), and marked so: each record's ``source`` names the extract
(``SOURCE``); dimension names are sentence-cased (the copy title-cases them: ``Disability Status``);
SDMX codes follow ``sdmx_code`` (known pairs from the real recordings, and the age pattern they show),
and are null where no rule is known (the project's crosswalk seed decides then); ``valueType`` is
``Float``. Left null or empty, never invented: code descriptions, footnotes, time detail and coverage, bounds, base period,
geo info URL, series count.
"""

from __future__ import annotations

import csv
import math
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SOURCE = ("Global SDG Indicators Database, October 2020 extract (Gapminder DDF copy, CC-BY-4.0); "
          "the original source of this figure was not kept in the extract")
ATTRIBUTES = {"nature": "Nature", "units": "Units", "observation_status": "Observation Status"}
# API code -> SDMX code pairs seen in the real recordings (tests/data/sdg_api, data/sdg_api/snapshot).
KNOWN_SDMX = {
    "Sex": {"BOTHSEX": "_T", "FEMALE": "F", "MALE": "M"},
    "Age": {"ALLAGE": "_T"},
    "Location": {"ALLAREA": "_T", "URBAN": "U", "RURAL": "R"},
    "Units": {"PERCENT": "PT"},
    "Nature": {"NA": "_X"},
}
# Codes the real code lists map to themselves: quantiles, natures, the SDMX totals.
IDENTITY_SDMX = {"Quantile", "Nature", "Reporting Type"}
# The 17 goals' titles, as the API's Goal/List gives them (the extract has none).
GOAL_TITLES = {
    "1": "End poverty in all its forms everywhere",
    "2": "End hunger, achieve food security and improved nutrition and promote sustainable agriculture",
    "3": "Ensure healthy lives and promote well-being for all at all ages",
    "4": "Ensure inclusive and equitable quality education and promote lifelong learning opportunities for all",
    "5": "Achieve gender equality and empower all women and girls",
    "6": "Ensure availability and sustainable management of water and sanitation for all",
    "7": "Ensure access to affordable, reliable, sustainable and modern energy for all",
    "8": "Promote sustained, inclusive and sustainable economic growth, full and productive employment and decent work for all",
    "9": "Build resilient infrastructure, promote inclusive and sustainable industrialization and foster innovation",
    "10": "Reduce inequality within and among countries",
    "11": "Make cities and human settlements inclusive, safe, resilient and sustainable",
    "12": "Ensure sustainable consumption and production patterns",
    "13": "Take urgent action to combat climate change and its impacts",
    "14": "Conserve and sustainably use the oceans, seas and marine resources for sustainable development",
    "15": "Protect, restore and sustainably use terrestrial ecosystems, sustainably manage forests, combat "
          "desertification, and halt and reverse land degradation and halt biodiversity loss",
    "16": "Promote peaceful and inclusive societies for sustainable development, provide access to justice for all "
          "and build effective, accountable and inclusive institutions at all levels",
    "17": "Strengthen the means of implementation and revitalize the Global Partnership for Sustainable Development",
}
_FILE = re.compile(r"ddf--datapoints--(?P<series>.+?)--by--(?P<keys>.+)--year\.csv$")


def sdmx_code(concept: str, code: str) -> str | None:
    """The SDMX code of an API code, where a real recording shows the rule; None where none is known."""
    if code in KNOWN_SDMX.get(concept, {}):
        return KNOWN_SDMX[concept][code]
    if code == "NOTSPEC":  # "not specified" has no SDMX code the recordings show
        return None
    if code.startswith("_") or concept in IDENTITY_SDMX:
        return code
    if concept == "Age":  # the pattern of the real recordings: 60+ -> Y_GE60, 0-59 -> Y0T59, 15-24 -> Y15T24
        if m := re.fullmatch(r"(\d+)-(\d+)", code):
            return f"Y{m[1]}T{m[2]}"
        if m := re.fullmatch(r"(\d+)\+", code):
            return f"Y_GE{m[1]}"
        if m := re.fullmatch(r"<(\d+)Y", code):
            return f"Y0T{int(m[1]) - 1}"
    return None


def dimension_name(ddf_name: str) -> str:
    """``Disability Status`` -> ``Disability status``: the API's ids are sentence case (``Sex``,
    ``Disability status``, ``Migratory status``); the copy title-cased them."""
    return ddf_name[:1].upper() + ddf_name[1:].lower()


@dataclass(frozen=True)
class SeriesInfo:
    code: str
    description: str
    goals: list[str]
    targets: list[str]
    indicators: list[str]
    files: list[tuple[Path, tuple[str, ...]]] = field(default_factory=list)  # (file, its dimension keys)


@dataclass(frozen=True)
class Ddf:
    """The copy, read: series, the API code of every entity, dimension names, areas."""

    root: Path
    series: dict[str, SeriesInfo]
    codes: dict[str, dict[str, str]]  # dimension key -> {ddf id -> API code}
    names: dict[str, str]  # dimension key -> API dimension name
    areas: dict[int, str]


def _split(value: str) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def _rows(path: Path) -> Iterator[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        yield from csv.DictReader(handle)


def read_ddf(root: Path) -> Ddf:
    root = Path(root)
    series: dict[str, SeriesInfo] = {}
    for row in _rows(root / "ddf--concepts--continuous.csv"):
        if row["concept_type"] == "measure":
            series[row["concept"]] = SeriesInfo(row["name"] or row["concept"].upper(), row["description"],
                                                _split(row["goal"]), _split(row["target"]), _split(row["indicator"]))
    for path in sorted(root.glob("ddf--datapoints--*.csv")):
        if (m := _FILE.match(path.name)) and m["series"] in series:
            keys = tuple(key for key in m["keys"].split("--") if key != "geo_area")
            series[m["series"]].files.append((path, keys))
    names = {row["concept"]: dimension_name(row["name"]) for row in _rows(root / "ddf--concepts--discrete.csv")
             if row["concept_type"] == "entity_domain"}
    codes = {}
    for path in root.glob("ddf--entities--*.csv"):
        key = path.name.removeprefix("ddf--entities--").removesuffix(".csv")
        if key != "geo_area":
            codes[key] = {row[key]: row["name"] for row in _rows(path)}
    areas = {int(row["geo_area"]): row["name"] for row in _rows(root / "ddf--entities--geo_area.csv")}
    return Ddf(root, {info.code: info for info in series.values() if info.files}, codes, names, areas)


def series_records(ddf: Ddf, code: str) -> list[dict[str, Any]]:
    """Every observation of a series as the API's JSON records, ordered by area, year, then file order.

    A dimension a file has no key for is left out of its records (the CSV left that cell empty)."""
    info = ddf.series[code]
    column = code.lower()
    records = []
    for path, keys in info.files:
        for row in _rows(path):
            area = int(row["geo_area"])
            attributes = {ATTRIBUTES[key]: ddf.codes[key][row[key]] for key in keys if key in ATTRIBUTES}
            dimensions = {ddf.names[key]: ddf.codes[key][row[key]]
                          for key in keys if key not in ATTRIBUTES}
            records.append({
                "goal": info.goals, "target": info.targets, "indicator": info.indicators,
                "series": info.code, "seriesDescription": info.description, "seriesCount": None,
                "geoAreaCode": str(area), "geoAreaName": ddf.areas.get(area),
                "timePeriodStart": float(row["year"]), "value": row[column], "valueType": "Float",
                "time_detail": None, "timeCoverage": None, "upperBound": None, "lowerBound": None,
                "basePeriod": None, "source": SOURCE, "geoInfoUrl": None, "footnotes": [],
                "attributes": attributes, "dimensions": dimensions,
            })
    records.sort(key=lambda r: (int(r["geoAreaCode"]), r["timePeriodStart"]))  # stable: file order within
    return records


def code_lists(ddf: Ddf, code: str) -> tuple[list[dict], list[dict]]:
    """``Series/{code}/Dimensions`` and ``/Attributes``: every code the series uses, with its SDMX code."""
    used: dict[str, set[str]] = defaultdict(set)
    for path, keys in ddf.series[code].files:
        for row in _rows(path):
            for key in keys:
                used[key].add(row[key])
    dimensions, attributes = [], []
    for key in sorted(used, key=lambda k: ddf.names[k]):
        concept = ATTRIBUTES.get(key) or ddf.names[key]
        entries = [{"code": api, "description": None, "sdmx": sdmx_code(concept, api)}  # the copy has no descriptions
                   for api in sorted(ddf.codes[key][item] for item in used[key])]
        (attributes if key in ATTRIBUTES else dimensions).append({"id": concept, "codes": entries})
    return dimensions, attributes


def pages(records: list[dict], page_size: int, dimensions: list[dict], attributes: list[dict]) -> list[dict]:
    """``Series/Data`` pages in the real envelope; an empty answer is one page with no data."""
    total_pages = math.ceil(len(records) / page_size)
    return [{"size": page_size, "totalElements": len(records), "totalPages": total_pages, "pageNumber": number,
             "attributes": attributes, "dimensions": dimensions,
             "data": records[(number - 1) * page_size:number * page_size]}
            for number in range(1, max(total_pages, 1) + 1)]


def geo_area_list(ddf: Ddf) -> list[dict]:
    """``GeoArea/List``: codes as unpadded strings, like the real answer."""
    return [{"geoAreaCode": str(code), "geoAreaName": name} for code, name in sorted(ddf.areas.items())]


def goal_list(ddf: Ddf, codes: list[str], goal_titles: dict[str, str], release: str) -> list[dict]:
    """``Goal/List?includechildren=true`` for ``codes``, in the real nesting (goal > target > indicator >
    series); titles of goals the caller knows, targets and indicators named by code (the copy has no titles)."""
    tree: dict[str, dict[str, dict[str, list[SeriesInfo]]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    for code in codes:
        info = ddf.series[code]
        for goal, target, indicator in zip(info.goals, info.targets, info.indicators):
            tree[goal][target][indicator].append(info)
    return [{"code": goal, "title": goal_titles.get(goal, f"Goal {goal}"), "description": goal_titles.get(goal, f"Goal {goal}"),
             "uri": f"/v1/sdg/Goal/{goal}",
             "targets": [{"goal": goal, "code": target, "title": f"Target {target}", "description": f"Target {target}",
                          "uri": f"/v1/sdg/Target/{target}",
                          "indicators": [{"goal": None, "target": None, "code": indicator,
                                          "description": f"Indicator {indicator}", "tier": None,
                                          "uri": f"/v1/sdg/Indicator/{indicator}",
                                          "series": [{"goal": None, "target": None, "indicator": None, "release": release,
                                                      "code": info.code, "description": info.description,
                                                      "uri": f"/v1/sdg/Series/{info.code}"}
                                                     for info in infos]}
                                         for indicator, infos in sorted(indicators.items(), key=lambda i: _order(i[0]))]}
                         for target, indicators in sorted(targets.items(), key=lambda t: _order(t[0]))]}
            for goal, targets in sorted(tree.items(), key=lambda g: _order(g[0]))]


def series_list(hierarchy: list[dict]) -> list[dict]:
    """``Series/List?allreleases=false`` from a ``Goal/List`` answer: one entry per series, in the real shape
    (``goal``, ``target`` and ``indicator`` as lists, since a series can belong to several), in code order."""
    found: dict[str, dict] = {}
    for goal in hierarchy:
        for target in goal["targets"]:
            for indicator in target["indicators"]:
                for series in indicator["series"]:
                    entry = found.setdefault(series["code"], {
                        "goal": [], "target": [], "indicator": [], "release": series["release"],
                        "code": series["code"], "description": series["description"], "uri": series["uri"]})
                    for key, code in (("goal", goal["code"]), ("target", target["code"]),
                                      ("indicator", indicator["code"])):
                        if code not in entry[key]:
                            entry[key].append(code)
    return [found[code] for code in sorted(found)]


def _order(code: str) -> list:
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in code.split(".")]


def geo_area_tree(ddf: Ddf, membership: list[tuple[int, int, int]]) -> list[dict]:
    """``GeoArea/Tree``, reconstructed: World > M49 region > sub-region > country, from ``membership``
    (country, region, sub-region) and only for areas the copy names; the copy itself has no tree."""
    nested: dict[int, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
    for country, region, sub_region in membership:
        if country in ddf.areas:
            nested[region][sub_region].append(country)

    def node(code: int, kind: str, children: list[dict] | None) -> dict:
        return {"geoAreaCode": code, "geoAreaName": ddf.areas.get(code), "type": kind, "children": children}

    return [node(1, "Region", [
        node(region, "Region", [node(sub, "Region", [node(c, "Country", None) for c in sorted(countries)])
                                for sub, countries in sorted(subs.items())])
        for region, subs in sorted(nested.items())])]
