"""Benchmark: the quality gate on the 4.5M-row benchmark marts.

Data: the marts issue's generator (scripts/generate_bench_warehouse.py: 3.5M official SDG records +
1M civil-society and citizen-generated partner rows landed, as bench_dbt_build uses it), then
`dbt build --exclude-resource-type test` (seeds and models, not timed) builds the marts from them:
fct_indicator_observations has 4.5M rows, the other marts are derived from it. The generator lets a
few codes no vocabulary knows flow through as `unmapped`, so the gate has real findings to report.
`BENCH_GATE_OFFICIAL` / `BENCH_GATE_CIVIL_SOCIETY` change the sizes; `BENCH_GATE_WAREHOUSE=<file>`
measures a warehouse built before (``build_marts``) instead of building one.

Two approaches, each in a freshly started process, on the same file (bench/quality_gate_worker.py):
- gate: the pipeline's gate on the marts: the dbt tests on the marts (`dbt test --select marts`), then the
  GX second line (expectations/suites/ on the marts: declared columns only, no small cell) run by the
  pipeline's GX runner, reading DataFrames from DuckDB and rendering Data Docs, as the Dagster checks do;
- reference: the same rules as plain DuckDB SQL: each dbt test's compiled SQL counted in one connection,
  and the GX rules generated from the same expectation lists.
Both must find the same violations with the same counts. Target: gate within 3x of the reference.

Memory and CPU time are measured from outside (bench/memory.py): each worker's RSS and PSS are
sampled from /proc every 50 ms, beside the kernel's VmHWM, so a figure is that process's own and not
the high-water mark ``ru_maxrss`` inherits from the process that started it; CPU seconds come from
wait4 on the worker (imports included).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.memory import measure
from bench.report import BenchResult, run_alone
from ingestion.config import PROJECT_ROOT

OFFICIAL = int(os.environ.get("BENCH_GATE_OFFICIAL", "3500000"))
CIVIL_SOCIETY = int(os.environ.get("BENCH_GATE_CIVIL_SOCIETY", "1000000"))
WORKER = Path(__file__).with_name("quality_gate_worker.py")
DBT_PROJECT = PROJECT_ROOT / "dbt_project"
GENERATOR = PROJECT_ROOT / "scripts" / "generate_bench_warehouse.py"


def build_marts(directory: Path, official: int = OFFICIAL, civil_society: int = CIVIL_SOCIETY) -> Path:
    """Generate the landed warehouse and build its marts with dbt; returns the DuckDB file."""
    warehouse = directory / "warehouse.duckdb"
    generated = subprocess.run(
        [sys.executable, str(GENERATOR), str(warehouse), "--official", str(official), "--civil-society",
         str(civil_society)], capture_output=True, text=True, check=False,
    )
    if generated.returncode != 0:
        raise RuntimeError(f"{GENERATOR.name} failed:\n{generated.stderr[-3000:]}")
    target = directory / "dbt_target"
    env = {**os.environ, "WAREHOUSE_PATH": str(warehouse), "DBT_PROJECT_DIR": str(DBT_PROJECT),
           "DBT_PROFILES_DIR": str(DBT_PROJECT), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    completed = subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "build", "--exclude-resource-type", "test",
         "--target-path", str(target), "--log-path", str(target / "logs")],
        cwd=DBT_PROJECT, env=env, capture_output=True, text=True, check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"dbt build failed:\n{(completed.stdout + completed.stderr)[-3000:]}")
    return warehouse


def compile_mart_tests(path: Path, directory: Path) -> Path:
    """The compiled SQL of every dbt test on the marts (what `dbt test --select marts` runs), by test name."""
    target = directory / "compile_target"
    env = {**os.environ, "WAREHOUSE_PATH": str(path), "DBT_PROJECT_DIR": str(DBT_PROJECT),
           "DBT_PROFILES_DIR": str(DBT_PROJECT), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    completed = subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "compile", "--select", "marts", "--target-path", str(target),
         "--log-path", str(target / "logs")], cwd=DBT_PROJECT, env=env, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"dbt compile failed:\n{(completed.stdout + completed.stderr)[-3000:]}")
    nodes = json.loads((target / "manifest.json").read_text())["nodes"].values()
    tests = {node["name"]: node["compiled_code"] for node in nodes
             if node["resource_type"] == "test" and node.get("compiled_code")}
    out = directory / "mart_tests.json"
    out.write_text(json.dumps(tests))
    return out


def run_worker(approach: str, path: Path, tests: Path) -> dict:
    measured = measure([sys.executable, str(WORKER), approach, str(path), str(tests)])
    if measured.returncode != 0:
        raise RuntimeError(f"{approach} failed: {measured.stderr[-3000:]}")
    return {**measured.last_json(), "peak_rss_mb": measured.top.peak_rss_mb,
            "peak_pss_mb": measured.memory.peak_tree_pss_mb, "cpu_s": measured.cpu_s}


def run() -> BenchResult:
    with tempfile.TemporaryDirectory() as tmp:
        # BENCH_GATE_WAREHOUSE: a warehouse built before (by build_marts), to measure again without rebuilding.
        path = Path(os.environ["BENCH_GATE_WAREHOUSE"]) if os.environ.get("BENCH_GATE_WAREHOUSE") else build_marts(Path(tmp))
        tests = compile_mart_tests(path, Path(tmp))
        reference = run_worker("reference", path, tests)
        gate = run_worker("gate", path, tests)
    if gate["dbt_tests"] != reference["dbt_tests"]:
        raise RuntimeError(f"dbt tests found {gate['dbt_tests']}, their SQL run directly {reference['dbt_tests']}")
    for table, measured in gate["tables"].items():
        expected = reference["tables"][table]
        if measured["rows"] != expected["rows"] or measured["failures"] != expected["failures"]:
            raise RuntimeError(f"{table}: gate found {measured['failures']} in {measured['rows']} rows, "
                               f"reference {expected['failures']} in {expected['rows']}")
    fct = gate["tables"]["marts.fct_indicator_observations"]
    return BenchResult(
        name="quality_gate",
        figures={
            "fct_rows": fct["rows"],
            "rows_by_mart": {table: t["rows"] for table, t in gate["tables"].items()},
            "rows_validated": sum(t["rows"] for t in gate["tables"].values()),
            "expectations": sum(t["expectations"] for t in gate["tables"].values()),
            "chunks_by_mart": {table: t["chunks"] for table, t in gate["tables"].items()},
            "violations_found": {table: t["failures"] for table, t in gate["tables"].items() if t["failures"]},
            "dbt_tests": len(gate["dbt_tests"]),
            "dbt_test_failures": {name: n for name, n in gate["dbt_tests"].items() if n},
            "wall_s": round(gate["wall_s"], 2),
            "dbt_wall_s": gate["dbt_wall_s"],
            "reference_dbt_sql_wall_s": reference["dbt_wall_s"],
            "wall_s_by_mart": {table: t["wall_s"] for table, t in gate["tables"].items()},
            "peak_rss_mb": round(gate["peak_rss_mb"]),
            "peak_pss_mb": round(gate["peak_pss_mb"]),
            "reference_wall_s": round(reference["wall_s"], 2),
            "reference_wall_s_by_mart": {table: t["wall_s"] for table, t in reference["tables"].items()},
            "reference_peak_rss_mb": round(reference["peak_rss_mb"]),
            "reference_peak_pss_mb": round(reference["peak_pss_mb"]),
            # CPU seconds of each process (the reference runs DuckDB on every core; the gate mostly on one):
            # less sensitive than wall time to other work on a shared machine.
            "cpu_s": round(gate["cpu_s"], 1),
            "reference_cpu_s": round(reference["cpu_s"], 1),
            "load_average": [round(x, 2) for x in os.getloadavg()],
            "targets": "ratio_to_reference <= 3",
        },
        reference="the same rules as plain DuckDB SQL on the same file, in one process: the dbt tests' compiled "
                  "SQL counted directly, and the GX rules generated from the same expectation lists (one aggregate "
                  "pass per table, the catalog for the schema, up to 10 offending rows per failing rule)",
        ratio_to_reference=round(gate["wall_s"] / reference["wall_s"], 2),
        target_ratio=3.0,
    )


if __name__ == "__main__":
    run_alone(run)
