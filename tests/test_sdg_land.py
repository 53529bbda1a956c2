"""Landing into DuckDB: exact counts, lineage, no duplicates, and all-or-nothing per series."""

import json

import pytest

from ingestion.sdg_api.client import SdgApiClient, SdgApiError, make_session
from ingestion.sdg_api.land import land_series
from ingestion.warehouse import connect
from tests.conftest import SAMPLE_PAGE
from tests.sdg_api_server import FakeSdgApi

SERIES = "SH_OOP_XPD_EARNNET40"


@pytest.fixture
def api():
    with FakeSdgApi() as server:
        server.page = json.loads(SAMPLE_PAGE.read_text())
        server.add_series(SERIES, server.page["data"], {"dimensions": server.page["dimensions"],
                                                        "attributes": server.page["attributes"]})
        server.routes["Series/Data"] = lambda params: server.page  # the real page, as recorded
        yield server


def client_for(api: FakeSdgApi) -> SdgApiClient:
    return SdgApiClient(api.base_url, make_session("live", api.base_url), sleep=lambda _: None, max_attempts=2)


def test_series_lands_every_record_once_with_lineage(api, tmp_path):
    with connect(tmp_path / "w.duckdb") as con:
        for run in ("run-1", "run-2"):  # a rerun replaces, never duplicates
            load = land_series(con, client_for(api), SERIES, [4], run)
        assert load.rows_landed == load.total_elements == 62
        count, distinct, runs = con.execute(
            "select count(*), count(distinct record_id), list(distinct run_id) from raw_sdg.series_observations"
        ).fetchone()
        assert (count, distinct, runs) == (62, 62, ["run-2"])
        nulls = con.execute(
            "select count(*) from raw_sdg.series_observations where request_url is null or fetched_at is null "
            "or response_sha256 is null or page is null"
        ).fetchone()[0]
        assert nulls == 0
        value, dims = con.execute(
            "select value, dimensions['Location'] from raw_sdg.series_observations "
            "where time_period = 2007 and value_raw = '5.52'"
        ).fetchone()
        assert (value, dims) == (5.52, "URBAN")
        sdmx = con.execute(
            "select sdmx_code from raw_sdg.series_code_lists where concept = 'Sex' and code = 'BOTHSEX'"
        ).fetchone()[0]
        assert sdmx == "_T"


def test_same_input_gives_the_same_batch_id(api, tmp_path):
    with connect(tmp_path / "w.duckdb") as con:
        first = land_series(con, client_for(api), SERIES, [4], "a").batch_id
        second = land_series(con, client_for(api), SERIES, [4], "b").batch_id
    assert first == second


def test_short_page_is_an_error_and_leaves_the_previous_version_intact(api, tmp_path):
    with connect(tmp_path / "w.duckdb") as con:
        land_series(con, client_for(api), SERIES, [4], "good")
        api.page = {**api.page, "data": api.page["data"][:-3]}  # says 62, sends 59
        with pytest.raises(SdgApiError, match="totalElements=62 but 59 observations arrived"):
            land_series(con, client_for(api), SERIES, [4], "bad")
        assert con.execute("select count(*), min(run_id) from raw_sdg.series_observations").fetchone() == (62, "good")
        assert con.execute("select run_id from raw_sdg.series_loads").fetchall() == [("good",)]


def test_network_failure_mid_series_leaves_the_previous_version_intact(api, tmp_path):
    with connect(tmp_path / "w.duckdb") as con:
        land_series(con, client_for(api), SERIES, [4], "good")
        api.faults.extend([(500, {}, b"")] * 2)
        with pytest.raises(SdgApiError, match="gave up after 2 attempts"):
            land_series(con, client_for(api), SERIES, [4], "bad")
        assert con.execute("select count(*), min(run_id) from raw_sdg.series_observations").fetchone() == (62, "good")


def test_broken_record_names_series_page_and_record(api, tmp_path):
    broken = [dict(record) for record in api.page["data"]]
    del broken[5]["geoAreaCode"]
    api.page = {**api.page, "data": broken}
    with connect(tmp_path / "w.duckdb") as con:
        with pytest.raises(SdgApiError, match=f"series {SERIES} areas 4..4 page 1 record 5: no readable geoAreaCode"):
            land_series(con, client_for(api), SERIES, [4], "run")
        assert con.execute("select count(*) from raw_sdg.series_observations").fetchone()[0] == 0


def test_unknown_fields_are_kept_and_reported(api, tmp_path):
    records = [dict(record) for record in api.page["data"]]
    records[3]["disaggregationNote"] = {"text": "new in this release", "n": 2}
    api.page = {**api.page, "data": records}
    with connect(tmp_path / "w.duckdb") as con:
        load = land_series(con, client_for(api), SERIES, [4], "run")
        extras = con.execute("select record_index, extra_fields from raw_sdg.series_observations "
                             "where extra_fields is not null and json_extract(extra_fields, '$.disaggregationNote') <> 'null'"
                             ).fetchall()
    assert load.unknown_fields == {"disaggregationNote": 62}  # the field exists on the page now
    assert [(index, json.loads(extra)) for index, extra in extras] == [
        (3, {"disaggregationNote": {"text": "new in this release", "n": 2}})
    ]


def test_field_missing_from_every_record_is_a_clear_error(api, tmp_path):
    api.page = {**api.page, "data": [{k: v for k, v in r.items() if k != "value"} for r in api.page["data"]]}
    with connect(tmp_path / "w.duckdb") as con:
        with pytest.raises(SdgApiError, match=f"series {SERIES} areas 4..4 page 1: records lack required field\\(s\\) value"):
            land_series(con, client_for(api), SERIES, [4], "run")


def test_known_field_changing_type_is_refused_not_coerced(api, tmp_path):
    records = [dict(record) for record in api.page["data"]]
    records[0]["footnotes"] = "now a plain string"
    api.page = {**api.page, "data": records}
    with connect(tmp_path / "w.duckdb") as con:
        with pytest.raises(SdgApiError, match="page 1 record 0: field footnotes changed JSON type"):
            land_series(con, client_for(api), SERIES, [4], "run")


def test_a_cell_sent_twice_keeps_both_records_and_the_later_one_wins(api, tmp_path):
    """The rule for the API's true duplicates: same series, area, period and breakdown (dimension order aside);
    the later record of the response is the observation, the earlier one is kept, superseded_by naming it."""
    records = api.page["data"]
    first, other = records[3], records[4]
    reordered = dict(reversed(list(first["dimensions"].items())))  # the same breakdown, keys in another order
    records += [{**first, "value": "25.5", "dimensions": reordered}, {**first, "value": "26.5"},
                {**other, "timePeriodStart": other["timePeriodStart"] + 100}]  # another year: not a duplicate
    api.page["totalElements"] = len(records)
    with connect(tmp_path / "w.duckdb") as con:
        load = land_series(con, client_for(api), SERIES, [4], "run")
        assert load.rows_landed == len(records) and load.duplicates_superseded == 2
        cell = con.execute(
            "select record_index, value_raw, superseded_by from raw_sdg.series_observations "
            "where time_period = ? and (dimensions = ? or dimensions = ?) order by record_index",
            [int(first["timePeriodStart"]), first["dimensions"], reordered]).fetchall()
        winner = con.execute("select record_id from raw_sdg.series_observations where record_index = ?",
                             [len(records) - 2]).fetchone()[0]
        assert cell == [(3, first["value"], winner), (len(records) - 3, "25.5", winner), (len(records) - 2, "26.5", None)]
        assert con.execute("select duplicates_superseded from raw_sdg.series_loads").fetchone()[0] == 2
