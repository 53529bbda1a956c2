"""Great Expectations suites as blocking Dagster asset checks: one check per module in expectations/suites/.

Each check reads its table from the warehouse (read-only, in chunks of DataFrames), validates it with
the suite, renders a GX Data Docs page and returns a result a data engineer can act on: every failing
expectation with its severity, count, rule, a sample of offending values and of the offending rows
(identified by grain or lineage), and a link to the Data Docs page. A ``critical`` failure is an
ERROR (blocks everything downstream, publication included); a ``warning`` is a WARN.
"""

from pathlib import Path
from typing import TYPE_CHECKING, Any

import dagster as dg
from pydantic import PrivateAttr

from expectations.registry import CHUNK_ROWS, Suite, discover, previous_row_counts, table_columns
from ingestion.fingerprint import build_fingerprint, recorded, suite_fingerprint, table_fingerprint
from ingestion.publish import last_publication
from orchestration.resources import WAREHOUSE_POOL, BuildSettingsResource, WarehouseResource

if TYPE_CHECKING:  # GX is imported by the first check that validates, not when the code location loads
    from expectations.runner import SuiteResult, Validator

DESCRIPTION_CHARS = 2000


class GreatExpectationsResource(dg.ConfigurableResource):
    """One ephemeral GX context per process, created on first use (not at Definitions load).

    ``data_docs_dir``: where GX Data Docs are built (``<REPORTS_DIR>/data_docs``).
    ``chunk_rows``: the most rows held in one DataFrame.
    """

    data_docs_dir: str
    chunk_rows: int = CHUNK_ROWS

    _validator: Any = PrivateAttr(default=None)

    @property
    def docs_dir(self) -> Path:
        return Path(self.data_docs_dir)

    @property
    def validator(self) -> "Validator":
        if self._validator is None:
            from expectations.runner import Validator

            self._validator = Validator(data_docs_dir=self.docs_dir)
        return self._validator


def _failure_details(result: "SuiteResult") -> list[dict]:
    return [
        {"expectation": o.expectation, "severity": o.severity, "unexpected_count": o.unexpected_count,
         "rule": o.rule, "sample": o.unexpected_sample, "sample_rows": o.sample_rows, "observed": o.observed,
         "error": o.error}
        for o in result.blocking_failures + result.warnings
    ]


def check_result(result: "SuiteResult", suite: Suite | None = None, previous_rows: int | None = None,
                 docs_dir: Path | None = None) -> dg.AssetCheckResult:
    """A suite's result as a Dagster check result: ERROR when anything critical failed, WARN otherwise."""
    failing = result.blocking_failures + result.warnings
    lines = result.summary_lines()
    description = "; ".join(lines) if lines else f"all {len(result.outcomes)} expectations met on {result.rows} rows"
    if result.data_docs:
        description += f" (Data Docs: {result.data_docs})"
    metadata: dict = {
        "rows_validated": result.rows,
        "chunks": result.chunks,
        "expectations": len(result.outcomes),
        "blocking_failures": len(result.blocking_failures),
        "warnings": len(result.warnings),
        "failing_expectations": dg.MetadataValue.json(_failure_details(result)),
    }
    if suite is not None:
        metadata["table"] = suite.table
        metadata["suite"] = dg.MetadataValue.path(str(Path(suite.module.__file__)))
    if previous_rows is not None:
        metadata["rows_at_last_publication"] = previous_rows
    if result.data_docs:
        metadata["data_docs"] = dg.MetadataValue.url(result.data_docs)
    if docs_dir is not None:
        metadata["data_docs_index"] = dg.MetadataValue.path(str(docs_dir / "index.html"))
    return dg.AssetCheckResult(
        passed=not failing,
        severity=dg.AssetCheckSeverity.ERROR if result.blocking_failures else dg.AssetCheckSeverity.WARN,
        description=description[:DESCRIPTION_CHARS],
        metadata=metadata,
    )


def run_suite(suite: Suite, warehouse: WarehouseResource, great_expectations: GreatExpectationsResource,
              build_settings: BuildSettingsResource, run_id: str | None = None) -> dg.AssetCheckResult:
    previous = previous_row_counts(warehouse.published_path).get(suite.table)
    with warehouse.connection(read_only=True) as con:
        if not table_columns(con, suite.table):
            return dg.AssetCheckResult(
                passed=False, severity=dg.AssetCheckSeverity.ERROR,
                description=f"{suite.table} does not exist in the warehouse, so its suite could not run",
                metadata={"table": suite.table},
            )
        fingerprint = None
        if not suite.is_mart:  # a landing table: the gate validates it again only when it changed
            fingerprint = suite_fingerprint(suite.check_name, table_fingerprint(con, suite.table),
                                            build_fingerprint(build_settings))
            last = last_publication(Path(warehouse.published_path))
            if last is not None and (recorded(last.input_snapshot, "suites") or {}).get(suite.check_name) == fingerprint:
                return dg.AssetCheckResult(
                    passed=True,
                    description=f"{suite.table} unchanged since this suite passed on it for the publication of run "
                                f"{last.run_id} ({last.published_at}): not validated again",
                    metadata={"table": suite.table, "fingerprint": fingerprint, "validated": False,
                              "passed_for_publication_run": last.run_id},
                )
        expectations = suite.expectations(build_settings, previous_rows=previous)
        validator = great_expectations.validator
        result = validator.validate_table(
            con, suite.table, suite.table, expectations, chunk_rows=great_expectations.chunk_rows,
            chunk_key=suite.chunk_key, sample_columns=suite.sample_columns, show_values=suite.show_values,
            run_name=run_id,
        )
    checked = check_result(result, suite, previous, validator.data_docs_dir)
    if fingerprint is None:
        return checked
    return dg.AssetCheckResult(passed=checked.passed, severity=checked.severity, description=checked.description,
                               metadata={**checked.metadata, "fingerprint": fingerprint, "validated": True})


def build_suite_check(suite: Suite) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=dg.AssetKey(list(suite.asset_key)),
        name=suite.check_name,
        blocking=True,
        # DuckDB lets no process read a file another process is writing: queue with the writers.
        pool=WAREHOUSE_POOL,
        description=f"Great Expectations suite for {suite.table}: {suite.description}",
    )
    def _suite_check(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource,
                     great_expectations: GreatExpectationsResource,
                     build_settings: BuildSettingsResource) -> dg.AssetCheckResult:
        return run_suite(suite, warehouse, great_expectations, build_settings, run_id=context.run.run_id)

    return _suite_check


SUITES = discover()
SUITE_CHECKS: list[dg.AssetChecksDefinition] = [build_suite_check(suite) for suite in SUITES]
# The checks on landing tables run in main_job, before dbt, not in the partitioned landing jobs.
LANDING_SUITE_CHECK_KEYS = [
    dg.AssetCheckKey(dg.AssetKey(list(suite.asset_key)), suite.check_name) for suite in SUITES if not suite.is_mart
]

FCT_INDICATOR_OBSERVATIONS = dg.AssetKey(["marts", "fct_indicator_observations"])
fct_indicator_observations_suite = next(
    check for check, suite in zip(SUITE_CHECKS, SUITES) if suite.name == "fct_indicator_observations"
)
