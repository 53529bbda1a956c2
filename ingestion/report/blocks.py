"""One block per chart or table on a page: its rows in words and numbers, the chart drawn from exactly those
rows, the caption, and the sources. The HTML table and the CSV download are both ``Block.table``."""

from __future__ import annotations

from dataclasses import dataclass, field

from ingestion.report import charts
from ingestion.report.data import DIMENSIONS
from ingestion.report.labels import SOURCE_TYPES, code_label, group_label, number, reference_label
from ingestion.report.sources import Source, is_synthetic_label, source_for


def suppressed_text(min_cell_size: int) -> str:
    return f"suppressed (fewer than {min_cell_size} respondents)"


@dataclass
class Block:
    id: str
    title: str
    caption: str
    columns: list[str]
    rows: list[list[str]]
    sources: list[Source]
    svg: str | None = None
    synthetic: bool = False
    csv_name: str = ""  # set when the page is written
    notes: list[str] = field(default_factory=list)


def _sources(rows: list[dict], catalog: dict[str, Source], id_field: str = "source_id",
             type_field: str = "source_type", official: bool = False) -> list[Source]:
    found = {r[id_field]: source_for(r[id_field], r[type_field], catalog) for r in rows}
    if official:
        found.setdefault("unsd_sdg_api", source_for("unsd_sdg_api", "official", catalog))
    return sorted(found.values(), key=lambda s: (s.source_type != "official", s.name))


def _synthetic(sources: list[Source], rows: list[dict], data_source_field: str = "data_source") -> bool:
    return any(s.synthetic for s in sources) or any(is_synthetic_label(r.get(data_source_field)) for r in rows)


def _place(row: dict) -> str:
    return f"{row['geo_area_name']} {row.get('period_label') or row.get('non_official_period_label')}"


GAP_COLUMNS = ["area", "period", "series", "reported by", "group", "reference group", "group value",
               "reference value", "difference", "ratio", "unit"]


def _gap_row(r: dict) -> list[str]:
    return [r["geo_area_name"], r["period_label"], r["series_code"], r["source_id"], group_label(r, DIMENSIONS),
            reference_label(r, DIMENSIONS), number(r["group_value"]), number(r["reference_value"]),
            number(r["difference"]), number(r["ratio"]), r["unit"] or ""]


def gaps_block(gap_rows: list[dict], catalog: dict[str, Source], where: str, draw: bool = True,
               crossed: bool = False) -> Block | None:
    """Gaps for one dimension; with ``crossed``, the gaps within groups that cross two or more (a table)."""
    if not gap_rows:
        return None
    if crossed:
        sources = _sources(gap_rows, catalog)
        return Block(id="crossed", title=f"Gaps within crossed groups, {where}",
                     caption=(f"The same comparisons within groups that cross two or more dimensions (e.g. women "
                              f"with disabilities against women without), {where}: all {len(gap_rows)}, the "
                              "largest relative gaps first."),
                     columns=[*GAP_COLUMNS, "dimensions crossed"],
                     rows=[[*_gap_row(r), r["dimensions_crossed"]] for r in gap_rows], sources=sources,
                     synthetic=_synthetic(sources, gap_rows))
    title = f"Gaps: each group against its reference group, {where}"
    caption = (f"Each group's latest value (red) against its reference group's (blue), {where}: "
               f"the {len(gap_rows)} largest gaps relative to the reference value." if draw else
               f"Each group's latest value against its reference group's, {where}: all {len(gap_rows)} "
               "comparisons, the largest relative gaps first (a table only: the indicator's page charts the largest).")
    records = [{"label": f"{_place(r)}: {group_label(r, DIMENSIONS)} vs {code_label(r['compared_dimension'], r['reference_code'])}"
                         f" ({r['series_code']})",
                "group_value": r["group_value"], "reference_value": r["reference_value"]} for r in gap_rows]
    sources = _sources(gap_rows, catalog)
    return Block(id="gaps", title=title, caption=caption, columns=GAP_COLUMNS, rows=[_gap_row(r) for r in gap_rows],
                 sources=sources, svg=charts.gaps_chart(records, title) if draw else None,
                 synthetic=_synthetic(sources, gap_rows))


def _pair_key(r: dict) -> tuple:
    return (r["source_id"], r["series_code"], r["geo_area_m49"], r["period_label"], r["compared_dimension"],
            r[r["compared_dimension"]], r["reference_code"])


def intersection_pairs(depth_one: list[dict], crossed: list[dict], limit: int = 12) -> list[tuple[dict, dict]]:
    """Crossed gaps (two or more dimensions) with the same comparison for one dimension alone (same source,
    series, area, period, compared dimension and codes), the largest crossed gaps first."""
    single = {_pair_key(r): r for r in depth_one if r["other_disaggregation"] is None}
    pairs = [(single[_pair_key(r)], r) for r in crossed if _pair_key(r) in single]
    return pairs[:limit]


def intersections_block(pairs: list[tuple[dict, dict]], catalog: dict[str, Source], where: str) -> Block | None:
    if not pairs:
        return None
    title = f"Intersections: how a gap changes when dimensions are crossed, {where}"
    caption = (f"The gap between a group and its reference group for one dimension alone (blue) and for the same "
               f"comparison within a crossed group (red), {where}: {len(pairs)} crossed groups with the largest gaps.")
    rows, records, seen = [], [], set()
    for single, crossed in pairs:
        for r in (single, crossed):
            if id(r) in seen:
                continue
            seen.add(id(r))
            label = f"{_place(r)}: {group_label(r, DIMENSIONS)} vs {code_label(r['compared_dimension'], r['reference_code'])}"
            depth = "one dimension" if r["intersection_depth"] == 1 else "two or more dimensions"
            records.append({"label": f"{label} ({r['series_code']})", "difference": r["difference"], "depth": depth})
            rows.append([*_gap_row(r), str(r["intersection_depth"]), r["dimensions_crossed"]])
    rows_dicts = [r for pair in pairs for r in pair]
    sources = _sources(rows_dicts, catalog)
    return Block(id="intersections", title=title, caption=caption,
                 columns=[*GAP_COLUMNS, "dimensions crossed (count)", "dimensions crossed"], rows=rows,
                 sources=sources, svg=charts.intersections_chart(records, title),
                 synthetic=_synthetic(sources, rows_dicts))


COMPARISON_COLUMNS = ["area", "group", "official source", "official series", "official period", "official value",
                      "non-official series", "non-official period", "non-official value", "respondents",
                      "non-official source", "source kind", "difference", "threshold", "beyond threshold", "unit"]


def comparisons_block(found: list[dict], catalog: dict[str, Source], where: str) -> Block | None:
    if not found:
        return None
    title = f"Sources side by side: official values and the values compared with them, {where}"
    caption = (f"Official values (dark: the UN's, or the national statistics office's) beside the values compared "
               f"with them (orange: civil-society, citizen-generated, or national against the UN) for the same "
               f"group, {where}; the grey band is the official value plus or minus the unit's threshold.")
    records, rows = [], []
    for r in found:
        threshold = r["comparison_threshold"]
        records.append({
            "label": f"{r['geo_area_name']} {r['non_official_period_label']}: {group_label(r, DIMENSIONS)}"
                     f" ({r['non_official_source_id']} vs {r['official_source_id']})",
            "official_value": r["official_value"], "non_official_value": r["non_official_value"],
            "band_low": None if threshold is None else r["official_value"] - threshold,
            "band_high": None if threshold is None else r["official_value"] + threshold})
        rows.append([r["geo_area_name"], group_label(r, DIMENSIONS), r["official_source_id"], r["official_series_code"],
                     r["official_period_label"], number(r["official_value"]), r["non_official_series_code"],
                     r["non_official_period_label"], number(r["non_official_value"]),
                     number(r["non_official_sample_size"]), r["non_official_source_id"],
                     SOURCE_TYPES.get(r["non_official_source_type"], r["non_official_source_type"]),
                     number(r["difference"]), number(threshold) or "not compared for this unit",
                     number(r["exceeds_threshold"]), r["unit"] or ""])
    sources = _sources(found, catalog, "non_official_source_id", "non_official_source_type", official=True)
    sources += [s for s in _sources(found, catalog, "official_source_id", "official_source_type") if s not in sources]
    return Block(id="sources", title=title, caption=caption, columns=COMPARISON_COLUMNS, rows=rows,
                 sources=sources, svg=charts.sources_chart(records, title),
                 synthetic=_synthetic(sources, found, "non_official_data_source"))


def suppressed_block(found: list[dict], catalog: dict[str, Source], where: str, min_cell_size: int) -> Block | None:
    if not found:
        return None
    text = suppressed_text(min_cell_size)
    sources = _sources(found, catalog)
    return Block(
        id="suppressed", title=f"Cells withheld to protect respondents, {where}",
        caption=(f"{len(found)} civil-society or citizen-generated cells, {where}, rest on fewer than {min_cell_size} "
                 "respondents (or would let such a cell be worked out): no value is published for them."),
        columns=["area", "period", "series", "reported by", "group", "value", "unit"],
        rows=[[r["geo_area_name"], r["period_label"], r["series_code"], r["source_id"], group_label(r, DIMENSIONS),
               text, r["unit"] or ""] for r in found],
        sources=sources, synthetic=_synthetic(sources, found))


def coverage_block(cells: list[dict], catalog: dict[str, Source]) -> Block:
    title = "Who is missing: population groups x indicators"
    return Block(
        id="coverage", title=title,
        caption=("For each population group official data rarely covers and each indicator: UN data in at least "
                 "one area, a national statistics office's data only, civil-society or citizen-generated data only, "
                 "or no data at all."),
        columns=["population group", "indicator", "data", "areas with data"],
        rows=[[c["population_group"], c["indicator"], c["status"], number(c["areas"])] for c in cells],
        sources=sorted(catalog.values(), key=lambda s: (s.source_type != "official", s.name)),
        svg=charts.coverage_chart(cells, title), synthetic=any(s.synthetic for s in catalog.values()))
