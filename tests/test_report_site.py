"""The report site the baseline run built (main_job's ``report_site``, from the published file only):
numbers equal the published file, suppressed cells stay suppressed, nothing restricted leaks, every page
works offline in a real browser, and official-only, civil-society-only and mixed indicators all get pages."""

from __future__ import annotations

import csv
import re
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest

from ingestion.report.data import DIMENSIONS
from ingestion.report.labels import group_label, number
from ingestion.report.site import slug
from tests.browser import load

pytestmark = pytest.mark.e2e
KEY = "coalesce(indicator_code, series_code)"


class _Tables(HTMLParser):
    """Each section's table rows (cell texts), by section id."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.sections: dict[str, list[list[str]]] = {}
        self.section = None
        self.row: list[str] | None = None
        self.cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "section":
            self.section = dict(attrs).get("id")
            self.sections.setdefault(self.section, [])
        elif tag == "tr":
            self.row = []
        elif tag in ("td", "th") and self.row is not None:
            self.cell = []

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.row.append("".join(self.cell).strip())
            self.cell = None
        elif tag == "tr" and self.row is not None:
            self.sections[self.section].append(self.row)
            self.row = None


def tables(page: Path) -> dict[str, list[list[str]]]:
    parser = _Tables()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser.sections


def read_csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


@pytest.fixture(scope="module")
def site(baseline) -> Path:
    return baseline.settings.report_site_dir


@pytest.fixture(scope="module")
def published(baseline):
    with duckdb.connect(str(baseline.settings.published_path), read_only=True) as con:
        yield con


@pytest.fixture(scope="module")
def kinds(published) -> dict[str, set[str]]:
    found = {}
    for key, source_type in published.execute(
            f"select distinct {KEY}, source_type from marts.fct_indicator_observations").fetchall():
        found.setdefault(key, set()).add(source_type)
    return found


def test_make_run_builds_the_site_and_says_where(baseline, site):
    assert f"Report: {site / 'index.html'}" in "\n".join(baseline.summary)
    pages = list(site.glob("*.html"))
    assert (site / "index.html").is_file() and len(pages) > 20
    meta = {e.event_specific_data.materialization.asset_key.to_user_string():
            e.event_specific_data.materialization.metadata for e in baseline.main.get_asset_materialization_events()}
    assert meta["report_site"]["pages"].value == len(pages)


def test_every_chart_table_equals_its_csv_and_the_published_numbers(site, published, kinds):
    checked = 0
    for key in kinds:
        page = site / f"indicator-{slug(key)}.html"
        for section, rows in tables(page).items():
            csv_path = site / "data" / f"{page.stem}-{section}.csv"
            if not csv_path.is_file():
                continue
            assert rows == read_csv(csv_path), f"{page.name} {section}: the table and its CSV differ"
            header, body = rows[0], rows[1:]
            column = {name: i for i, name in enumerate(header)}
            if section in ("gaps", "intersections"):
                for row in body:
                    found = published.execute(
                        "select group_value, reference_value, difference from marts.mart_intersectional_gaps "
                        "where comparison = 'reference_group' and geo_area_name = ? and period_label = ? "
                        "and series_code = ? and source_id = ?",
                        [row[column["area"]], row[column["period"]], row[column["series"]],
                         row[column["reported by"]]]).fetchall()
                    numbers = tuple(float(row[column[c]]) for c in ("group value", "reference value", "difference"))
                    assert any(all(abs(a - round(b, 3)) < 1e-9 for a, b in zip(numbers, f)) for f in found), row
                    checked += 1
                if section == "gaps":
                    assert len(body) <= 25
            if section == "sources":
                expected = published.execute(f"""
                    select c.official_value, c.non_official_value, c.difference
                    from marts.mart_source_comparison c
                    join marts.fct_indicator_observations n on n.observation_id = c.non_official_observation_id
                    join marts.fct_indicator_observations o on o.observation_id = c.official_observation_id
                    where ? in ({KEY.replace('indicator_code', 'n.indicator_code').replace('series_code', 'n.series_code')},
                                {KEY.replace('indicator_code', 'o.indicator_code').replace('series_code', 'o.series_code')})""",
                    [key]).fetchall()
                shown = sorted(tuple(float(r[column[c]]) for c in ("official value", "non-official value", "difference"))
                               for r in body)
                assert shown == sorted(tuple(round(v, 3) for v in e) for e in expected)
                checked += len(body)
    assert checked > 50


def test_the_coverage_matrix_says_what_the_published_file_has(site, published):
    rows = read_csv(site / "data" / "index-coverage.csv")
    assert rows[0] == ["population group", "indicator", "data", "areas with data"]
    body = rows[1:]
    groups = published.execute("select count(*) from marts.dim_population_groups where population_group <> '_T'").fetchone()[0]
    keys = published.execute("select count(distinct indicator_key) from marts.mart_data_coverage").fetchone()[0]
    assert len(body) == groups * keys
    by_cell = {(r[0], r[1]): r[2] for r in body}
    # Internally displaced people: only civil society and citizens report on them (migratory_status IDP).
    idp = published.execute("""select indicator_key, bool_or(has_official), bool_or(has_national_official),
                                      bool_or(has_civil_society or has_citizen_generated)
                               from marts.mart_data_coverage where migratory_status = 'IDP' or population_group = 'IDP'
                               group by all""").fetchall()
    assert idp
    for key, official, national, non_official in idp:
        expected = ("official data" if official else "national official data only" if national else
                    "civil-society or citizen data only" if non_official else "no data")
        assert by_cell[("Internally displaced people", key)] == expected


def test_no_suppressed_value_and_no_restricted_column_appears_anywhere(baseline, site, published):
    text = "suppressed (fewer than 5 respondents)"
    cells = published.execute(f"""
        select observation_id, geo_area_name, period_label, series_code, source_id, {", ".join(DIMENSIONS)},
               other_disaggregation, value, sample_size, lower_bound, upper_bound
        from marts.fct_indicator_observations where is_suppressed""").fetchall()
    assert cells, "the bundled data has suppressed cells"
    assert all(c[-4:] == (None, None, None, None) for c in cells)
    with duckdb.connect(str(baseline.settings.warehouse_path), read_only=True) as warehouse:
        hidden = dict(warehouse.execute(
            "select observation_id, value from intermediate.int_observations_unioned where observation_id in "
            f"({', '.join('?' for _ in cells)})", [c[0] for c in cells]).fetchall())
        restricted = {name for (name,) in warehouse.execute(
            "select distinct column_name from duckdb_columns() where schema_name = 'raw_kobo_restricted'").fetchall()}
    published_columns = {name for (name,) in published.execute(
        "select distinct column_name from duckdb_columns() where schema_name in ('marts', 'meta')").fetchall()}
    identity = {}
    for cell in cells:
        row = dict(zip(["id", "area", "period", "series", "source", *DIMENSIONS, "other_disaggregation"], cell))
        identity[(row["area"], row["period"], row["series"], row["source"], group_label(row, DIMENSIONS))] = hidden[row["id"]]
    seen = 0
    for path in (site / "data").glob("*.csv"):
        rows = read_csv(path)
        header = rows[0]
        assert not set(header) & restricted, f"{path.name}: a restricted column name as a header"
        if not {"area", "period", "series", "reported by", "group"} <= set(header):
            continue
        c = {name: i for i, name in enumerate(header)}
        for row in rows[1:]:
            key = (row[c["area"]], row[c["period"]], row[c["series"]], row[c["reported by"]], row[c["group"]])
            if key in identity:  # a suppressed cell: the words, never a number
                seen += 1
                assert row[c["value"]] == text, (path.name, row)
                if identity[key] is not None:  # nor the withheld value in any cell of its row
                    assert number(identity[key]) not in row, (path.name, row)
    assert seen >= len(cells)
    private = sorted(restricted - published_columns)
    assert "respondent_key" in private
    for path in [*site.glob("*.html"), *(site / "data").glob("*.csv")]:
        content = path.read_text(encoding="utf-8")
        leaked = [name for name in private if "_" in name and re.search(rf"\b{re.escape(name)}\b", content)]
        assert not leaked, f"{path.name} names restricted columns {leaked}"
    assert text in (site / f"indicator-{slug('3.8.2')}.html").read_text(encoding="utf-8")


def test_pages_are_self_contained(site):
    for path in site.glob("*.html"):
        content = path.read_text(encoding="utf-8")
        assert "<script" not in content.lower()
        for ref in re.findall(r'(?:src|href)="([^"]+)"', content):
            if ref.startswith("http"):  # links to licences only, never a loaded resource
                assert re.search(rf'<a href="{re.escape(ref)}"', content), (path.name, ref)
            else:
                assert (site / ref.split("#")[0]).exists(), (path.name, ref)


def test_pages_for_official_only_civil_society_only_and_both(site, kinds):
    official_kinds = {"official", "national_official"}
    official = sorted(k for k, v in kinds.items() if v == {"official"})
    non_official = sorted(k for k, v in kinds.items() if not v & official_kinds)
    both = sorted(k for k, v in kinds.items() if "official" in v and v - official_kinds)
    assert official and non_official and both
    page = (site / f"indicator-{slug(official[0])}.html").read_text(encoding="utf-8")
    assert "No civil-society or citizen-generated data for this indicator yet." in page
    assert 'class="synthetic"' not in page and 'id="gaps"' in page
    page = (site / f"indicator-{slug(non_official[0])}.html").read_text(encoding="utf-8")
    assert "No official data for this indicator" in page and 'class="synthetic"' in page
    assert "CC-BY-4.0" in page
    mixed = [(site / f"indicator-{slug(k)}.html").read_text(encoding="utf-8") for k in both]
    assert any('id="sources"' in p and "United Nations terms of use" in p and 'class="synthetic"' in p for p in mixed)


@pytest.mark.parametrize("page", ["index.html", f"indicator-{slug('3.8.2')}.html"])
def test_the_site_renders_in_a_real_browser_from_disk(site, page, tmp_path):
    screenshot = tmp_path / f"{page}.png"
    result = load(site / page, screenshot)
    assert result.failed_requests == [] and result.console_errors == []
    assert all(url.startswith("file://") for url in result.requests), result.requests
    assert screenshot.stat().st_size > 20_000
    assert "Inclusive SDG data report" in result.title
