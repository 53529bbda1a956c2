"""The whole-night benchmark's parts that must be right for its figures to mean anything: the snapshot
served over HTTP as the API answers (copies under new codes included) and the plan that scales it."""

from __future__ import annotations

import json
import threading

import requests

from bench.bench_nightly import copy_plan
from bench.snapshot_server import Snapshot, serve
from ingestion.sdg_api.client import SdgApiClient
from ingestion.sdg_api.replay import read_body
from tests.conftest import SNAPSHOT


def test_copy_plan_reaches_today_s_size_with_the_largest_series():
    sizes = {f"S{n:03d}": 1000 * (n + 1) for n in range(100)}  # 5.05 M observations in 100 series
    plan = copy_plan(sizes, observations=12_000_000, series=200)
    assert set(plan) <= set(sizes)
    copies = set(plan.values())
    assert len(copies) == 1
    added = len(plan) * copies.pop()
    assert 180 <= len(sizes) + added <= 200
    total = sum(sizes.values()) + sum(sizes[code] * n for code, n in plan.items())
    assert abs(total - 12_000_000) < 1_000_000
    assert min(sizes[code] for code in plan) > max(sizes[code] for code in set(sizes) - set(plan))  # largest first


def test_the_snapshot_served_over_http_lands_like_the_api_copies_included(tmp_path):
    snapshot = Snapshot(SNAPSHOT, {"SL_TLF_UEMDIS": 2})
    server = serve(snapshot)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}/sdgapi"
        client = SdgApiClient(base, requests.Session())
        releases = client.series_releases()
        assert {"SL_TLF_UEMDIS", "X1_SL_TLF_UEMDIS", "X2_SL_TLF_UEMDIS"} <= set(releases)
        assert "X3_SL_TLF_UEMDIS" not in releases and "X1_SI_COV_DISAB" not in releases
        areas = client.geo_area_codes()
        original = [r for page in client.iter_series_pages("SL_TLF_UEMDIS", areas) for r in page.records]
        copied = [r for page in client.iter_series_pages("X2_SL_TLF_UEMDIS", areas) for r in page.records]
        assert len(original) == 1134 and copied == [{**r, "series": "X2_SL_TLF_UEMDIS"} for r in original]
        assert client.series_code_lists("X1_SL_TLF_UEMDIS")[0][1].data == client.series_code_lists("SL_TLF_UEMDIS")[0][1].data
        nested = [s["code"] for g in client.goal_hierarchy().data for t in g["targets"] for i in t["indicators"]
                  for s in i["series"]]
        assert nested.count("X1_SL_TLF_UEMDIS") == nested.count("SL_TLF_UEMDIS") == 1
        # the bundled bytes, untouched, for a series not copied
        manifest = json.loads((SNAPSHOT / "manifest.json").read_text())["recordings"]
        [listing] = [r for r in manifest if r["path"] == "v1/sdg/GeoArea/List"]
        assert requests.get(f"{base}/v1/sdg/GeoArea/List").content == read_body(SNAPSHOT / listing["file"])
        assert requests.get(f"{base}/v1/sdg/Series/X1_NOPE/Dimensions").status_code == 404
    finally:
        server.shutdown()
        server.server_close()
