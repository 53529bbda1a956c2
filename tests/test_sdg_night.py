"""A group of series landed in one go (ingestion/sdg_api/night.py): one fetcher serves the whole group,
running ahead into the next series, and a series that fails (in DuckDB or in the fetch) fails alone."""

from __future__ import annotations

import multiprocessing
import os
import time

import pytest

from ingestion.sdg_api import fetch, synthetic
from ingestion.sdg_api.land import _PageSpool
from ingestion.sdg_api.night import land_group
from ingestion.warehouse import connect
from tests.test_sdg_ingestion import AREAS, SPEC, client_for  # noqa: F401 -- the fixtures' series

CODES = ["AA_FIRST", "BB_REFUSED", "CC_NO_CODE_LISTS", "DD_LAST"]


@pytest.fixture
def group_api(sdg_api):
    """Four series over five areas; BB has a record DuckDB refuses (area 4, the 26th record), CC's
    code lists are not served."""
    for code in CODES:
        records = [{**record, "series": code} for record in synthetic.observations(SPEC, AREAS)]
        if code == "BB_REFUSED":
            records[25]["timePeriodStart"] = "sometime"
        sdg_api.add_series(code, records, {"dimensions": synthetic.code_list_response(SPEC),
                                           "attributes": synthetic.attribute_list_response(SPEC)})
    del sdg_api.routes["Series/CC_NO_CODE_LISTS/Dimensions"]
    return sdg_api


def data_requests(api, code: str) -> int:
    return sum(path.endswith("Series/Data") and params["seriesCode"] == [code] for path, params in api.requests)


@pytest.mark.parametrize("in_child_process", [True, False], ids=["fetch-process", "fetch-thread"])
def test_one_fetcher_serves_the_group_and_a_failing_series_fails_alone(group_api, tmp_path, monkeypatch,
                                                                      in_child_process):
    monkeypatch.setattr(fetch, "FETCH_IN_CHILD_PROCESS", in_child_process)
    monkeypatch.setattr(_PageSpool, "FLUSH_PAGES", 4)  # the fetcher runs at most 8 pages ahead
    monkeypatch.setattr(_PageSpool, "MIN_FLUSH_PAGES", 2)
    area_codes = [4]
    rows = sum(record["geoAreaCode"] == "4" for record in group_api.series["AA_FIRST"])
    pages = -(-rows // 10)
    fetchers = set()
    with connect(tmp_path / "w.duckdb") as con:
        outcomes = []
        for outcome in land_group(con, client_for(group_api, page_size=10), CODES, area_codes, "run"):
            outcomes.append(outcome)
            fetchers |= {child.pid for child in multiprocessing.active_children()}
        landed = dict(con.execute("select series_code, count(*) from raw_sdg.series_observations "
                                  "group by all").fetchall())
        loads = dict(con.execute("select series_code, rows_landed from raw_sdg.series_loads").fetchall())
    assert [(o.series_code, o.status) for o in outcomes] == [
        ("AA_FIRST", "landed"), ("BB_REFUSED", "failed"), ("CC_NO_CODE_LISTS", "failed"), ("DD_LAST", "landed")]
    assert landed == loads == {"AA_FIRST": rows, "DD_LAST": rows}
    assert "page 3 record 5: no readable timePeriodStart (sometime)" in outcomes[1].error
    assert "Series/CC_NO_CODE_LISTS/Dimensions" in outcomes[2].error
    # One fetch process for the whole group (none when fetching in a thread), gone at the end.
    assert len(fetchers) == (1 if in_child_process else 0)
    assert multiprocessing.active_children() == []
    # BB is given up on at its first refused batch: the fetcher stops it and goes on with the next.
    assert data_requests(group_api, "BB_REFUSED") < pages / 2
    assert data_requests(group_api, "DD_LAST") == data_requests(group_api, "AA_FIRST") == pages


@pytest.mark.skipif(not fetch.FETCH_IN_CHILD_PROCESS, reason="needs fork")
def test_a_fetch_process_that_dies_costs_one_series_and_a_new_one_fetches_the_rest(group_api, tmp_path, monkeypatch):
    spool = fetch._spool

    def dies_on_cc(page, *args):
        if page.series_code == "CC_NO_CODE_LISTS":
            time.sleep(0.3)  # what it handed over so far has left the queue's feeder thread
            os._exit(3)
        return spool(page, *args)

    group_api.routes["Series/CC_NO_CODE_LISTS/Dimensions"] = lambda params: []
    group_api.series["BB_REFUSED"][25]["timePeriodStart"] = "2001"
    monkeypatch.setattr(fetch, "_spool", dies_on_cc)
    with connect(tmp_path / "w.duckdb") as con:
        outcomes = list(land_group(con, client_for(group_api, page_size=20), CODES, [4], "run"))
    assert [(o.series_code, o.status) for o in outcomes] == [
        ("AA_FIRST", "landed"), ("BB_REFUSED", "landed"), ("CC_NO_CODE_LISTS", "failed"), ("DD_LAST", "landed")]
    assert "ended without finishing (exit code 3)" in outcomes[2].error
