"""A local HTTP server that speaks the KoBoToolbox API v2, with fault injection.

Serves ``/api/v2/assets/{uid}/`` (the form definition) and ``/api/v2/assets/{uid}/data/`` (paged by
``start``/``limit`` with ``count``/``next``/``previous``/``results``) from in-memory assets, checks
``Authorization: Token <token>`` like KoBo (401 ``{"detail": "Invalid token."}``), and can answer
with injected faults or run a hook after a data page (to redeploy the form mid-pull).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from tests.fake_http import Answer, FakeJsonServer

_ASSET = re.compile(r"^/api/v2/assets/(?P<uid>[A-Za-z0-9]+)/(?P<data>data/)?$")


@dataclass
class FakeAsset:
    asset: dict[str, Any]
    submissions: list[dict[str, Any]] = field(default_factory=list)


class FakeKoboApi(FakeJsonServer):
    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token
        self.assets: dict[str, FakeAsset] = {}
        self.unauthorised = 0
        # Called with (server, asset uid, start) once each data page's body is computed, before it is sent.
        self.after_data_page: Callable[["FakeKoboApi", str, int], None] | None = None

    def respond(self, path: str, params: dict[str, list[str]], headers: Mapping[str, str]) -> Answer:
        if headers.get("Authorization") != f"Token {self.token}":
            self.unauthorised += 1
            return 401, {}, b'{"detail":"Invalid token."}', None
        if self.faults:
            return (*self.faults.popleft(), None)
        return self.answer(path, params)

    def answer(self, path: str, params: dict[str, list[str]]) -> Answer:
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
        return self.root_url

    def data_requests(self) -> list[dict[str, list[str]]]:
        return [params for path, params in self.requests if path.endswith("/data/")]


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
