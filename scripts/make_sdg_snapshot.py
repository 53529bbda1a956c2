"""Build the SDG API replay snapshot (data/sdg_api/snapshot/) from the Global SDG Indicators Database,
October 2020 (Gapminder's DDF copy): every series of the copy (the default run lands those listed in
data/sdg_api/default_series.csv; SDG_SERIES can name any other), for every area.

    .venv/bin/python scripts/make_sdg_snapshot.py --source <folder of the DDF copy>

Deterministic: the same copy gives the same bytes. Every response is what the API would answer to the
requests the real client makes (GeoArea/List, then Series/Data in batches of areas and pages of 1000),
rebuilt by ingestion/sdg_api/ddf.py; bodies are stored compressed (xz) and replay serves them
decompressed, byte for byte. The one series the copy lacks, SH_OOP_XPD_EARNNET40 (first released in
2025), comes from the real Afghanistan recording kept in the snapshot. What is reconstructed is said in
the snapshot's README and in each manifest entry's `reconstructed`.
"""

from __future__ import annotations

import argparse
import csv
import json
import lzma
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ingestion.sdg_api import ddf  # noqa: E402
from ingestion.sdg_api.client import DEFAULT_AREA_BATCH_SIZE, DEFAULT_PAGE_SIZE, area_batches  # noqa: E402
from ingestion.sdg_api.series import default_series  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT = ROOT / "data" / "sdg_api" / "snapshot"
M49_REGIONS = ROOT / "data" / "sdg_api" / "sources" / "m49_regions.csv"
RECORDED_AT = "2020-10-19T00:00:00Z"  # when the copy was taken (its commit date); becomes fetched_at
# The copy has no release codes: its series are all of one extract, named so (never an invented code).
RELEASE = "2020-10 extract"
REAL_SERIES = "SH_OOP_XPD_EARNNET40"
REAL_PAGE = "series_data/series_data_SH_OOP_XPD_EARNNET40_area4_page1.json"
REAL_RECORDED_AT = "2026-11-21T00:00:00Z"  # the day the real recording was added (it has no fetch date)
REAL_HIERARCHY = {"goal": "3", "target": "3.8", "indicator": "3.8.2",
                  "description": "Proportion of the population with positive out-of-pocket household expenditure on "
                                 "health exceeding 40% of household discretionary budget, by location, quintile, type of "
                                 "household and characteristics of the head of household (%)"}
EXTRACT = "the Global SDG Indicators Database, October 2020 extract (Gapminder DDF copy)"


def body(payload) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class Writer:
    def __init__(self, out: Path, preset: int) -> None:
        self.out = out
        self.preset = preset
        self.recordings: list[dict] = []

    def add(self, relative: str, content: bytes, path: str, params: dict, reconstructed: str,
            recorded_at: str = RECORDED_AT, compress: bool = True) -> None:
        if compress:
            relative += ".xz"
            content = lzma.compress(content, preset=self.preset)
        target = self.out / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        self.recordings.append({"path": path, "params": params, "file": relative, "recorded_at": recorded_at,
                                "synthetic": False, "reconstructed": reconstructed})


def series_data(writer: Writer, code: str, areas: list[int], records: list[dict], dimensions: list, attributes: list,
                reconstructed: str) -> int:
    by_area: dict[int, list[dict]] = {}
    for record in records:
        by_area.setdefault(int(record["geoAreaCode"]), []).append(record)
    pages = 0
    for batch in area_batches(areas, DEFAULT_AREA_BATCH_SIZE):
        batch_records = [r for area in batch for r in by_area.get(area, [])]
        for page in ddf.pages(batch_records, DEFAULT_PAGE_SIZE, dimensions, attributes):
            writer.add(f"series_data/{code}/areas_{batch[0]}-{batch[-1]}_page{page['pageNumber']}.json", body(page),
                       "v1/sdg/Series/Data",
                       {"seriesCode": [code], "areaCode": [str(a) for a in batch], "pageSize": [str(DEFAULT_PAGE_SIZE)],
                        "page": [str(page["pageNumber"])]}, reconstructed)
            pages += 1
    return pages


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, required=True, help="folder of the DDF copy (ddf--*.csv)")
    parser.add_argument("--out", type=Path, default=SNAPSHOT)
    parser.add_argument("--series", default="all",
                        help="comma-separated series codes, or 'all' (the default): every series of the copy, and the "
                             "real recording")
    parser.add_argument("--fast", action="store_true",
                        help="compress quickly (bigger files, the same bodies): for tests, not for the bundled snapshot")
    args = parser.parse_args(argv)
    copy = ddf.read_ddf(args.source)
    if args.series == "all":
        wanted = sorted([*copy.series, REAL_SERIES])
    else:
        wanted = [code.strip() for code in args.series.split(",")]  # case-sensitive, as the API
    missing = [code for code in wanted if code not in copy.series and code != REAL_SERIES]
    if missing:
        raise SystemExit(f"series not in the copy: {missing}")
    not_served = [code for code in default_series() if code not in wanted]
    if args.series == "all" and not_served:
        raise SystemExit(f"default series (data/sdg_api/default_series.csv) not in the copy: {not_served}")
    real_page = json.loads((args.out / REAL_PAGE).read_bytes()) if REAL_SERIES in wanted else {}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "series_data").mkdir(exist_ok=True)
    # Start clean: everything goes but the README and the real recording.
    keep = {args.out / "README.md", args.out / REAL_PAGE, args.out / "series_data"}
    for child in [*args.out.iterdir(), *(args.out / "series_data").iterdir()]:
        if child not in keep and child.exists():
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    writer = Writer(args.out, 1 if args.fast else 9 | lzma.PRESET_EXTREME)
    areas = sorted(copy.areas)
    writer.add("geo_area/geo_area_list.json", body(ddf.geo_area_list(copy)), "v1/sdg/GeoArea/List", {},
               f"every area of {EXTRACT}, in the real answer's shape")
    membership = [tuple(int(v) for v in row.values()) for row in csv.DictReader(M49_REGIONS.open(encoding="utf-8"))]
    writer.add("geo_area/geo_area_tree.json", body(ddf.geo_area_tree(copy, membership)), "v1/sdg/GeoArea/Tree", {},
               "World > M49 region > sub-region > country from data/sdg_api/sources/m49_regions.csv; the copy has no tree")
    series_codes = [code for code in wanted if code in copy.series]
    hierarchy = ddf.goal_list(copy, series_codes, ddf.GOAL_TITLES, release=RELEASE)
    if REAL_SERIES in wanted:
        _add_real_series_to_hierarchy(hierarchy)
    writer.add("hierarchy/goal_list_includechildren.json", body(hierarchy), "v1/sdg/Goal/List",
               {"includechildren": ["true"]},
               f"the default series of {EXTRACT} nested by goal, target and indicator; titles of targets and "
               f"indicators are not in the copy (named by code); release is '{RELEASE}', not an API release code")
    writer.add("hierarchy/series_list.json", body(ddf.series_list(hierarchy)), "v1/sdg/Series/List",
               {"allreleases": ["false"]},
               f"every series of this snapshot with its goals, targets and indicators, from the Goal/List answer; "
               f"release is '{RELEASE}' (the real recording's own release for {REAL_SERIES})")
    totals = {}
    for code in series_codes:
        dimensions, attributes = ddf.code_lists(copy, code)
        records = ddf.series_records(copy, code)
        note = (f"rebuilt from {EXTRACT}: values, codes and years as in the copy; SDMX codes by rule, null where none "
                "is known; source names the extract; footnotes and descriptions were not kept")
        writer.add(f"code_lists/{code}_dimensions.json", body(dimensions), f"v1/sdg/Series/{code}/Dimensions", {}, note)
        writer.add(f"code_lists/{code}_attributes.json", body(attributes), f"v1/sdg/Series/{code}/Attributes", {}, note)
        totals[code] = (len(records), series_data(writer, code, areas, records, dimensions, attributes, note))
    if REAL_SERIES in wanted:
        totals[REAL_SERIES] = _real_series(writer, real_page, areas)
    manifest = {"description": "UN SDG API responses served by SDG_API_MODE=replay, rebuilt from the Global SDG "
                               "Indicators Database (October 2020 extract) and one real recording. See README.md; "
                               "generated by scripts/make_sdg_snapshot.py.",
                "recordings": writer.recordings}
    # One recording per line: compact (thousands of area lists), and still a readable diff.
    lines = ",\n".join(json.dumps(recording, ensure_ascii=False, separators=(",", ":"))
                       for recording in writer.recordings)
    (args.out / "manifest.json").write_text(
        f'{{"description":{json.dumps(manifest["description"])},\n"recordings":[\n{lines}\n]}}\n', encoding="utf-8")
    size = sum(path.stat().st_size for path in args.out.rglob("*") if path.is_file())
    print(f"{len(writer.recordings)} responses, {sum(n for n, _ in totals.values())} observations in "
          f"{len(totals)} series, {size / 1e6:.1f} MB in {args.out}")
    for code, (rows, pages) in totals.items():
        print(f"  {code}: {rows} observations, {pages} pages")


def _add_real_series_to_hierarchy(hierarchy: list[dict]) -> None:
    h = REAL_HIERARCHY
    series = {"goal": None, "target": None, "indicator": None, "release": "2025.Q4.G.01", "code": REAL_SERIES,
              "description": h["description"], "uri": f"/v1/sdg/Series/{REAL_SERIES}"}
    goal = next((g for g in hierarchy if g["code"] == h["goal"]), None)
    if goal is None:
        goal = {"code": h["goal"], "title": ddf.GOAL_TITLES[h["goal"]], "description": ddf.GOAL_TITLES[h["goal"]],
                "uri": f"/v1/sdg/Goal/{h['goal']}", "targets": []}
        hierarchy.append(goal)
        hierarchy.sort(key=lambda g: int(g["code"]))
    target = next((t for t in goal["targets"] if t["code"] == h["target"]), None)
    if target is None:
        target = {"goal": h["goal"], "code": h["target"], "title": f"Target {h['target']}",
                  "description": f"Target {h['target']}", "uri": f"/v1/sdg/Target/{h['target']}", "indicators": []}
        goal["targets"].append(target)
    indicator = next((i for i in target["indicators"] if i["code"] == h["indicator"]), None)
    if indicator is None:
        indicator = {"goal": None, "target": None, "code": h["indicator"], "description": f"Indicator {h['indicator']}",
                     "tier": None, "uri": f"/v1/sdg/Indicator/{h['indicator']}", "series": []}
        target["indicators"].append(indicator)
    indicator["series"].append(series)


def _real_series(writer: Writer, real_page: dict, areas: list[int]) -> tuple[int, int]:
    """The real Afghanistan page answers the batch that holds Afghanistan; the other batches answer empty,
    since the recording is all this snapshot has of the series."""
    code = REAL_SERIES
    note = ("code lists: the real page's envelope; Series/Data: the batch holding Afghanistan (M49 4) answers with "
            "the real page's records and envelope, every other batch with no data (no other area was recorded)")
    writer.add(f"code_lists/{code}_dimensions.json", body(real_page["dimensions"]), f"v1/sdg/Series/{code}/Dimensions",
               {}, note, REAL_RECORDED_AT)
    writer.add(f"code_lists/{code}_attributes.json", body(real_page["attributes"]), f"v1/sdg/Series/{code}/Attributes",
               {}, note, REAL_RECORDED_AT)
    pages = 0
    for batch in area_batches(areas, DEFAULT_AREA_BATCH_SIZE):
        params = {"seriesCode": [code], "areaCode": [str(a) for a in batch], "pageSize": [str(DEFAULT_PAGE_SIZE)],
                  "page": ["1"]}
        if 4 in batch:  # the recording as it is, bytes unchanged
            writer.recordings.append({"path": "v1/sdg/Series/Data", "params": params, "file": REAL_PAGE,
                                      "recorded_at": REAL_RECORDED_AT, "synthetic": False, "reconstructed": note})
        else:
            empty = ddf.pages([], DEFAULT_PAGE_SIZE, real_page["dimensions"], real_page["attributes"])[0]
            writer.add(f"series_data/{code}/areas_{batch[0]}-{batch[-1]}_page1.json", body(empty), "v1/sdg/Series/Data",
                       params, note, REAL_RECORDED_AT)
        pages += 1
    return len(real_page["data"]), pages


if __name__ == "__main__":
    main()
