"""Every setting the pipeline reads from the environment, in one place.

Dagster resources, the run summary and dbt's ``profiles.yml`` all take their paths from
these variables, so they always agree on which DuckDB file they mean. Relative paths
are resolved against the repository root (not the current directory), which is also
how ``dbt_project/profiles.yml`` resolves them.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ingestion import canonical

PROJECT_ROOT = Path(__file__).resolve().parent.parent

DEFAULT_SDG_API_BASE_URL = "https://unstats.un.org/sdgapi"
DEFAULT_SDG_REPLAY_DIR = "data/sdg_api/snapshot"
DEFAULT_SDG_SERIES_FILE = "data/sdg_api/default_series.csv"

SdgApiMode = Literal["live", "replay"]
SmtpSecurity = Literal["starttls", "ssl", "none"]
# The usual port of each SMTP security mode (submission, implicit TLS, plain relay).
SMTP_PORTS: dict[str, int] = {"starttls": 587, "ssl": 465, "none": 25}


class ConfigError(ValueError):
    """A setting has a value the pipeline cannot use; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    warehouse_path: Path
    published_path: Path
    sdg_api_mode: SdgApiMode
    sdg_api_base_url: str
    sdg_replay_dir: Path
    # None means "the curated default list" (resolved by ingestion.sdg_api.series).
    sdg_series: tuple[str, ...] | None
    # None means every area the API lists.
    sdg_areas: tuple[int, ...] | None
    # Series landed per Dagster run: a run costs about a second of its own, most series far less.
    sdg_series_per_run: int
    partner_inbox: Path
    partner_contracts: Path
    kobo_contracts: Path
    reports_dir: Path
    kobo_server_url: str | None
    kobo_asset_uids: tuple[str, ...]
    min_cell_size: int
    dagster_home: Path
    # DuckDB memory limit for the pipeline's own connections (landing, publication): beyond it
    # DuckDB spills to disk instead of growing, so a large series cannot exhaust the machine.
    duckdb_memory_limit: str
    # Quality gate: a table whose row count changed by more than this fraction since the last
    # publication gets a warning (never a block: a partner may legitimately double its data).
    row_count_change_warn: float = 0.5
    # Alert notifications (ingestion.notify): e-mail is on when a host is set, the webhook when its URL is.
    alert_smtp_host: str | None = None
    alert_smtp_port: int = 587
    alert_smtp_security: SmtpSecurity = "starttls"
    alert_smtp_user: str | None = None
    alert_email_from: str | None = None
    alert_email_to: tuple[str, ...] = ()
    # Secrets: kept out of repr so they never reach a log line or the Dagster UI.
    kobo_token: str | None = field(default=None, repr=False)
    pii_salt: str | None = field(default=None, repr=False)
    alert_smtp_password: str | None = field(default=None, repr=False)
    # The path of a Slack/Teams webhook URL is its credential.
    alert_webhook_url: str | None = field(default=None, repr=False)


def _path(env: Mapping[str, str], name: str, default: str) -> Path:
    raw = env.get(name) or default
    path = Path(raw).expanduser()
    return path if path.is_absolute() else PROJECT_ROOT / path


def _csv(env: Mapping[str, str], name: str) -> tuple[str, ...] | None:
    raw = (env.get(name) or "").strip()
    if not raw or raw.lower() == "all":
        return None
    return tuple(item.strip() for item in raw.split(",") if item.strip())


def _areas(env: Mapping[str, str]) -> tuple[int, ...] | None:
    items = _csv(env, "SDG_AREAS")
    if items is None:
        return None
    try:
        return tuple(int(item) for item in items)
    except ValueError as exc:
        raise ConfigError(
            f"SDG_AREAS must be 'all' or comma-separated M49 codes such as '4,8,12'; got {env['SDG_AREAS']!r}"
        ) from exc


def _mode(env: Mapping[str, str]) -> SdgApiMode:
    mode = (env.get("SDG_API_MODE") or "live").strip().lower()
    if mode not in ("live", "replay"):
        raise ConfigError(f"SDG_API_MODE must be 'live' or 'replay'; got {mode!r}")
    return mode  # type: ignore[return-value]


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name) or str(default)
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number; got {raw!r}") from exc
    if value < 1:
        raise ConfigError(f"{name} must be at least 1; got {value}")
    return value


def _memory(env: Mapping[str, str]) -> str:
    raw = (env.get("DUCKDB_MEMORY_LIMIT") or "512MB").strip()
    if not re.fullmatch(r"\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)", raw, flags=re.IGNORECASE):
        raise ConfigError(f"DUCKDB_MEMORY_LIMIT must be a size such as '512MB' or '2GB'; got {raw!r}")
    return raw


def _fraction(env: Mapping[str, str], name: str, default: float) -> float:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a fraction such as 0.5 (50%); got {raw!r}") from exc
    if not math.isfinite(value) or value < 0:
        raise ConfigError(f"{name} must be 0 or more; got {raw!r}")
    return value


def _smtp_security(env: Mapping[str, str]) -> SmtpSecurity:
    security = (env.get("ALERT_SMTP_SECURITY") or "starttls").strip().lower()
    if security not in SMTP_PORTS:
        raise ConfigError(f"ALERT_SMTP_SECURITY must be 'starttls', 'ssl' or 'none'; got {security!r}")
    return security  # type: ignore[return-value]


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    value = _positive_int(env, name, default)
    if value > 65535:
        raise ConfigError(f"{name} must be a port number (1-65535); got {value}")
    return value


def _addresses(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    addresses = _csv(env, name) or ()
    for address in addresses:
        # A bare check, not RFC 5322: catch a missing '@' or a line break (header injection) early.
        if "@" not in address or any(c in address for c in "\r\n"):
            raise ConfigError(f"{name} must be comma-separated e-mail addresses; got {address!r}")
    return addresses


def _email(env: Mapping[str, str]) -> tuple[str | None, tuple[str, ...], str | None]:
    """(host, recipients, sender); e-mail is off (None, (), None) without ALERT_SMTP_HOST."""
    host = (env.get("ALERT_SMTP_HOST") or "").strip() or None
    recipients = _addresses(env, "ALERT_EMAIL_TO")
    senders = _addresses(env, "ALERT_EMAIL_FROM")
    if len(senders) > 1:
        raise ConfigError(f"ALERT_EMAIL_FROM must be one e-mail address; got {env['ALERT_EMAIL_FROM']!r}")
    user = (env.get("ALERT_SMTP_USER") or "").strip()
    sender = senders[0] if senders else (user if "@" in user else None)
    if host is None:
        return None, (), None
    if not recipients:
        raise ConfigError("ALERT_EMAIL_TO must name at least one recipient when ALERT_SMTP_HOST is set")
    if sender is None:
        raise ConfigError("ALERT_EMAIL_FROM must be set when ALERT_SMTP_HOST is set "
                          "(or ALERT_SMTP_USER must be an e-mail address)")
    return host, recipients, sender


def _webhook(env: Mapping[str, str]) -> str | None:
    url = (env.get("ALERT_WEBHOOK_URL") or "").strip()
    if not url:
        return None
    if not re.match(r"https?://[^/?#\s]+", url) or any(c.isspace() for c in url):
        # The value is a secret: the message says what is wrong, never what it is.
        raise ConfigError("ALERT_WEBHOOK_URL must be an http(s) URL such as https://hooks.slack.com/services/...")
    return url


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read the settings from ``env`` (default: the process environment)."""
    env = os.environ if env is None else env
    series = _csv(env, "SDG_SERIES")
    smtp_host, email_to, email_from = _email(env)
    smtp_security = _smtp_security(env)
    return Settings(
        warehouse_path=_path(env, "WAREHOUSE_PATH", "warehouse/warehouse.duckdb"),
        published_path=_path(env, "PUBLISHED_PATH", "warehouse/published.duckdb"),
        sdg_api_mode=_mode(env),
        sdg_api_base_url=(env.get("SDG_API_BASE_URL") or DEFAULT_SDG_API_BASE_URL).rstrip("/"),
        sdg_replay_dir=_path(env, "SDG_API_REPLAY_DIR", DEFAULT_SDG_REPLAY_DIR),
        # As written: the API's codes are case-sensitive, and not all upper case (IT_USE_ii99).
        sdg_series=series or None,
        sdg_areas=_areas(env),
        sdg_series_per_run=_positive_int(env, "SDG_SERIES_PER_RUN", 100),
        partner_inbox=_path(env, "PARTNER_INBOX", "data/inbox"),
        partner_contracts=_path(env, "PARTNER_CONTRACTS", "contracts/partners"),
        kobo_contracts=_path(env, "KOBO_CONTRACTS", "contracts/kobo"),
        reports_dir=_path(env, "REPORTS_DIR", "reports"),
        kobo_server_url=env.get("KOBO_SERVER_URL") or None,
        kobo_asset_uids=_csv(env, "KOBO_ASSET_UIDS") or (),
        min_cell_size=_positive_int(env, "MIN_CELL_SIZE", canonical.load().default_min_cell_size),
        dagster_home=_path(env, "DAGSTER_HOME", ".dagster_home"),
        duckdb_memory_limit=_memory(env),
        row_count_change_warn=_fraction(env, "ROW_COUNT_CHANGE_WARN", 0.5),
        kobo_token=env.get("KOBO_TOKEN") or None,
        pii_salt=env.get("PII_SALT") or None,
        alert_smtp_host=smtp_host,
        alert_smtp_port=_port(env, "ALERT_SMTP_PORT", SMTP_PORTS[smtp_security]),
        alert_smtp_security=smtp_security,
        alert_smtp_user=(env.get("ALERT_SMTP_USER") or "").strip() or None,
        alert_email_from=email_from,
        alert_email_to=email_to,
        alert_smtp_password=env.get("ALERT_SMTP_PASSWORD") or None,
        alert_webhook_url=_webhook(env),
    )
