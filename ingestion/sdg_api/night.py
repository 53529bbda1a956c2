"""A group of SDG series landed in one go: what changed upstream is fetched, the rest is left alone.

The API's ``Series/List`` names the release each series belongs to now. A series already landed from
that release, with the same request (areas, page size, landing rules), is current: it is neither
downloaded again nor rewritten. Every other series is landed by ``land_series`` in its own
transaction, so a failing series keeps its previous version and fails alone while the group goes on.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
import traceback
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ingestion.sdg_api.client import SdgApiClient, SdgApiError
from ingestion.sdg_api.land import SeriesLoad, ensure_schema, land_series, series_fetch
from ingestion.sql import literal

# While a group lands, DuckDB checkpoints only past this much write-ahead log, not after nearly every
# series' commit (the default 16MB is crossed by one large series): measured 65 ms a commit, 25 ms with it.
GROUP_CHECKPOINT_THRESHOLD = "1GB"

# Part of every series' request key: bump it when the lander would land the same responses differently
# (a new column, a new rule), so the next night lands every series again instead of keeping old rows.
LANDING_RULES_VERSION = "2"  # 2: duplicates superseded at landing


@dataclass(frozen=True)
class SeriesOutcome:
    """What happened to one series of the group: landed, current (unchanged upstream) or failed."""

    series_code: str
    position: int  # 1-based, in the group
    total: int
    status: str  # landed | current | failed
    seconds: float
    load: SeriesLoad | None = None
    release: str | None = None
    error: str | None = None

    @property
    def progress(self) -> str:
        return f"[{self.position}/{self.total}] {self.series_code}"


def request_key(area_codes: Sequence[int] | None, page_size: int) -> str:
    """What a series' rows depend on besides the API's data: which areas were asked for, in which pages,
    under which landing rules."""
    request = [LANDING_RULES_VERSION, "all" if area_codes is None else sorted(area_codes), page_size]
    return hashlib.sha256(json.dumps(request).encode()).hexdigest()[:16]


def releases_or_none(client: SdgApiClient) -> tuple[dict[str, str | None] | None, str | None]:
    """``Series/List`` as {series: release}, or None and why when it cannot be had (then every series is
    landed: without it nothing can be shown to be unchanged)."""
    try:
        return client.series_releases(), None
    except SdgApiError as exc:
        return None, str(exc)


def current_series(con: duckdb.DuckDBPyConnection, releases: dict[str, str | None] | None,
                   request: str) -> set[str]:
    """Series whose landed version came from the release the API names now, with the same request."""
    if releases is None:
        return set()
    landed = con.execute("select series_code, release from raw_sdg.series_loads where request_key = ?",
                         [request]).fetchall()
    return {code for code, release in landed if release is not None and releases.get(code) == release}


def land_group(con: duckdb.DuckDBPyConnection, client: SdgApiClient, series_codes: Sequence[str],
               area_codes: Sequence[int] | None, run_id: str, *, refetch: bool = False,
               releases: dict[str, str | None] | None = None) -> Iterator[SeriesOutcome]:
    """Land each series of ``series_codes`` that changed (every one when ``refetch``), yielding an outcome
    per series as it finishes, in order."""
    request = request_key(area_codes, client.page_size)
    recreated = ensure_schema(con)
    current = set() if refetch else current_series(con, releases, request)
    with _checkpoint_once(con):
        yield from _land_each(con, client, series_codes, area_codes, run_id, request, current, recreated, releases)


def _land_each(con: duckdb.DuckDBPyConnection, client: SdgApiClient, series_codes: Sequence[str],
               area_codes: Sequence[int] | None, run_id: str, request: str, current: set[str],
               recreated: list[str], releases: dict[str, str | None] | None) -> Iterator[SeriesOutcome]:
    total = len(series_codes)
    to_fetch = [code for code in series_codes if code not in current]
    with ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sdg_spool_", ignore_cleanup_errors=True)))
        fetch = None
        for position, code in enumerate(series_codes, start=1):
            started = time.perf_counter()
            release = (releases or {}).get(code)
            if code in current:
                yield SeriesOutcome(code, position, total, "current", time.perf_counter() - started, release=release)
                continue
            if fetch is None or fetch.broken:  # one fetcher for the group; a new one if it died
                if fetch is not None:
                    fetch.close()
                rest = to_fetch[to_fetch.index(code):]
                fetch = stack.enter_context(series_fetch(client, rest, area_codes, scratch / str(position)))
            try:
                load = land_series(con, client, code, area_codes, run_id, release=release, request_key=request,
                                   schema_checked=True, fetch=fetch)
                load.recreated_tables, recreated = recreated, []  # said once, with the first series landed
            except Exception as exc:  # noqa: BLE001 -- one series fails alone; the step fails at the end
                detail = str(exc) if isinstance(exc, SdgApiError) else "".join(traceback.format_exception(exc))
                yield SeriesOutcome(code, position, total, "failed", time.perf_counter() - started,
                                    release=release, error=detail)
                continue
            yield SeriesOutcome(code, position, total, "landed", time.perf_counter() - started, load=load,
                                release=release)


@contextmanager
def _checkpoint_once(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """The group's commits go to the write-ahead log (each still durable), checkpointed once at the end."""
    configured = con.execute("select current_setting('checkpoint_threshold')").fetchone()[0]
    con.execute(f"set checkpoint_threshold = {literal(GROUP_CHECKPOINT_THRESHOLD)}")
    try:
        yield
    finally:
        con.execute(f"set checkpoint_threshold = {literal(configured)}")
        con.execute("checkpoint")


def summary(outcomes: Sequence[SeriesOutcome]) -> dict[str, int | float]:
    """Counts and throughput of a group, for logs and run metadata."""
    landed = [o for o in outcomes if o.status == "landed"]
    rows = sum(o.load.rows_landed for o in landed if o.load)
    seconds = sum(o.seconds for o in landed)
    return {
        "series": len(outcomes),
        "landed": len(landed),
        "current": sum(o.status == "current" for o in outcomes),
        "failed": sum(o.status == "failed" for o in outcomes),
        "rows_landed": rows,
        "rows_per_second": round(rows / seconds) if seconds else 0,
        "duplicates_superseded": sum(o.load.duplicates_superseded for o in landed if o.load),
    }

