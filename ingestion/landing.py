"""Every landing table, created in one call, so dbt always finds its sources.

dbt builds views on the raw tables; a source that has not delivered anything yet (no partner
file, no KoBo survey) must still exist as an empty table rather than fail the whole build.
"""

from __future__ import annotations

import duckdb

from ingestion import kobo, partners
from ingestion.sdg_api import land as sdg_land
from ingestion.sdg_api import metadata as sdg_metadata
from ingestion.warehouse import ensure_tables


def ensure_landing_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Create missing landing tables; returns tables recreated because their layout changed."""
    recreated = sdg_land.ensure_schema(con)
    recreated += ensure_tables(con, sdg_metadata.DDL)
    partners.ensure_schema(con)
    recreated += kobo.ensure_schema(con)
    return recreated
