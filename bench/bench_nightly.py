"""Benchmark: a whole night, as `make run` runs it, then a second night with nothing changed, at two scales.

- ``2020``: every series of the bundled Global SDG Indicators Database (October 2020 copy, about 1.13 M
  observations) served by a local SDG API server (bench/snapshot_server.py) in pages of 1000, so the
  real client, its retries and paging run (``SDG_API_MODE=live``); plus the bundled partner inbox and a
  generated 1 M-row partner file.
- ``today``: the same, with real series served again under new codes until the database has about
  3.3 M observations in about 800 series, the size of today's.

Each night is ``python -m orchestration.run`` in a freshly started interpreter (the series in runs of
SDG_SERIES_PER_RUN, the partner runs, then the main job: dbt build, every check, publication). Wall time
per stage comes from the Dagster instance's run and step records; memory of every process (the run,
dbt, the page-fetch forks, the API server) from bench/memory.py, which samples /proc from outside.
``BENCH_NIGHTLY_SCALES`` (``2020,today``) picks the scales. Targets: a night at today's scale within 10 minutes, a night with nothing changed within 1 minute,
every process within 2 GB.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.bench_partner_csv_ingest import CONTRACT, PARTNER, write_partner_file
from bench.memory import ProcessTreeSampler, measure
from bench.report import BenchResult, run_alone
from ingestion.config import PROJECT_ROOT

NAME = "nightly"
SNAPSHOT = PROJECT_ROOT / "data" / "sdg_api" / "snapshot"
TODAY = {"observations": 3_300_000, "series": 800}
TARGETS = {"night_s": 600.0, "nothing_changed_s": 60.0, "process_rss_mb": 2048.0}
PARTNER_ROWS = 1_000_000


def copy_plan(sizes: dict[str, int], observations: int, series: int) -> dict[str, int]:
    """Which series to serve again, and how often, for about ``observations`` in about ``series``: the
    largest series, each copied the same number of times (the number that lands closest)."""
    extra_series = max(0, series - len(sizes))
    largest = sorted(sizes, key=lambda code: (-sizes[code], code))
    best: tuple[float, dict[str, int]] = (float("inf"), {})
    for copies in range(1, 6):
        chosen = largest[:extra_series // copies]
        total = sum(sizes.values()) + copies * sum(sizes[code] for code in chosen)
        best = min(best, (abs(total - observations), dict.fromkeys(chosen, copies)), key=lambda b: b[0])
    return best[1]


class Server:
    """bench/snapshot_server.py in its own process (so its CPU and memory are its own)."""

    def __init__(self, work: Path, plan: dict[str, int]) -> None:
        plan_file = work / "plan.json"
        plan_file.write_text(json.dumps(plan))
        self.args = [sys.executable, "-m", "bench.snapshot_server", "--snapshot", str(SNAPSHOT), "--plan", str(plan_file)]

    def series(self) -> list[str]:
        listed = subprocess.run([*self.args, "--list-series"], capture_output=True, text=True, check=True,
                                cwd=PROJECT_ROOT)
        return listed.stdout.strip().split(",")

    def __enter__(self) -> "Server":
        self.process = subprocess.Popen(self.args, stdout=subprocess.PIPE, text=True, cwd=PROJECT_ROOT)
        port = self.process.stdout.readline().split()[1]
        self.base_url = f"http://127.0.0.1:{port}/sdgapi"
        self.sampler = ProcessTreeSampler(self.process.pid).__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.memory = self.sampler.stop()
        self.process.terminate()
        self.process.wait(timeout=30)


def prepare_inbox(work: Path) -> tuple[Path, Path]:
    """The bundled inbox and contracts, plus a partner with a generated 1 M-row file."""
    inbox, contracts = work / "inbox", work / "contracts"
    shutil.copytree(PROJECT_ROOT / "data" / "inbox", inbox)
    shutil.copytree(PROJECT_ROOT / "contracts" / "partners", contracts)
    (inbox / PARTNER).mkdir()
    write_partner_file(inbox / PARTNER / "observations.csv", PARTNER_ROWS)
    (contracts / f"{PARTNER}.yml").write_text(CONTRACT, encoding="utf-8")
    return inbox, contracts


def night_env(folder: Path, base_url: str, series: list[str], inbox: Path, contracts: Path) -> dict[str, str]:
    home = folder / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(PROJECT_ROOT / "orchestration" / "dagster.yaml", home / "dagster.yaml")
    return {
        **os.environ,
        "SDG_API_MODE": "live", "SDG_API_BASE_URL": base_url, "SDG_SERIES": ",".join(series),
        "WAREHOUSE_PATH": str(folder / "warehouse.duckdb"), "PUBLISHED_PATH": str(folder / "published.duckdb"),
        "DAGSTER_HOME": str(home), "REPORTS_DIR": str(folder / "reports"), "DBT_LOG_PATH": str(folder / "dbt_logs"),
        "PARTNER_INBOX": str(inbox), "PARTNER_CONTRACTS": str(contracts),
        "DBT_PROJECT_DIR": str(PROJECT_ROOT / "dbt_project"), "DBT_PROFILES_DIR": str(PROJECT_ROOT / "dbt_project"),
        "PYTHONPATH": str(PROJECT_ROOT), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "GX_ANALYTICS_ENABLED": "false",
    }


def night(env: dict[str, str], server: Server) -> dict[str, Any]:
    started = time.time()
    run = measure([sys.executable, "-m", "orchestration.run"], env=env, cwd=PROJECT_ROOT, timeout=3600)
    figures: dict[str, Any] = {"wall_s": round(run.wall_s, 1), "exit_code": run.returncode,
                               "summary": _summary(run.stdout)}
    figures.update(stages(Path(env["DAGSTER_HOME"]), started))
    figures["peak_rss_mb_by_process"] = run.memory.by_label()
    figures["peak_tree_pss_mb"] = round(run.memory.peak_tree_pss_mb, 1)
    figures["peak_rss_mb_max"] = round(max(p.peak_rss_mb for p in run.memory.processes if not p.forked), 1)
    figures["peak_uss_mb_max_of_forks"] = round(max([p.peak_uss_mb for p in run.memory.processes if p.forked] or [0]), 1)
    if run.returncode != 0:
        figures["stderr_tail"] = run.stderr[-3000:]
    return figures


def stages(home: Path, since: float) -> dict[str, Any]:
    """Wall time per stage of the night, from the Dagster instance's records of its runs."""
    code = f"""
import json, sys
import dagster as dg
from dagster._core.instance import DagsterInstance
instance = DagsterInstance.from_config({str(home)!r})
out = {{"runs": []}}
for run in instance.get_runs():
    stats = instance.get_run_stats(run.run_id)
    if (stats.start_time or 0) < {since}:
        continue
    steps = {{s.step_key: round(s.end_time - s.start_time, 3) for s in instance.get_run_step_stats(run.run_id)
             if s.start_time and s.end_time}}  # a skipped step has no times
    landed = [e.dagster_event.event_specific_data.materialization.metadata for e in
              instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)]
    series = [(m["seconds"].value, m["dagster/row_count"].value) for m in landed if "seconds" in m]
    out["runs"].append({{"job": run.job_name, "wall_s": round(stats.end_time - stats.start_time, 3),
                        "steps": steps, "series_landed": len(series), "series_seconds": sum(s for s, _ in series),
                        "series_rows": sum(r for _, r in series)}})
print(json.dumps(out))
"""
    records = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                        cwd=PROJECT_ROOT).stdout)["runs"]
    series_runs = [r for r in records if r["job"] == "sdg_series_job"]
    partner_runs = [r for r in records if r["job"] == "partner_job"]
    main = [r for r in records if r["job"] == "main_job"]
    steps = main[0]["steps"] if main else {}
    landing_s = sum(r["wall_s"] for r in series_runs)
    series_seconds = sum(r["series_seconds"] for r in series_runs)
    rows = sum(r["series_rows"] for r in series_runs)
    return {
        "stages_s": {
            "landing_sdg_series": round(landing_s, 1),
            "landing_partners": round(sum(r["wall_s"] for r in partner_runs), 1),
            "reference_and_kobo": round(sum(v for k, v in steps.items() if k in ("raw_sdg_reference", "raw_kobo_api")), 1),
            "dbt_build_and_tests": round(sum(v for k, v in steps.items() if k.startswith("dbt_models")), 1),
            "gate_gx_suites": round(sum(v for k, v in steps.items() if k.endswith("_suite")), 1),
            "publication": round(steps.get("published_marts", 0.0), 1),
            "report_site": round(steps.get("report_site", 0.0), 1),
            "main_job_total": round(main[0]["wall_s"], 1) if main else None,
        },
        "series_runs": len(series_runs),
        "series_landed": sum(r["series_landed"] for r in series_runs),
        "rows_landed": rows,
        "landing_rows_per_second": round(rows / landing_s) if landing_s else 0,
        # A run's own cost: its wall time less the time its series took to land, per run and per series.
        "dagster_overhead_per_series_run_s": round((landing_s - series_seconds) / len(series_runs), 2) if series_runs else None,
        "main_job_steps_s": steps,
    }


def _summary(stdout: str) -> list[str]:
    lines = stdout.splitlines()
    start = max((i for i, line in enumerate(lines) if line.startswith("=" * 72)), default=0)
    marked = [i for i, line in enumerate(lines) if line.startswith("=" * 72)]
    return lines[marked[0] + 1:marked[-1]] if len(marked) >= 2 else lines[start:][-40:]


def scale(work: Path, name: str, plan: dict[str, int], inbox: Path, contracts: Path) -> dict[str, Any]:
    folder = work / name
    folder.mkdir()
    server_def = Server(folder, plan)
    series = server_def.series()
    with server_def as server:
        env = night_env(folder, server.base_url, series, inbox, contracts)
        print(f"{name}: {len(series)} series, first night ...", flush=True)
        first = night(env, server)
        print(f"{name}: first night {first['wall_s']} s; a night with nothing changed ...", flush=True)
        second = night(env, server)
    return {"series": len(series), "first_night": first, "nothing_changed": second,
            "api_server_peak_rss_mb": round(max(p.peak_rss_mb for p in server.memory.processes), 1)}


def run() -> BenchResult:
    work = Path(tempfile.mkdtemp(prefix="bench_nightly_"))
    try:
        inbox, contracts = prepare_inbox(work)
        sizes = json.loads(subprocess.run(
            [sys.executable, "-c", "import json; from bench.snapshot_server import Snapshot; "
             f"print(json.dumps(Snapshot(__import__('pathlib').Path({str(SNAPSHOT)!r})).series_sizes()))"],
            capture_output=True, text=True, check=True, cwd=PROJECT_ROOT).stdout)
        plan = copy_plan(sizes, TODAY["observations"], TODAY["series"])
        figures: dict[str, Any] = {
            "observations_2020": sum(sizes.values()),
            "observations_today": sum(sizes.values()) + sum(sizes[c] * n for c, n in plan.items()),
            "partner_rows": PARTNER_ROWS,
            "targets": TARGETS,
        }
        for name in os.environ.get("BENCH_NIGHTLY_SCALES", "2020,today").split(","):
            figures[name] = scale(work, name, {"2020": {}, "today": plan}[name.strip()], inbox, contracts)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    measured = figures.get("today") or figures.get("2020")
    today = measured["first_night"]["wall_s"]
    return BenchResult(name=NAME, figures=figures, reference=f"target: a night at today's scale in {TARGETS['night_s']:.0f} s",
                       ratio_to_reference=today / TARGETS["night_s"], target_ratio=1.0)


if __name__ == "__main__":
    run_alone(run)
