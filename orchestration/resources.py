"""Dagster resources. Their values come from ``ingestion.config.Settings`` (the environment)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb

from ingestion.sdg_api.client import SdgApiClient, make_session
from ingestion.warehouse import connect

WAREHOUSE_POOL = "duckdb_warehouse"
# The asset that writes the analysts' file; the run summary and the alerts look for its materialization.
PUBLISHED_KEY = dg.AssetKey(["published_marts"])


class WarehouseResource(dg.ConfigurableResource):
    """The working DuckDB warehouse and the analysts' published file. Opens nothing until asked."""

    path: str
    published_path: str
    memory_limit: str = "512MB"

    @contextmanager
    def connection(self, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        with connect(Path(self.path), read_only=read_only, memory_limit=self.memory_limit) as con:
            yield con


class SdgApiResource(dg.ConfigurableResource):
    """The UN SDG API: `live` over the network or `replay` from the bundled snapshot."""

    mode: str
    base_url: str
    replay_dir: str

    def client(self) -> SdgApiClient:
        session = make_session(self.mode, self.base_url, Path(self.replay_dir))
        return SdgApiClient(self.base_url, session)


class PartnerInboxResource(dg.ConfigurableResource):
    """Where partner files arrive, where their contracts live, where their reports go."""

    inbox: str
    contracts: str
    reports: str
