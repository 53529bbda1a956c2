"""The inclusive data report: a static site built only from the published file (``PUBLISHED_PATH``).

``build_site`` writes ``REPORT_DIR/index.html`` and one page per indicator (and per country where the
indicator has several), with charts rendered to SVG at build time; ``python -m ingestion.report`` rebuilds
it from the current published file (``make report``). Plain Python: no Dagster.
"""
