"""The full official-data source against a local server speaking the SDG API: paging, batching,
timeouts, schema drift, reference data; and the Dagster series asset in live mode."""

import json
import multiprocessing
from collections import deque

import dagster as dg
import duckdb
import pytest

from ingestion.sdg_api import fetch, synthetic
from ingestion.sdg_api.client import SdgApiClient, SdgApiError, make_session
from ingestion.sdg_api.land import _PageSpool, land_series
from ingestion.sdg_api.series import default_series
from ingestion.sdg_api.metadata import land_geo_areas, land_series_hierarchy
from ingestion.sdg_api.parse import parse_goal_hierarchy
from ingestion.warehouse import connect
from tests.conftest import SNAPSHOT, TEST_DATA
from tests.sdg_api_server import FakeSdgApi
from tests.test_sdg_parse import CASES

SPEC = synthetic.SeriesSpec(
    "SL_TLF_UEM", "8", "8.5", "8.5.2", "Unemployment rate (%)", "PERCENT",
    {"Sex": ["BOTHSEX", "FEMALE", "MALE"], "Age": ["15+", "15-24", "25+"], "Disability status": ["_T", "PD", "PWD"]},
    (5.0, 30.0), years=tuple(range(2000, 2024)),
)
AREAS = [(4, "Afghanistan"), (8, "Albania"), (12, "Algeria"), (16, "American Samoa"), (248, "Åland Islands")]


@pytest.fixture
def api(sdg_api: FakeSdgApi) -> FakeSdgApi:
    """One synthetic series over five real areas, with its code lists."""
    sdg_api.records = synthetic.observations(SPEC, AREAS)
    sdg_api.add_series(SPEC.code, sdg_api.records, {"dimensions": synthetic.code_list_response(SPEC),
                                                    "attributes": synthetic.attribute_list_response(SPEC)})
    return sdg_api


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


def page_body(api, page: int, page_size: int, areas: list[str]) -> bytes:
    """Page ``page`` of the series exactly as the server would send it."""
    return json.dumps(api._series_data({"seriesCode": [SPEC.code], "areaCode": areas,
                                        "pageSize": [str(page_size)], "page": [str(page)]})).encode()


@pytest.mark.parametrize("in_child_process", [True, False], ids=["fetch-process", "fetch-thread"])
def test_truncated_page_mid_series_is_retried_and_the_series_lands_once(api, tmp_path, monkeypatch,
                                                                      in_child_process):
    monkeypatch.setattr(fetch, "FETCH_IN_CHILD_PROCESS", in_child_process)
    with connect(tmp_path / "w.duckdb") as con:
        land_series(con, client_for(api, page_size=100), SPEC.code, [4], "run-1")
        body = page_body(api, 2, 100, ["4"])
        api.page_faults[2] = deque([
            (200, {}, body[: len(body) // 2]),  # cut mid-record
            (200, {}, body[:-1] + b"\x00" * 16),  # cut before the closing brace, then NUL-padded
        ])
        load = land_series(con, client_for(api, page_size=100), SPEC.code, [4], "run-2")
        rows = con.execute("select count(*), count(distinct record_id), list(distinct run_id) "
                           "from raw_sdg.series_observations").fetchone()
        pages = con.execute("select page, count(*) from raw_sdg.series_observations "
                            "group by page order by page").fetchall()
    assert load.retries == 2 and load.rows_landed == load.total_elements == 360
    assert rows == (360, 360, ["run-2"])  # replaced, not added to; nothing twice
    assert pages == [(1, 100), (2, 100), (3, 100), (4, 60)]
    page_2_requests = [p for path, p in api.requests if path.endswith("Series/Data") and p["page"] == ["2"]]
    assert len(page_2_requests) == 1 + 3  # run-1 once; run-2 refused twice, then accepted


def test_connection_dropped_mid_body_is_retried(api, tmp_path):
    body = page_body(api, 3, 100, ["4"])
    api.page_faults[3] = deque([(200, {"Content-Length": str(len(body))}, body[:1000])])  # promises more than it sends
    with connect(tmp_path / "w.duckdb") as con:
        load = land_series(con, client_for(api, page_size=100), SPEC.code, [4], "run")
        assert landed(con) == (360, 360)
    assert load.retries == 1 and load.rows_landed == 360


def test_a_long_series_appended_in_many_batches_stays_within_a_small_memory_limit(api, tmp_path, monkeypatch):
    # One append per page: each append must not leave memory behind until the commit, whatever the
    # number of pages (a parallel insert keeps its partly filled row groups; 90 of them overflow 128MB).
    monkeypatch.setattr(_PageSpool, "FLUSH_PAGES", 1)
    monkeypatch.setattr(_PageSpool, "MIN_FLUSH_PAGES", 1)
    with connect(tmp_path / "w.duckdb", memory_limit="128MB") as con:
        threads = con.execute("select current_setting('threads')").fetchone()[0]
        load = land_series(con, client_for(api, page_size=20), SPEC.code, [code for code, _ in AREAS], "run")
        assert landed(con) == (1800, 1800)
        assert con.execute("select current_setting('threads')").fetchone()[0] == threads  # restored
    assert load.pages == 90 and load.rows_landed == 1800


def test_landed_values_follow_the_value_rules(api, tmp_path):
    # The page query parses values in steps of its own; it must agree with the rules (parse_values).
    records = [dict(record, value=raw, upperBound=raw, lowerBound=None)
               for record, (raw, *_) in zip(api.records, CASES)]
    api.add_series(SPEC.code, records)
    with connect(tmp_path / "w.duckdb") as con:
        land_series(con, client_for(api, page_size=5), SPEC.code, [4], "run")
        got = con.execute("select value_raw, value, value_qualifier, value_is_missing, value_is_unparseable, "
                          "upper_bound, lower_bound from raw_sdg.series_observations order by page, record_index"
                          ).fetchall()
    assert got == [(raw, number, qualifier, missing, unparseable, number, None)
                   for raw, number, qualifier, missing, unparseable in CASES]


def test_a_failure_mid_series_stops_the_fetching(api, tmp_path):
    records = [dict(record) for record in api.records]
    records[5]["timePeriodStart"] = "sometime"  # refused in the first batch, while later pages are being fetched
    api.add_series(SPEC.code, records)
    with connect(tmp_path / "w.duckdb") as con:
        with pytest.raises(SdgApiError, match="page 2 record 0: no readable timePeriodStart \\(sometime\\)"):
            land_series(con, client_for(api, page_size=5), SPEC.code, [code for code, _ in AREAS], "run")
    assert multiprocessing.active_children() == []
    # 360 pages of 5; the first batch (at most FLUSH_PAGES) fails while the fetching is at most
    # 2 * FLUSH_PAGES pages ahead, and is stopped there
    data_requests = sum(path.endswith("Series/Data") for path, _ in api.requests)
    assert data_requests <= 3 * _PageSpool.FLUSH_PAGES + 1 < 360


def test_record_of_another_series_is_refused_naming_the_first_one(api, tmp_path):
    records = [dict(record) for record in api.records if record["geoAreaCode"] == "4"]
    records[250]["series"] = "SOMETHING_ELSE"
    records[310]["geoAreaCode"] = "not an area"
    api.add_series(SPEC.code, records)
    with connect(tmp_path / "w.duckdb") as con:
        # the first refused record in fetch order is named, not whichever DuckDB met first
        with pytest.raises(SdgApiError, match=f"series {SPEC.code} areas 4..4 page 3 record 50: "
                                              "belongs to series SOMETHING_ELSE"):
            land_series(con, client_for(api, page_size=100), SPEC.code, [4], "run")
        assert con.execute("select count(*) from raw_sdg.series_observations").fetchone()[0] == 0


def test_unknown_fields_are_kept_by_page_whatever_the_batches(api, tmp_path, monkeypatch):
    records = [dict(record) for record in api.records if record["geoAreaCode"] == "4"]
    records[205]["newField"] = [1, {"a": "b"}]  # page 3 of 4
    api.add_series(SPEC.code, records)
    landed_extras = []
    for pages_per_batch in (1, 100):  # one batch per page, or the four pages in one batch
        monkeypatch.setattr(_PageSpool, "FLUSH_PAGES", pages_per_batch)
        monkeypatch.setattr(_PageSpool, "MIN_FLUSH_PAGES", pages_per_batch)
        with connect(tmp_path / f"w{pages_per_batch}.duckdb") as con:
            load = land_series(con, client_for(api, page_size=100), SPEC.code, [4], "run")
            landed_extras.append(con.execute("select page, record_index, extra_fields from raw_sdg.series_observations "
                                             "where extra_fields is not null order by all").fetchall())
        assert load.unknown_fields == {"newField": 100}  # the records of the page that carries it
    assert landed_extras[0] == landed_extras[1]
    assert len(landed_extras[0]) == 100 and {page for page, _, _ in landed_extras[0]} == {3}
    assert json.loads(dict(((page, index), extra) for page, index, extra in landed_extras[0])[(3, 5)]) == {
        "newField": [1, {"a": "b"}]}


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
        memberships = con.execute("select count(distinct (series_code, indicator_code)) from raw_sdg.series_hierarchy").fetchone()[0]
        vc_vov_gdsd = con.execute("select list(indicator_code order by indicator_code) from raw_sdg.series_hierarchy "
                                  "where series_code = 'VC_VOV_GDSD'").fetchone()[0]
    listed = client.series_releases()
    # World > Asia > Southern Asia > Afghanistan, and every region and country of the M49 table once
    assert {(1, None, 1, 0), (142, 1, 1, 1), (34, 142, 1, 2), (4, 34, 1, 3)} <= set(tree)
    assert len({area for area, *_ in tree}) == len(tree) == 1 + 5 + 22 + 240
    assert [g.rows for g in geo] == [370, len(tree)]
    # every series the snapshot serves (the whole 2020 copy and the real recording), the defaults among them,
    # each in one release; a series can sit under several indicators (VC_VOV_GDSD: 10.3.1 and 16.b.1)
    assert series == set(listed) and len(series) == 473 and set(default_series()) <= series
    assert vc_vov_gdsd == ["10.3.1", "16.b.1"]
    assert hierarchy.rows == memberships > len(series)
    assert set(listed.values()) == {"2020-10 extract", "2025.Q4.G.01"}


def test_series_asset_in_live_mode_reports_rows_pages_and_retries(api, tmp_path, monkeypatch):
    from ingestion.config import load_settings
    from orchestration.definitions import build_assets, build_resources

    monkeypatch.setenv("WAREHOUSE_PATH", str(tmp_path / "w.duckdb"))
    monkeypatch.setenv("SDG_API_MODE", "live")
    monkeypatch.setenv("SDG_API_BASE_URL", api.base_url)
    monkeypatch.setenv("SDG_SERIES", SPEC.code)
    monkeypatch.setenv("SDG_AREAS", "4,8")
    api.page_faults[1] = deque([(429, {"Retry-After": "0"}, b"")])
    settings = load_settings()
    series_asset = build_assets(settings)[0]
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize([series_asset], partition_key=SPEC.code, resources=build_resources(settings),
                            instance=instance)
    assert result.success
    metadata = result.asset_materializations_for_node("raw_sdg_series")[0].metadata
    assert metadata["dagster/row_count"].value == 720
    assert metadata["retries"].value == 1 and metadata["pages"].value == 1
    assert metadata["areas"].value == "4,8"
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from raw_sdg.series_observations").fetchone()[0] == 720
        assert con.execute("select count(*) from raw_sdg.series_code_lists where concept = 'Disability status'"
                           ).fetchone()[0] == 3


def test_a_series_is_fetched_again_only_when_its_release_changes_or_a_refetch_is_asked(api, tmp_path, monkeypatch):
    """Series/List names each series' release: a series already landed from it is current (no materialization,
    no Series/Data request, nothing rewritten); a new release, or `refetch` in the launchpad, lands it again."""
    from ingestion.config import load_settings
    from orchestration.definitions import build_assets, build_resources
    from orchestration.run import series_statuses

    monkeypatch.setenv("WAREHOUSE_PATH", str(tmp_path / "w.duckdb"))
    monkeypatch.setenv("SDG_API_MODE", "live")
    monkeypatch.setenv("SDG_API_BASE_URL", api.base_url)
    monkeypatch.setenv("SDG_SERIES", SPEC.code)
    monkeypatch.setenv("SDG_AREAS", "4,8")
    settings = load_settings()
    series_asset = build_assets(settings)[0]
    instance = dg.DagsterInstance.ephemeral()

    def night(**config) -> tuple[dg.ExecuteInProcessResult, int]:
        before = len([r for r in api.requests if r[0].endswith("/Series/Data")])
        result = dg.materialize([series_asset], partition_key=SPEC.code, resources=build_resources(settings),
                                instance=instance, run_config={"ops": {"raw_sdg_series": {"config": config}}})
        assert result.success
        return result, len([r for r in api.requests if r[0].endswith("/Series/Data")]) - before

    def loads() -> list[tuple]:
        with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
            return con.execute("select batch_id, run_id, release from raw_sdg.series_loads").fetchall()

    first, fetched = night()
    assert fetched == 1 and loads()[0][1:] == (first.run_id, "2026.Q1.test")
    second, fetched = night()
    assert fetched == 0 and second.asset_materializations_for_node("raw_sdg_series") == []
    assert series_statuses(second, instance)[SPEC.code].status == "current"
    assert series_statuses(first, instance)[SPEC.code].status == "landed"
    assert loads()[0][1] == first.run_id  # not rewritten
    refetched, fetched = night(refetch=True)
    assert fetched == 1 and loads()[0][1] == refetched.run_id
    batch = loads()[0][0]
    api.releases[SPEC.code] = "2026.Q2.test"
    released, fetched = night()
    assert fetched == 1 and loads() == [(batch, released.run_id, "2026.Q2.test")]  # the same bytes: the same batch
