"""The report site, rebuilt from the published file after each publication (``ingestion/report/``).

Downstream of ``published_marts`` and off the blocking path: it reads only the file that was just
published, and a report that cannot be built is a warning (an asset observation and a log line, the
previous site kept), never a failed run and never a change to the published file. The report's
libraries (Altair, vl-convert) are imported when the asset runs, not when the code location loads.
"""

from collections.abc import Iterator
from pathlib import Path

import dagster as dg

from ingestion.config import PROJECT_ROOT
from orchestration.assets.catalog import OWNERS, asset_tags
from orchestration.resources import PUBLISHED_KEY, BuildSettingsResource, ReportResource, WarehouseResource

REPORT_KEY = dg.AssetKey(["report_site"])


@dg.asset(
    key=REPORT_KEY,
    deps=[PUBLISHED_KEY],
    group_name="publication",
    kinds={"html"},
    owners=OWNERS,
    tags=asset_tags(REPORT_KEY, "publication"),
    output_required=False,
    description="The static report site (index, one page per indicator and per country, SVG charts, CSV "
                "downloads) built from the published file only. A failure is a warning: publication stands.",
)
def report_site(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                build_settings: BuildSettingsResource, report: ReportResource) -> Iterator[dg.MaterializeResult]:
    try:
        from ingestion.report.site import ReportInputs, build_site

        result = build_site(ReportInputs(
            published_path=Path(warehouse.published_path), out_dir=Path(report.out_dir),
            min_cell_size=build_settings.min_cell_size, partner_contracts=Path(report.partner_contracts),
            kobo_contracts=Path(report.kobo_contracts), project_root=PROJECT_ROOT,
            national_contracts=Path(report.national_contracts) if report.national_contracts else None))
    except Exception as error:  # the report never fails the run: publication already happened
        message = f"{type(error).__name__}: {error}"
        context.log.warning(f"report site not built (the published file is unaffected; the previous site, "
                            f"if any, is kept): {message}")
        context.log_event(dg.AssetObservation(asset_key=REPORT_KEY, metadata={
            "status": "failed", "error": message[:2000], "path": dg.MetadataValue.path(report.out_dir)}))
        return
    context.log.info(f"report site: {result.path} ({result.pages} pages, {result.charts} charts, {result.seconds} s)")
    yield dg.MaterializeResult(metadata={
        "path": dg.MetadataValue.path(str(result.path)),
        "pages": result.pages,
        "charts": result.charts,
        "build_seconds": result.seconds,
    })
