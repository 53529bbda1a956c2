"""One measured approach of bench_quality_gate, run in its own process: prints {wall_s, dbt_tests, tables}.

- ``gate``: the pipeline's quality gate on the marts, as the pipeline runs it: the dbt tests on the marts
  (`dbt test --select marts`, the mart layer's one gate), then the GX second line, each suite in
  expectations/suites/ whose table is in schema ``marts`` run by expectations.runner on DataFrames read from
  DuckDB, with its Data Docs page, exactly as the Dagster checks run them (one process, one GX context);
- ``reference``: the same rules as plain DuckDB SQL on the same file: each dbt test's compiled SQL counted
  directly (what dbt runs, without dbt), and the GX rules generated from the same expectation lists (per table
  one aggregate pass for the row rules, one GROUP BY per uniqueness rule, the catalog for the schema, and up
  to 10 offending rows per failing rule).

Usage: ``python bench/quality_gate_worker.py gate|reference <duckdb file> <compiled tests json>`` (the
compiled SQL of the mart tests, by test name, written by the bench). The last line printed is the JSON result. Memory and CPU time are measured from outside by the bench (bench/memory.py):
``ru_maxrss`` read here would include the high-water mark inherited from the process that started it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import duckdb  # noqa: E402

from expectations.registry import Suite, discover  # noqa: E402
from expectations.runner import SCHEMA, TABLE, scope_of, table_columns  # noqa: E402
from ingestion.sql import literal  # noqa: E402
from ingestion.config import load_settings  # noqa: E402
from ingestion.warehouse import connect  # noqa: E402

SAMPLE = 10


def mart_suites(con: duckdb.DuckDBPyConnection) -> list[Suite]:
    return [suite for suite in discover() if suite.is_mart and table_columns(con, suite.table)]


def dbt_test(path: Path, workdir: Path) -> dict[str, int]:
    """`dbt test --select marts` on ``path``: failures by test name (raises when dbt itself errored)."""
    project = Path(__file__).resolve().parent.parent / "dbt_project"
    # what dagster-dbt does before each invocation: start from the project's parse, not a full re-parse
    (workdir / "target").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(project / "target" / "partial_parse.msgpack", workdir / "target" / "partial_parse.msgpack")
    env = {**os.environ, "WAREHOUSE_PATH": str(path), "DBT_PROJECT_DIR": str(project), "DBT_PROFILES_DIR": str(project),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    completed = subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "test", "--select", "marts", "--target-path", str(workdir / "target"),
         "--log-path", str(workdir / "logs")], cwd=project, env=env, capture_output=True, text=True, check=False)
    results = json.loads((workdir / "target" / "run_results.json").read_text())["results"]
    errors = [r["unique_id"] for r in results if r["status"] == "error"]
    if errors:
        raise RuntimeError(f"dbt test errored on {errors}:\n{completed.stdout[-3000:]}")
    return {r["unique_id"].split(".")[2]: int(r["failures"] or 0) for r in results}


def gate(path: Path, compiled_tests: Path) -> dict:
    from expectations.runner import Validator

    settings = load_settings()
    tables: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as docs:
        start = time.perf_counter()
        tests = dbt_test(path, Path(docs))
        dbt_wall = time.perf_counter() - start
        validator = Validator(data_docs_dir=docs)
        with connect(path, read_only=True, memory_limit=settings.duckdb_memory_limit) as con:
            for suite in mart_suites(con):
                began = time.perf_counter()
                result = validator.validate_table(
                    con, suite.table, suite.table, suite.expectations(settings), chunk_key=suite.chunk_key,
                    sample_columns=suite.sample_columns, show_values=suite.show_values, run_name="bench")
                tables[suite.table] = {
                    "rows": result.rows, "chunks": result.chunks, "expectations": len(result.outcomes),
                    "wall_s": round(time.perf_counter() - began, 2),
                    "failures": {o.expectation.replace(" [column types]", ""): o.unexpected_count
                                 for o in result.outcomes if not o.success},
                }
        wall = time.perf_counter() - start
    return {"wall_s": wall, "dbt_wall_s": round(dbt_wall, 2), "dbt_tests": tests, "tables": tables}


def _condition(kwargs: dict) -> str | None:
    condition = kwargs.get("row_condition")
    if isinstance(condition, dict):
        condition = condition.get("pass_through_filter")
    return condition or None


def _sql_condition(condition: str | None) -> str:
    """A pandas row condition of the suites as SQL (they use ==, >, <, and/or, True/False, .isna())."""
    if not condition:
        return "true"
    text = re.sub(r"(\w+)\.isna\(\)", r"\1 is null", condition)
    text = text.replace("==", "=").replace('"', "'").replace("False", "false").replace("True", "true")
    return f"({text})"


def _q(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def _label(kind: str, kwargs: dict) -> str:
    target = kwargs.get("column") or ",".join(kwargs.get("column_list") or kwargs.get("column_set") or [])
    if kwargs.get("column_A"):
        target = f"{kwargs['column_A']},{kwargs['column_B']}"
    condition = _condition(kwargs)
    return f"{kind}({target})" + (f" where {condition}" if condition else "")


def _predicate(kind: str, kwargs: dict) -> str:
    """SQL that is true for an offending row (nulls are not offending, as in GX, except for not-null)."""
    c = _q(kwargs["column"]) if kwargs.get("column") else None
    if kind == "expect_column_values_to_not_be_null":
        return f"{c} is null"
    if kind == "expect_column_values_to_be_null":
        return f"{c} is not null"
    if kind == "expect_column_values_to_be_in_set":
        return f"{c} is not null and {c} not in ({', '.join(literal(v) for v in kwargs['value_set'])})"
    if kind == "expect_column_values_to_not_be_in_set":
        return f"{c} in ({', '.join(literal(v) for v in kwargs['value_set'])})"
    if kind == "expect_column_values_to_be_between":
        bounds = []
        if kwargs.get("min_value") is not None:
            bounds.append(f"{c} < {kwargs['min_value']}")
        if kwargs.get("max_value") is not None:
            bounds.append(f"{c} > {kwargs['max_value']}")
        return f"{c} is not null and ({' or '.join(bounds)})"
    if kind == "expect_column_values_to_match_regex":
        return f"{c} is not null and not regexp_matches({c}, {literal(kwargs['regex'])})"
    if kind == "expect_column_pair_values_a_to_be_greater_than_b":
        a, b = _q(kwargs["column_A"]), _q(kwargs["column_B"])
        return f"{a} is not null and {b} is not null and {a} {'<' if kwargs.get('or_equal') else '<='} {b}"
    raise NotImplementedError(kind)


def reference_table(con: duckdb.DuckDBPyConnection, suite: Suite, settings) -> dict:
    table, expectations = suite.table, suite.expectations(settings)
    failures: dict[str, int] = {}
    samples: dict[str, list] = {}
    types = table_columns(con, table)
    rows = con.execute(f"select count(*) from {table}").fetchone()[0]
    shown = ", ".join(_q(c) for c in suite.sample_columns if c in types) or "1"
    row_rules: list[tuple[str, str]] = []
    for expectation in expectations:
        kind, kwargs = expectation.expectation_type, expectation.configuration.kwargs
        label = _label(kind, kwargs)
        if scope_of(expectation) == SCHEMA:
            if kind == "expect_table_columns_to_match_set":
                declared = set(kwargs["column_set"])
                if declared - set(types) or (kwargs.get("exact_match") and set(types) - declared):
                    failures[label] = None
            elif types.get(kwargs["column"]) not in kwargs["value_set"]:
                failures[label] = 1
            continue
        if scope_of(expectation) == TABLE:
            low, high = kwargs.get("min_value"), kwargs.get("max_value")
            if (low is not None and rows < low) or (high is not None and rows > high):
                failures[label] = None
            continue
        if kind in ("expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique"):
            columns = ", ".join(_q(c) for c in (kwargs.get("column_list") or [kwargs["column"]]))
            nulls = "" if kind == "expect_compound_columns_to_be_unique" else f" where {columns} is not null"
            duplicated = con.execute(
                f"select coalesce(sum(n), 0) from (select count(*) as n from {table}{nulls} group by {columns} "
                "having count(*) > 1)").fetchone()[0]
            if duplicated:
                failures[label] = int(duplicated)
                samples[label] = con.execute(
                    f"select {columns}, count(*) from {table}{nulls} group by all having count(*) > 1 limit {SAMPLE}"
                ).fetchall()
            continue
        where = _sql_condition(_condition(kwargs))
        row_rules.append((label, f"{where} and {_predicate(kind, kwargs)}"))
    if row_rules:
        counts = con.execute(
            "select " + ", ".join(f"count(*) filter (where {p})" for _, p in row_rules) + f" from {table}"
        ).fetchone()
        for (label, predicate), count in zip(row_rules, counts):
            if count:
                failures[label] = count
                samples[label] = con.execute(f"select {shown} from {table} where {predicate} limit {SAMPLE}").fetchall()
    return {"rows": rows, "rules": len(expectations), "failures": failures}


def reference(path: Path, compiled_tests: Path) -> dict:
    settings = load_settings()
    tables: dict[str, dict] = {}
    sql_by_test = json.loads(compiled_tests.read_text())
    start = time.perf_counter()
    with connect(path, read_only=True, memory_limit=settings.duckdb_memory_limit) as con:
        # what dbt counts for a test: the rows its SQL returns
        tests = {name: con.execute(f"select count(*) from ({sql}) as failing").fetchone()[0]
                 for name, sql in sql_by_test.items()}
        dbt_wall = time.perf_counter() - start
        for suite in mart_suites(con):
            began = time.perf_counter()
            tables[suite.table] = reference_table(con, suite, settings)
            tables[suite.table]["wall_s"] = round(time.perf_counter() - began, 2)
    return {"wall_s": time.perf_counter() - start, "dbt_wall_s": round(dbt_wall, 2), "dbt_tests": tests,
            "tables": tables}


def main() -> None:
    approach, path, compiled_tests = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    measured = {"gate": gate, "reference": reference}[approach](path, compiled_tests)
    print(json.dumps(measured, default=str))


if __name__ == "__main__":
    main()
