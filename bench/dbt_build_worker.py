"""The reference of bench_dbt_build, in a freshly started process of its own:

    dbt_build_worker.py reference <warehouse> <compiled_target_dir>
        every model's compiled SQL (from `dbt compile` into <compiled_target_dir>) executed directly
        in DuckDB on <warehouse>, in dependency order (the manifest's depends_on), each materialized
        as its config says (view or table), seeds loaded with read_csv and their declared column
        types; no tests, no docs. Prints {wall_s, models: {name: s}} as its last line.

Its memory is measured from outside (bench/memory.py), not with ru_maxrss, which a child inherits
from the process that started it. dbt itself is measured the same way, run directly by the bench.
"""

from __future__ import annotations

import json
import sys
import time
from graphlib import TopologicalSorter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ingestion.sql import identifier  # noqa: E402


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
        relation = node["relation_name"] or ".".join(identifier(part) for part in
                                                     (node["database"], node["schema"], node["alias"]))
        schema = f"{identifier(node['database'])}.{identifier(node['schema'])}"
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
    return {"wall_s": wall, "models": timings}


if __name__ == "__main__":
    mode, warehouse, target = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    if mode != "reference":
        raise SystemExit(f"unknown mode {mode!r}")
    print(json.dumps(reference(warehouse, target)))
