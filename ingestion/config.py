"""Every setting the pipeline reads from the environment, in one place, parsed once.

Dagster resources, the run summary and dbt's ``profiles.yml`` all take their paths from
these variables, so they always agree on which DuckDB file they mean. Relative paths
are resolved against the repository root (not the current directory), which is also
how ``dbt_project/profiles.yml`` resolves them.

``Settings`` is a pydantic-settings model: each field is read from the variable of the same
name in upper case (``SDG_API_REPLAY_DIR`` for ``sdg_replay_dir``); an empty variable counts
as unset. The secrets (``KOBO_TOKEN``, ``PII_SALT``) are ``SecretStr``: repr, str and logs
show ``**********``, and only ``get_secret_value()`` gives the value.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict
from pydantic_settings.sources.utils import parse_env_vars

from ingestion import canonical

PROJECT_ROOT = Path(__file__).resolve().parent.parent

DEFAULT_SDG_API_BASE_URL = "https://unstats.un.org/sdgapi"
DEFAULT_SDG_REPLAY_DIR = "data/sdg_api/snapshot"
DEFAULT_SDG_SERIES_FILE = "data/sdg_api/default_series.csv"

SdgApiMode = Literal["live", "replay"]
SECRET_VARIABLES = ("KOBO_TOKEN", "PII_SALT")


class ConfigError(ValueError):
    """A setting has a value the pipeline cannot use; the message names the variable."""


class BuildSettings(Protocol):
    """The settings that change what dbt, the gate or publication make of the same landing tables."""

    min_cell_size: int
    row_count_change_warn: float


class _Error(ValueError):
    """A validator's complete message (``load_settings`` re-raises it as ``ConfigError``)."""


def _path(default: str):
    return Field(default=default, validate_default=True)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        frozen=True, case_sensitive=False, env_ignore_empty=True, extra="ignore",
        # Lists are comma-separated, not JSON: validators below parse them.
        enable_decoding=False,
    )

    warehouse_path: Path = _path("warehouse/warehouse.duckdb")
    published_path: Path = _path("warehouse/published.duckdb")
    sdg_api_mode: SdgApiMode = Field(default="live", validate_default=True)
    sdg_api_base_url: str = Field(default=DEFAULT_SDG_API_BASE_URL, validate_default=True)
    sdg_replay_dir: Path = Field(default=DEFAULT_SDG_REPLAY_DIR, validate_default=True,
                                 validation_alias=AliasChoices("sdg_api_replay_dir", "sdg_replay_dir"))
    # None means "the curated default list" (resolved by ingestion.sdg_api.series).
    sdg_series: tuple[str, ...] | None = None
    # None means every area the API lists.
    sdg_areas: tuple[int, ...] | None = None
    # Series landed per Dagster run: a run costs about a second of its own, most series far less.
    sdg_series_per_run: int = 100
    partner_inbox: Path = _path("data/inbox")
    partner_contracts: Path = _path("contracts/partners")
    kobo_contracts: Path = _path("contracts/kobo")
    reports_dir: Path = _path("reports")
    kobo_server_url: str | None = None
    kobo_asset_uids: tuple[str, ...] = ()
    # The default is the canonical model's (dbt_project.yml vars), so dbt and Python agree without MIN_CELL_SIZE.
    min_cell_size: int = Field(default_factory=lambda: canonical.load().default_min_cell_size)
    dagster_home: Path = _path(".dagster_home")
    # DuckDB memory limit for the pipeline's own connections (landing, publication): beyond it
    # DuckDB spills to disk instead of growing, so a large series cannot exhaust the machine.
    duckdb_memory_limit: str = Field(default="512MB", validate_default=True)
    # Quality gate: a table whose row count changed by more than this fraction since the last
    # publication gets a warning (never a block: a partner may legitimately double its data).
    row_count_change_warn: float = 0.5
    # Where the UI's code references point: the local files (unset), or this repository's web pages at a branch.
    code_references_git_url: str | None = None
    code_references_git_branch: str = "main"
    # Secrets: SecretStr, so they never reach a repr, a log line or the Dagster UI.
    kobo_token: SecretStr | None = None
    pii_salt: SecretStr | None = None

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource):
        # The environment only (`make` and orchestration/run.py read .env into it, the environment winning).
        return (init_settings, env_settings)

    @field_validator("warehouse_path", "published_path", "sdg_replay_dir", "partner_inbox", "partner_contracts",
                     "kobo_contracts", "reports_dir", "dagster_home", mode="before")
    @classmethod
    def _resolve(cls, value: Any) -> Path:
        path = Path(str(value).strip()).expanduser()
        return path if path.is_absolute() else PROJECT_ROOT / path

    @field_validator("sdg_api_mode", mode="before")
    @classmethod
    def _mode(cls, value: Any) -> str:
        mode = str(value).strip().lower()
        if mode not in ("live", "replay"):
            raise _Error(f"SDG_API_MODE must be 'live' or 'replay'; got {mode!r}")
        return mode

    @field_validator("sdg_api_base_url", mode="before")
    @classmethod
    def _base_url(cls, value: Any) -> str:
        return str(value).strip().rstrip("/")

    @field_validator("sdg_series", "kobo_asset_uids", mode="before")
    @classmethod
    def _csv(cls, value: Any) -> tuple[str, ...] | None:
        # As written: the API's codes are case-sensitive, and not all upper case (IT_USE_ii99).
        return _items(value)

    @field_validator("sdg_areas", mode="before")
    @classmethod
    def _areas(cls, value: Any) -> tuple[int, ...] | None:
        items = _items(value)
        if items is None:
            return None
        try:
            return tuple(int(item) for item in items)
        except ValueError:
            raise _Error(f"SDG_AREAS must be 'all' or comma-separated M49 codes such as '4,8,12'; "
                         f"got {value!r}") from None

    @field_validator("sdg_series_per_run", "min_cell_size", mode="before")
    @classmethod
    def _positive_int(cls, value: Any, info) -> int:
        name = info.field_name.upper()
        try:
            number = int(str(value).strip())
        except ValueError:
            raise _Error(f"{name} must be a whole number; got {value!r}") from None
        if number < 1:
            raise _Error(f"{name} must be at least 1; got {number}")
        return number

    @field_validator("duckdb_memory_limit", mode="before")
    @classmethod
    def _memory(cls, value: Any) -> str:
        raw = str(value).strip()
        if not re.fullmatch(r"\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)", raw, flags=re.IGNORECASE):
            raise _Error(f"DUCKDB_MEMORY_LIMIT must be a size such as '512MB' or '2GB'; got {raw!r}")
        return raw

    @field_validator("row_count_change_warn", mode="before")
    @classmethod
    def _fraction(cls, value: Any) -> float:
        raw = str(value).strip()
        try:
            number = float(raw)
        except ValueError:
            raise _Error(f"ROW_COUNT_CHANGE_WARN must be a fraction such as 0.5 (50%); got {raw!r}") from None
        if not math.isfinite(number) or number < 0:
            raise _Error(f"ROW_COUNT_CHANGE_WARN must be 0 or more; got {raw!r}")
        return number


def _items(value: Any) -> tuple[str, ...] | None:
    if value is None or isinstance(value, tuple):
        return value
    raw = str(value).strip()
    if not raw or raw.lower() == "all":
        return None
    return tuple(item.strip() for item in raw.split(",") if item.strip()) or None


class _Environment(EnvSettingsSource):
    """Variables from a given mapping (``os.environ``, or a test's dict) rather than always ``os.environ``."""

    def __init__(self, settings_cls: type[BaseSettings], env: Mapping[str, str]):
        self._env = env
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return parse_env_vars(self._env, self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str)


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read the settings from ``env`` (default: the process environment); ``ConfigError`` names a bad variable."""
    env = os.environ if env is None else env
    try:
        return Settings(_build_sources=((_Environment(Settings, env),), {}))
    except ValidationError as exc:
        raise ConfigError("; ".join(_message(error) for error in exc.errors())) from None


def _message(error: dict) -> str:
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, _Error):
        return str(cause)
    # Not one of the validators' messages (a type pydantic checks itself): name the variable.
    name = str(error["loc"][0]).upper() if error.get("loc") else "a setting"
    shown = "" if name in SECRET_VARIABLES else f"; got {error.get('input')!r}"
    return f"{name}: {error['msg']}{shown}"
