"""Fetching series for the lander: code lists and pages, spooled to a scratch folder, ahead of DuckDB.

One fetcher serves a whole group of series, one after another and in order, while the caller lands
what has arrived: it runs into the next series while the previous one is being committed, so a night
of many small series does not wait for a first page (or start a process) per series.

It runs in a forked child process on Linux: fetching, hashing and decoding JSON are Python work that
holds the GIL for milliseconds at a time, and DuckDB's Python binding takes the GIL back between tasks
of a query, so in a thread of the same process the fetching stalls DuckDB (measured: a query 3-4x
slower beside a thread decoding pages). The child writes only to the scratch folder and hands back
small picklable summaries; it never touches DuckDB. Without fork (not Linux), a thread does the same.

A series whose fetch fails is reported to the caller as that series' error and the fetcher goes on with
the next; a series the caller gives up on (``abandon``) is not fetched further.
"""

from __future__ import annotations

import gc
import multiprocessing
import pickle
import queue
import signal
import sys
import threading
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from ingestion.sdg_api.client import FetchedJson, SdgApiClient, SdgApiError, SeriesPage
from ingestion.sdg_api.parse import KNOWN_FIELDS, REQUIRED_FIELDS

# Fetch in a forked child process on Linux, else in a thread.
FETCH_IN_CHILD_PROCESS = sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()


@dataclass(frozen=True)
class SpooledPage:
    """What the lander keeps of a page once its body is in the spool folder: counts, names, lineage."""

    series_code: str
    area_batch: tuple[int, ...] | None
    page_number: int
    total_elements: int
    records: int
    unknown_fields: frozenset[str]  # record fields the parser does not know
    dimension_names: frozenset[str]
    url: str
    sha256: str
    fetched_at: datetime
    file: str | None  # None for a page without records
    size: int  # bytes in the spool file
    ordinal: int  # fetch order within the series
    client_retries: int  # the fetching client's retry count once this page arrived

    @property
    def where(self) -> str:
        batch = f" areas {self.area_batch[0]}..{self.area_batch[-1]}" if self.area_batch else ""
        return f"series {self.series_code}{batch} page {self.page_number}"


@dataclass(frozen=True)
class CodeLists:
    """A series' first item: its code lists, and the fetching client's retry count before the series."""

    series_code: str
    lists: list[tuple[str, FetchedJson]]
    retries_before: int


@dataclass(frozen=True)
class _SeriesEnd:
    series_code: str
    client_retries: int


@dataclass(frozen=True)
class _SeriesFailed:
    series_code: str
    error: BaseException


class _GroupDone:
    """Sent after the last series."""


class SeriesFetch:
    """The code lists and pages of ``series_codes``, fetched in that order at most ``depth`` items ahead.

    Use as a context manager; call ``items(code)`` for each series in order (a series may be skipped:
    its items are discarded). Leaving the ``with`` block stops the fetching."""

    def __init__(self, client: SdgApiClient, series_codes: Sequence[str], area_codes: Sequence[int] | None,
                 directory: Path, depth: int) -> None:
        self.client, self.series_codes, self.area_codes = client, list(series_codes), area_codes
        self.directory = directory
        self._position = {code: index for index, code in enumerate(self.series_codes)}
        if FETCH_IN_CHILD_PROCESS and not multiprocessing.current_process().daemon:  # daemons may not fork
            context = multiprocessing.get_context("fork")
            self._waiting: Any = context.Queue(maxsize=depth)
            self._abandoned: Any = context.Value("i", -1, lock=False)  # series up to this index: stop fetching
            self._worker: Any = context.Process(target=self._produce_in_child, name="sdg-page-fetch", daemon=True)
        else:
            self._waiting = queue.Queue(maxsize=depth)
            self._abandoned = _Box(-1)
            self._worker = threading.Thread(target=self._produce, name="sdg-page-fetch", daemon=True)
        self._stop = threading.Event()
        self.retries_seen = client.retries  # the fetching client's retry count, as last reported
        self.broken = False  # the fetcher ended before its last series: start a new one for the rest

    def __enter__(self) -> "SeriesFetch":
        self._worker.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._stop.set()
        if isinstance(self._worker, threading.Thread):
            self._abandoned.value = len(self.series_codes)
            self._worker.join(timeout=30)
            return
        if self._worker.is_alive():
            self._worker.terminate()  # it only fetches and writes scratch files: nothing to finish
            self._worker.join(timeout=10)
            if self._worker.is_alive():
                self._worker.kill()
        self._worker.join()
        self._waiting.close()
        self._waiting.cancel_join_thread()

    def items(self, series_code: str) -> Iterator[CodeLists | SpooledPage]:
        """The series' code lists, then its pages; its fetch error is raised here, in order."""
        position = self._position[series_code]
        while True:
            item = self._next(series_code)
            if isinstance(item, _GroupDone):
                raise SdgApiError(f"series {series_code}: the fetcher finished without it")
            if self._position[item.series_code] < position:  # left over from a series given up on
                if isinstance(item, SpooledPage) and item.file:
                    Path(item.file).unlink(missing_ok=True)
                continue
            if isinstance(item, _SeriesEnd):
                self.retries_seen = max(self.retries_seen, item.client_retries)
                return
            if isinstance(item, _SeriesFailed):
                raise item.error
            if isinstance(item, SpooledPage):
                self.retries_seen = max(self.retries_seen, item.client_retries)
            yield item

    def abandon(self, series_code: str) -> None:
        """Stop fetching this series (the caller failed it); later series are fetched as usual."""
        self._abandoned.value = max(self._abandoned.value, self._position[series_code])

    def waiting(self) -> bool:
        """Whether the next item has already arrived."""
        return not self._waiting.empty()

    def _next(self, series_code: str) -> Any:
        while True:
            try:
                return self._waiting.get(timeout=1)
            except queue.Empty:
                if not self._worker.is_alive() and self._waiting.empty():
                    self.broken = True
                    raise SdgApiError(
                        f"series {series_code}: the page fetch {type(self._worker).__name__.lower()} ended without "
                        f"finishing (exit code {getattr(self._worker, 'exitcode', None)})") from None

    def _offer(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._waiting.put(item, timeout=0.5)
                return True
            except queue.Full:
                continue
        return False

    def _produce(self, in_child: bool = False) -> None:
        for position, code in enumerate(self.series_codes):
            if self._stop.is_set():
                return
            try:
                retries_before = self.client.retries
                lists = self.client.series_code_lists(code)
                if not self._offer(CodeLists(code, lists, retries_before)):
                    return
                for page in _spooled(self.client, code, self.area_codes, self.directory / str(position)):
                    if self._abandoned.value >= position:
                        break
                    if not self._offer(page):
                        return
                end: object = _SeriesEnd(code, self.client.retries)
            except BaseException as exc:  # the series' error, raised where the caller lands it
                end = _SeriesFailed(code, _picklable(exc) if in_child else exc)
            if not self._offer(end):
                return
            if in_child:
                gc.collect()  # between series: the pages' garbage (cycles included) goes; see _produce_in_child
        self._offer(_GroupDone())

    def _produce_in_child(self) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # an interrupt stops the parent, which stops us
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # whatever handler the parent had installed
        # The parent's objects are frozen out of the collector (never traversed, so never copied on write),
        # and collection runs between series only: a page's thousands of lists and dicts are freed by
        # reference counting, and collecting while they live doubles the cost of decoding.
        gc.freeze()
        gc.disable()
        # Fresh connections: the sockets pooled so far are shared with the parent (closing our copies
        # leaves the parent's open).
        self.client.session.close()
        self._produce(in_child=True)
        self._waiting.close()
        self._waiting.join_thread()  # everything handed over before the process ends


class _Box:
    """``multiprocessing.Value``'s interface, for the fetch thread."""

    def __init__(self, value: int) -> None:
        self.value = value


def _spooled(client: SdgApiClient, series_code: str, area_codes: Sequence[int] | None,
             directory: Path) -> Iterator[SpooledPage]:
    """Each page's body written to ``directory`` as received (minus NUL padding), with what the lander
    needs to know about its records. The records, decoded by the client to validate the body, are
    dropped here and never queue up. In the fetch thread, Python's cyclic collector is paused page by
    page (see ``_produce_in_child`` for why)."""
    directory.mkdir(parents=True, exist_ok=True)
    pages = client.iter_series_pages(series_code, area_codes)
    ordinal = 0
    while True:
        with _gc_paused():
            page = next(pages, None)
            if page is None:
                return
            ordinal += 1
            spooled = _spool(page, ordinal, directory, client.retries)
            del page
        yield spooled


@contextmanager
def _gc_paused() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _spool(page: SeriesPage, ordinal: int, directory: Path, client_retries: int) -> SpooledPage:
    spooled = SpooledPage(
        series_code=page.series_code, area_batch=page.area_batch, page_number=page.page_number,
        total_elements=page.total_elements, records=len(page.records), unknown_fields=frozenset(),
        dimension_names=frozenset(), url=page.fetched.url, sha256=page.fetched.sha256,
        fetched_at=page.fetched.fetched_at, file=None, size=len(page.fetched.body), ordinal=ordinal,
        client_retries=client_retries,
    )
    if page.records:
        records = [record for record in page.records if isinstance(record, dict)]
        keys = set().union(*records)
        missing = [name for name in REQUIRED_FIELDS if name not in keys]
        if missing:
            raise SdgApiError(f"{spooled.where}: records lack required field(s) {', '.join(missing)}")
        dimensions = set().union(*(names for record in records
                                   if isinstance(names := record.get("dimensions"), dict)))
        path = directory / f"{ordinal}.json"
        path.write_bytes(page.fetched.body)
        spooled = replace(spooled, unknown_fields=frozenset(keys - KNOWN_FIELDS),
                          dimension_names=frozenset(dimensions), file=str(path))
    return spooled


def _picklable(exc: BaseException) -> BaseException:
    """The exception itself if it survives pickling (to cross from the fetch process), else its text."""
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:  # noqa: BLE001 -- any failure to pickle means: send the text instead
        return SdgApiError(f"{type(exc).__name__}: {exc}\n{''.join(traceback.format_exception(exc))}")
