"""The suite registry: every module in ``expectations/suites/`` is one table's suite.

A suite module (its file name is the suite's name; names starting with ``_`` are helpers) defines:

- ``TABLE``: the DuckDB table or view it validates, ``schema.name``;
- ``ASSET_KEY``: the Dagster asset it is a check on, e.g. ``("marts", "dim_indicators")``;
- ``expectations(settings) -> list``: the GX expectations, each with a ``severity`` (``critical``
  blocks publication, ``warning`` is reported);

and optionally ``CHUNK_KEY`` (columns whose uniqueness must hold across chunks when the table is
read in several DataFrames; default: none), ``SAMPLE_COLUMNS`` (columns that identify an offending
row in the check's metadata) and ``SHOW_VALUES = False`` (respondent-level tables: never copy
values into results, only ``SAMPLE_COLUMNS``).

Adding a table's suite is one new file: the Dagster check is built from it at load time.

Every suite also gets, from here, the row-count rule: a change of more than ``ROW_COUNT_CHANGE_WARN``
(a fraction, default 0.5) against the row count at the last publication is a warning.
"""

from __future__ import annotations

import importlib
import math
import pkgutil
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import duckdb
from expectations.gx import gxe

from ingestion.config import BuildSettings
from ingestion.publish import last_publication

SUITES_PACKAGE = "expectations.suites"
LANDING_COUNTS_KEY = "landing_row_counts"  # where publication records landing tables' row counts
CHUNK_ROWS = 2_000_000  # rows per DataFrame read from DuckDB by the runner


@dataclass(frozen=True)
class Suite:
    name: str  # the module's name; the Dagster check is "<name>_suite"
    table: str
    asset_key: tuple[str, ...]
    description: str
    chunk_key: tuple[str, ...]
    sample_columns: tuple[str, ...]
    show_values: bool
    module: ModuleType

    @property
    def check_name(self) -> str:
        return f"{self.name}_suite"

    @property
    def is_mart(self) -> bool:
        return self.table.startswith("marts.")

    def expectations(self, settings: BuildSettings, previous_rows: int | None = None) -> list[gxe.Expectation]:
        """The module's expectations, plus the row-count rule (ROW_COUNT_CHANGE_WARN) when a previous count is known."""
        expectations = list(self.module.expectations(settings))
        if previous_rows is not None:
            expectations.append(row_count_expectation(previous_rows, settings.row_count_change_warn))
        return expectations


def discover(package: str = SUITES_PACKAGE) -> list[Suite]:
    """Every suite module in ``package``, sorted by name."""
    root = importlib.import_module(package)
    suites = []
    for info in sorted(pkgutil.iter_modules(root.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package}.{info.name}")
        missing = [name for name in ("TABLE", "expectations") if not hasattr(module, name)]
        if missing:
            raise TypeError(f"{module.__name__} is in {package} but lacks {missing}: see expectations/registry.py")
        table = module.TABLE
        suites.append(Suite(
            name=info.name,
            table=table,
            asset_key=tuple(getattr(module, "ASSET_KEY", table.split("."))),
            description=((module.__doc__ or "").strip().splitlines() or [f"Rules for {table}"])[0],
            chunk_key=tuple(getattr(module, "CHUNK_KEY", ())),
            sample_columns=tuple(getattr(module, "SAMPLE_COLUMNS", ())),
            show_values=bool(getattr(module, "SHOW_VALUES", True)),
            module=module,
        ))
    tables = [s.table for s in suites]
    duplicated = sorted({t for t in tables if tables.count(t) > 1})
    if duplicated:
        raise ValueError(f"more than one suite for {duplicated}")
    return suites


def row_count_expectation(previous: int, bound: float) -> gxe.Expectation:
    """Warn when the table's row count moved more than ``bound`` (a fraction) from ``previous``."""
    return gxe.ExpectTableRowCountToBeBetween(
        min_value=math.floor(previous * (1 - bound)) if bound < 1 else 0,
        max_value=math.ceil(previous * (1 + bound)),
        severity="warning",
        meta={"rule": "row_count_change", "previous_rows": previous, "bound": bound},
    )


def previous_row_counts(published_path: Path | str) -> dict[str, int]:
    """Row count of every table at the last publication: marts from ``row_counts``, landing tables
    from ``input_snapshot.landing_row_counts``. Empty when nothing was published yet."""
    last = last_publication(Path(published_path))
    if last is None:
        return {}  # nothing published, or no log (an old or foreign file): no baseline to compare with
    counts: dict[str, Any] = dict(last.row_counts)
    counts.update(last.input_snapshot.get(LANDING_COUNTS_KEY) or {})
    return {table: int(rows) for table, rows in counts.items() if isinstance(rows, (int, float))}


def table_columns(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    """Column name -> DuckDB type of a table or view, in order; empty when it does not exist."""
    schema, name = table.split(".")
    rows = con.execute(
        "select column_name, data_type from duckdb_columns() where database_name = current_database() "
        "and schema_name = ? and table_name = ? order by column_index", [schema, name]
    ).fetchall()
    return dict(rows)
