"""The report site: the index (who is missing, every indicator, the sources) and one page per indicator,
plus one per country where the indicator has several, written to a new folder that then replaces the
previous site in one rename: a build that fails leaves the previous site as it was.
"""

from __future__ import annotations

import csv
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import jinja2

from ingestion.report import blocks, data
from ingestion.report.labels import SOURCE_TYPES
from ingestion.report.sources import Source, load_sources, source_for

TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class SiteResult:
    path: Path  # index.html
    pages: int
    charts: int
    seconds: float


@dataclass(frozen=True)
class ReportInputs:
    published_path: Path
    out_dir: Path
    min_cell_size: int
    partner_contracts: Path
    project_root: Path
    kobo_contracts: Path | None = None
    national_contracts: Path | None = None

    @property
    def seeds_dir(self) -> Path:
        return self.project_root / "dbt_project" / "seeds"


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")


def indicator_page(indicator: data.Indicator) -> str:
    return f"indicator-{slug(indicator.key)}.html"


def country_page(indicator: data.Indicator, m49: int, iso3: str | None) -> str:
    return f"indicator-{slug(indicator.key)}-{iso3 or m49}.html"


def _environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


class _Writer:
    """Writes pages and their CSV files into the new site folder, counting both."""

    def __init__(self, folder: Path, env: jinja2.Environment, common: dict):
        self.folder, self.env, self.common = folder, env, common
        self.pages = 0
        self.charts = 0
        (folder / "data").mkdir(parents=True)

    def page(self, name: str, template: str, page_blocks: list[blocks.Block], **context) -> None:
        for block in page_blocks:
            block.csv_name = f"data/{name.removesuffix('.html')}-{block.id}.csv"
            with (self.folder / block.csv_name).open("w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(block.columns)
                writer.writerows(block.rows)
            self.charts += block.svg is not None
        synthetic = any(b.synthetic for b in page_blocks) or context.pop("synthetic", False)
        html = self.env.get_template(template).render(**self.common, blocks=page_blocks, synthetic=synthetic,
                                                      **context)
        (self.folder / name).write_text(html, encoding="utf-8")
        self.pages += 1


@dataclass(frozen=True)
class _IndicatorRows:
    """An indicator's rows, queried once; its country pages take their share."""

    gaps: dict[int | None, list[dict]]  # by area, and all areas (None)
    comparisons: list[dict]
    suppressed: list[dict]
    sources: dict[int | None, list[dict]]


def _indicator_rows(con, key: str, gaps: dict[str, list[dict]]) -> _IndicatorRows:
    by_area: dict[int | None, list[dict]] = {None: gaps.get(key, [])}
    for row in by_area[None]:
        by_area.setdefault(row["geo_area_m49"], []).append(row)
    return _IndicatorRows(by_area, data.comparisons(con, key), data.suppressed(con, key),
                          data.sources_by_area(con, key))


def _indicator_blocks(found_rows: _IndicatorRows, catalog: dict[str, Source], inputs: ReportInputs,
                      m49: int | None = None, where: str = "", draw: bool = True):
    gap_rows = found_rows.gaps.get(m49, [])
    depth_one = data.select_gaps(gap_rows, "1", limit=None)
    crossed = data.select_gaps(gap_rows, "2+", limit=None)
    shown = depth_one[:data.CHART_ROWS] if draw else depth_one
    found = [
        blocks.gaps_block(shown, catalog, where, draw=draw),
        blocks.intersections_block(blocks.intersection_pairs(depth_one, crossed), catalog, where) if draw
        else blocks.gaps_block(crossed, catalog, where, draw=False, crossed=True),
        blocks.comparisons_block(data.in_area(found_rows.comparisons, m49), catalog, where),
        blocks.suppressed_block(data.in_area(found_rows.suppressed, m49), catalog, where, inputs.min_cell_size),
    ]
    return [block for block in found if block is not None]


def _page_sources(found_rows: _IndicatorRows, catalog: dict[str, Source], m49: int | None = None) -> list[dict]:
    return [{"source": source_for(r["source_id"], r["source_type"], catalog), "source_id": r["source_id"],
             "kind": SOURCE_TYPES.get(r["source_type"], r["source_type"]), "data_sources": r["data_sources"]}
            for r in found_rows.sources.get(m49, [])]


def _build(con, folder: Path, inputs: ReportInputs) -> tuple[int, int]:
    catalog = load_sources(inputs.partner_contracts, inputs.project_root, inputs.kobo_contracts,
                           inputs.national_contracts)
    indicators = data.indicators(con)
    gaps = data.latest_gaps(con)
    common = {"publication": data.publication(con), "min_cell_size": inputs.min_cell_size,
              "source_types": SOURCE_TYPES, "index_page": "index.html"}
    writer = _Writer(folder, _environment(), common)
    shutil.copyfile(TEMPLATES / "report.css", folder / "report.css")
    listing = []
    for indicator in indicators:
        name = indicator_page(indicator)
        found_rows = _indicator_rows(con, indicator.key, gaps)
        countries = []
        # Country pages where the indicator has several areas: tables of every row; charts where civil
        # society or citizens report (the indicator page charts the largest gaps of all areas).
        if len(indicator.areas) > 1:
            non_official = {r["geo_area_m49"] for r in data.rows(con, f"""
                select distinct geo_area_m49 from marts.fct_indicator_observations
                where {data.KEY} = ? and source_type <> 'official'""", [indicator.key])}
            for m49, area_name, iso3 in indicator.areas:
                page = country_page(indicator, m49, iso3)
                page_blocks = _indicator_blocks(found_rows, catalog, inputs, m49, f"{area_name}, {indicator.key}",
                                                draw=m49 in non_official)
                writer.page(page, "indicator.html", page_blocks, indicator=indicator, area=area_name,
                            countries=[], parent=name,
                            sources=_page_sources(found_rows, catalog, m49))
                countries.append({"name": area_name, "page": page})
        page_blocks = _indicator_blocks(found_rows, catalog, inputs, where=f"indicator {indicator.key}, all areas")
        sources = _page_sources(found_rows, catalog)
        writer.page(name, "indicator.html", page_blocks, indicator=indicator, area=None, countries=countries,
                    parent=None, sources=sources)
        listing.append({"indicator": indicator, "page": name,
                        "kinds": [SOURCE_TYPES.get(t, t) for t in indicator.source_types],
                        "synthetic": any(s["source"].synthetic for s in sources)})
    coverage = blocks.coverage_block(data.coverage(con, inputs.seeds_dir), catalog)
    writer.page("index.html", "index.html", [coverage], indicators=listing,
                catalog=sorted(catalog.values(), key=lambda s: (s.source_type != "official", s.name)))
    return writer.pages, writer.charts


def build_site(inputs: ReportInputs) -> SiteResult:
    """Builds the whole site from the published file into ``inputs.out_dir`` (replaced in one rename)."""
    started = time.perf_counter()
    out_dir = Path(inputs.out_dir)
    building = out_dir.with_name(out_dir.name + ".building")
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    try:
        with data.connect(inputs.published_path) as con:
            pages, charts = _build(con, building, inputs)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    previous = out_dir.with_name(out_dir.name + ".previous")
    shutil.rmtree(previous, ignore_errors=True)
    if out_dir.exists():
        out_dir.rename(previous)
    building.rename(out_dir)
    shutil.rmtree(previous, ignore_errors=True)
    return SiteResult(path=out_dir / "index.html", pages=pages, charts=charts,
                      seconds=round(time.perf_counter() - started, 1))
