"""Landing of SDG API series into ``raw_sdg``: streamed page by page, one transaction per series.

A series is replaced as a whole: its old rows are deleted and the new pages inserted in the
same transaction, so a failure half-way (network, a short page, a broken record) leaves the
previous version of that series exactly as it was, and a rerun never duplicates rows.

How a page travels: a fetch process (a thread where fork is unavailable) gets it through the
client (which retries until the body is whole, valid JSON), notes its record count, field names
and dimension names, and writes the body to a scratch folder; the calling process appends the
pages spooled so far with one ``insert ... select ... from read_json(...)`` per batch (parse,
value rules, lineage and record checks in the same pass, straight into the landing table); before
the commit, the rows landed per page are counted in the table itself and compared with what each
page held and with the API's ``totalElements``.
"""

from __future__ import annotations

import gc
import hashlib
import multiprocessing
import pickle
import queue
import signal
import sys
import tempfile
import threading
import traceback
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pandas as pd

from ingestion.sdg_api.client import SdgApiClient, SdgApiError, SeriesPage
from ingestion.sdg_api.parse import (
    KNOWN_FIELDS,
    MACROS_SQL,
    RECORD_FIELDS,
    REQUIRED_FIELDS,
    page_problems_sql,
    parse_code_lists,
    spooled_pages_sql,
)
from ingestion.warehouse import ensure_tables, transaction

DDL = """
create schema if not exists raw_sdg;
create table if not exists raw_sdg.series_observations (
    record_id varchar not null,            -- md5 of request_url and position on the page
    series_code varchar not null,
    series_description varchar,
    goal_codes varchar[],
    target_codes varchar[],
    indicator_codes varchar[],
    geo_area_code_raw varchar not null,
    geo_area_m49 integer not null,
    geo_area_name varchar,
    time_period_start_raw varchar not null,
    time_period integer,
    time_detail varchar,
    time_coverage varchar,
    value_raw varchar,
    value double,
    value_qualifier varchar,
    value_is_missing boolean not null,
    value_is_unparseable boolean not null,
    value_type varchar,
    upper_bound_raw varchar,
    upper_bound double,
    lower_bound_raw varchar,
    lower_bound double,
    base_period varchar,
    source varchar,
    footnotes varchar[],
    geo_info_url varchar,
    series_count_raw varchar,
    attributes map(varchar, varchar),
    dimensions map(varchar, varchar),
    extra_fields json,                     -- fields the parser does not know (schema drift), kept
    superseded_by varchar,                 -- record_id of the later duplicate that replaces this one
    request_url varchar not null,
    page integer not null,
    record_index integer not null,
    fetched_at timestamptz not null,
    response_sha256 varchar not null,
    run_id varchar not null
);
create table if not exists raw_sdg.series_code_lists (
    series_code varchar not null,
    kind varchar not null,                 -- dimension | attribute
    concept varchar not null,              -- e.g. Sex, Age, Units
    code varchar,                          -- the API's code, e.g. BOTHSEX
    description varchar,
    sdmx_code varchar,                     -- the SDMX code the API maps it to, e.g. _T
    request_url varchar not null,          -- Series/{code}/Dimensions or /Attributes
    fetched_at timestamptz not null,
    response_sha256 varchar not null,
    batch_id varchar not null
);
create table if not exists raw_sdg.series_loads (
    series_code varchar primary key,
    batch_id varchar not null,             -- sha256 over every response body of this load
    run_id varchar not null,
    rows_landed bigint not null,
    total_elements bigint not null,
    pages integer not null,
    retries integer not null,
    missing_values bigint not null,
    unparseable_values bigint not null,
    qualified_values bigint not null,
    first_fetched_at timestamptz not null,
    last_fetched_at timestamptz not null,
    duplicates_superseded bigint,          -- records replaced by a later duplicate (null: landed before the rule)
    release varchar,                       -- the series' release in Series/List when it was landed
    request_key varchar                    -- areas, page size and landing rules of the load (see night.py)
);
"""

_LANDED_PER_PAGE = """
select request_url, page, count(*), count(*) filter (where value_is_missing),
       count(*) filter (where value_is_unparseable), count(*) filter (where value_qualifier is not null)
from raw_sdg.series_observations
where series_code = $series
group by request_url, page
"""

# The API sometimes sends one cell twice (same series, area, period and breakdown) with two slightly
# different values. The later record in the response wins: the earlier one stays in the table, with
# superseded_by naming the record that replaced it, and staging reads only records not superseded.
# Deterministic for the same responses: fetch order is page, then position on the page.
_MARK_SUPERSEDED = """
update raw_sdg.series_observations as o set superseded_by = d.kept_record_id
from (
    select record_id, first_value(record_id) over cell as kept_record_id, row_number() over cell as position
    from raw_sdg.series_observations
    where series_code = $series
    window cell as (
        partition by geo_area_m49, time_period_start_raw, coalesce(time_detail, ''),
            list_sort(list_transform(map_entries(coalesce(dimensions, map())),
                                     e -> e.key || '=' || coalesce(e.value, '')))
        order by page desc, record_index desc, record_id desc)
) as d
where o.series_code = $series and o.record_id = d.record_id and d.position > 1
"""


@dataclass
class SeriesLoad:
    series_code: str
    batch_id: str = ""
    rows_landed: int = 0
    total_elements: int = 0
    pages: int = 0
    retries: int = 0
    missing_values: int = 0
    unparseable_values: int = 0
    qualified_values: int = 0
    duplicates_superseded: int = 0
    release: str | None = None
    dimension_names: set[str] = field(default_factory=set)
    # Schema drift, kept and reported: record fields the parser does not know, dimension names
    # missing from the series' Dimensions code list, pages whose dimension names differ from page 1.
    unknown_fields: Counter = field(default_factory=Counter)
    undeclared_dimensions: set[str] = field(default_factory=set)
    pages_with_changed_dimensions: list[int] = field(default_factory=list)
    recreated_tables: list[str] = field(default_factory=list)
    first_fetched_at: datetime | None = None
    last_fetched_at: datetime | None = None


def ensure_schema(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Create the landing tables; returns those recreated because their layout changed."""
    return ensure_tables(con, DDL)


def land_series(
    con: duckdb.DuckDBPyConnection,
    client: SdgApiClient,
    series_code: str,
    area_codes: Sequence[int] | None,
    run_id: str,
    release: str | None = None,
    request_key: str | None = None,
    schema_checked: bool = False,
) -> SeriesLoad:
    """Fetch every page of ``series_code`` and replace that series in ``raw_sdg`` atomically.

    A separate fetch process (see ``_Prefetched``) fetches, validates and spools the pages while
    DuckDB appends the pages spooled so far; the counts are checked against the table itself before
    the commit.
    """
    # A group of series checks the landing tables' layout once (land_group), not once per series.
    recreated = [] if schema_checked else ensure_schema(con)
    load = SeriesLoad(series_code=series_code, release=release, recreated_tables=recreated)
    con.execute(MACROS_SQL)
    retries_before = client.retries
    # The request key too: landing the same responses under new rules (LANDING_RULES_VERSION) is a new batch.
    digest = hashlib.sha256(f"{series_code}|{request_key or ''}".encode())
    code_lists = []
    for kind, fetched in client.series_code_lists(series_code):
        digest.update(fetched.sha256.encode())
        lineage = {"request_url": fetched.url, "fetched_at": fetched.fetched_at, "response_sha256": fetched.sha256}
        code_lists += [{**row, **lineage} for row in parse_code_lists(fetched.data, kind)]
    declared_dimensions = {row["concept"] for row in code_lists if row["kind"] == "dimension"}
    with (_one_duckdb_thread(con),
          transaction(con),
          tempfile.TemporaryDirectory(prefix="sdg_spool_", ignore_cleanup_errors=True) as scratch,
          _Prefetched(_spooled(client, series_code, area_codes, Path(scratch)),
                      depth=2 * _PageSpool.FLUSH_PAGES) as pages):
        for table in ("series_observations", "series_code_lists", "series_loads"):
            con.execute(f"delete from raw_sdg.{table} where series_code = ?", [series_code])
        batch_expected: dict[tuple | None, int] = {}
        batch_landed: Counter = Counter()
        spool = _PageSpool(con, series_code, run_id, load)
        fetch_retries = client.retries
        for page in pages:
            expected = batch_expected.setdefault(page.area_batch, page.total_elements)
            if page.total_elements != expected:
                raise SdgApiError(
                    f"series {series_code} page {page.page_number}: totalElements changed from "
                    f"{expected} to {page.total_elements} while paging; the series changed upstream, retry later"
                )
            spool.add(page)
            fetch_retries = page.client_retries  # counted where the pages are fetched
            batch_landed[page.area_batch] += page.records
            load.pages += 1
            digest.update(page.sha256.encode())
            load.first_fetched_at = min(filter(None, [load.first_fetched_at, page.fetched_at]))
            load.last_fetched_at = max(filter(None, [load.last_fetched_at, page.fetched_at]))
            if spool.ready(more_waiting=pages.waiting()):
                spool.flush()
        spool.flush()
        # The fetcher has handed over its last page: its count is final. (A fetch thread shares the
        # client and counts into it itself; writing while it fetched would lose its increments.)
        client.retries = max(client.retries, fetch_retries)
        spool.check_landed()
        non_empty = [(number, names) for number, names in spool.page_dimensions if names]
        load.dimension_names = set().union(*(names for _, names in non_empty))
        load.pages_with_changed_dimensions = [number for number, names in non_empty[1:] if names != non_empty[0][1]]
        for batch, expected in batch_expected.items():
            if batch_landed[batch] != expected:
                where = f" areas {batch[0]}..{batch[-1]}" if batch else ""
                raise SdgApiError(
                    f"series {series_code}{where}: the API reported totalElements={expected} but "
                    f"{batch_landed[batch]} observations arrived; nothing was landed for this series"
                )
        load.rows_landed = sum(batch_landed.values())
        load.total_elements = sum(batch_expected.values())
        load.retries = client.retries - retries_before
        load.batch_id = digest.hexdigest()[:16]
        if load.pages == 0 or load.first_fetched_at is None:
            raise SdgApiError(f"series {series_code}: the API returned no pages")
        load.undeclared_dimensions = load.dimension_names - declared_dimensions
        con.execute(_MARK_SUPERSEDED, {"series": series_code})
        load.duplicates_superseded = con.execute(
            "select count(*) from raw_sdg.series_observations where series_code = ? and superseded_by is not null",
            [series_code]).fetchone()[0]
        if code_lists:
            codes = pd.DataFrame([{**row, "series_code": series_code, "batch_id": load.batch_id}
                                  for row in code_lists])  # noqa: F841 -- scanned by name below
            con.execute("insert into raw_sdg.series_code_lists by name select * from codes")
        con.execute(
            """insert into raw_sdg.series_loads values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [series_code, load.batch_id, run_id, load.rows_landed, load.total_elements, load.pages,
             load.retries, load.missing_values, load.unparseable_values, load.qualified_values,
             load.first_fetched_at, load.last_fetched_at, load.duplicates_superseded, release, request_key],
        )
    return load


@contextmanager
def _one_duckdb_thread(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Append with one DuckDB thread. A single-threaded insert writes each row group to the database file
    as soon as it fills (DuckDB's optimistic writes), so an uncommitted series of any size stays within
    memory_limit; a parallel insert keeps every statement's last, partly filled row groups in memory until
    the commit, which runs out of memory over many batches. One thread also leaves the other core(s) to
    the fetching, and costs less CPU per row. ``threads`` is a database-wide setting: restored after."""
    configured = int(con.execute("select current_setting('threads')").fetchone()[0])
    con.execute("set threads = 1")
    try:
        yield
    finally:
        con.execute(f"set threads = {configured}")


@dataclass(frozen=True)
class _SpooledPage:
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
    client_retries: int  # the client's retry count once this page arrived

    @property
    def where(self) -> str:
        batch = f" areas {self.area_batch[0]}..{self.area_batch[-1]}" if self.area_batch else ""
        return f"series {self.series_code}{batch} page {self.page_number}"


def _spooled(client: SdgApiClient, series_code: str, area_codes: Sequence[int] | None,
             directory: Path) -> Iterator[_SpooledPage]:
    """Each page's body written to ``directory`` as received (minus NUL padding), with what the lander
    needs to know about its records. Runs where the pages are fetched, so the records, decoded by the
    client to validate the body, are dropped there and never queue up.

    Python's cyclic garbage collector stays out of the way while a page is fetched, decoded and dropped:
    the thousands of lists and dicts of a page are freed by reference counting, and letting the collector
    traverse them again and again (promoting them on the way) doubles the cost of decoding. (The fetch
    process runs without it altogether; in the fetch-thread fallback it is paused page by page.)
    """
    # Start with fresh connections: in a forked fetch process, the sockets pooled so far are shared
    # with the parent (closing our copies leaves the parent's open).
    client.session.close()
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


def _spool(page: SeriesPage, ordinal: int, directory: Path, client_retries: int) -> _SpooledPage:
    spooled = _SpooledPage(
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


# Fetch the pages in a forked child process on Linux (see _Prefetched), else in a thread.
FETCH_IN_CHILD_PROCESS = sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()


class _Done:
    """Sent after the last page."""


class _Prefetched:
    """Runs ``pages`` (an iterator not yet started) elsewhere, at most ``depth`` items ahead, while the
    caller appends what has arrived. An error there is re-raised to the caller in order; leaving the
    ``with`` block stops the fetching.

    Elsewhere is a forked child process: fetching, hashing and decoding JSON are Python work that holds
    the GIL for milliseconds at a time, and DuckDB's Python binding takes the GIL back between tasks of a
    query, so in a thread of the same process the fetching stalls DuckDB (measured: a query 3-4x slower
    beside a thread decoding pages). The child writes only to the scratch folder and hands back small
    picklable summaries; it never touches DuckDB. Without fork (not Linux), a thread does the same."""

    def __init__(self, pages: Iterator[Any], depth: int) -> None:
        self._pages = pages
        if FETCH_IN_CHILD_PROCESS and not multiprocessing.current_process().daemon:  # daemons may not fork
            context = multiprocessing.get_context("fork")
            self._waiting: Any = context.Queue(maxsize=depth)
            self._worker: Any = context.Process(target=self._produce_in_child, name="sdg-page-fetch", daemon=True)
        else:
            self._waiting = queue.Queue(maxsize=depth)
            self._worker = threading.Thread(target=self._produce, name="sdg-page-fetch", daemon=True)
        self._stop = threading.Event()

    def __enter__(self) -> "_Prefetched":
        self._worker.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if isinstance(self._worker, threading.Thread):
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

    def __iter__(self) -> Iterator[Any]:
        while True:
            try:
                item = self._waiting.get(timeout=1)
            except queue.Empty:
                if not self._worker.is_alive() and self._waiting.empty():
                    raise SdgApiError(f"the page fetch {type(self._worker).__name__.lower()} ended without "
                                      f"finishing (exit code {getattr(self._worker, 'exitcode', None)})") from None
                continue
            if isinstance(item, _Done):
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def waiting(self) -> bool:
        """Whether the next item has already arrived."""
        return not self._waiting.empty()

    def _offer(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._waiting.put(item, timeout=0.5)
                return True
            except queue.Full:
                continue
        return False

    def _produce(self, in_child: bool = False) -> None:
        try:
            for page in self._pages:
                if not self._offer(page):
                    return
            self._offer(_Done())
        except BaseException as exc:  # handed to the consumer, which raises it where it runs
            self._offer(_picklable(exc) if in_child else exc)

    def _produce_in_child(self) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # an interrupt stops the parent, which stops us
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # whatever handler the parent had installed
        gc.disable()  # a short-lived process whose garbage is all freed by reference counting
        self._produce(in_child=True)
        self._waiting.close()
        self._waiting.join_thread()  # everything handed over before the process ends


def _picklable(exc: BaseException) -> BaseException:
    """The exception itself if it survives pickling (to cross from the fetch process), else its text."""
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:  # noqa: BLE001 -- any failure to pickle means: send the text instead
        return SdgApiError(f"{type(exc).__name__}: {exc}\n{''.join(traceback.format_exception(exc))}")


class _PageSpool:
    """Spooled pages on their way into DuckDB: appended in batches, each batch one ``insert ... select``
    from ``read_json`` of its files inside the series' transaction, with no intermediate copy. A batch
    goes as soon as DuckDB would otherwise wait (at least MIN_FLUSH_PAGES), and never grows past
    FLUSH_PAGES, so memory and scratch space stay bounded whatever the size of the series."""

    FLUSH_PAGES = 100
    MIN_FLUSH_PAGES = 8

    def __init__(self, con: duckdb.DuckDBPyConnection, series_code: str, run_id: str, load: SeriesLoad) -> None:
        self.con, self.series_code, self.run_id, self.load = con, series_code, run_id, load
        self.pending: list[_SpooledPage] = []
        self.appended: list[_SpooledPage] = []
        self.unknown: set[str] = set()
        self.page_dimensions: list[tuple[int, set[str]]] = []  # in fetch order, for drift reporting
        con.execute(_LINEAGE_DDL)

    def add(self, page: _SpooledPage) -> None:
        self.page_dimensions.append((page.page_number, set(page.dimension_names)))
        for name in page.unknown_fields:
            self.load.unknown_fields[name] += page.records  # records on the pages that carry the field
        if page.file is not None:
            self.unknown |= page.unknown_fields
            self.pending.append(page)

    def ready(self, more_waiting: bool) -> bool:
        return len(self.pending) >= self.FLUSH_PAGES or (len(self.pending) >= self.MIN_FLUSH_PAGES and not more_waiting)

    def flush(self) -> None:
        if not self.pending:
            return
        con, pending, unknown = self.con, self.pending, sorted(self.unknown)
        con.execute("delete from sdg_page_lineage")
        _insert_lineage(con, pending, self.run_id)
        files = [p.file for p in pending]
        try:
            con.execute("insert into raw_sdg.series_observations by name "
                        + spooled_pages_sql(files, unknown, self.series_code, max(p.size for p in pending)))
        except (duckdb.InvalidInputException, duckdb.ConversionException, duckdb.ConstraintException) as exc:
            raise SdgApiError(_explain_refusal(str(exc), pending, unknown, self.run_id)) from exc
        for p in pending:
            Path(p.file).unlink()
        self.appended += pending
        self.pending = []

    def check_landed(self) -> None:
        """Every spooled page's records are in the table, once: counted in the table itself."""
        expected: Counter = Counter()
        for p in self.appended:
            expected[(p.url, p.page_number)] += p.records
        landed = {(url, page): counts for url, page, *counts in
                  self.con.execute(_LANDED_PER_PAGE, {"series": self.series_code}).fetchall()}
        for p in self.appended:
            rows = landed.get((p.url, p.page_number), [0])[0]
            if rows != expected[(p.url, p.page_number)]:
                raise SdgApiError(f"{p.where}: parsed {rows} records of {p.records}")
        if set(landed) - set(expected):
            raise SdgApiError(f"series {self.series_code}: rows landed for pages that were not fetched in this load")
        for _, missing, unparseable, qualified in landed.values():
            self.load.missing_values += missing
            self.load.unparseable_values += unparseable
            self.load.qualified_values += qualified


_LINEAGE_DDL = """create or replace temp table sdg_page_lineage (file varchar, ordinal integer, request_url varchar,
    page integer, fetched_at timestamptz, response_sha256 varchar, run_id varchar, unknown_fields varchar[])"""


def _insert_lineage(con: duckdb.DuckDBPyConnection, pages: list[_SpooledPage], run_id: str) -> None:
    """The lineage of each spooled page, keyed by its spool file (joined to its rows in the read)."""
    con.execute(
        "insert into sdg_page_lineage select unnest($file), unnest($ordinal), unnest($url), unnest($page), "
        "unnest($fetched_at), unnest($sha256), $run_id, unnest($unknown)",
        {"file": [p.file for p in pages], "ordinal": [p.ordinal for p in pages], "url": [p.url for p in pages],
         "page": [p.page_number for p in pages], "fetched_at": [p.fetched_at for p in pages],
         "sha256": [p.sha256 for p in pages], "run_id": run_id,
         "unknown": [sorted(p.unknown_fields) for p in pages]},
    )


def _explain_refusal(message: str, pending: list[_SpooledPage], unknown: list[str], run_id: str) -> str:
    """DuckDB refused a batch; name the API page, record and reason. The series' transaction is aborted
    by then, so the batch is examined again in a scratch in-memory database."""
    files = [p.file for p in pending]
    by_file = {p.file: p for p in pending}
    with duckdb.connect() as scratch:
        scratch.execute(MACROS_SQL)
        scratch.execute(_LINEAGE_DDL)
        _insert_lineage(scratch, pending, run_id)
        try:
            found = scratch.execute(page_problems_sql(files, unknown, pending[0].series_code,
                                                      max(p.size for p in pending))).fetchall()
        except duckdb.Error:
            found = []  # the read itself fails: a field changed type, named below
    for spool_file, record, problem in found:
        return f"{by_file[spool_file].where} record {record}: {problem}"
    return _name_page(message, pending)


def _name_page(message: str, pending: list[_SpooledPage]) -> str:
    """DuckDB refused a spooled page; find the API page, record and field, and say what changed."""
    for p in pending:
        if p.file not in message:
            continue
        for index, record in enumerate(orjson.loads(Path(p.file).read_bytes())["data"]):
            for name, value in record.items():
                if name in RECORD_FIELDS and value is not None and not _fits(value, RECORD_FIELDS[name]):
                    return (f"{p.where} record {index}: field {name} changed JSON type "
                            f"(got {type(value).__name__} {str(value)[:80]!r}); refusing to coerce it")
        return f"{p.where}: {message.splitlines()[0].replace(p.file, 'the page')}"
    return message.splitlines()[0]


def _fits(value: Any, expected: Any) -> bool:
    if isinstance(expected, list):
        return isinstance(value, list)
    if expected.startswith("MAP"):
        return isinstance(value, dict)
    return not isinstance(value, (list, dict))
