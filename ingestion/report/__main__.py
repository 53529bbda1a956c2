"""``python -m ingestion.report`` (``make report``): rebuild the report site from the current published file."""

from __future__ import annotations

import sys

from ingestion.config import PROJECT_ROOT, load_settings
from ingestion.report.site import ReportInputs, build_site


def inputs_from_settings(settings) -> ReportInputs:
    return ReportInputs(published_path=settings.published_path, out_dir=settings.report_site_dir,
                        min_cell_size=settings.min_cell_size, partner_contracts=settings.partner_contracts,
                        kobo_contracts=settings.kobo_contracts, national_contracts=settings.national_contracts,
                        project_root=PROJECT_ROOT)


def main() -> int:
    result = build_site(inputs_from_settings(load_settings()))
    print(f"Report: {result.path} ({result.pages} pages, {result.charts} charts, {result.seconds} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
