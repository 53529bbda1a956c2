"""One measurement of bench_dbt_build, in its own process, so peak RSS is that measurement's alone.

    dbt_build_worker.py dbt <warehouse> <target_dir> <dbt args...>
        runs the venv's dbt (e.g. `build`) on <warehouse> with --target-path/--log-path under
        <target_dir>; prints {wall_s, peak_rss_mb, returncode, output_tail}. Peak RSS is
        RUSAGE_CHILDREN's ru_maxrss: dbt's process (it runs DuckDB in-process).
    dbt_build_worker.py reference <warehouse> <compiled_target_dir>
        the reference: every model's compiled SQL (from `dbt compile` into <compiled_target_dir>)
        executed directly in DuckDB on <warehouse>, in dependency order (the manifest's depends_on),
        each materialized as its config says (view or table), seeds loaded with read_csv and their
        declared column types; no tests, no docs. Prints {wall_s, peak_rss_mb, models: {name: s}}.

The last line printed is the JSON result.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from graphlib import TopologicalSorter
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"
DBT = Path(sys.executable).parent / "dbt"


def dbt_env(warehouse: Path) -> dict[str, str]:
    return {**os.environ, "WAREHOUSE_PATH": str(warehouse), "DBT_PROJECT_DIR": str(PROJECT_DIR),
            "DBT_PROFILES_DIR": str(PROJECT_DIR), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}


def run_dbt(warehouse: Path, target: Path, args: list[str]) -> dict:
    command = [str(DBT), *args, "--target-path", str(target), "--log-path", str(target / "logs")]
    start = time.perf_counter()
    completed = subprocess.run(command, cwd=PROJECT_DIR, env=dbt_env(warehouse), capture_output=True, text=True)
    wall = time.perf_counter() - start
    return {"wall_s": wall, "peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
            "returncode": completed.returncode, "output_tail": (completed.stdout + completed.stderr)[-3000:]}


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def reference(warehouse: Path, target: Path) -> dict:
    import duckdb

    manifest = json.loads((target / "manifest.json").read_text())
    project = manifest["metadata"].get("project_name")
    nodes = {unique_id: node for unique_id, node in manifest["nodes"].items()
             if node["resource_type"] in ("model", "seed") and node["config"].get("enabled", True)
             and (project is None or node["package_name"] == project)}
    graph = {unique_id: [d for d in node.get("depends_on", {}).get("nodes", []) if d in nodes]
             for unique_id, node in nodes.items()}
    order = list(TopologicalSorter(graph).static_order())
    statements = []
    for unique_id in order:
        node = nodes[unique_id]
        relation = node["relation_name"] or ".".join(_quote(part) for part in
                                                     (node["database"], node["schema"], node["alias"]))
        schema = f"{_quote(node['database'])}.{_quote(node['schema'])}"
        if node["resource_type"] == "seed":
            csv_path = Path(node["root_path"]) / node["original_file_path"]
            types = node["config"].get("column_types") or {}
            options = f", columns = {{{', '.join(f'{k!r}: {v!r}' for k, v in types.items())}}}" if types else ""
            sql = f"create or replace table {relation} as select * from read_csv('{csv_path}', header = true{options})"
        else:
            materialized = node["config"]["materialized"]
            if materialized == "ephemeral":  # inlined into its dependents' compiled SQL
                continue
            compiled = (target / "compiled" / node["package_name"] / node["original_file_path"]).read_text()
            kind = "view" if materialized == "view" else "table"  # table, incremental (first build), ...
            sql = f"create or replace {kind} {relation} as (\n{compiled}\n)"
        statements.append((node["name"], schema, sql))

    timings: dict[str, float] = {}
    start = time.perf_counter()
    con = duckdb.connect(str(warehouse))
    try:
        for name, schema, sql in statements:
            began = time.perf_counter()
            con.execute(f"create schema if not exists {schema}")
            con.execute(sql)
            timings[name] = round(time.perf_counter() - began, 3)
    finally:
        con.close()
    wall = time.perf_counter() - start
    return {"wall_s": wall, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "models": timings}


if __name__ == "__main__":
    mode, warehouse, target = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    if mode == "dbt":
        result = run_dbt(warehouse, target, sys.argv[4:])
    elif mode == "reference":
        result = reference(warehouse, target)
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    print(json.dumps(result))
