"""A local HTTP server that speaks the KoBoToolbox API v2, with fault injection.

Serves ``/api/v2/assets/{uid}/`` (the form definition) and ``/api/v2/assets/{uid}/data/`` (paged by
``start``/``limit`` with ``count``/``next``/``previous``/``results``) from in-memory assets, checks
``Authorization: Token <token>`` like KoBo (401 ``{"detail": "Invalid token."}``), and can answer
with injected faults or run a hook after a data page (to redeploy the form mid-pull).
"""

from __future__ import annotations

import json
import re
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

# A fault is (status, headers, body) returned instead of the real answer, once.
Fault = tuple[int, dict[str, str], bytes]

_ASSET = re.compile(r"^/api/v2/assets/(?P<uid>[A-Za-z0-9]+)/(?P<data>data/)?$")


@dataclass
class FakeAsset:
    asset: dict[str, Any]
    submissions: list[dict[str, Any]] = field(default_factory=list)


class FakeKoboApi:
    def __init__(self, token: str) -> None:
        self.token = token
        self.assets: dict[str, FakeAsset] = {}
        self.faults: deque[Fault] = deque()
        self.requests: list[tuple[str, dict[str, list[str]]]] = []
        self.unauthorised = 0
        # Called with (server, asset uid, start) once each data page's body is computed, before it is sent.
        self.after_data_page: Callable[["FakeKoboApi", str, int], None] | None = None
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                parts = urlsplit(self.path)
                params = parse_qs(parts.query)
                api.requests.append((parts.path, params))
                hook = None
                if self.headers.get("Authorization") != f"Token {api.token}":
                    api.unauthorised += 1
                    status, headers, body = 401, {}, b'{"detail":"Invalid token."}'
                elif api.faults:
                    status, headers, body = api.faults.popleft()
                else:
                    status, headers, body, hook = api.answer(parts.path, params)
                if hook is not None:  # before answering, so the client's next request sees the change
                    hook()
                self.send_response(status)
                for name, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def answer(self, path: str, params: dict[str, list[str]]) -> tuple[int, dict[str, str], bytes, Callable | None]:
        match = _ASSET.match(path)
        asset = self.assets.get(match["uid"]) if match else None
        if asset is None:
            return 404, {}, b'{"detail":"Not found."}', None
        if not match["data"]:
            return 200, {}, json.dumps(asset.asset).encode(), None
        start = int(params.get("start", ["0"])[0])
        limit = int(params.get("limit", ["100"])[0])
        rows = list(asset.submissions)
        if "sort" in params and all("_id" in row for row in rows):
            rows.sort(key=lambda row: row["_id"])
        page = rows[start:start + limit]
        base = f"{self.server_url}{path}"
        query = {key: values[0] for key, values in params.items()}
        body = {
            "count": len(rows),
            "next": f"{base}?{urlencode({**query, 'start': start + limit})}" if start + limit < len(rows) else None,
            "previous": f"{base}?{urlencode({**query, 'start': max(0, start - limit)})}" if start > 0 else None,
            "results": page,
        }
        hook = self.after_data_page
        uid = match["uid"]
        return 200, {}, json.dumps(body).encode(), (lambda: hook(self, uid, start)) if hook else None

    @property
    def server_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def data_requests(self) -> list[dict[str, list[str]]]:
        return [params for path, params in self.requests if path.endswith("/data/")]

    def __enter__(self) -> "FakeKoboApi":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()


# -- the real fixtures, served as assets ---------------------------------------------------------------------
KOBO_DATA = Path(__file__).resolve().parent / "data" / "kobo"
ROBOTOOLBOX_UID = "aDMHypRASH2EuJdvKMx5Mi"
FORMPACK_UID = "aFormpackRepeat01"


def robotoolbox_asset() -> FakeAsset:
    """The robotoolbox asset (3 form versions) with its 6 submissions, as KoBo answered them."""
    asset = json.loads((KOBO_DATA / "kobo_api_v2_asset__form_content_group_names__robotoolbox.json").read_text())
    data = json.loads((KOBO_DATA / "kobo_api_v2_data__group_renamed_across_versions__robotoolbox.json").read_text())
    return FakeAsset(asset, data["results"])


def formpack_asset() -> FakeAsset:
    """The formpack repeat-group fixture served as an asset: its form as content, its 6 submissions."""
    fixture = json.loads((KOBO_DATA / "formpack_grouped_repeatable_v1__submissions_with_repeat.json").read_text())
    asset = {"uid": FORMPACK_UID, "content": fixture["content"], "version": fixture["version"]}
    return FakeAsset(asset, fixture["submissions"])
