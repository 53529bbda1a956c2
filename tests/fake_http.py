"""The plumbing the local API servers share: a threaded HTTP server on a free port that records each
request, asks its subclass for the answer, and sends it (``Content-Length`` added unless the answer
gives its own, so a fault can promise more bytes than it sends: a connection dropped mid-body)."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self
from urllib.parse import parse_qs, urlsplit

# A fault is (status, headers, body) returned instead of the real answer, once.
Fault = tuple[int, dict[str, str], bytes]
# An answer, and what to run once it is computed but before it is sent (or None).
Answer = tuple[int, dict[str, str], bytes, Callable[[], None] | None]


class LocalServer:
    """A threaded HTTP server on a free port of 127.0.0.1, serving ``handler`` while the ``with`` block runs."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        # serve_forever checks for shutdown every poll_interval: the default 0.5 s was paid by every test.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.01},
                                        daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


class FakeJsonServer(LocalServer):
    def __init__(self) -> None:
        self.faults: deque[Fault] = deque()
        self.requests: list[tuple[str, dict[str, list[str]]]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True  # no delayed-ACK stall between the headers and the body
            def do_GET(self) -> None:  # noqa: N802
                parts = urlsplit(self.path)
                params = parse_qs(parts.query)
                server.requests.append((parts.path, params))
                status, headers, body, hook = server.respond(parts.path, params, self.headers)
                if hook is not None:  # before answering, so the client's next request sees the change
                    hook()
                self.send_response(status)
                for name, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(name, value)
                if "Content-Length" not in headers:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        super().__init__(Handler)

    def respond(self, path: str, params: dict[str, list[str]], headers: Mapping[str, str]) -> Answer:
        raise NotImplementedError
