"""Publication: copy the marts into a new DuckDB file, validate it, then swap it into place atomically.

Analysts only ever open ``PUBLISHED_PATH``. It is never written in place: a new file is built
beside it, checked, flushed to disk and renamed over the old one (``os.replace`` is atomic on
POSIX), so a killed or failed publication leaves yesterday's file byte-identical, and an analyst
holding the old file open keeps reading the old, consistent data.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import duckdb

from ingestion.warehouse import connect

# Files written by DuckDB 1.5 with this storage version open in every DuckDB >= 1.0 client.
STORAGE_VERSION = "v1.0.0"
PUBLISHED_SCHEMAS = ("marts", "meta")

_LOG_DDL = """
create table if not exists pub.meta.publication_log (
    published_at timestamptz not null,
    run_id varchar not null,
    row_counts json not null,
    checks json not null,
    input_snapshot json not null,
    duckdb_version varchar not null
)
"""


class PublicationError(RuntimeError):
    """The new file failed validation; the published file was left untouched."""


@dataclass(frozen=True)
class PublicationResult:
    path: Path
    row_counts: dict[str, int]
    published_at: datetime


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _tmp_path(published_path: Path, run_id: str) -> Path:
    return published_path.with_name(f".{published_path.name}.{run_id}.tmp")


def publish(
    warehouse_path: Path,
    published_path: Path,
    tables: Sequence[str],
    *,
    run_id: str,
    checks: dict[str, Any],
    input_snapshot: dict[str, Any],
) -> PublicationResult:
    """Publish ``tables`` (``schema.table`` names in the warehouse) to ``published_path``."""
    published_path = Path(published_path)
    published_path.parent.mkdir(parents=True, exist_ok=True)
    for leftover in published_path.parent.glob(f".{published_path.name}.*.tmp"):
        leftover.unlink()  # from a publication that was killed before its swap
    tmp = _tmp_path(published_path, run_id)
    published_at = datetime.now(timezone.utc)
    try:
        row_counts = _write(warehouse_path, published_path, tmp, tables, run_id, checks, input_snapshot, published_at)
        _validate(tmp, row_counts)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, published_path)
        _fsync_dir(published_path.parent)
    finally:
        tmp.unlink(missing_ok=True)
        Path(f"{tmp}.wal").unlink(missing_ok=True)
    return PublicationResult(path=published_path, row_counts=row_counts, published_at=published_at)


def _write(warehouse_path: Path, published_path: Path, tmp: Path, tables: Sequence[str], run_id: str,
           checks: dict[str, Any], input_snapshot: dict[str, Any], published_at: datetime) -> dict[str, int]:
    row_counts: dict[str, int] = {}
    # An in-memory session attaching both files: the warehouse read-only, the new file writable.
    with duckdb.connect(":memory:") as con:
        con.execute(f"attach {_quote(str(warehouse_path))} as wh (read_only)")
        con.execute(f"attach {_quote(str(tmp))} as pub (storage_version '{STORAGE_VERSION}')")
        for schema in PUBLISHED_SCHEMAS:
            con.execute(f"create schema pub.{schema}")
        for qualified in tables:
            schema, table = qualified.split(".")
            if schema != "marts":
                raise PublicationError(f"only marts are published; refusing {qualified}")
            con.execute(f"create table pub.marts.{table} as select * from wh.marts.{table}")
            row_counts[qualified] = con.execute(f"select count(*) from pub.marts.{table}").fetchone()[0]
            _copy_comments(con, table)
        con.execute(_LOG_DDL)
        if published_path.exists():
            con.execute(f"attach {_quote(str(published_path))} as previous (read_only)")
            has_log = con.execute(
                "select count(*) from duckdb_tables() where database_name = 'previous' "
                "and schema_name = 'meta' and table_name = 'publication_log'"
            ).fetchone()[0]
            if has_log:
                con.execute("insert into pub.meta.publication_log select * from previous.meta.publication_log")
            con.execute("detach previous")
        con.execute(
            "insert into pub.meta.publication_log values (?, ?, ?, ?, ?, ?)",
            [published_at, run_id, json.dumps(row_counts), json.dumps(checks, default=str),
             json.dumps(input_snapshot, default=str), duckdb.__version__],
        )
        con.execute(
            "comment on table pub.meta.publication_log is "
            "'Every publication of this file: when, by which run, row counts, check summary and input snapshot.'"
        )
        con.execute("checkpoint pub")
        con.execute("detach pub")
    return row_counts


def _copy_comments(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """dbt persists descriptions as DuckDB comments; carry them into the published file."""
    comment = con.execute(
        "select comment from duckdb_tables() where database_name = 'wh' "
        "and schema_name = 'marts' and table_name = ?", [table]
    ).fetchone()
    if comment and comment[0]:
        con.execute(f"comment on table pub.marts.{table} is {_quote(comment[0])}")
    columns = con.execute(
        "select column_name, comment from duckdb_columns() where database_name = 'wh' "
        "and schema_name = 'marts' and table_name = ? and comment is not null", [table]
    ).fetchall()
    for column, text in columns:
        con.execute(f'comment on column pub.marts.{table}."{column}" is {_quote(text)}')


def _validate(path: Path, expected_counts: dict[str, int]) -> None:
    """Reopen the new file as an analyst would and check it holds exactly what was written."""
    with connect(path, read_only=True) as con:
        found = {
            f"{schema}.{table}"
            for schema, table in con.execute(
                "select schema_name, table_name from duckdb_tables() where not internal"
            ).fetchall()
        }
        expected = set(expected_counts) | {"meta.publication_log"}
        if found != expected:
            raise PublicationError(f"new file holds {sorted(found)}, expected {sorted(expected)}")
        for qualified, count in expected_counts.items():
            actual = con.execute(f"select count(*) from {qualified}").fetchone()[0]
            if actual != count:
                raise PublicationError(f"{qualified}: {actual} rows in the new file, {count} written")


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
