"""Shared DuckDB plumbing: connections with clear lock errors, and all-or-nothing transactions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb


class WarehouseLockedError(RuntimeError):
    """Another process holds the DuckDB file; DuckDB allows one writing process."""


@contextmanager
def connect(path: Path, *, read_only: bool = False, memory_limit: str | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the DuckDB file at ``path`` and always close it, so the lock is never held longer than needed.

    ``memory_limit`` (e.g. ``"512MB"``) caps DuckDB's memory; past it, DuckDB spills to disk.
    """
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
        if memory_limit:
            con.execute(f"set memory_limit = '{memory_limit}'")
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


def ensure_tables(con: duckdb.DuckDBPyConnection, ddl: str) -> list[str]:
    """Create the tables in ``ddl`` (``create schema/table if not exists`` statements).

    When a table's layout differs from the code's (an upgrade added a lineage column), its rows are
    carried over by column name, in one transaction: a column the new layout adds is null, one it drops
    is gone. Only when that cannot work (a new NOT NULL column, a type that does not convert) is the
    table recreated empty (landing tables hold data as received, which can be fetched again); those
    tables' names are returned so the caller can say so.
    """
    with duckdb.connect(":memory:") as scratch:
        scratch.execute(ddl)
        expected = _layouts(scratch)
    current = _layouts(con)
    changed = [name for name, layout in expected.items() if name in current and current[name] != layout]
    if not changed:
        con.execute(ddl)
        return []
    try:
        with transaction(con):
            _migrate(con, ddl, {name: (current[name], expected[name]) for name in changed})
        return []
    except duckdb.Error:
        with transaction(con):
            for name in changed:
                con.execute(f"drop table {name}")
            con.execute(ddl)
        return changed


def _migrate(con: duckdb.DuckDBPyConnection, ddl: str,
             layouts: dict[str, tuple[list[tuple[str, str]], list[tuple[str, str]]]]) -> None:
    """Each table in ``layouts`` (name: (current layout, new layout)) rebuilt from ``ddl`` with its rows."""
    previous = {name: f"{name.split('.')[-1]}__previous_layout" for name in layouts}
    for name, old_name in previous.items():
        con.execute(f"alter table {name} rename to {old_name}")
    con.execute(ddl)
    for name, (old_layout, new_layout) in layouts.items():
        kept = {column for column, _ in old_layout} & {column for column, _ in new_layout}
        columns = ", ".join(f'"{column}"' for column, _ in new_layout if column in kept)
        schema = name.split(".")[0]
        if columns:
            con.execute(f"insert into {name} by name select {columns} from {schema}.{previous[name]}")
        con.execute(f"drop table {schema}.{previous[name]}")


def _layouts(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[str, str]]]:
    rows = con.execute(
        "select schema_name || '.' || table_name, column_name, data_type from duckdb_columns() "
        "where database_name = current_database() and schema_name not in ('main', 'information_schema', 'pg_catalog') "
        "order by schema_name, table_name, column_index"
    ).fetchall()
    layouts: dict[str, list[tuple[str, str]]] = {}
    for name, column, data_type in rows:
        layouts.setdefault(name, []).append((column, data_type))
    return layouts
