"""HTTP client for the KoBoToolbox API v2 (``<server>/api/v2/assets/{uid}/...``).

Requests are retried with exponential backoff and jitter on 429/5xx, timeouts and broken JSON, a
bounded number of times. A refused token (401/403) fails at once with an error that says what to
check; the token is never printed: it is kept out of ``repr`` and scrubbed from every message.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests

from ingestion.http_retry import FetchedJson, Retry, RetryPolicy, response_time, status_retry, with_retries
from ingestion.kobo.errors import KoboApiError, KoboAssetChangedError, KoboAuthError

MAX_PAGE_SIZE = 30000  # KoBo's own ceiling for `limit` on the data endpoint
ASSET_UID = re.compile(r"^[A-Za-z0-9]{8,40}$")
_LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True)
class DataPage:
    asset_uid: str
    start: int
    count: int  # the API's total for the asset at the time of this page
    results: list[dict[str, Any]]
    fetched: FetchedJson


@dataclass
class KoboClient:
    server_url: str
    token: str = field(repr=False)
    session: requests.Session = field(default_factory=requests.Session, repr=False)
    page_size: int = 1000
    timeout: tuple[float, float] = (10.0, 120.0)  # (connect, read) seconds
    max_attempts: int = 5
    backoff_base: float = 1.0
    backoff_max: float = 60.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    retries: int = 0  # retries made so far, for run metadata

    def __post_init__(self) -> None:
        if not self.token or not self.token.strip():
            raise KoboAuthError("KOBO_TOKEN is not set. Fix: put your KoBo API token (Account settings -> "
                                "Security -> API key) in the environment variable KOBO_TOKEN")
        parts = urlsplit(self.server_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise KoboApiError(f"KOBO_SERVER_URL must be an http(s) URL such as https://kf.kobotoolbox.org; "
                               f"got {self.server_url!r}")
        if parts.scheme == "http" and parts.hostname not in _LOCAL_HOSTS:
            raise KoboApiError(f"KOBO_SERVER_URL {self.server_url!r} is plain http: the token would travel "
                               "unencrypted. Fix: use https")
        if not 1 <= self.page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}; got {self.page_size}")
        self.server_url = self.server_url.rstrip("/")
        self.session.headers.update({
            "Authorization": f"Token {self.token.strip()}",
            "Accept": "application/json",
            "User-Agent": "inclusive-sdg-pipeline/0.1",
        })

    # -- transport ------------------------------------------------------------------------------------
    def _scrub(self, text: str) -> str:
        token = self.token.strip()
        return text.replace(token, "[token]") if token else text

    def get_json(self, path: str, params: dict[str, Any] | None = None, *, what: str) -> FetchedJson:
        """GET ``<server>/<path>`` and decode JSON, retrying what is worth retrying."""
        url = f"{self.server_url}/{path.lstrip('/')}"

        def attempt(number: int) -> FetchedJson | Retry:
            try:
                response = self.session.get(url, params=params, timeout=self.timeout)
            except (requests.ConnectionError, requests.Timeout) as exc:
                return Retry(self._scrub(f"{type(exc).__name__}: {exc}"))
            status = response.status_code
            if (retry := status_retry(response)) is not None:
                return retry
            if status in (401, 403):
                raise KoboAuthError(
                    f"{what}: the KoBo server at {self.server_url} refused the token (HTTP {status}). Fix: check "
                    "KOBO_TOKEN (Account settings -> Security -> API key on that server) and that the asset is "
                    "shared with that account; the token is not shown here"
                )
            if status == 404:
                raise KoboApiError(f"{what}: HTTP 404 from {url}: no such asset on {self.server_url}, or not "
                                   "shared with this token. Fix: check KOBO_ASSET_UIDS and KOBO_SERVER_URL")
            if status != 200:
                raise KoboApiError(self._scrub(f"{what}: HTTP {status} from {url} (not retried): {response.text[:200]}"))
            body = response.content
            try:
                data = json.loads(body.decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as exc:
                return Retry(f"HTTP 200 with a body that is not JSON ({type(exc).__name__}, {len(body)} bytes)")
            return FetchedJson(data=data, url=url, sha256=hashlib.sha256(body).hexdigest(),
                               fetched_at=response_time(response), attempts=number)

        return with_retries(attempt, RetryPolicy(self.max_attempts, self.backoff_base, self.backoff_max),
                            sleep=self.sleep, on_retry=self._count_retry,
                            give_up=lambda reason: KoboApiError(f"{what}: {reason}"))

    def _count_retry(self) -> None:
        self.retries += 1

    # -- endpoints ------------------------------------------------------------------------------------
    def get_asset(self, asset_uid: str) -> FetchedJson:
        """The asset: form definition (``content``), deployed versions, submission count."""
        _check_uid(asset_uid)
        fetched = self.get_json(f"api/v2/assets/{asset_uid}/", {"format": "json"}, what=f"asset {asset_uid}")
        if not isinstance(fetched.data, dict) or not isinstance(fetched.data.get("content"), dict):
            raise KoboApiError(f"asset {asset_uid}: the answer has no form definition ('content'); is "
                               f"{self.server_url} a KoBo server?")
        return fetched

    def data_url(self, asset_uid: str) -> str:
        return f"{self.server_url}/api/v2/assets/{asset_uid}/data/"

    def iter_data_pages(self, asset_uid: str) -> Iterator[DataPage]:
        """Every page of submissions, by ``start``/``limit``, oldest first.

        Raises :class:`KoboAssetChangedError` when the count changes between pages (a submission was
        added or deleted mid-pull): offsets then no longer describe one snapshot, so the caller
        starts again rather than land a skipped or doubled row.
        """
        _check_uid(asset_uid)
        start, expected = 0, None
        while True:
            what = f"asset {asset_uid} data start={start}"
            params = {"format": "json", "start": start, "limit": self.page_size, "sort": '{"_id": 1}'}
            fetched = self.get_json(f"api/v2/assets/{asset_uid}/data/", params, what=what)
            body = fetched.data
            if not isinstance(body, dict) or not isinstance(body.get("results"), list) or "count" not in body:
                raise KoboApiError(f"{what}: expected an object with count and results")
            count = int(body["count"])
            if expected is not None and count != expected:
                raise KoboAssetChangedError(f"asset {asset_uid}: the submission count changed from {expected} to "
                                            f"{count} while paging")
            expected = count
            results = body["results"]
            yield DataPage(asset_uid=asset_uid, start=start, count=count, results=results, fetched=fetched)
            start += len(results)
            if start >= count:
                return
            if not results:
                raise KoboAssetChangedError(f"asset {asset_uid}: an empty page at start={start} of {count}")


def kobo_client_from_settings(server_url: str | None, token: str | None, **kwargs: Any) -> KoboClient:
    """A client from ``KOBO_SERVER_URL`` and ``KOBO_TOKEN`` (pass ``settings.kobo_server_url`` etc.)."""
    if not server_url:
        raise KoboApiError("KOBO_SERVER_URL is not set. Fix: set it to your KoBo server, e.g. "
                           "https://kf.kobotoolbox.org or https://eu.kobotoolbox.org")
    return KoboClient(server_url, token or "", **kwargs)


def _check_uid(asset_uid: str) -> None:
    if not ASSET_UID.fullmatch(asset_uid or ""):
        raise KoboApiError(f"{asset_uid!r} is not a KoBo asset uid (letters and digits, e.g. aDMHypRASH2EuJdvKMx5Mi)")
