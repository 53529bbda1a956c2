"""A local HTTP server that speaks the UN SDG API's ``/v1/sdg`` paths, with fault injection.

Serves real recorded pages (tests/data) so the live client runs unchanged against
``SDG_API_BASE_URL=http://127.0.0.1:<port>/sdgapi``.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable, Mapping

from tests.fake_http import Answer, Fault, FakeJsonServer


class FakeSdgApi(FakeJsonServer):
    def __init__(self) -> None:
        super().__init__()
        self.routes: dict[str, Callable[[dict[str, list[str]]], object]] = {}
        # Faults for one Series/Data page only: page number -> faults, each returned once.
        self.page_faults: dict[int, deque[Fault]] = {}
        self.delays: deque[float] = deque()
        self.series: dict[str, list[dict]] = {}
        self.releases: dict[str, str] = {}  # what Series/List says of each series
        self.routes["Series/List"] = lambda params: [
            {"goal": [], "target": [], "indicator": [], "release": self.releases[code], "code": code,
             "description": code, "uri": f"/v1/sdg/Series/{code}"} for code in self.series]

    def add_series(self, code: str, records: list[dict], code_lists: dict | None = None) -> None:
        """Serve a series the way the API does: Series/Data filtered by areaCode and paged by
        page/pageSize (pages from 1), plus its Dimensions and Attributes code lists."""
        self.series[code] = records
        self.releases.setdefault(code, "2026.Q1.test")
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

    def respond(self, path: str, params: dict[str, list[str]], headers: Mapping[str, str]) -> Answer:
        if self.delays:
            time.sleep(self.delays.popleft())  # longer than the client's read timeout = a read timeout
        page_faults = self.page_faults.get(int(params.get("page", ["0"])[0]))
        if path.endswith("/Series/Data") and page_faults:
            return (*page_faults.popleft(), None)
        if self.faults:
            return (*self.faults.popleft(), None)
        route = self.routes.get(path.removeprefix("/sdgapi/v1/sdg/"))
        if route is None:
            return 404, {}, b'{"error": "not found"}', None
        return 200, {}, json.dumps(route(params)).encode(), None

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/sdgapi"
