"""Great Expectations suites as blocking Dagster asset checks."""


import dagster as dg
from pydantic import PrivateAttr

from expectations.runner import SuiteResult, Validator
from expectations.suites import fct_indicator_observations as fct_suite
from orchestration.resources import WarehouseResource

FCT_INDICATOR_OBSERVATIONS = dg.AssetKey(["marts", "fct_indicator_observations"])


class GreatExpectationsResource(dg.ConfigurableResource):
    """One ephemeral GX context per process, created on first use (not at Definitions load)."""

    _validator: Validator | None = PrivateAttr(default=None)

    @property
    def validator(self) -> Validator:
        if self._validator is None:
            self._validator = Validator()
        return self._validator


def _check_result(result: SuiteResult) -> dg.AssetCheckResult:
    failures = result.blocking_failures + result.warnings
    return dg.AssetCheckResult(
        passed=result.passed,
        severity=dg.AssetCheckSeverity.ERROR if result.blocking_failures else dg.AssetCheckSeverity.WARN,
        description="; ".join(result.summary_lines())[:2000] or f"all {len(result.outcomes)} expectations met",
        metadata={
            "rows_validated": result.rows,
            "expectations": len(result.outcomes),
            "blocking_failures": len(result.blocking_failures),
            "warnings": len(result.warnings),
            "failing_expectations": dg.MetadataValue.json([
                {"expectation": o.expectation, "severity": o.severity, "unexpected_count": o.unexpected_count,
                 "sample": o.unexpected_sample, "error": o.error}
                for o in failures
            ]),
        },
    )


@dg.asset_check(asset=FCT_INDICATOR_OBSERVATIONS, blocking=True,
                description=f"Great Expectations suite for {fct_suite.TABLE}: grain, codes, ranges by unit, lineage.")
def fct_indicator_observations_suite(warehouse: WarehouseResource, great_expectations: GreatExpectationsResource):
    with warehouse.connection(read_only=True) as con:
        frame = con.execute(f"select * from {fct_suite.TABLE}").df()
    return _check_result(great_expectations.validator.validate(fct_suite.TABLE, fct_suite.expectations(), frame))
