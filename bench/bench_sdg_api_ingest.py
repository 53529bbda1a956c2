"""Benchmark: ingest one synthetic series of 1,000,000 observations served by a local SDG API in pages of 1000.

Three approaches, each in a freshly started process, against the same server:
- pipeline: the project's client + streaming lander (ingestion/sdg_api/land.py) into a DuckDB file;
- reference (the practical limit): a bare `requests` loop downloading every page to memory, plus
  DuckDB's own `read_json` of the same pages from disk into a table;
- naive: collect every page, `pandas.json_normalize`, insert once;
- landing_sql (a bound, not an approach): the pipeline's own DuckDB statements over the same pages already
  on disk, with no download and DuckDB on every core. Nothing that runs those statements can be faster, so
  naive / landing_sql is the largest speed-up over naive this machine allows the lander.
Targets: pipeline within 2x of the reference, at least 5x faster than naive, under 1 GB of memory
(the peak of the summed PSS of the lander and its fetch process).

Memory and CPU time are measured from outside (bench/memory.py): every process of each approach is
sampled from /proc every 50 ms, so a figure is that process's own, not the high-water mark
``ru_maxrss`` inherits from the process that started it. The lander forks its page-fetch process
(ingestion/sdg_api/fetch.py, ``SeriesFetch``); the fork's RSS includes the pages it still shares with
the lander, so the two are added up by PSS (shared pages split between them), and
``processes`` gives each one's peak RSS, PSS and USS (its private pages: what the fork alone costs).
``peak_rss_mb`` is the lander process's own peak RSS, ``peak_pss_mb`` the tree's summed PSS peak,
both the largest over the rounds. CPU seconds come from wait4 on each worker, fetch process included.

The machine may be shared, so the three run in rounds (BENCH_SDG_REPEATS, default 3), one after the
other in each round, against the same server and the same pages; the figures are the best of each
approach, the ratios are also given per round (measured minutes apart under the same load), and each
approach's CPU seconds are reported beside its wall time. Freshly written pages are flushed to disk
before the first round, so the first approach does not pay for the page cache's write-back.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from bench.memory import measure
from bench.report import BenchResult, run_alone
from ingestion.sdg_api import synthetic

TOTAL = int(os.environ.get("BENCH_SDG_ROWS", "1000000"))
REPEATS = int(os.environ.get("BENCH_SDG_REPEATS", "3"))
PAGE_SIZE = 1000
SPEC = synthetic.SeriesSpec(
    "BENCH_SERIES", "8", "8.5", "8.5.2",
    "Unemployment rate, by sex, age and persons with disabilities (%) - synthetic benchmark series",
    "PERCENT", {"Sex": ["BOTHSEX", "FEMALE", "MALE"]}, (0.0, 100.0),
)
WORKER = Path(__file__).with_name("sdg_api_ingest_worker.py")


def write_pages(directory: Path) -> int:
    pages = -(-TOTAL // PAGE_SIZE)
    for number in range(1, pages + 1):
        (directory / f"page_{number}.json").write_text(json.dumps(synthetic.bulk_page(SPEC, number, PAGE_SIZE, TOTAL)))
    (directory / "dimensions.json").write_text(json.dumps(synthetic.code_list_response(SPEC)))
    (directory / "attributes.json").write_text(json.dumps(synthetic.attribute_list_response(SPEC)))
    return pages


class PageHandler(SimpleHTTPRequestHandler):
    """Serves the pre-written pages at the API's paths, so serving costs the same for every approach."""

    def translate_path(self, path: str) -> str:
        parts = urlsplit(path)
        params = parse_qs(parts.query)
        if parts.path.endswith("/Series/Data"):
            name = f"page_{params['page'][0]}.json"
        elif parts.path.endswith("/Dimensions"):
            name = "dimensions.json"
        else:
            name = "attributes.json"
        return os.path.join(self.directory, name)

    def log_message(self, *args) -> None:
        pass


def run_worker(approach: str, base_url: str, directory: Path) -> dict:
    measured = measure([sys.executable, str(WORKER), approach, base_url, str(directory), SPEC.code])
    if measured.returncode != 0:
        raise RuntimeError(f"{approach} failed: {measured.stderr[-2000:]}")
    return {**measured.last_json(), "cpu_s": measured.cpu_s, "peak_rss_mb": measured.top.peak_rss_mb,
            "peak_pss_mb": measured.memory.peak_tree_pss_mb, "processes": measured.memory.by_label(digits=0)}


def _largest(breakdowns: list[dict[str, dict]]) -> dict[str, dict]:
    """Per process label, each figure's largest value over the rounds."""
    merged: dict[str, dict] = {}
    for breakdown in breakdowns:
        for label, figures in breakdown.items():
            entry = merged.setdefault(label, {})
            for key, value in figures.items():
                entry[key] = max(entry.get(key, value), value)
    return merged


def run(repeats: int = REPEATS) -> BenchResult:
    rounds: list[dict[str, dict]] = []
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        pages = write_pages(directory)
        os.sync()  # write the pages back now, not during the first measured approach
        server = ThreadingHTTPServer(("127.0.0.1", 0), partial(PageHandler, directory=str(directory)))
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        base_url = f"http://127.0.0.1:{server.server_address[1]}/sdgapi"
        try:
            for _ in range(repeats):
                rounds.append({approach: run_worker(approach, base_url, directory)
                               for approach in ("pipeline", "reference", "naive", "landing_sql")})
        finally:
            server.shutdown()
    for measured_round in rounds:
        for name, measured in measured_round.items():
            if measured["rows"] != TOTAL:
                raise RuntimeError(f"{name} landed {measured['rows']} rows, expected {TOTAL}")
    best = {name: min((r[name] for r in rounds), key=lambda m: m["wall_s"]) for name in rounds[0]}
    pipeline, reference, naive = best["pipeline"], best["reference"], best["naive"]
    per_round_ratio = [r["pipeline"]["wall_s"] / r["reference"]["wall_s"] for r in rounds]
    per_round_speedup = [r["naive"]["wall_s"] / r["pipeline"]["wall_s"] for r in rounds]
    per_round_bound = [r["naive"]["wall_s"] / r["landing_sql"]["wall_s"] for r in rounds]
    return BenchResult(
        name="sdg_api_ingest",
        figures={
            "rows": TOTAL, "pages": pages, "repeats": repeats,
            "wall_s": round(pipeline["wall_s"], 2),
            "rows_per_s": round(TOTAL / pipeline["wall_s"]),
            "peak_rss_mb": round(max(r["pipeline"]["peak_rss_mb"] for r in rounds)),
            "peak_pss_mb": round(max(r["pipeline"]["peak_pss_mb"] for r in rounds)),
            "processes": _largest([r["pipeline"]["processes"] for r in rounds]),
            "cpu_s": round(pipeline["cpu_s"], 2),
            "reference_wall_s": round(reference["wall_s"], 2),
            "reference_download_s": round(reference["download_s"], 2),
            "reference_read_json_s": round(reference["read_json_s"], 2),
            "reference_peak_rss_mb": round(max(r["reference"]["peak_rss_mb"] for r in rounds)),
            "reference_cpu_s": round(reference["cpu_s"], 2),
            "naive_wall_s": round(naive["wall_s"], 2),
            "naive_peak_rss_mb": round(max(r["naive"]["peak_rss_mb"] for r in rounds)),
            "naive_cpu_s": round(naive["cpu_s"], 2),
            "speedup_vs_naive": round(naive["wall_s"] / pipeline["wall_s"], 2),
            "landing_sql_wall_s": round(best["landing_sql"]["wall_s"], 2),
            "landing_sql_cpu_s": round(best["landing_sql"]["cpu_s"], 2),
            "speedup_bound_vs_naive_per_round": [round(x, 2) for x in per_round_bound],
            "wall_s_per_round": {name: [round(r[name]["wall_s"], 2) for r in rounds] for name in rounds[0]},
            "ratio_to_reference_per_round": [round(x, 2) for x in per_round_ratio],
            "speedup_vs_naive_per_round": [round(x, 2) for x in per_round_speedup],
            "ratio_to_reference_median_round": round(statistics.median(per_round_ratio), 2),
            "speedup_vs_naive_median_round": round(statistics.median(per_round_speedup), 2),
            "targets": "ratio_to_reference <= 2, speedup_vs_naive >= 5, peak_pss_mb < 1024",
            "memory": "sampled from /proc by bench/memory.py; peak_pss_mb: lander + fetch process, shared pages once",
        },
        reference="bare requests download of the same pages + DuckDB read_json of them from disk",
        ratio_to_reference=round(pipeline["wall_s"] / reference["wall_s"], 2),
        target_ratio=2.0,
    )


if __name__ == "__main__":
    run_alone(run)
