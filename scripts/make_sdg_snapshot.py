"""Build the SDG API replay snapshot in data/sdg_api/snapshot/ (deterministic: same output every run).

Real recordings are kept as they are; every response there is no real recording for is synthesized
by ingestion/sdg_api/synthetic.py in the API's exact shape, and marked `"synthetic": true` in
manifest.json. Run: .venv/bin/python scripts/make_sdg_snapshot.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ingestion.sdg_api import synthetic  # noqa: E402
from ingestion.sdg_api.series import default_series  # noqa: E402
from ingestion.sdg_api.synthetic import SeriesSpec  # noqa: E402

SNAPSHOT = Path(__file__).resolve().parent.parent / "data" / "sdg_api" / "snapshot"
RECORDED_AT = "2026-11-21T00:00:00Z"  # the day this snapshot was assembled
AREAS = [(4, "Afghanistan")]  # the real recording covers Afghanistan; synthetic series follow it
PAGE_SIZE = 1000  # the client's default page size: replay answers exactly the requests it makes

REAL_SERIES = "SH_OOP_XPD_EARNNET40"
REAL_PAGE = "series_data/series_data_SH_OOP_XPD_EARNNET40_area4_page1.json"

SPECS = [
    SeriesSpec("SI_POV_DAY1", "1", "1.1", "1.1.1",
               "Proportion of population below international poverty line (%)", "PERCENT",
               {"Sex": ["BOTHSEX", "FEMALE", "MALE"], "Age": ["ALLAGE", "<15", "15-64", "65+"],
                "Location": ["ALLAREA", "URBAN", "RURAL"]}, (10.0, 45.0)),
    SeriesSpec("SI_COV_DISAB", "1", "1.3", "1.3.1",
               "Proportion of population with severe disabilities receiving disability cash benefit, by sex (%)",
               "PERCENT", {"Sex": ["BOTHSEX", "FEMALE", "MALE"]}, (0.5, 12.0)),
    SeriesSpec("SE_TOT_CPLR", "4", "4.1", "4.1.2",
               "Completion rate, by sex, location, wealth quintile and education level (%)", "PERCENT",
               {"Education level": ["PRIMAR", "LOWSEC", "UPPSEC"], "Sex": ["BOTHSEX", "FEMALE", "MALE"],
                "Location": ["ALLAREA", "URBAN", "RURAL"], "Quantile": ["_T", "Q1", "Q2", "Q3", "Q4", "Q5"]},
               (15.0, 85.0)),
    SeriesSpec("SL_TLF_UEM", "8", "8.5", "8.5.2",
               "Unemployment rate, by sex, age and persons with disabilities (%)", "PERCENT",
               {"Sex": ["BOTHSEX", "FEMALE", "MALE"], "Age": ["15+", "15-24", "25+"],
                "Disability status": ["_T", "PD", "PWD"]}, (5.0, 30.0)),
    SeriesSpec("SL_TLF_NEET", "8", "8.6", "8.6.1",
               "Proportion of youth (aged 15-24 years) not in education, employment or training, by sex (%)",
               "PERCENT", {"Sex": ["BOTHSEX", "FEMALE", "MALE"], "Age": ["15-24"]}, (25.0, 70.0)),
    SeriesSpec("SL_EMP_FTLINJUR", "8", "8.8", "8.8.1",
               "Fatal occupational injuries among employees, by sex and migrant status (per 100,000 employees)",
               "PER_100000_EMP", {"Sex": ["BOTHSEX", "FEMALE", "MALE"],
                                  "Migratory status": ["_T", "MS_MIGRANT", "MS_NONMIGRANT"]}, (0.5, 15.0)),
    SeriesSpec("SE_INF_DSBL", "4", "4.a", "4.a.1",
               "Proportion of schools with access to adapted infrastructure and materials for students with disabilities, by education level (%)",
               "PERCENT", {"Education level": ["PRIMAR", "LOWSEC", "UPPSEC"]}, (2.0, 30.0)),
]

GOALS = {"1": "End poverty in all its forms everywhere",
         "3": "Ensure healthy lives and promote well-being for all at all ages",
         "4": "Ensure inclusive and equitable quality education and promote lifelong learning opportunities for all",
         "8": "Promote sustained, inclusive and sustainable economic growth, full and productive employment and decent work for all"}
REAL_SPEC = SeriesSpec(REAL_SERIES, "3", "3.8", "3.8.2",
                       "Proportion of the population with positive out-of-pocket household expenditure on health "
                       "exceeding 40% of household discretionary budget, by location, quintile, type of household "
                       "and characteristics of the head of household (%)", "PERCENT", {}, (0, 100))


def write(relative: str, payload, recordings: list, path: str, params: dict, synthetic_: bool) -> None:
    target = SNAPSHOT / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
    recordings.append({"path": path, "params": params, "file": relative, "recorded_at": RECORDED_AT,
                       "synthetic": synthetic_})


def goal_hierarchy(specs: list[SeriesSpec]) -> list[dict]:
    goals: dict[str, dict] = {}
    for spec in specs:
        goal = goals.setdefault(spec.goal, {"code": spec.goal, "title": GOALS[spec.goal], "description": GOALS[spec.goal],
                                            "uri": f"/v1/sdg/Goal/{spec.goal}", "targets": []})
        target = next((t for t in goal["targets"] if t["code"] == spec.target), None)
        if target is None:
            target = {"goal": spec.goal, "code": spec.target, "title": f"Target {spec.target}",
                      "description": f"Target {spec.target}", "uri": f"/v1/sdg/Target/{spec.target}", "indicators": []}
            goal["targets"].append(target)
        target["indicators"].append({
            "goal": None, "target": None, "code": spec.indicator, "description": f"Indicator {spec.indicator}",
            "tier": "1", "uri": f"/v1/sdg/Indicator/{spec.indicator}",
            "series": [{"goal": None, "target": None, "indicator": None, "release": release, "code": spec.code,
                        "description": spec.description, "uri": f"/v1/sdg/Series/{spec.code}"}
                       for release in ("2025.Q4.G.01", "2025.Q2.G.03")],  # one entry per release, unsorted
        })
    return [goals[code] for code in sorted(goals, key=int)]


def main() -> None:
    specs = {spec.code: spec for spec in SPECS}
    wanted = default_series()
    missing = [code for code in wanted if code not in specs and code != REAL_SERIES]
    if missing:
        raise SystemExit(f"no recording or synthetic spec for default series {missing}")
    recordings: list[dict] = []
    real_page = json.loads((SNAPSHOT / REAL_PAGE).read_text(encoding="utf-8"))
    recordings.append({"path": "v1/sdg/Series/Data", "file": REAL_PAGE, "recorded_at": RECORDED_AT, "synthetic": False,
                       "params": {"seriesCode": [REAL_SERIES], "areaCode": ["4"], "pageSize": ["1000"], "page": ["1"]}})
    recordings.append({"path": "v1/sdg/GeoArea/List", "params": {}, "file": "geo_area/geo_area_list_afghanistan.json",
                       "recorded_at": RECORDED_AT, "synthetic": False})
    # The real page carries the series' code lists in its envelope, in the Dimensions/Attributes shape.
    write(f"code_lists/{REAL_SERIES}_dimensions.json", real_page["dimensions"], recordings,
          f"v1/sdg/Series/{REAL_SERIES}/Dimensions", {}, True)
    write(f"code_lists/{REAL_SERIES}_attributes.json", real_page["attributes"], recordings,
          f"v1/sdg/Series/{REAL_SERIES}/Attributes", {}, True)
    for code in wanted:
        if code == REAL_SERIES:
            continue
        spec = specs[code]
        write(f"code_lists/{code}_dimensions.json", synthetic.code_list_response(spec), recordings,
              f"v1/sdg/Series/{code}/Dimensions", {}, True)
        write(f"code_lists/{code}_attributes.json", synthetic.attribute_list_response(spec), recordings,
              f"v1/sdg/Series/{code}/Attributes", {}, True)
        for page in synthetic.pages(synthetic.observations(spec, AREAS), PAGE_SIZE):
            write(f"series_data/{code}_area4_page{page['pageNumber']}.json", page, recordings, "v1/sdg/Series/Data",
                  {"seriesCode": [code], "areaCode": ["4"], "pageSize": [str(PAGE_SIZE)],
                   "page": [str(page["pageNumber"])]}, True)
    tree = [{"geoAreaCode": 1, "geoAreaName": "World", "type": "Region", "children": [
        {"geoAreaCode": 142, "geoAreaName": "Asia", "type": "Region", "children": [
            {"geoAreaCode": 34, "geoAreaName": "Southern Asia", "type": "Region", "children": [
                {"geoAreaCode": 4, "geoAreaName": "Afghanistan", "type": "Country", "children": None}]}]}]}]
    write("geo_area/geo_area_tree.json", tree, recordings, "v1/sdg/GeoArea/Tree", {}, True)
    hierarchy_specs = [REAL_SPEC, *[specs[c] for c in wanted if c != REAL_SERIES]]
    write("hierarchy/goal_list_includechildren.json", goal_hierarchy(hierarchy_specs), recordings,
          "v1/sdg/Goal/List", {"includechildren": ["true"]}, True)
    manifest = {"description": "Recorded and synthetic UN SDG API responses served by SDG_API_MODE=replay. "
                               "See README.md for sources; generated by scripts/make_sdg_snapshot.py.",
                "recordings": recordings}
    (SNAPSHOT / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    print(f"{len(recordings)} recordings ({sum(r['synthetic'] for r in recordings)} synthetic) in {SNAPSHOT}")


if __name__ == "__main__":
    main()
