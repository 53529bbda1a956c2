"""The full official-data source against a local server speaking the SDG API: paging, batching,
timeouts, schema drift, reference data; and the Dagster series asset in live mode."""

import json

import dagster as dg
import duckdb
import pytest

from ingestion.sdg_api import synthetic
from ingestion.sdg_api.client import SdgApiClient, make_session
from ingestion.sdg_api.land import land_series
from ingestion.sdg_api.metadata import land_geo_areas, land_series_hierarchy
from ingestion.sdg_api.parse import parse_goal_hierarchy
from ingestion.warehouse import connect
from tests.conftest import SNAPSHOT, TEST_DATA
from tests.sdg_api_server import FakeSdgApi

SPEC = synthetic.SeriesSpec(
    "SL_TLF_UEM", "8", "8.5", "8.5.2", "Unemployment rate (%)", "PERCENT",
    {"Sex": ["BOTHSEX", "FEMALE", "MALE"], "Age": ["15+", "15-24", "25+"], "Disability status": ["_T", "PD", "PWD"]},
    (5.0, 30.0), years=tuple(range(2000, 2024)),
)
AREAS = [(4, "Afghanistan"), (8, "Albania"), (12, "Algeria"), (16, "American Samoa"), (248, "Åland Islands")]


@pytest.fixture
def api():
    with FakeSdgApi() as server:
        server.records = synthetic.observations(SPEC, AREAS)
        server.add_series(SPEC.code, server.records, {"dimensions": synthetic.code_list_response(SPEC),
                                                      "attributes": synthetic.attribute_list_response(SPEC)})
        yield server


def client_for(api, **kwargs) -> SdgApiClient:
    return SdgApiClient(api.base_url, make_session("live", api.base_url), sleep=lambda _: None, **kwargs)


def landed(con, series=SPEC.code):
    return con.execute(
        "select count(*), count(distinct (geo_area_m49, time_period, dimensions::varchar)) "
        "from raw_sdg.series_observations where series_code = ?", [series]
    ).fetchone()


def test_pages_and_area_batches_land_exactly_totalelements(api, tmp_path):
    expected = len(api.records)  # 5 areas x 24 years x 15 cells
    assert expected == 1800
    client = client_for(api, page_size=250, area_batch_size=2)
    with connect(tmp_path / "w.duckdb") as con:
        load = land_series(con, client, SPEC.code, [code for code, _ in AREAS], "run")
        assert landed(con) == (expected, expected)  # every record once, no duplicate cell
        assert load.rows_landed == load.total_elements == expected
        pages = con.execute("select count(distinct request_url) from raw_sdg.series_observations").fetchone()[0]
    # batches (4, 8) (12, 16) (248): 720/250 -> 3 pages, 720 -> 3, 360 -> 2
    assert load.pages == pages == 8
    batches = {tuple(p["areaCode"]) for path, p in api.requests if path.endswith("Series/Data")}
    assert batches == {("4", "8"), ("12", "16"), ("248",)}


def test_missing_and_qualified_values_are_counted(api, tmp_path):
    values = [r["value"] for r in api.records]
    with connect(tmp_path / "w.duckdb") as con:
        load = land_series(con, client_for(api), SPEC.code, [4, 8, 12, 16, 248], "run")
        raw_values = [v for (v,) in con.execute("select value_raw from raw_sdg.series_observations").fetchall()]
    assert load.missing_values == sum(v in ("NaN", "N") for v in values) > 0
    assert load.qualified_values == sum(v.startswith("<") for v in values) > 0
    assert sorted(raw_values) == sorted(values)  # the raw string is kept beside every parsed value


def test_read_timeout_is_retried(api, tmp_path):
    api.delays.append(1.5)
    client = client_for(api, timeout=(2.0, 0.5))
    with connect(tmp_path / "w.duckdb") as con:
        load = land_series(con, client, SPEC.code, [4], "run")
    assert load.retries == 1 and load.rows_landed == 360


def test_dimensions_changing_between_pages_are_kept_and_reported(api, tmp_path):
    records = [dict(r) for r in api.records if r["geoAreaCode"] == "4"]
    for record in records[200:]:
        record["dimensions"] = {**record["dimensions"], "Type_of_occupation": "ISCO08_2"}
    api.add_series(SPEC.code, records, {"dimensions": synthetic.code_list_response(SPEC)})
    with connect(tmp_path / "w.duckdb") as con:
        load = land_series(con, client_for(api, page_size=100), SPEC.code, [4], "run")
        kept = con.execute("select count(*) from raw_sdg.series_observations "
                           "where dimensions['Type_of_occupation'] = 'ISCO08_2'").fetchone()[0]
    assert kept == len(records) - 200
    assert load.pages_with_changed_dimensions == [3, 4]
    assert load.undeclared_dimensions == {"Type_of_occupation"}


def test_page_size_is_bounded_by_the_api_maximum(api):
    with pytest.raises(ValueError, match="5000"):
        client_for(api, page_size=5001)


def test_real_target_list_keeps_every_release_and_membership():
    targets = json.loads((TEST_DATA / "sdg_api" / "target_list_with_children_3.8_4.1.json").read_text())
    rows = parse_goal_hierarchy([{"code": "3", "title": "Goal 3", "targets": targets}])
    per_series = {}
    for row in rows:
        per_series.setdefault(row["series_code"], []).append(row["release"])
    assert len(per_series["SH_XPD_EARN25"]) == 65
    assert "2025.Q4.G.01" in per_series["SH_OOP_XPD_EARNNET40"]
    assert len(rows) == 341
    assert {row["indicator_code"] for row in rows} == {"3.8.1", "3.8.2", "4.1.1", "4.1.2"}
    assert sum("Â\u00a0" in (row["series_description"] or "") for row in rows) == 4  # raw text kept as received


def test_reference_data_lands_from_the_replay_snapshot(tmp_path):
    base = "https://unstats.un.org/sdgapi"
    client = SdgApiClient(base, make_session("replay", base, SNAPSHOT))
    with connect(tmp_path / "w.duckdb") as con:
        hierarchy = land_series_hierarchy(con, client, "run")
        geo = land_geo_areas(con, client, "run")
        tree = con.execute("select geo_area_m49, parent_m49, root_m49, depth from raw_sdg.geo_area_tree "
                           "order by depth").fetchall()
        series = {s for (s,) in con.execute("select distinct series_code from raw_sdg.series_hierarchy").fetchall()}
    assert tree == [(1, None, 1, 0), (142, 1, 1, 1), (34, 142, 1, 2), (4, 34, 1, 3)]
    assert [g.rows for g in geo] == [1, 4]
    assert "SH_OOP_XPD_EARNNET40" in series and hierarchy.rows == 2 * len(series)  # two releases each


def test_series_asset_in_live_mode_reports_rows_pages_and_retries(api, tmp_path, monkeypatch):
    from ingestion.config import load_settings
    from orchestration.definitions import build_assets, build_resources

    monkeypatch.setenv("WAREHOUSE_PATH", str(tmp_path / "w.duckdb"))
    monkeypatch.setenv("SDG_API_MODE", "live")
    monkeypatch.setenv("SDG_API_BASE_URL", api.base_url)
    monkeypatch.setenv("SDG_SERIES", SPEC.code)
    monkeypatch.setenv("SDG_AREAS", "4,8")
    api.faults.append((429, {"Retry-After": "0"}, b""))
    settings = load_settings()
    series_asset = build_assets(settings)[0]
    result = dg.materialize([series_asset], partition_key=SPEC.code, resources=build_resources(settings),
                            instance=dg.DagsterInstance.ephemeral())
    assert result.success
    metadata = result.asset_materializations_for_node("raw_sdg_series")[0].metadata
    assert metadata["dagster/row_count"].value == 720
    assert metadata["retries"].value == 1 and metadata["pages"].value == 1
    assert metadata["areas"].value == "4,8"
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from raw_sdg.series_observations").fetchone()[0] == 720
        assert con.execute("select count(*) from raw_sdg.series_code_lists where concept = 'Disability status'"
                           ).fetchone()[0] == 3
