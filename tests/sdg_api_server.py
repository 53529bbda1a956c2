"""A local HTTP server that speaks the UN SDG API's ``/v1/sdg`` paths, with fault injection.

Serves real recorded pages (tests/data) so the live client runs unchanged against
``SDG_API_BASE_URL=http://127.0.0.1:<port>/sdgapi``.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

# A fault is (status, headers, body) returned instead of the real answer, once. A Content-Length
# header in a fault is sent as given, so a fault can promise more bytes than it sends (a connection
# dropped mid-body).
Fault = tuple[int, dict[str, str], bytes]


class FakeSdgApi:
    def __init__(self) -> None:
        self.routes: dict[str, Callable[[dict[str, list[str]]], object]] = {}
        self.faults: deque[Fault] = deque()
        # Faults for one Series/Data page only: page number -> faults, each returned once.
        self.page_faults: dict[int, deque[Fault]] = {}
        self.delays: deque[float] = deque()
        self.requests: list[tuple[str, dict[str, list[str]]]] = []
        self.series: dict[str, list[dict]] = {}
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                parts = urlsplit(self.path)
                params = parse_qs(parts.query)
                api.requests.append((parts.path, params))
                if api.delays:
                    time.sleep(api.delays.popleft())  # longer than the client's read timeout = a read timeout
                page_faults = api.page_faults.get(int(params.get("page", ["0"])[0]))
                if parts.path.endswith("/Series/Data") and page_faults:
                    status, headers, body = page_faults.popleft()
                elif api.faults:
                    status, headers, body = api.faults.popleft()
                else:
                    route = api.routes.get(parts.path.removeprefix("/sdgapi/v1/sdg/"))
                    if route is None:
                        status, headers, body = 404, {}, b'{"error": "not found"}'
                    else:
                        status, headers, body = 200, {}, json.dumps(route(params)).encode()
                self.send_response(status)
                for name, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(name, value)
                if "Content-Length" not in headers:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def add_series(self, code: str, records: list[dict], code_lists: dict | None = None) -> None:
        """Serve a series the way the API does: Series/Data filtered by areaCode and paged by
        page/pageSize (pages from 1), plus its Dimensions and Attributes code lists."""
        self.series[code] = records
        code_lists = code_lists or {}
        self.routes[f"Series/{code}/Dimensions"] = lambda params: code_lists.get("dimensions", [])
        self.routes[f"Series/{code}/Attributes"] = lambda params: code_lists.get("attributes", [])
        self.routes["Series/Data"] = self._series_data

    def _series_data(self, params: dict[str, list[str]]) -> dict:
        records = self.series[params["seriesCode"][0]]
        if "areaCode" in params:
            wanted = set(params["areaCode"])
            records = [r for r in records if r["geoAreaCode"] in wanted]
        size = int(params.get("pageSize", ["25"])[0])
        number = int(params.get("page", ["1"])[0])
        pages = max(1, -(-len(records) // size))
        return {"size": size, "totalElements": len(records), "totalPages": pages, "pageNumber": number,
                "data": records[(number - 1) * size:number * size]}

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/sdgapi"

    def __enter__(self) -> "FakeSdgApi":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
