"""Dagster resources, built once from ``ingestion.config.Settings`` when the code location loads.

Assets and checks take what they need from here and never read the environment themselves. The
secrets (``KOBO_TOKEN``, ``PII_SALT``) are ``dg.EnvVar``s: the code location and the UI only know the
variable's name, and the value is read from the run's environment when the run starts.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
from pydantic import Field

from ingestion.sdg_api.client import SdgApiClient, make_session
from ingestion.warehouse import connect

WAREHOUSE_POOL = "duckdb_warehouse"
# The asset that writes the analysts' file; the run summary and the alerts look for its materialization.
PUBLISHED_KEY = dg.AssetKey(["published_marts"])


def secret(name: str, value: object | None) -> dg.EnvVar | None:
    """The variable by name when it is set (its value is read at run time), else None (the feature is off)."""
    return dg.EnvVar(name) if value is not None else None


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
    """Where partner files arrive, where their contracts live, where their reports go; the salt that hashes
    respondent identifiers of KoBo export files (PII_SALT, a secret)."""

    inbox: str
    contracts: str
    reports: str
    pii_salt: str | None = Field(default=None, repr=False)
    # National Open SDG platforms (partitions national_<iso3> of the same asset): their contracts, and where
    # a site's files are fetched to.
    national_contracts: str = "contracts/national"
    national_cache: str = "warehouse/national"


class KoboApiResource(dg.ConfigurableResource):
    """The KoBoToolbox API v2 surveys to pull (KOBO_ASSET_UIDS), their contracts, and the secrets: the API
    token (KOBO_TOKEN) and the salt (PII_SALT). An empty ``asset_uids`` turns the API route off."""

    server_url: str | None = None
    token: str | None = Field(default=None, repr=False)
    asset_uids: list[str] = []
    contracts: str
    pii_salt: str | None = Field(default=None, repr=False)


class BuildSettingsResource(dg.ConfigurableResource):
    """The settings that change what dbt, the gate and publication make of the same landing tables
    (ingestion.config.BuildSettings): the small-cell threshold and the row-count warning."""

    min_cell_size: int
    row_count_change_warn: float


class ReportResource(dg.ConfigurableResource):
    """The report site (ingestion/report/): where it is written, and the contracts that name each source's
    licence and attribution."""

    out_dir: str
    partner_contracts: str
    kobo_contracts: str
    national_contracts: str | None = None
