"""What the report shows, queried from the published file only (read-only; schema ``marts``).

Every function returns plain rows (dicts); the pages, charts, tables and CSV files are all made from the
same rows, so a chart, its table and its download cannot disagree.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import duckdb

DIMENSIONS = ("sex", "age_group", "disability_status", "location", "income_quantile", "migratory_status",
              "population_group")
# The largest number of rows a chart on an indicator page shows (the largest gaps first); every row of a
# country is on that country's page.
CHART_ROWS = 25
KEY = "coalesce(indicator_code, series_code)"
LATEST_GAP = ("qualify row_number() over (partition by source_id, series_code, geo_area_m49, compared_dimension, "
              + ", ".join(DIMENSIONS) + ", reporting_type, other_disaggregation order by period_label desc) = 1")


def connect(published_path: Path) -> duckdb.DuckDBPyConnection:
    """The published file, read-only: a publication can replace it while the report is built."""
    if not Path(published_path).is_file():
        raise FileNotFoundError(f"no published file at {published_path}: run `make run` first")
    return duckdb.connect(str(published_path), read_only=True)


def rows(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[dict]:
    cursor = con.execute(sql, params or [])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


@dataclass(frozen=True)
class Indicator:
    key: str
    code: str | None
    description: str
    source_types: tuple[str, ...]
    areas: tuple[tuple[int, str, str | None], ...]  # (m49, name, iso3), by name
    observations: int


def indicators(con: duckdb.DuckDBPyConnection) -> list[Indicator]:
    """Every indicator (or unmapped series) with at least one published observation."""
    found = rows(con, f"""
        with o as (select {KEY} as key, * from marts.fct_indicator_observations)
        select key, any_value(indicator_code) as code,
               string_agg(distinct o.series_description, '; ' order by o.series_description) as description,
               list(distinct o.source_type order by o.source_type) as source_types,
               list(distinct {{'m49': o.geo_area_m49, 'name': o.geo_area_name, 'iso3': o.iso3}}) as areas,
               count(*) as observations
        from o group by key order by key""")
    return [Indicator(key=r["key"], code=r["code"], description=r["description"] or r["key"],
                      source_types=tuple(r["source_types"]),
                      areas=tuple(sorted(((a["m49"], a["name"] or str(a["m49"]), a["iso3"]) for a in r["areas"]),
                                         key=lambda a: a[1])),
                      observations=r["observations"]) for r in found]


def latest_gaps(con) -> dict[str, list[dict]]:
    """Every group against its reference group, the latest period of each, by indicator key; the largest
    relative gaps first (one query for the whole site)."""
    found: dict[str, list[dict]] = {}
    for row in rows(con, f"""
        select {KEY} as indicator_key, source_type, source_id, series_code, geo_area_m49, geo_area_name,
               period_label, unit, compared_dimension, reference_code, intersection_depth, dimensions_crossed,
               {", ".join(DIMENSIONS)}, other_disaggregation, group_value, reference_value, difference, ratio
        from marts.mart_intersectional_gaps
        where comparison = 'reference_group'
        {LATEST_GAP}
        order by abs(coalesce(ratio, 1) - 1) desc, geo_area_name, series_code, observation_id"""):
        found.setdefault(row.pop("indicator_key"), []).append(row)
    return found


def select_gaps(gap_rows: list[dict], depth: str = "1", limit: int | None = CHART_ROWS) -> list[dict]:
    """``depth`` "1" (the group differs from its reference in one dimension only) or "2+" (two or more
    dimensions crossed, e.g. women with disabilities against men with disabilities)."""
    chosen = [r for r in gap_rows if (r["intersection_depth"] == 1) == (depth == "1")]
    return chosen[:limit] if limit else chosen


def comparisons(con, key: str) -> list[dict]:
    """Non-official values beside the official ones, for the indicator on either side."""
    return rows(con, f"""
        select c.geo_area_m49, c.geo_area_name, c.official_source_type, o.source_id as official_source_id,
               c.official_series_code, c.non_official_series_code,
               {", ".join("c." + d for d in DIMENSIONS)}, c.other_disaggregation, c.unit,
               c.official_period_label, c.non_official_period_label, c.non_official_source_type,
               c.non_official_source_id, n.data_source as non_official_data_source, c.official_value,
               c.non_official_value, c.non_official_sample_size, c.difference, c.comparison_threshold,
               c.exceeds_threshold
        from marts.mart_source_comparison c
        join marts.fct_indicator_observations n on n.observation_id = c.non_official_observation_id
        join marts.fct_indicator_observations o on o.observation_id = c.official_observation_id
        where ? in (coalesce(n.indicator_code, n.series_code), coalesce(o.indicator_code, o.series_code))
        order by c.geo_area_name, c.non_official_period_label, c.non_official_source_id,
                 c.non_official_observation_id""", [key])


def suppressed(con, key: str) -> list[dict]:
    """Cells withheld because too few respondents stand behind them (no value is published for them)."""
    return rows(con, f"""
        select source_type, source_id, data_source, series_code, geo_area_m49, geo_area_name, period_label,
               {", ".join(DIMENSIONS)}, other_disaggregation, unit
        from marts.fct_indicator_observations
        where is_suppressed and {KEY} = ?
        order by geo_area_name, series_code, period_label, {", ".join(DIMENSIONS)}, observation_id""",
                [key])


def sources_by_area(con, key: str) -> dict[int | None, list[dict]]:
    """The sources behind an indicator's published rows, with the datasets they cite: for every area, and
    for all areas (key None)."""
    found: dict[int | None, list[dict]] = {}
    for row in rows(con, f"""
        select geo_area_m49, source_type, source_id, list(distinct data_source order by data_source) as data_sources
        from marts.fct_indicator_observations where {KEY} = ?
        group by grouping sets ((geo_area_m49, source_type, source_id), (source_type, source_id))
        order by source_type, source_id""", [key]):
        found.setdefault(row.pop("geo_area_m49"), []).append(row)
    return found


def in_area(found: list[dict], m49: int | None) -> list[dict]:
    return found if m49 is None else [r for r in found if r["geo_area_m49"] == m49]


def population_groups(con, seeds_dir: Path) -> list[dict]:
    """The groups official data rarely covers (``dim_population_groups``), each with the dimension and codes
    that identify it (the code list ``population_groups``, the same one dbt reads)."""
    via = {}
    with (Path(seeds_dir) / "population_groups.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            via[row["code"]] = (row["via_dimension"] or None, tuple((row["via_codes"] or "").split()))
    groups = rows(con, "select population_group, label from marts.dim_population_groups "
                       "where population_group <> '_T' order by label")
    for group in groups:
        group["via_dimension"], group["via_codes"] = via.get(group["population_group"], (None, ()))
    return groups


def coverage(con, seeds_dir: Path) -> list[dict]:
    """Population group x indicator: official (UN) data, national official data only, civil-society or citizen
    data only, or nothing
    (from ``mart_data_coverage``, in any area and period)."""
    keys = [r["indicator_key"] for r in rows(con, "select distinct indicator_key from marts.mart_data_coverage "
                                                  "order by indicator_key")]
    cells = []
    for group in population_groups(con, seeds_dir):
        match = "population_group = ?"
        params: list = [group["population_group"]]
        if group["via_dimension"] in DIMENSIONS and group["via_codes"]:
            match += f" or {group['via_dimension']} in ({', '.join('?' for _ in group['via_codes'])})"
            params += list(group["via_codes"])
        found = {r["indicator_key"]: r for r in rows(con, f"""
            select indicator_key, bool_or(has_official) as official, bool_or(has_national_official) as national,
                   bool_or(has_civil_society or has_citizen_generated) as non_official,
                   count(distinct geo_area_m49) as areas
            from marts.mart_data_coverage where {match} group by indicator_key""", params)}
        for key in keys:
            hit = found.get(key)
            status = ("official data" if hit and hit["official"] else
                      "national official data only" if hit and hit["national"] else
                      "civil-society or citizen data only" if hit and hit["non_official"] else "no data")
            cells.append({"population_group": group["label"], "indicator": key, "status": status,
                          "areas": hit["areas"] if hit else 0})
    return cells


def publication(con) -> dict:
    found = rows(con, "select published_at, run_id from meta.publication_log order by published_at desc limit 1")
    return found[0] if found else {"published_at": None, "run_id": None}
