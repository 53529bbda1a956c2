"""The bundled SDG API snapshot served over HTTP, as the real API answers, for a night in live mode.

    python -m bench.snapshot_server --snapshot data/sdg_api/snapshot [--plan copies.json]

prints ``port <n>`` once listening, then serves until killed. The real client, its retries and its paging
run against it unchanged (``SDG_API_MODE=live``, ``SDG_API_BASE_URL=http://127.0.0.1:<n>/sdgapi``).

``--plan`` serves chosen series again under new codes (``X1_<code>``, ``X2_<code>``, ...):
today's database is about three times the 2020 copy's rows, and this is how a night of it is measured
with real values, codes and shapes. A copy is its series' bytes with the code replaced; Series/List and
Goal/List list the copies beside their originals.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from ingestion.sdg_api.replay import read_body, request_key

API_PREFIX = "/sdgapi"
COPY_PREFIX = re.compile(r"^X(\d+)_(.+)$")


class Snapshot:
    def __init__(self, folder: Path, plan: dict[str, int] | None = None) -> None:
        self.folder = folder
        self.plan = plan or {}  # series code -> how many copies to serve besides it
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        self.recordings = {request_key(r["path"], r.get("params") or {}): r for r in manifest["recordings"]}
        files: dict[str, list[str]] = {}
        for r in manifest["recordings"]:
            if r["path"] == "v1/sdg/Series/Data":
                files.setdefault(r["params"]["seriesCode"][0], []).append(r["file"])
        # Only series rebuilt in the converter's compact JSON are copied (the real recording keeps its own bytes).
        self.copyable = {code for code, names in files.items()
                         if all(name.startswith(f"series_data/{code}/") for name in names)}

    def _recorded(self, path: str, params: dict[str, list[str]]) -> bytes | None:
        recording = self.recordings.get(request_key(path, params))
        return None if recording is None else read_body(self.folder / recording["file"])

    def answer(self, path: str, params: dict[str, list[str]]) -> bytes | None:
        if path == "v1/sdg/Series/List":
            return self._with_copies_listed(self._recorded(path, params))
        if path == "v1/sdg/Goal/List":
            return self._with_copies_nested(self._recorded(path, params))
        code, original = self._original(path, params)
        if code is None:
            return self._recorded(path, params)
        if path.startswith("v1/sdg/Series/") and path.endswith(("/Dimensions", "/Attributes")):
            return self._recorded(path.replace(f"/{code}/", f"/{original}/"), params)
        body = self._recorded(path, {**params, "seriesCode": [original]})
        return None if body is None else body.replace(f'"series":"{original}"'.encode(), f'"series":"{code}"'.encode())

    def _original(self, path: str, params: dict[str, list[str]]) -> tuple[str | None, str | None]:
        code = (params.get("seriesCode") or [None])[0]
        if code is None and path.startswith("v1/sdg/Series/") and path.count("/") == 4:
            code = path.split("/")[3]
        match = COPY_PREFIX.match(code or "")
        if not match or int(match.group(1)) > self.plan.get(match.group(2), 0) or match.group(2) not in self.copyable:
            return None, None
        return code, match.group(2)

    def _copies(self, code: str) -> list[str]:
        return [f"X{n}_{code}" for n in range(1, self.plan.get(code, 0) + 1)] if code in self.copyable else []

    def _with_copies_listed(self, body: bytes | None) -> bytes | None:
        if body is None or not self.plan:
            return body
        listed = json.loads(body)
        listed += [{**item, "code": copy, "uri": f"/v1/sdg/Series/{copy}"}
                   for item in list(listed) for copy in self._copies(item["code"])]
        return json.dumps(listed, separators=(",", ":")).encode()

    def _with_copies_nested(self, body: bytes | None) -> bytes | None:
        if body is None or not self.plan:
            return body
        goals = json.loads(body)
        for goal in goals:
            for target in goal["targets"]:
                for indicator in target["indicators"]:
                    indicator["series"] += [{**series, "code": copy, "uri": f"/v1/sdg/Series/{copy}"}
                                            for series in list(indicator["series"]) for copy in self._copies(series["code"])]
        return json.dumps(goals, separators=(",", ":")).encode()

    def series_sizes(self) -> dict[str, int]:
        """Observations per series of the snapshot (copies aside), from each area batch's first page."""
        sizes: dict[str, int] = {}
        for recording in self.recordings.values():
            if recording["path"] == "v1/sdg/Series/Data" and recording["params"]["page"] == ["1"]:
                code = recording["params"]["seriesCode"][0]
                total = json.loads(read_body(self.folder / recording["file"]))["totalElements"]
                sizes[code] = sizes.get(code, 0) + total
        return sizes

    def series_codes(self) -> list[str]:
        listed = json.loads(self._with_copies_listed(self._recorded("v1/sdg/Series/List", {"allreleases": ["false"]})))
        return [item["code"] for item in listed]


def serve(snapshot: Snapshot, port: int = 0) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the real API's front end
        # Headers and body leave in two writes; with Nagle's algorithm the second waits for the client's
        # delayed ACK (up to 40 ms a request), a stall no production server has.
        disable_nagle_algorithm = True

        def do_GET(self) -> None:  # noqa: N802
            parts = urlsplit(self.path)
            path = parts.path.removeprefix(API_PREFIX).strip("/")
            body = snapshot.answer(path, parse_qs(parts.query, keep_blank_values=True))
            status = 200 if body is not None else 404
            body = body if body is not None else b'{"error":"not in the snapshot"}'
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--snapshot", type=Path, required=True)
    parser.add_argument("--plan", type=Path, help="JSON {series code: copies}: series served again under new codes")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--list-series", action="store_true", help="print every series code served, then exit")
    args = parser.parse_args(argv)
    plan = json.loads(args.plan.read_text()) if args.plan else {}
    snapshot = Snapshot(args.snapshot, plan)
    if args.list_series:
        print(",".join(snapshot.series_codes()))
        return 0
    server = serve(snapshot, args.port)
    print(f"port {server.server_address[1]}", flush=True)
    server.serve_forever(poll_interval=0.05)
    return 0


if __name__ == "__main__":
    sys.exit(main())
