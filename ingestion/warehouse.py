"""Shared DuckDB plumbing: connections with clear lock errors, and all-or-nothing transactions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb


class WarehouseLockedError(RuntimeError):
    """Another process holds the DuckDB file; DuckDB allows one writing process."""


@contextmanager
def connect(path: Path, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the DuckDB file at ``path`` and always close it, so the lock is never held longer than needed."""
    path = Path(path)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise WarehouseLockedError(
                f"{path} is locked by another process ({exc}). Stop the other writer (a `make dev` "
                "materialization, another `make run`, or an open DuckDB CLI/notebook session that is not "
                "read-only) and try again; see README, 'Troubleshooting'."
            ) from exc
        raise
    try:
        yield con
    finally:
        con.close()


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """Commit everything in the block, or nothing: the previous data stays as it was on any error."""
    con.begin()
    try:
        yield con
    except BaseException:
        con.rollback()
        raise
    con.commit()
