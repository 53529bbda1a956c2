"""HTTP client for the UN SDG API (``<base>/v1/sdg/...``), live or replayed.

The API is slow, answers large requests with HTTP 500, sometimes sends an empty or
NUL-padded body, and rate-limits with 429. Every request is retried with exponential
backoff and jitter, a bounded number of times, then fails with an error that names what
was being fetched and the last thing that went wrong.
"""

from __future__ import annotations

import hashlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
import requests
import urllib3

from ingestion.http_retry import FetchedJson, Retry, RetryPolicy, response_time, status_retry, with_retries
from ingestion.sdg_api.replay import ReplayAdapter

API_PREFIX = "v1/sdg"
MAX_PAGE_SIZE = 5000
DEFAULT_PAGE_SIZE = 1000
# Areas per Series/Data request: the API answers large requests with HTTP 500.
DEFAULT_AREA_BATCH_SIZE = 50


class SdgApiError(RuntimeError):
    """The API could not give a usable answer; the message says for what and why."""


@dataclass(frozen=True)
class SeriesPage:
    series_code: str
    area_batch: tuple[int, ...] | None
    page_number: int
    total_pages: int
    total_elements: int
    records: list[dict[str, Any]]
    envelope: dict[str, Any]  # the page minus its data: code lists, paging fields
    fetched: FetchedJson


@dataclass
class SdgApiClient:
    base_url: str
    session: requests.Session = field(default_factory=requests.Session)
    page_size: int = DEFAULT_PAGE_SIZE
    area_batch_size: int = DEFAULT_AREA_BATCH_SIZE
    timeout: tuple[float, float] = (10.0, 120.0)  # (connect, read) seconds
    max_attempts: int = 5
    backoff_base: float = 1.0
    backoff_max: float = 60.0
    sleep: Callable[[float], None] = time.sleep
    retries: int = 0  # retries made so far, for run metadata
    first_page_workers: int = 4  # first pages of area batches requested at once (see iter_series_pages)

    def __post_init__(self) -> None:
        if not 1 <= self.page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}; got {self.page_size}")
        self.base_url = self.base_url.rstrip("/")

    # -- transport -------------------------------------------------------------------------
    def get_json(self, path: str, params: dict[str, Any] | None = None, *, what: str) -> FetchedJson:
        """GET ``<base>/v1/sdg/<path>`` and decode JSON, retrying what is worth retrying."""
        url = f"{self.base_url}/{API_PREFIX}/{path.lstrip('/')}"

        def attempt(number: int) -> FetchedJson | Retry:
            try:
                response = self.session.get(url, params=params, timeout=self.timeout, stream=True)
            except (requests.ConnectionError, requests.Timeout) as exc:
                return Retry(f"{type(exc).__name__}: {exc}")
            if (retry := status_retry(response)) is not None:
                return retry
            if response.status_code != 200:
                raise SdgApiError(f"{what}: HTTP {response.status_code} from {_redact(response.url)} "
                                  f"(not retried): {response.text[:300]}")
            body, read_problem = _read_body(response)
            if read_problem is not None:
                return Retry(f"HTTP 200 but the body could not be read ({read_problem})")
            decoded, stripped, problem = _decode_json(body)
            if problem is not None:
                return Retry(f"HTTP 200 with {problem}")
            return FetchedJson(data=decoded, body=stripped, url=response.url,
                               sha256=hashlib.sha256(body).hexdigest(), fetched_at=response_time(response),
                               attempts=number)

        return with_retries(attempt, RetryPolicy(self.max_attempts, self.backoff_base, self.backoff_max),
                            sleep=self.sleep, on_retry=self._count_retry,
                            give_up=lambda reason: SdgApiError(f"{what}: {reason}"))

    def _count_retry(self) -> None:
        with _RETRY_COUNT:  # first pages are fetched from several threads
            self.retries += 1

    # -- endpoints -------------------------------------------------------------------------
    def get_list(self, path: str, params: dict[str, Any] | None = None) -> FetchedJson:
        """An endpoint whose answer is a JSON list (hierarchy, geo areas, code lists)."""
        fetched = self.get_json(path, params, what=path)
        if not isinstance(fetched.data, list):
            raise SdgApiError(f"{path}: expected a JSON list, got {type(fetched.data).__name__}")
        return fetched

    def geo_area_codes(self) -> list[int]:
        return sorted({int(str(item["geoAreaCode"]).strip()) for item in self.get_list("GeoArea/List").data})

    def goal_hierarchy(self) -> FetchedJson:
        """Goals with their targets, indicators and series (one entry per series release)."""
        return self.get_list("Goal/List", {"includechildren": "true"})

    def series_releases(self) -> dict[str, str | None]:
        """``Series/List``: each series the API publishes now, with the release it belongs to."""
        return {str(item["code"]).strip(): item.get("release")
                for item in self.get_list("Series/List", {"allreleases": "false"}).data
                if isinstance(item, dict) and item.get("code")}

    def geo_area_tree(self) -> FetchedJson:
        return self.get_list("GeoArea/Tree")

    def series_code_lists(self, series_code: str) -> list[tuple[str, FetchedJson]]:
        """The series' dimension and attribute code lists (API code -> SDMX code)."""
        return [
            ("dimension", self.get_list(f"Series/{series_code}/Dimensions")),
            ("attribute", self.get_list(f"Series/{series_code}/Attributes")),
        ]

    def iter_series_pages(self, series_code: str, area_codes: Sequence[int] | None) -> Iterator[SeriesPage]:
        """Every page of ``Series/Data`` for one series, area batch by area batch, in order.

        The first pages of all batches are requested at once (``first_page_workers`` at a time): most
        batches of most series are one page, often empty, so a series costs about one round trip rather
        than one per batch. Further pages follow in order; at most one first page per batch waits in memory.
        """
        batches: list[tuple[int, ...] | None]
        if area_codes is None:
            batches = [None]
        else:
            batches = list(area_batches(area_codes, self.area_batch_size))
        with ThreadPoolExecutor(max_workers=max(1, min(self.first_page_workers, len(batches)))) as pool:
            firsts = [pool.submit(self._series_page, series_code, batch, 1) for batch in batches]
            try:
                for batch, first in zip(batches, firsts):
                    page = first.result()
                    yield page
                    for page_number in range(2, page.total_pages + 1):
                        yield self._series_page(series_code, batch, page_number)
            finally:
                for future in firsts:
                    future.cancel()

    def _series_page(self, series_code: str, batch: tuple[int, ...] | None, page_number: int) -> SeriesPage:
        params: dict[str, Any] = {"seriesCode": series_code}
        if batch is not None:
            params["areaCode"] = [str(code) for code in batch]
        params.update({"pageSize": self.page_size, "page": page_number})
        what = f"Series/Data series={series_code} page={page_number}"
        if batch is not None:
            what += f" areas={batch[0]}..{batch[-1]} ({len(batch)})"
        return _series_page(series_code, batch, page_number, self.get_json("Series/Data", params, what=what), what)


_RETRY_COUNT = threading.Lock()


def area_batches(area_codes: Sequence[int], size: int = DEFAULT_AREA_BATCH_SIZE) -> Iterator[tuple[int, ...]]:
    """The areas of one ``Series/Data`` request each: sorted, ``size`` at a time (replay snapshots are
    cut the same way, so they answer exactly the requests the client makes)."""
    codes = sorted(set(area_codes))
    for start in range(0, len(codes), size):
        yield tuple(codes[start:start + size])


def _series_page(series_code: str, batch: tuple[int, ...] | None, page_number: int,
                 fetched: FetchedJson, what: str) -> SeriesPage:
    body = fetched.data
    if not isinstance(body, dict):
        raise SdgApiError(f"{what}: expected a JSON object, got {type(body).__name__}")
    missing = [key for key in ("data", "totalElements", "totalPages") if key not in body]
    if missing:
        raise SdgApiError(f"{what}: response lacks required field(s) {', '.join(missing)}")
    if not isinstance(body["data"], list):
        raise SdgApiError(f"{what}: 'data' is not a list")
    envelope = {key: value for key, value in body.items() if key != "data"}
    return SeriesPage(
        series_code=series_code,
        area_batch=batch,
        page_number=page_number,
        total_pages=int(body["totalPages"] or 0),
        total_elements=int(body["totalElements"] or 0),
        records=body["data"],
        envelope=envelope,
        fetched=fetched,
    )


def _read_body(response: requests.Response) -> tuple[bytes, str | None]:
    """The whole body in one read (requests' ``.content`` reads 10 KB at a time: on 700 KB pages that
    costs about as much CPU as the rest of the request). A connection dropped or timing out mid-body,
    or a body shorter than its Content-Length, is a problem worth retrying, reported rather than raised."""
    if response.raw is None:  # a transport adapter that hands over the body directly (replay)
        return response.content, None
    try:
        return response.raw.read(decode_content=True), None
    except (urllib3.exceptions.HTTPError, requests.RequestException, OSError) as exc:
        response.close()
        return b"", f"{type(exc).__name__}: {exc}"


def _decode_json(body: bytes) -> tuple[Any, bytes, str | None]:
    # The API pads some answers with NUL bytes; strip them before deciding the body is broken.
    stripped = body.strip(b"\x00 \t\r\n")
    if not stripped:
        return None, stripped, "an empty body"
    try:
        return orjson.loads(stripped), stripped, None
    except orjson.JSONDecodeError as exc:  # also raised for invalid UTF-8
        return None, stripped, f"truncated or invalid JSON ({exc.msg} at byte {exc.pos} of {len(stripped)})"


def _redact(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def make_session(mode: str, base_url: str, replay_dir: Path | None = None) -> requests.Session:
    """A session for ``live`` (the network) or ``replay`` (a recorded snapshot) mode."""
    session = requests.Session()
    session.headers.update({"Accept": "application/json", "User-Agent": "inclusive-sdg-pipeline/0.1"})
    if mode == "replay":
        if replay_dir is None:
            raise ValueError("replay mode needs a snapshot directory")
        base_path = urlsplit(base_url).path
        session.mount(base_url.rstrip("/") + "/", ReplayAdapter(replay_dir, base_path))
    else:
        _settle_environment(session, base_url)
    return session


def _settle_environment(session: requests.Session, base_url: str) -> None:
    """Take the proxies, CA bundle and .netrc credentials for the API from the environment once, here.
    By default requests re-reads the whole environment on every request, which costs as much CPU as
    hashing the page over a long series; every request of this session goes to ``base_url``'s host."""
    settings = session.merge_environment_settings(base_url, {}, None, None, None)
    session.proxies.update(settings["proxies"] or {})
    session.verify = settings["verify"]
    if settings["cert"] is not None:
        session.cert = settings["cert"]
    auth = requests.utils.get_netrc_auth(base_url)
    if auth and session.auth is None:
        session.auth = auth
    session.trust_env = False
