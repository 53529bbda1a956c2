"""Replay transport: serves a recorded snapshot of API responses to an ordinary ``requests.Session``.

Only the transport differs from live mode: the client, its status handling, JSON decoding and
parsing all run unchanged. A snapshot is a folder with ``manifest.json`` listing recordings:

    {"recordings": [{"path": "v1/sdg/Series/Data",
                     "params": {"seriesCode": ["SH_..."], "areaCode": ["4"], "page": ["1"], "pageSize": ["1000"]},
                     "file": "series_data/SH_..._area4_page1.json",
                     "recorded_at": "2026-11-21T00:00:00Z", "synthetic": false}]}

A request that was not recorded gets a 404 naming the request, never a guess. A body may be stored
compressed (``file`` ending in ``.xz`` or ``.gz``); it is served decompressed, exactly as recorded.
"""

from __future__ import annotations

import gzip
import json
import lzma
from email.utils import format_datetime
from datetime import datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict


def request_key(path: str, params: dict[str, list[str]]) -> tuple:
    """A canonical key: API paths are case-insensitive, parameter order is irrelevant."""
    norm_params = tuple(sorted((name.lower(), tuple(sorted(values))) for name, values in params.items()))
    return (path.strip("/").lower(), norm_params)


def read_body(path: Path) -> bytes:
    """A recorded body, byte for byte: stored as it came, or compressed (``.xz``, ``.gz``) to keep the
    snapshot small."""
    content = path.read_bytes()
    if path.suffix == ".xz":
        return lzma.decompress(content)
    if path.suffix == ".gz":
        return gzip.decompress(content)
    return content


class ReplayAdapter(BaseAdapter):
    def __init__(self, snapshot_dir: Path, base_path: str) -> None:
        super().__init__()
        self.snapshot_dir = Path(snapshot_dir)
        self.base_path = "/" + base_path.strip("/") if base_path.strip("/") else ""
        manifest_path = self.snapshot_dir / "manifest.json"
        if not manifest_path.is_file():
            raise FileNotFoundError(f"SDG API replay snapshot has no manifest: {manifest_path}")
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        self._recordings = {
            request_key(rec["path"], rec.get("params") or {}): rec for rec in manifest["recordings"]
        }

    def send(self, request: requests.PreparedRequest, **kwargs) -> requests.Response:  # type: ignore[override]
        parts = urlsplit(request.url or "")
        path = parts.path
        if self.base_path and path.startswith(self.base_path):
            path = path[len(self.base_path):]
        params = parse_qs(parts.query, keep_blank_values=True)
        if request.body and request.method == "POST":
            body = request.body.decode() if isinstance(request.body, bytes) else request.body
            for name, values in parse_qs(body, keep_blank_values=True).items():
                params.setdefault(name, []).extend(values)
        recording = self._recordings.get(request_key(path, params))
        if recording is None:
            body = json.dumps(
                {"error": "not in replay snapshot", "path": path, "params": params,
                 "snapshot": str(self.snapshot_dir)}
            ).encode()
            return self._response(request, 404, body, None)
        content = read_body(self.snapshot_dir / recording["file"])
        return self._response(request, int(recording.get("status", 200)), content, recording.get("recorded_at"))

    @staticmethod
    def _response(request: requests.PreparedRequest, status: int, body: bytes, recorded_at: str | None) -> requests.Response:
        response = requests.Response()
        response.status_code = status
        response.reason = "OK" if status == 200 else "Not Found"
        response._content = body
        response.url = request.url or ""
        response.request = request
        headers = {"Content-Type": "application/json", "Content-Length": str(len(body))}
        if recorded_at:
            # The recording's time travels as the HTTP Date header, exactly like a live answer's.
            headers["Date"] = format_datetime(datetime.fromisoformat(recorded_at.replace("Z", "+00:00")), usegmt=True)
        response.headers = CaseInsensitiveDict(headers)
        response.encoding = "utf-8"
        return response

    def close(self) -> None:
        pass
