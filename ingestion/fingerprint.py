"""What a build depends on, as fingerprints: a night with nothing new skips what it would only repeat.

A landing table's fingerprint is its content (row count and the sum of every row's hash): a series or
file not rewritten keeps it. The build fingerprint adds what turns landing tables into the published
file: the dbt project as parsed (each node's checksum, each macro's SQL), the GX suites, the publication
code and the settings. Publication records both in the published file; the next night compares:
- the same inputs fingerprint: dbt, the gate and publication have nothing to do (the published file
  is what they would produce again);
- the same fingerprint of one landing table, suite and build: that suite passed on exactly these rows.
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path
from typing import Any

import duckdb

from ingestion.config import PROJECT_ROOT, BuildSettings

FINGERPRINTS_KEY = "fingerprints"  # in the published file's input_snapshot: {"inputs": ..., "suites": {...}}
LANDING_SCHEMA_PREFIX = "raw_"
BUILD_SOURCES = (PROJECT_ROOT / "ingestion" / "publish.py", *sorted((PROJECT_ROOT / "expectations").rglob("*.py")))
MANIFEST = PROJECT_ROOT / "dbt_project" / "target" / "manifest.json"
# The settings that change what dbt, the gate or publication make of the same landing tables (paths and
# API settings do not: what they change shows in the landing tables themselves).
BUILD_SETTINGS = ("min_cell_size", "row_count_change_warn")


def table_fingerprint(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """Content of ``table`` (``schema.name``): equal for the same rows in any order."""
    rows, hashes = con.execute(f"select count(*), coalesce(sum(hash(*columns(*))::hugeint), 0) from {table}").fetchone()
    return f"{rows}:{hashes}"


def landing_fingerprints(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Every landing table (schemas ``raw_*``) by name."""
    tables = con.execute(
        "select schema_name || '.' || table_name from duckdb_tables() "
        "where database_name = current_database() and starts_with(schema_name, ?) order by 1",
        [LANDING_SCHEMA_PREFIX],
    ).fetchall()
    return {table: table_fingerprint(con, table) for (table,) in tables}


def build_fingerprint(settings: BuildSettings, manifest: Path = MANIFEST) -> str:
    """The dbt project, the GX suites, the publication code and the settings, as one digest."""
    digest = hashlib.sha256(json.dumps({name: getattr(settings, name) for name in BUILD_SETTINGS}).encode())
    digest.update(_code_digest(manifest, manifest.stat().st_mtime_ns).encode())
    return digest.hexdigest()[:32]


@functools.lru_cache(maxsize=4)
def _code_digest(manifest: Path, manifest_mtime_ns: int) -> str:
    """Read once per manifest version (every landing suite of a run asks): the sources are fixed for a process's
    code, and a new `dbt parse` writes a new manifest."""
    digest = hashlib.sha256()
    parsed = json.loads(manifest.read_text(encoding="utf-8"))
    for unique_id, node in sorted(parsed.get("nodes", {}).items()):
        digest.update(f"{unique_id}={node.get('checksum', {}).get('checksum')}".encode())
    for unique_id, macro in sorted(parsed.get("macros", {}).items()):
        if macro.get("package_name") == parsed.get("metadata", {}).get("project_name"):
            digest.update(f"{unique_id}={macro.get('macro_sql')}".encode())
    for source in BUILD_SOURCES:
        digest.update(source.read_bytes())
    return digest.hexdigest()


def inputs_fingerprint(landing: dict[str, str], build: str) -> str:
    return hashlib.sha256(json.dumps({"landing": landing, "build": build}, sort_keys=True).encode()).hexdigest()[:32]


def suite_fingerprint(check: str, content: str, build: str) -> str:
    """One landing suite (``check``) on one table's content, under today's build (suites, settings)."""
    return hashlib.sha256(f"{check}|{content}|{build}".encode()).hexdigest()[:32]


def recorded(snapshot: dict[str, Any] | None, key: str) -> Any:
    return (snapshot or {}).get(FINGERPRINTS_KEY, {}).get(key)


def record_build_inputs(con: duckdb.DuckDBPyConnection, run_id: str, inputs: str) -> None:
    """What this run's build is made from, for its publication to record (a landing run may write between
    the build and the publication; the fingerprint must be the one the marts were built from)."""
    con.execute("create schema if not exists meta")
    con.execute("create table if not exists meta.build_inputs (run_id varchar primary key, inputs_fingerprint varchar "
                "not null, recorded_at timestamptz not null default current_timestamp)")
    con.execute("insert or replace into meta.build_inputs (run_id, inputs_fingerprint) values (?, ?)", [run_id, inputs])


def build_inputs(con: duckdb.DuckDBPyConnection, run_id: str) -> str | None:
    exists = con.execute("select count(*) from duckdb_tables() where schema_name = 'meta' "
                         "and table_name = 'build_inputs'").fetchone()[0]
    if not exists:
        return None
    row = con.execute("select inputs_fingerprint from meta.build_inputs where run_id = ?", [run_id]).fetchone()
    return row[0] if row else None
