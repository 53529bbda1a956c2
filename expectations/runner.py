"""A small Great Expectations 1.x runner: validate DuckDB tables, read as pandas DataFrames, against a suite.

GX's SQL data source fails on DuckDB (MetricResolutionError through duckdb-engine), so tables are
read into DataFrames and validated with GX's pandas engine. Every expectation carries a severity:
``critical`` failures block publication, ``warning`` failures are reported.

``Validator.validate_table`` splits a suite by what each expectation looks at:

- **schema** (``expect_table_columns_*``, and expectations marked ``meta={"scope": "schema"}``): run on
  a one-row frame whose columns are the table's columns and whose values are their DuckDB types, so a
  type is checked as DuckDB declares it, not as pandas happens to convert it;
- **table** (``expect_table_row_count_*``): run on a frame with the table's row count and no columns;
- **rows** (everything else): run on the columns they need only, read in chunks of at most
  ``chunk_rows`` rows. A table larger than one chunk is split by ``hash(chunk_key) % chunks``, so rows
  equal on the chunk key always meet in the same chunk and uniqueness of the chunk key stays exact.

Results of every chunk are merged into one outcome per expectation (counts summed, samples of the
offending rows kept), and optionally rendered as GX Data Docs (one page per suite and run).
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import shutil
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

import great_expectations as gx  # noqa: E402
from great_expectations.core.expectation_validation_result import (  # noqa: E402
    ExpectationSuiteValidationResult,
    ExpectationValidationResult,
)
from great_expectations.core.run_identifier import RunIdentifier  # noqa: E402
from great_expectations.data_context.types.resource_identifiers import (  # noqa: E402
    ExpectationSuiteIdentifier,
    ValidationResultIdentifier,
)
from great_expectations.execution_engine import pandas_execution_engine  # noqa: E402
from great_expectations.expectations import Expectation  # noqa: E402

from expectations.data_docs_cache import share_template_cache  # noqa: E402
from expectations.registry import CHUNK_ROWS, table_columns  # noqa: E402,F401 -- table_columns re-exported
from ingestion.sql import literal  # noqa: E402

# GX fingerprints every frame it is given (a full hash of its values) for batch markers this runner
# never reads; on large chunks that hash costs as much as the validation itself.
pandas_execution_engine.HASH_THRESHOLD = 0

SAMPLE_SIZE = 10  # offending values and rows kept per expectation
CATEGORY_MAX = 20_000  # VARCHAR columns with at most this many distinct values are read as categoricals
DATA_DOCS_SITE = "pipeline"
DATA_DOCS_RUNS_KEPT = 30  # validation pages kept per suite

SCHEMA, TABLE, ROWS = "schema", "table", "rows"
_SCHEMA_TYPES = {
    "expect_table_columns_to_match_set", "expect_table_columns_to_match_ordered_list",
    "expect_table_column_count_to_equal", "expect_table_column_count_to_be_between", "expect_column_to_exist",
}
_COLUMN_KWARGS = ("column", "column_A", "column_B")
_LIST_KWARGS = ("column_list",)
_RULE_KWARGS = ("value_set", "min_value", "max_value", "column_set", "type_", "regex", "mostly")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_POSITION = "suite_position"  # meta key matching GX results to expectations
_SUMMARY = {"result_format": "SUMMARY", "partial_unexpected_count": SAMPLE_SIZE}
_BASIC = {"result_format": "BASIC", "partial_unexpected_count": SAMPLE_SIZE}
_INTEGER_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER"}


@dataclass(frozen=True)
class ExpectationOutcome:
    expectation: str  # e.g. expect_column_values_to_be_between(value) where unit == "PT"
    severity: str  # "critical" blocks publication; "warning" is reported
    success: bool
    unexpected_count: int | None
    unexpected_sample: list[Any] = field(default_factory=list)  # offending values
    error: str | None = None  # set when the expectation itself could not run
    rule: str = ""  # what was expected, e.g. "min_value=0, max_value=100"
    element_count: int | None = None  # rows the expectation looked at (after its row condition)
    sample_rows: list[dict[str, Any]] = field(default_factory=list)  # offending rows, identifying columns
    observed: Any = None  # table-level observations, e.g. the row count


@dataclass(frozen=True)
class SuiteResult:
    suite: str
    rows: int
    outcomes: list[ExpectationOutcome]
    chunks: int = 1
    data_docs: str | None = None  # file:// URL of this validation's Data Docs page

    @property
    def blocking_failures(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if not o.success and o.severity == "critical"]

    @property
    def warnings(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if not o.success and o.severity != "critical"]

    @property
    def passed(self) -> bool:
        return not self.blocking_failures

    def summary_lines(self) -> list[str]:
        lines = []
        for outcome in self.blocking_failures + self.warnings:
            label = "ERROR" if outcome.severity == "critical" else "WARN"
            if outcome.error:
                detail = outcome.error
            elif outcome.unexpected_count is None:
                detail = f"observed {outcome.observed!r}, expected {outcome.rule}"
            else:
                examples = outcome.sample_rows[:3] or outcome.unexpected_sample[:3]
                detail = f"{outcome.unexpected_count} unexpected ({outcome.rule}); e.g. {examples}"
            lines.append(f"{label} {outcome.expectation}: {detail}")
        return lines


def scope_of(expectation: Expectation) -> str:
    """Which frame an expectation is evaluated on: ``schema``, ``table`` or ``rows``."""
    if (expectation.meta or {}).get("scope") == SCHEMA or expectation.expectation_type in _SCHEMA_TYPES:
        return SCHEMA
    if expectation.expectation_type.startswith("expect_table_row_count"):
        return TABLE
    return ROWS


class Validator:
    """Holds one ephemeral GX context; cheap to reuse across suites within a process.

    With ``data_docs_dir``, every ``validate_table`` also renders its result as a GX Data Docs page
    in that directory (``index.html`` lists them).
    """

    def __init__(self, data_docs_dir: Path | str | None = None) -> None:
        self._context = gx.get_context(mode="ephemeral")
        try:
            from great_expectations.data_context.types.base import ProgressBarsConfig

            self._context.variables.progress_bars = ProgressBarsConfig(globally=False)
        except Exception:  # progress bars are cosmetic; never fail a validation over them
            pass
        self._batch_definition = (
            self._context.data_sources.add_pandas("duckdb_frames")
            .add_dataframe_asset("frame")
            .add_batch_definition_whole_dataframe("whole_frame")
        )
        self.data_docs_dir = Path(data_docs_dir) if data_docs_dir else None
        if self.data_docs_dir is not None:
            share_template_cache()
            self._context.add_data_docs_site(
                site_name=DATA_DOCS_SITE,
                site_config={
                    "class_name": "SiteBuilder",
                    "store_backend": {"class_name": "TupleFilesystemStoreBackend",
                                      "base_directory": str(self.data_docs_dir)},
                    "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                },
            )

    # -- one DataFrame -------------------------------------------------------------------------

    def validate(self, suite_name: str, expectations: list[Expectation], frame: pd.DataFrame,
                 **options: Any) -> SuiteResult:
        """Validate an in-memory frame: it becomes a DuckDB table (types as DuckDB infers them from
        pandas) validated exactly as ``validate_table`` validates warehouse tables."""
        with duckdb.connect(":memory:") as con:
            con.register("_frame", frame)
            con.execute("create schema frames")
            con.execute("create table frames.frame as select * from _frame")
            con.unregister("_frame")
            return self.validate_table(con, "frames.frame", suite_name, expectations, **options)

    # -- a DuckDB table, chunked --------------------------------------------------------------

    def validate_table(
        self,
        con: duckdb.DuckDBPyConnection,
        table: str,
        suite_name: str,
        expectations: list[Expectation],
        *,
        chunk_rows: int = CHUNK_ROWS,
        chunk_key: Sequence[str] = (),
        sample_columns: Sequence[str] = (),
        show_values: bool = True,
        run_name: str | None = None,
    ) -> SuiteResult:
        """Validate the DuckDB table or view ``table`` (``schema.name``), reading it in chunks.

        ``sample_columns`` identify an offending row in the check's metadata (e.g. its grain or
        lineage). ``show_values=False`` keeps the offending values themselves out of the result
        (for respondent-level tables): only ``sample_columns`` are shown.
        """
        columns = table_columns(con, table)
        if not columns:
            raise LookupError(f"{table} does not exist in the warehouse")
        rows = con.execute(f"select count(*) from {table}").fetchone()[0]
        indexed = list(enumerate(expectations))
        by_scope: dict[str, list[tuple[int, Expectation]]] = {SCHEMA: [], TABLE: [], ROWS: []}
        for position, expectation in indexed:
            by_scope[scope_of(expectation)].append((position, expectation))
        outcomes: dict[int, ExpectationOutcome] = {}
        gx_results: dict[int, ExpectationValidationResult] = {}

        if by_scope[SCHEMA]:
            schema_frame = pd.DataFrame({name: [data_type] for name, data_type in columns.items()})
            batch = [e for _, e in by_scope[SCHEMA]]
            for (position, _), result in zip(by_scope[SCHEMA], self._run(suite_name, batch, schema_frame)):
                outcomes[position] = _combine([_partial(result, schema_frame, (), True)], suffix=" [column types]")
                gx_results[position] = result
        if by_scope[TABLE]:
            count_frame = pd.DataFrame(index=pd.RangeIndex(rows))  # no columns: costs no memory
            batch = [e for _, e in by_scope[TABLE]]
            for (position, _), result in zip(by_scope[TABLE], self._run(suite_name, batch, count_frame)):
                outcomes[position] = _combine([_partial(result, count_frame, (), True)])
                gx_results[position] = result
        chunks = 0
        if by_scope[ROWS]:
            batch = [e for _, e in by_scope[ROWS]]
            key = [c for c in chunk_key if c in columns]
            shown = [c for c in sample_columns if c in columns]
            needed = _needed_columns(batch, columns, [*key, *shown])
            select = _select_list(con, table, needed, columns, rows)
            integers = {c for c in needed if columns[c] in _INTEGER_TYPES}
            groups = _groups(batch, columns)
            partials: list[list[_Partial]] = [[] for _ in batch]
            first_results: list[ExpectationValidationResult | None] = [None for _ in batch]
            for frame in _chunks(con, table, select, rows, chunk_rows, key):
                chunks += 1
                for members, group_columns in groups:
                    view = frame[group_columns]
                    group = [batch[i] for i in members]
                    # Counts and values for all (BASIC); the offending rows' positions (SUMMARY, which
                    # costs GX a copy of the index per expectation) only for those that failed.
                    results = self._run(suite_name, group, view, _BASIC)
                    failed = [k for k, result in enumerate(results) if not result.success]
                    if failed:
                        detailed = self._run(suite_name, [group[k] for k in failed], view)
                        for k, result in zip(failed, detailed):
                            results[k] = result
                    for i, result in zip(members, results):
                        sampled = sum(len(p.rows) for p in partials[i])
                        partials[i].append(_partial(result, frame, shown, show_values, SAMPLE_SIZE - sampled,
                                                    integers))
                        first_results[i] = first_results[i] or result
                    del view
                del frame  # one chunk in memory at a time
            for i, (position, _) in enumerate(by_scope[ROWS]):
                outcomes[position] = _combine(partials[i])
                gx_results[position] = _merged_gx_result(first_results[i], outcomes[position], chunks, show_values)
        ordered = [outcomes[position] for position, _ in indexed]
        docs = None
        if self.data_docs_dir is not None:
            docs = self._render(suite_name, expectations, [gx_results[p] for p, _ in indexed], run_name, table, rows)
        return SuiteResult(suite=suite_name, rows=rows, outcomes=ordered, chunks=max(chunks, 1), data_docs=docs)

    # -- internals -------------------------------------------------------------------------------

    def _run(self, suite_name: str, expectations: list[Expectation], frame: pd.DataFrame,
             result_format: dict[str, Any] | None = None) -> list[ExpectationValidationResult]:
        """GX results in the order of ``expectations`` (GX itself returns them grouped its own way)."""
        copies = []
        for position, expectation in enumerate(expectations):
            copy = expectation.copy()
            copy.meta = {**(copy.meta or {}), _POSITION: position}
            copies.append(copy)
        suite = gx.ExpectationSuite(name=suite_name, expectations=copies)
        batch = self._batch_definition.get_batch(batch_parameters={"dataframe": frame})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pandas deprecation chatter from inside GX
            result = batch.validate(suite, result_format=result_format or _SUMMARY)
        ordered = sorted(result.results, key=lambda r: r.expectation_config.meta[_POSITION])
        if [r.expectation_config.meta[_POSITION] for r in ordered] != list(range(len(expectations))):
            raise RuntimeError(f"GX returned {len(ordered)} results for {len(expectations)} expectations")
        return ordered

    def _render(self, suite_name: str, expectations: list[Expectation], results: list[ExpectationValidationResult],
                run_name: str | None, table: str, rows: int) -> str | None:
        """One Data Docs page for this validation (all chunks merged), plus the suite's page and the index."""
        suite = gx.ExpectationSuite(name=suite_name, expectations=[e.copy() for e in expectations])
        self._context.suites.add_or_update(suite)
        run_time = dt.datetime.now(dt.timezone.utc)
        key = ValidationResultIdentifier(
            expectation_suite_identifier=ExpectationSuiteIdentifier(name=suite_name),
            run_id=RunIdentifier(run_name=run_name or "adhoc", run_time=run_time),
            batch_identifier=table.replace(".", "__"),
        )
        evaluated = len(results)
        successful = sum(bool(r.success) for r in results)
        validation = ExpectationSuiteValidationResult(
            success=all(r.success or _severity(r) != "critical" for r in results),
            results=results,
            suite_name=suite_name,
            statistics={"evaluated_expectations": evaluated, "successful_expectations": successful,
                        "unsuccessful_expectations": evaluated - successful,
                        "success_percent": 100.0 * successful / evaluated if evaluated else None},
            meta={"great_expectations_version": gx.__version__, "run_id": key.run_id,
                  "active_batch_definition": {"datasource_name": "duckdb", "data_connector_name": "chunked_reader",
                                              "data_asset_name": table, "batch_identifiers": {"rows": rows}}},
        )
        self._context.validation_results_store.set(key, validation)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._context.build_data_docs(site_names=[DATA_DOCS_SITE],
                                          resource_identifiers=[key, ExpectationSuiteIdentifier(name=suite_name)])
        _prune_data_docs(self.data_docs_dir, suite_name)
        urls = self._context.get_docs_sites_urls(resource_identifier=key, site_name=DATA_DOCS_SITE)
        return urls[0]["site_url"] if urls else None


def _needed_columns(expectations: list[Expectation], columns: dict[str, str], extra: list[str]) -> list[str]:
    needed: list[str] = []
    for expectation in expectations:
        kwargs = expectation.configuration.kwargs
        names = [kwargs.get(k) for k in _COLUMN_KWARGS] + [c for k in _LIST_KWARGS for c in (kwargs.get(k) or [])]
        condition = _condition_text(kwargs.get("row_condition"))
        if condition:
            names += [token for token in _IDENTIFIER.findall(condition) if token in columns]
        needed += [name for name in names if name]
    needed += extra
    # A column an expectation names but the table lacks is not read: GX then reports it missing.
    return [c for c in dict.fromkeys(needed) if c in columns]


def _groups(expectations: list[Expectation], columns: dict[str, str]) -> list[tuple[list[int], list[str]]]:
    """Expectations grouped by the columns they read; each group runs on just those columns of the
    chunk (a cheap copy-on-write selection). GX filters or copies the whole frame it is given for
    each expectation (nulls dropped, row condition applied), so narrow frames make that cheap."""
    by_columns: dict[tuple[str, ...], list[int]] = {}
    for i, expectation in enumerate(expectations):
        by_columns.setdefault(tuple(_needed_columns([expectation], columns, [])), []).append(i)
    return [(members, list(needed)) for needed, members in by_columns.items()]


def _select_list(con: duckdb.DuckDBPyConnection, table: str, needed: list[str], columns: dict[str, str],
                 rows: int) -> str:
    """The columns to read; low-cardinality VARCHARs as (anonymous) ENUMs, which reach pandas as
    categoricals: a fraction of the memory and time of one Python string per value."""
    if not needed:
        return "1 as _row"
    expressions = {c: f'"{c}"' for c in needed}
    # GX compares ranges vectorized only on int64/float64 columns (anything else goes value by value
    # through Python): integers are read as BIGINT, or as DOUBLE (NaN for null) where nulls occur.
    integers = [c for c in needed if columns[c] in _INTEGER_TYPES]
    if integers:
        nulls = con.execute(
            "select " + ", ".join(f'count(*) filter (where "{c}" is null)' for c in integers) + f" from {table}"
        ).fetchone()
        for column, null_count in zip(integers, nulls):
            expressions[column] = f'"{column}"::{"double" if null_count else "bigint"} as "{column}"'
    varchars = [c for c in needed if columns[c] == "VARCHAR"]
    if varchars and rows > CATEGORY_MAX:
        # Estimated on a sample of whole vectors (cheap); the full distinct lists below are exact.
        sample = " using sample 5% (system)" if rows > 1_000_000 else ""
        estimates = con.execute(
            "select " + ", ".join(f'approx_count_distinct("{c}")' for c in varchars) + f" from {table}{sample}"
        ).fetchone()
        low = [c for c, estimate in zip(varchars, estimates) if estimate <= CATEGORY_MAX // 4]
        if low:
            values = con.execute(
                "select " + ", ".join(f'list(distinct "{c}") filter (where "{c}" is not null)' for c in low)
                + f" from {table}"
            ).fetchone()
            for column, distinct in zip(low, values):
                if distinct and len(distinct) <= CATEGORY_MAX:
                    labels = ", ".join(literal(v) for v in sorted(distinct))
                    expressions[column] = f'cast("{column}" as enum({labels})) as "{column}"'
    return ", ".join(expressions[c] for c in needed)


def _chunks(con: duckdb.DuckDBPyConnection, table: str, select: str, rows: int, chunk_rows: int,
            key: list[str]) -> Iterator[pd.DataFrame]:
    if rows <= chunk_rows:
        yield con.execute(f"select {select} from {table}").df()
        return
    count = math.ceil(rows / chunk_rows)
    if key:
        # Rows equal on the key share a bucket, so a key's duplicates are always seen together.
        bucket = f"hash({', '.join(chr(34) + c + chr(34) for c in key)}) % {count}"
        for index in range(count):
            yield con.execute(f"select {select} from {table} where {bucket} = {index}").df()
        return
    cursor = con.execute(f"select {select} from {table}")
    vectors = max(1, chunk_rows // 2048)
    while True:
        frame = cursor.fetch_df_chunk(vectors)
        if frame.empty:
            return
        yield frame


def _severity(result: ExpectationValidationResult) -> str:
    severity = result.expectation_config.severity
    return getattr(severity, "value", str(severity or "critical")).lower()


def _label(config: Any, suffix: str = "") -> str:
    kwargs = config.kwargs
    target = kwargs.get("column") or ",".join(kwargs.get("column_list") or kwargs.get("column_set") or [])
    if kwargs.get("column_A"):
        target = f"{kwargs['column_A']},{kwargs['column_B']}"
    label = f"{config.type}({target})"
    condition = _condition_text(kwargs.get("row_condition"))
    if condition:
        label += f" where {condition}"
    return label + suffix


def _condition_text(condition: Any) -> str | None:
    if isinstance(condition, dict):  # GX 1.x serializes pandas conditions as pass-through filters
        return condition.get("pass_through_filter") or str(condition)
    return condition or None


def _exception_message(info: Any) -> str | None:
    """The first exception GX caught, whether reported flat or per metric."""
    if not isinstance(info, dict):
        return None
    if "raised_exception" in info:
        return (info.get("exception_message") or "unknown error") if info.get("raised_exception") else None
    for nested in info.values():
        message = _exception_message(nested)
        if message:
            return message
    return None


def _rule(config: Any) -> str:
    parts = []
    for name in _RULE_KWARGS:
        value = config.kwargs.get(name)
        if value is None or (name == "mostly" and value == 1):
            continue
        if isinstance(value, (list, tuple, set)) and len(value) > 12:
            value = f"{sorted(map(str, value))[:12]}... ({len(value)} values)"
        parts.append(f"{name}={value}")
    if config.type.endswith("_to_be_unique") or "unique" in config.type:
        parts.append("each value once")
    if config.type.endswith("_to_not_be_null"):
        parts.append("not null")
    if config.type.endswith("_to_be_null"):
        parts.append("null")
    return ", ".join(parts)


@dataclass
class _Partial:
    """What one expectation found in one chunk."""

    config: Any
    severity: str
    success: bool
    unexpected_count: int | None
    element_count: int | None
    values: list[Any]
    rows: list[dict[str, Any]]
    error: str | None
    observed: Any


def _partial(result: ExpectationValidationResult, frame: pd.DataFrame, sample_columns: Sequence[str],
             show_values: bool, room: int = SAMPLE_SIZE, integers: set[str] = frozenset()) -> _Partial:
    details = result.result or {}
    message = _exception_message(result.exception_info)
    error = f"could not run: {message}" if message else None
    values: list[Any] = []
    rows: list[dict[str, Any]] = []
    if not result.success:
        if show_values:
            integral = result.expectation_config.kwargs.get("column") in integers
            values = [_jsonable(v, integral) for v in (details.get("partial_unexpected_list") or [])][:SAMPLE_SIZE]
        indices = details.get("partial_unexpected_index_list") or []
        if indices and room > 0:
            rows = _sample_rows(frame, indices[:room], result.expectation_config, sample_columns, show_values,
                                integers)
    return _Partial(
        config=result.expectation_config, severity=_severity(result), success=bool(result.success) and error is None,
        unexpected_count=details.get("unexpected_count"), element_count=details.get("element_count"),
        values=values, rows=rows, error=error, observed=details.get("observed_value"),
    )


def _combine(partials: list[_Partial], suffix: str = "") -> ExpectationOutcome:
    """One outcome from what one expectation found in every chunk."""
    first = partials[0]
    counts = [p.unexpected_count for p in partials]
    elements = [p.element_count for p in partials]
    observed = first.observed
    return ExpectationOutcome(
        expectation=_label(first.config, suffix),
        severity=first.severity,
        success=all(p.success for p in partials),
        unexpected_count=sum(counts) if all(c is not None for c in counts) else None,
        unexpected_sample=[v for p in partials for v in p.values][:SAMPLE_SIZE],
        error=next((p.error for p in partials if p.error), None),
        rule=_rule(first.config),
        element_count=sum(elements) if all(e is not None for e in elements) else None,
        sample_rows=[r for p in partials for r in p.rows][:SAMPLE_SIZE],
        observed=_jsonable(observed),
    )


def _sample_rows(frame: pd.DataFrame, indices: list[Any], config: Any, sample_columns: Sequence[str],
                 show_values: bool, integers: set[str] = frozenset()) -> list[dict[str, Any]]:
    kwargs = config.kwargs
    own = [kwargs.get(k) for k in _COLUMN_KWARGS] + list(kwargs.get("column_list") or [])
    columns = list(dict.fromkeys([*sample_columns, *([c for c in own if c] if show_values else [])]))
    columns = [c for c in columns if c in frame.columns]
    if not columns:
        return []
    picked = frame.loc[[i for i in indices if i in frame.index], columns]
    return [{k: _jsonable(v, k in integers) for k, v in row.items()} for row in picked.to_dict(orient="records")]


def _merged_gx_result(first: ExpectationValidationResult, outcome: ExpectationOutcome, chunks: int,
                      show_values: bool) -> ExpectationValidationResult:
    """One GX result for Data Docs from every chunk's result of one expectation."""
    if chunks == 1 and show_values:
        return first
    details = dict(first.result or {})
    for name in ("partial_unexpected_index_list", "partial_unexpected_counts", "unexpected_percent_total",
                 "unexpected_percent_nonmissing", "missing_percent", "missing_count"):
        details.pop(name, None)
    details.update({"unexpected_count": outcome.unexpected_count, "element_count": outcome.element_count,
                    "partial_unexpected_list": outcome.unexpected_sample if show_values else []})
    if outcome.element_count and outcome.unexpected_count is not None:
        details["unexpected_percent"] = 100.0 * outcome.unexpected_count / outcome.element_count
    exception = {"raised_exception": bool(outcome.error), "exception_message": outcome.error,
                 "exception_traceback": None}
    return ExpectationValidationResult(success=outcome.success, expectation_config=first.expectation_config,
                                       result=details, exception_info=exception)


def _prune_data_docs(directory: Path | None, suite_name: str) -> None:
    """Keep the newest ``DATA_DOCS_RUNS_KEPT`` validation pages of a suite."""
    if directory is None:
        return
    suite_dir = directory.joinpath("validations", *suite_name.split("."))
    if not suite_dir.is_dir():
        return
    runs = sorted((p for p in suite_dir.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime, reverse=True)
    for stale in runs[DATA_DOCS_RUNS_KEPT:]:
        shutil.rmtree(stale, ignore_errors=True)


def _jsonable(value: Any, integral: bool = False) -> Any:
    """A JSON-friendly copy of a value; ``integral``: an integer column read as DOUBLE (for NaN)."""
    if integral and isinstance(value, float) and value.is_integer():
        return int(value)
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, bool):
        return value
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            value = value.item()  # numpy scalars
        except (ValueError, AttributeError):
            pass
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return str(value)
