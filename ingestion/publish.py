"""Publication: copy the marts into a new DuckDB file, validate it, then swap it into place atomically.

Analysts only ever open ``PUBLISHED_PATH``. It is never written in place: a new file is built
beside it, checked, flushed to disk and renamed over the old one (``os.replace`` is atomic on
POSIX), so a killed or failed publication leaves yesterday's file byte-identical, and an analyst
holding the old file open keeps reading the old, consistent data.

Before each swap the file being replaced is kept (a hard link, so no copy) in
``<published>.history/``; the newest ``KEEP_PREVIOUS`` are kept. ``rollback`` renames the newest of
them back over ``PUBLISHED_PATH``, just as atomically (``make rollback``).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import duckdb

from ingestion.sql import literal
from ingestion.warehouse import connect

# Files written by DuckDB 1.5 with this storage version open in every DuckDB >= 1.0 client.
STORAGE_VERSION = "v1.0.0"
PUBLISHED_SCHEMAS = ("marts", "meta")
KEEP_PREVIOUS = 7  # previous published files kept for rollback

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
_HISTORY_NAME = re.compile(r"^\d{8}T\d{6}\d{6}Z(\.[A-Za-z0-9_-]+)?\.duckdb$")


class PublicationError(RuntimeError):
    """The new file failed validation; the published file was left untouched."""


@dataclass(frozen=True)
class PublicationResult:
    path: Path
    row_counts: dict[str, int]
    published_at: datetime
    history: list[Path] = field(default_factory=list)  # previous files kept for rollback, newest first


def _tmp_path(published_path: Path, run_id: str) -> Path:
    return published_path.with_name(f".{published_path.name}.{run_id}.tmp")


def history_dir(published_path: Path) -> Path:
    """Where previous published files are kept: ``<published>.history/`` beside it."""
    published_path = Path(published_path)
    return published_path.with_name(f"{published_path.name}.history")


def previous_files(published_path: Path) -> list[Path]:
    """Previous published files kept for rollback, newest first."""
    directory = history_dir(published_path)
    if not directory.is_dir():
        return []
    return sorted((p for p in directory.iterdir() if _HISTORY_NAME.match(p.name)), key=lambda p: p.name, reverse=True)


@contextlib.contextmanager
def _swap_lock(published_path: Path) -> Iterator[None]:
    """One publication or rollback at a time per published file (released by the kernel if killed)."""
    lock = published_path.with_name(f".{published_path.name}.lock")
    with open(lock, "a+") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def publish(
    warehouse_path: Path,
    published_path: Path,
    tables: Sequence[str],
    *,
    run_id: str,
    checks: dict[str, Any],
    input_snapshot: dict[str, Any],
    keep_previous: int = KEEP_PREVIOUS,
    before_swap: Callable[[Path], None] | None = None,
) -> PublicationResult:
    """Publish ``tables`` (``schema.table`` names in the warehouse) to ``published_path``.

    ``before_swap`` is called with the new, validated file just before it replaces the published
    one (tests use it to kill a publication at its most delicate moment).
    """
    published_path = Path(published_path)
    published_path.parent.mkdir(parents=True, exist_ok=True)
    with _swap_lock(published_path):
        for leftover in published_path.parent.glob(f".{published_path.name}.*.tmp*"):
            leftover.unlink()  # from a publication that was killed before its swap
        tmp = _tmp_path(published_path, run_id)
        published_at = datetime.now(timezone.utc)
        try:
            row_counts = _write(warehouse_path, published_path, tmp, tables, run_id, checks, input_snapshot,
                                published_at)
            _validate(tmp, warehouse_path, row_counts)
            _fsync(tmp)
            if before_swap is not None:
                before_swap(tmp)
            _keep_previous(published_path)
            os.replace(tmp, published_path)
            _fsync_dir(published_path.parent)
        finally:
            tmp.unlink(missing_ok=True)
            Path(f"{tmp}.wal").unlink(missing_ok=True)
        history = _prune(published_path, keep_previous)
    return PublicationResult(path=published_path, row_counts=row_counts, published_at=published_at, history=history)


def rollback(published_path: Path) -> Path:
    """Put the newest previous file back as the published file (atomically); returns what it restored.

    The file it replaces is kept as ``<published>.history/rolled_back.duckdb`` (one, the latest), so
    a mistaken rollback can itself be undone by hand.
    """
    published_path = Path(published_path)
    with _swap_lock(published_path):
        candidates = previous_files(published_path)
        if not candidates:
            raise PublicationError(f"no previous file to roll back to in {history_dir(published_path)}")
        restore = candidates[0]
        _open_check(restore)
        if published_path.exists():
            aside = history_dir(published_path) / "rolled_back.duckdb"
            aside.unlink(missing_ok=True)
            os.link(published_path, aside)
        os.replace(restore, published_path)
        _fsync_dir(published_path.parent)
        _fsync_dir(history_dir(published_path))
    return published_path


def _keep_previous(published_path: Path) -> None:
    """Hard-link the file about to be replaced into the history, named by its own last publication."""
    if not published_path.exists():
        return
    directory = history_dir(published_path)
    directory.mkdir(exist_ok=True)
    stamp, run = _last_publication(published_path)
    target = directory / f"{stamp}{'.' + run if run else ''}.duckdb"
    if target.exists():
        if target.samefile(published_path):
            return  # kept already (a publication killed between keeping and swapping)
        target = directory / f"{stamp}.{os.getpid()}.duckdb"
    try:
        os.link(published_path, target)
    except OSError:  # a filesystem without hard links: copy instead
        shutil.copy2(published_path, target)
    _fsync_dir(directory)


@dataclass(frozen=True)
class Publication:
    run_id: str
    published_at: datetime
    input_snapshot: dict[str, Any]
    row_counts: dict[str, Any]


def last_publication(published_path: Path) -> Publication | None:
    """The published file's last publication (run, time, what it was built from); None when there is no
    readable file."""
    if not Path(published_path).exists():
        return None
    try:
        with duckdb.connect(str(published_path), read_only=True) as con:
            row = con.execute("select run_id, published_at, input_snapshot, row_counts from meta.publication_log "
                              "order by published_at desc limit 1").fetchone()
    except duckdb.Error:
        return None  # no log (an old or foreign file)
    if row is None:
        return None
    snapshot, counts = (json.loads(v) if isinstance(v, str) else v or {} for v in row[2:])
    return Publication(run_id=row[0], published_at=row[1], input_snapshot=snapshot, row_counts=counts)


def _last_publication(path: Path) -> tuple[str, str]:
    """(UTC timestamp, short run id) of a published file's last publication; its mtime if it has no log."""
    last = last_publication(path)
    if last is not None:
        when = last.published_at.astimezone(timezone.utc)
        run = re.sub(r"[^A-Za-z0-9_-]", "", str(last.run_id))[:8]
    else:
        when, run = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc), ""
    return when.strftime("%Y%m%dT%H%M%S%fZ"), run


def _prune(published_path: Path, keep: int) -> list[Path]:
    kept = previous_files(published_path)
    for stale in kept[keep:]:
        stale.unlink(missing_ok=True)
    return kept[:keep]


def _write(warehouse_path: Path, published_path: Path, tmp: Path, tables: Sequence[str], run_id: str,
           checks: dict[str, Any], input_snapshot: dict[str, Any], published_at: datetime) -> dict[str, int]:
    row_counts: dict[str, int] = {}
    # An in-memory session attaching both files: the warehouse read-only, the new file writable.
    with duckdb.connect(":memory:") as con:
        con.execute(f"attach {literal(str(warehouse_path))} as wh (read_only)")
        con.execute(f"attach {literal(str(tmp))} as pub (storage_version '{STORAGE_VERSION}')")
        for schema in PUBLISHED_SCHEMAS:
            con.execute(f"create schema pub.{schema}")
        for qualified in tables:
            schema, table = qualified.split(".")
            if schema != "marts":
                raise PublicationError(f"only marts are published; refusing {qualified}")
            con.execute(f'create table pub.marts."{table}" as select * from wh.marts."{table}"')
            row_counts[qualified] = con.execute(f'select count(*) from pub.marts."{table}"').fetchone()[0]
            _copy_comments(con, table)
        con.execute(_LOG_DDL)
        if published_path.exists():
            con.execute(f"attach {literal(str(published_path))} as previous (read_only)")
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
        con.execute(f'comment on table pub.marts."{table}" is {literal(comment[0])}')
    columns = con.execute(
        "select column_name, comment from duckdb_columns() where database_name = 'wh' "
        "and schema_name = 'marts' and table_name = ? and comment is not null", [table]
    ).fetchall()
    for column, text in columns:
        con.execute(f'comment on column pub.marts."{table}"."{column}" is {literal(text)}')


def _fingerprint(con: duckdb.DuckDBPyConnection, qualified: str) -> tuple[int, int]:
    """(rows, order-independent hash of every row) of a table."""
    return con.execute(f"select count(*), coalesce(sum(hash(*columns(*))::hugeint), 0) from {qualified}").fetchone()


def _validate(path: Path, warehouse_path: Path, expected_counts: dict[str, int]) -> None:
    """Reopen the new file as an analyst would (a DuckDB 1.x client, read-only) and check it holds
    exactly the marts and the log, with the warehouse's rows and documentation, and nothing else."""
    with duckdb.connect(":memory:") as con:
        con.execute(f"attach {literal(str(path))} as pub (read_only)")
        con.execute(f"attach {literal(str(warehouse_path))} as wh (read_only)")
        version = con.execute("select tags['storage_version'] from duckdb_databases() where database_name = 'pub'"
                              ).fetchone()[0]
        if not str(version or "").startswith(STORAGE_VERSION):
            raise PublicationError(f"new file has storage version {version}, expected {STORAGE_VERSION}")
        found = {
            f"{schema}.{table}"
            for schema, table in con.execute(
                "select schema_name, table_name from duckdb_tables() where database_name = 'pub' and not internal"
            ).fetchall()
        }
        expected = set(expected_counts) | {"meta.publication_log"}
        if found != expected:
            raise PublicationError(f"new file holds {sorted(found)}, expected {sorted(expected)}")
        views = con.execute("select count(*) from duckdb_views() where database_name = 'pub' and not internal"
                            ).fetchone()[0]
        if views:
            raise PublicationError(f"new file holds {views} view(s); only tables are published")
        for qualified, count in expected_counts.items():
            schema, table = qualified.split(".")
            new = _fingerprint(con, f'pub.{schema}."{table}"')
            if new[0] != count:
                raise PublicationError(f"{qualified}: {new[0]} rows in the new file, {count} written")
            if new != _fingerprint(con, f'wh.{schema}."{table}"'):
                raise PublicationError(f"{qualified}: the new file's rows differ from the warehouse's")
            documented = con.execute(
                "select count(*) filter (where database_name = 'wh'), count(*) filter (where database_name = 'pub') "
                "from duckdb_columns() where schema_name = ? and table_name = ? and comment is not null",
                [schema, table],
            ).fetchone()
            if documented[0] != documented[1]:
                raise PublicationError(f"{qualified}: {documented[1]} documented columns, {documented[0]} expected")
    _open_check(path)


def _open_check(path: Path) -> None:
    """The file opens on its own, read-only, as an analyst's client opens it."""
    with connect(path, read_only=True) as con:
        con.execute("select count(*) from meta.publication_log").fetchone()


def _fsync(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
