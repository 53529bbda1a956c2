"""A local HTTP server that speaks the UN SDG API's ``/v1/sdg`` paths, with fault injection.

Serves real recorded pages (tests/data) so the live client runs unchanged against
``SDG_API_BASE_URL=http://127.0.0.1:<port>/sdgapi``.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

# A fault is (status, headers, body) returned instead of the real answer, once.
Fault = tuple[int, dict[str, str], bytes]


class FakeSdgApi:
    def __init__(self) -> None:
        self.routes: dict[str, Callable[[dict[str, list[str]]], object]] = {}
        self.faults: deque[Fault] = deque()
        self.requests: list[tuple[str, dict[str, list[str]]]] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                parts = urlsplit(self.path)
                params = parse_qs(parts.query)
                api.requests.append((parts.path, params))
                if api.faults:
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
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/sdgapi"

    def __enter__(self) -> "FakeSdgApi":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
