"""The real client, against the replay snapshot and against a local HTTP server speaking the API."""

import json

import pytest

from ingestion.sdg_api.client import SdgApiClient, SdgApiError, area_batches, make_session
from tests.conftest import SAMPLE_PAGE, SNAPSHOT, TEST_DATA
from tests.sdg_api_server import FakeSdgApi

BASE = "https://unstats.un.org/sdgapi"


def replay_client() -> SdgApiClient:
    return SdgApiClient(BASE, make_session("replay", BASE, SNAPSHOT), sleep=lambda _: None)


def test_replay_serves_recorded_pages_through_the_client():
    client = replay_client()
    areas = client.geo_area_codes()
    assert len(areas) == 370 and 4 in areas and 466 in areas  # every area of the 2020 extract
    # The batch of 50 areas holding Afghanistan answers with the real recording.
    batch = next(batch for batch in area_batches(areas) if 4 in batch)
    pages = list(client.iter_series_pages("SH_OOP_XPD_EARNNET40", batch))
    assert len(pages) == 1
    assert len(pages[0].records) == pages[0].total_elements == 62
    assert pages[0].fetched.url.startswith(BASE + "/v1/sdg/Series/Data?")
    assert pages[0].fetched.fetched_at.isoformat() == "2026-11-21T00:00:00+00:00"  # the recording's Date header


def test_replay_refuses_requests_it_did_not_record():
    client = replay_client()
    with pytest.raises(SdgApiError, match=r"HTTP 404 .*not retried.*not in replay snapshot"):
        list(client.iter_series_pages("SL_TLF_UEM", [8]))  # recorded in batches of 50 areas, never one alone
    assert client.retries == 0


@pytest.fixture
def api(sdg_api: FakeSdgApi) -> FakeSdgApi:
    """The real Afghanistan page for every Series/Data request, and the real first five areas."""
    page = json.loads(SAMPLE_PAGE.read_text())
    sdg_api.routes["GeoArea/List"] = lambda params: json.loads((TEST_DATA / "sdg_api" / "geo_area_list_first5.json").read_text())
    sdg_api.routes["Series/Data"] = lambda params: page
    return sdg_api


def live_client(api: FakeSdgApi, sleeps: list[float] | None = None, **kwargs) -> SdgApiClient:
    record = sleeps.append if sleeps is not None else (lambda _: None)
    return SdgApiClient(api.base_url, make_session("live", api.base_url), sleep=record, **kwargs)


def test_live_client_pages_with_repeated_area_codes(api):
    client = live_client(api, area_batch_size=3)
    areas = client.geo_area_codes()
    assert areas == [4, 8, 12, 16, 248]
    pages = list(client.iter_series_pages("SH_OOP_XPD_EARNNET40", areas))
    assert [p.area_batch for p in pages] == [(4, 8, 12), (16, 248)]
    # First pages of the batches are requested concurrently, so the requests' order is not fixed.
    data_requests = sorted(
        (params for path, params in api.requests if path.endswith("Series/Data")), key=lambda p: len(p["areaCode"])
    )
    assert [r["areaCode"] for r in data_requests] == [["16", "248"], ["4", "8", "12"]]
    assert all(r["page"] == ["1"] and r["pageSize"] == ["1000"] for r in data_requests)


@pytest.mark.parametrize(
    "fault",
    [
        (500, {}, b"Internal Server Error"),
        (503, {}, b""),
        (200, {}, b""),
        (200, {}, b"\x00\x00\x00"),
        (200, {}, SAMPLE_PAGE.read_bytes()[:5000]),
    ],
    ids=["http500", "http503", "empty-body", "only-nul-bytes", "truncated-json"],
)
def test_transient_faults_are_retried(api, fault):
    api.faults.extend([fault, fault])
    client = live_client(api)
    pages = list(client.iter_series_pages("SH_OOP_XPD_EARNNET40", [4]))
    assert len(pages[0].records) == 62
    assert client.retries == 2


def test_nul_padded_json_is_accepted_without_retry(api):
    api.faults.append((200, {}, SAMPLE_PAGE.read_bytes() + b"\x00" * 64))
    client = live_client(api)
    pages = list(client.iter_series_pages("SH_OOP_XPD_EARNNET40", [4]))
    assert len(pages[0].records) == 62 and client.retries == 0


def test_429_honours_retry_after(api):
    api.faults.append((429, {"Retry-After": "7"}, b"slow down"))
    sleeps: list[float] = []
    client = live_client(api, sleeps)
    list(client.iter_series_pages("SH_OOP_XPD_EARNNET40", [4]))
    assert sleeps == [7.0]


def test_backoff_grows_and_gives_up_naming_series_page_and_status(api):
    api.faults.extend([(500, {}, b"")] * 4)
    sleeps: list[float] = []
    client = live_client(api, sleeps, max_attempts=4, backoff_base=1.0)
    with pytest.raises(SdgApiError) as error:
        list(client.iter_series_pages("SH_OOP_XPD_EARNNET40", [4]))
    message = str(error.value)
    assert "series=SH_OOP_XPD_EARNNET40" in message and "page=1" in message and "HTTP 500" in message
    assert "4 attempts" in message
    assert len(sleeps) == 3
    assert 0.5 <= sleeps[0] <= 1.0 and 1.0 <= sleeps[1] <= 2.0 and 2.0 <= sleeps[2] <= 4.0


def test_client_errors_are_not_retried(api):
    api.faults.append((400, {}, b'{"error": "bad seriesCode"}'))
    client = live_client(api)
    with pytest.raises(SdgApiError, match="HTTP 400"):
        list(client.iter_series_pages("NOPE", [4]))
    assert client.retries == 0


def test_response_without_paging_fields_is_a_clear_error(api):
    api.routes["Series/Data"] = lambda params: {"data": []}
    with pytest.raises(SdgApiError, match=r"page=1.*lacks required field\(s\) totalElements, totalPages"):
        list(live_client(api).iter_series_pages("SH_OOP_XPD_EARNNET40", [4]))
