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


def fetch_dicts(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[dict]:
    """The rows of a query as dicts, column name -> value (for reports, which read by name)."""
    cursor = con.execute(sql, params or [])
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def ensure_tables(con: duckdb.DuckDBPyConnection, ddl: str) -> list[str]:
    """Create the tables in ``ddl`` (``create schema/table if not exists`` statements). Call it with no
    transaction open: it opens its own.

    When a table's layout differs from the code's (an upgrade added a lineage column), its rows are
    carried over in one transaction, column by column where the name and type are unchanged; a column
    the new layout adds starts null. Landing tables hold data as received, which can be fetched again:
    a table whose rows cannot move as they are (a new NOT NULL column) is recreated empty. Returns the
    tables that did not keep everything (recreated empty, or a column renamed, retyped or dropped), so
    the caller can say so.
    """
    with duckdb.connect(":memory:") as scratch:
        scratch.execute(ddl)
        expected = _layouts(scratch)
    current = _layouts(con)
    changed = {name: (current[name], expected[name]) for name, layout in expected.items()
               if name in current and current[name] != layout}
    if not changed:
        con.execute(ddl)
        return []
    try:
        with transaction(con):
            _migrate(con, ddl, changed)
    except duckdb.ConstraintException:  # a new NOT NULL column: the old rows cannot be kept
        with transaction(con):
            for name in changed:
                con.execute(f"drop table {name}")
            con.execute(ddl)
        return sorted(changed)
    return sorted(name for name, (old, new) in changed.items() if not set(old) <= set(new))


def _migrate(con: duckdb.DuckDBPyConnection, ddl: str,
             layouts: dict[str, tuple[list[tuple[str, str]], list[tuple[str, str]]]]) -> None:
    """Each table in ``layouts`` (name: (current layout, new layout)) rebuilt from ``ddl`` with its rows:
    the columns whose name and type are unchanged."""
    previous = {name: f"{name.split('.')[-1]}__previous_layout" for name in layouts}
    for name, old_name in previous.items():
        con.execute(f"alter table {name} rename to {old_name}")
    con.execute(ddl)
    for name, (old_layout, new_layout) in layouts.items():
        kept = [column for column, data_type in new_layout if (column, data_type) in set(old_layout)]
        schema = name.split(".")[0]
        if kept:
            columns = ", ".join(f'"{column}"' for column in kept)
            con.execute(f"insert into {name} ({columns}) select {columns} from {schema}.{previous[name]}")
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


def table_shapes(con: duckdb.DuckDBPyConnection,
                 relations: list[tuple[str, str]]) -> dict[tuple[str, str], tuple[int, list[tuple[str, str]]]]:
    """Row count and columns (name, type, in order) of each ``(schema, name)`` table or view that exists.

    Views are counted too: DuckDB prunes a view's columns for ``count(*)``, and the pipeline's views are
    thin staging selects."""
    wanted = set(relations)
    columns: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for schema, name, column, data_type in con.execute(
        "select schema_name, table_name, column_name, data_type from duckdb_columns() "
        "where database_name = current_database() and list_contains(?, schema_name) "
        "order by schema_name, table_name, column_index",
        [sorted({schema for schema, _ in wanted})],
    ).fetchall():
        if (schema, name) in wanted:
            columns.setdefault((schema, name), []).append((column, data_type))
    return {relation: (con.execute(f'select count(*) from "{relation[0]}"."{relation[1]}"').fetchone()[0], cols)
            for relation, cols in columns.items()}
