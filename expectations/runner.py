"""A small Great Expectations 1.x runner: validate a pandas DataFrame read from DuckDB against a suite.

GX's SQL data source fails on DuckDB (MetricResolutionError through duckdb-engine), so tables are
read into DataFrames and validated with GX's pandas engine. Every expectation carries a severity:
``critical`` failures block publication, ``warning`` failures are reported.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

import great_expectations as gx  # noqa: E402
from great_expectations.expectations import Expectation  # noqa: E402

SAMPLE_SIZE = 10


@dataclass(frozen=True)
class ExpectationOutcome:
    expectation: str  # e.g. expect_column_values_to_be_between(value) [unit=="PT"]
    severity: str  # "critical" blocks publication; "warning" is reported
    success: bool
    unexpected_count: int | None
    unexpected_sample: list[Any] = field(default_factory=list)
    error: str | None = None  # set when the expectation itself could not run


@dataclass(frozen=True)
class SuiteResult:
    suite: str
    rows: int
    outcomes: list[ExpectationOutcome]

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
            detail = outcome.error or f"{outcome.unexpected_count} unexpected; e.g. {outcome.unexpected_sample[:3]}"
            lines.append(f"{label} {outcome.expectation}: {detail}")
        return lines


class Validator:
    """Holds one ephemeral GX context; cheap to reuse across suites within a process."""

    def __init__(self) -> None:
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

    def validate(self, suite_name: str, expectations: list[Expectation], frame: pd.DataFrame) -> SuiteResult:
        suite = gx.ExpectationSuite(name=suite_name, expectations=[e.copy() for e in expectations])
        batch = self._batch_definition.get_batch(batch_parameters={"dataframe": frame})
        result = batch.validate(suite, result_format={"result_format": "SUMMARY", "partial_unexpected_count": SAMPLE_SIZE})
        outcomes = [_outcome(r) for r in result.results]
        return SuiteResult(suite=suite_name, rows=len(frame), outcomes=outcomes)


def _outcome(result: Any) -> ExpectationOutcome:
    config = result.expectation_config
    kwargs = config.kwargs
    target = kwargs.get("column") or ",".join(kwargs.get("column_list") or kwargs.get("column_set") or [])
    label = f"{config.type}({target})"
    condition = kwargs.get("row_condition")
    if isinstance(condition, dict):  # GX 1.x serializes pandas conditions as pass-through filters
        condition = condition.get("pass_through_filter") or str(condition)
    if condition:
        label += f" where {condition}"
    severity = getattr(config.severity, "value", str(config.severity or "critical")).lower()
    error = None
    info = result.exception_info or {}
    if info.get("raised_exception"):
        error = f"could not run: {info.get('exception_message')}"
    details = result.result or {}
    sample = [_jsonable(v) for v in (details.get("partial_unexpected_list") or [])[:SAMPLE_SIZE]]
    return ExpectationOutcome(
        expectation=label,
        severity=severity,
        success=bool(result.success),
        unexpected_count=details.get("unexpected_count"),
        unexpected_sample=sample,
        error=error,
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)
