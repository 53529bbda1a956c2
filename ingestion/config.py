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

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict
from pydantic_settings.sources.utils import parse_env_vars

from ingestion import canonical

PROJECT_ROOT = Path(__file__).resolve().parent.parent

DEFAULT_SDG_API_BASE_URL = "https://unstats.un.org/sdgapi"
DEFAULT_SDG_REPLAY_DIR = "data/sdg_api/snapshot"
DEFAULT_SDG_SERIES_FILE = "data/sdg_api/default_series.csv"

SdgApiMode = Literal["live", "replay"]
SECRET_VARIABLES = ("KOBO_TOKEN", "PII_SALT", "ALERT_SMTP_PASSWORD", "ALERT_WEBHOOK_URL")
SmtpSecurity = Literal["starttls", "ssl", "none"]
# The usual port of each SMTP security mode (submission, implicit TLS, plain relay).
SMTP_PORTS: dict[str, int] = {"starttls": 587, "ssl": 465, "none": 25}


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
    # National Open SDG platforms: one contract per country (ingestion/national); a site's files are fetched
    # into <warehouse folder>/national/<iso3>.
    national_contracts: Path = _path("contracts/national")
    kobo_contracts: Path = _path("contracts/kobo")
    reports_dir: Path = _path("reports")
    # The report site (ingestion/report/); unset: <REPORTS_DIR>/site.
    report_dir: Path | None = None
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
    # Alert notifications (ingestion.notify): e-mail is on when a host is set, the webhook when its URL is.
    alert_smtp_host: str | None = None
    alert_smtp_port: int | None = None  # unset: the usual port of alert_smtp_security
    alert_smtp_security: SmtpSecurity = Field(default="starttls", validate_default=True)
    alert_smtp_user: str | None = None
    alert_email_from: str | None = None  # unset: alert_smtp_user, when it is an address
    alert_email_to: tuple[str, ...] = ()
    # Secrets: SecretStr, so they never reach a repr, a log line or the Dagster UI. The path of a Slack/Teams
    # webhook URL is its credential.
    kobo_token: SecretStr | None = None
    pii_salt: SecretStr | None = None
    alert_smtp_password: SecretStr | None = None
    alert_webhook_url: SecretStr | None = None

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource):
        # The environment only (`make` and orchestration/run.py read .env into it, the environment winning).
        return (init_settings, env_settings)

    @field_validator("warehouse_path", "published_path", "sdg_replay_dir", "partner_inbox", "partner_contracts",
                     "national_contracts", "kobo_contracts", "reports_dir", "report_dir", "dagster_home", mode="before")
    @classmethod
    def _resolve(cls, value: Any) -> Path | None:
        if value is None:
            return None
        path = Path(str(value).strip()).expanduser()
        return path if path.is_absolute() else PROJECT_ROOT / path

    @field_validator("sdg_api_mode", mode="before")
    @classmethod
    def _mode(cls, value: Any) -> str:
        return _choice("SDG_API_MODE", value, ("live", "replay"))

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

    @field_validator("alert_smtp_security", mode="before")
    @classmethod
    def _smtp_security(cls, value: Any) -> str:
        return _choice("ALERT_SMTP_SECURITY", value, tuple(SMTP_PORTS))

    @field_validator("alert_smtp_port", mode="before")
    @classmethod
    def _port(cls, value: Any) -> int | None:
        if value is None:
            return None
        number = cls._positive_int(value, _Named("alert_smtp_port"))
        if number > 65535:
            raise _Error(f"ALERT_SMTP_PORT must be a port number (1-65535); got {number}")
        return number

    @field_validator("alert_email_to", "alert_email_from", mode="before")
    @classmethod
    def _addresses(cls, value: Any, info) -> Any:
        name = info.field_name.upper()
        addresses = _items(value) or ()
        for address in addresses:
            # A bare check, not RFC 5322: catch a missing '@' or a line break (header injection) early.
            if "@" not in address or any(c in address for c in "\r\n"):
                raise _Error(f"{name} must be comma-separated e-mail addresses; got {address!r}")
        if name == "ALERT_EMAIL_FROM":
            if len(addresses) > 1:
                raise _Error(f"ALERT_EMAIL_FROM must be one e-mail address; got {value!r}")
            return addresses[0] if addresses else None
        return addresses

    @field_validator("alert_webhook_url", mode="before")
    @classmethod
    def _webhook(cls, value: Any) -> Any:
        url = str(value or "").strip()
        if url and (not re.match(r"https?://[^/?#\s]+", url) or any(c.isspace() for c in url)):
            # The value is a secret: the message says what is wrong, never what it is.
            raise _Error("ALERT_WEBHOOK_URL must be an http(s) URL such as https://hooks.slack.com/services/...")
        return url or None

    @model_validator(mode="after")
    def _email(self) -> "Settings":
        """E-mail needs recipients and a sender once a host is set; without a host it is off, whatever else is."""
        if self.alert_smtp_host:
            if not self.alert_email_to:
                raise _Error("ALERT_EMAIL_TO must name at least one recipient when ALERT_SMTP_HOST is set")
            if self.email_sender is None:
                raise _Error("ALERT_EMAIL_FROM must be set when ALERT_SMTP_HOST is set "
                             "(or ALERT_SMTP_USER must be an e-mail address)")
        return self

    @property
    def report_site_dir(self) -> Path:
        """Where the report site is written: REPORT_DIR, else <REPORTS_DIR>/site."""
        return self.report_dir or self.reports_dir / "site"

    @property
    def smtp_port(self) -> int:
        return self.alert_smtp_port or SMTP_PORTS[self.alert_smtp_security]

    @property
    def email_sender(self) -> str | None:
        user = (self.alert_smtp_user or "").strip()
        return self.alert_email_from or (user if "@" in user else None)


class _Named:
    """What a field validator's ``info`` gives the shared integer check: the field's name."""

    def __init__(self, field_name: str) -> None:
        self.field_name = field_name


def _choice(name: str, value: Any, allowed: tuple[str, ...]) -> str:
    chosen = str(value).strip().lower()
    if chosen not in allowed:
        options = ", ".join(repr(a) for a in allowed[:-1]) + f" or {allowed[-1]!r}"
        raise _Error(f"{name} must be {options}; got {chosen!r}")
    return chosen


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
