"""Landing of SDG API series into ``raw_sdg``: streamed page by page, one transaction per series.

A series is replaced as a whole: its old rows are deleted and the new pages inserted in the
same transaction, so a failure half-way (network, a short page, a broken record) leaves the
previous version of that series exactly as it was, and a rerun never duplicates rows.
"""

from __future__ import annotations

import hashlib
import queue
import tempfile
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
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
    last_fetched_at timestamptz not null
);
"""

# First offending record per kind of problem (page, record, problem); no rows when all is well.
_PAGE_CHECKS = """
select spool_file, record_index, problem from (
    select spool_file, page, record_index,
        case
            when series_code is null or series_code = '' then 'an empty series'
            when series_code <> $series then 'belongs to series ' || series_code
            when geo_area_m49 is null then 'no readable geoAreaCode (' || coalesce(geo_area_code_raw, 'null') || ')'
            when time_period is null then 'no readable timePeriodStart (' || coalesce(time_period_start_raw, 'null') || ')'
        end as problem
    from sdg_pages
)
where problem is not null
order by page, record_index
limit 1
"""

_PAGE_COUNTS = """
select spool_file, count(*), count(*) filter (where value_is_missing), count(*) filter (where value_is_unparseable),
       count(*) filter (where value_qualifier is not null), list_distinct(flatten(list(map_keys(dimensions))))
from sdg_pages
group by spool_file
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
) -> SeriesLoad:
    """Fetch every page of ``series_code`` and replace that series in ``raw_sdg`` atomically."""
    load = SeriesLoad(series_code=series_code, recreated_tables=ensure_schema(con))
    con.execute(MACROS_SQL)
    retries_before = client.retries
    digest = hashlib.sha256(series_code.encode())
    code_lists = []
    for kind, fetched in client.series_code_lists(series_code):
        digest.update(fetched.sha256.encode())
        lineage = {"request_url": fetched.url, "fetched_at": fetched.fetched_at, "response_sha256": fetched.sha256}
        code_lists += [{**row, **lineage} for row in parse_code_lists(fetched.data, kind)]
    declared_dimensions = {row["concept"] for row in code_lists if row["kind"] == "dimension"}
    with transaction(con), tempfile.TemporaryDirectory(prefix="sdg_spool_") as scratch:
        for table in ("series_observations", "series_code_lists", "series_loads"):
            con.execute(f"delete from raw_sdg.{table} where series_code = ?", [series_code])
        batch_expected: dict[tuple | None, int] = {}
        batch_landed: Counter = Counter()
        spool = _PageSpool(con, Path(scratch), run_id, load)
        for page in _prefetched(client.iter_series_pages(series_code, area_codes)):
            expected = batch_expected.setdefault(page.area_batch, page.total_elements)
            if page.total_elements != expected:
                raise SdgApiError(
                    f"series {series_code} page {page.page_number}: totalElements changed from "
                    f"{expected} to {page.total_elements} while paging; the series changed upstream, retry later"
                )
            spool.add(page)
            batch_landed[page.area_batch] += len(page.records)
            load.pages += 1
            digest.update(page.fetched.sha256.encode())
            fetched_at = page.fetched.fetched_at
            load.first_fetched_at = min(filter(None, [load.first_fetched_at, fetched_at]))
            load.last_fetched_at = max(filter(None, [load.last_fetched_at, fetched_at]))
        spool.flush()
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
        if code_lists:
            codes = pd.DataFrame([{**row, "series_code": series_code, "batch_id": load.batch_id}
                                  for row in code_lists])  # noqa: F841 -- scanned by name below
            con.execute("insert into raw_sdg.series_code_lists by name select * from codes")
        con.execute(
            """insert into raw_sdg.series_loads values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [series_code, load.batch_id, run_id, load.rows_landed, load.total_elements, load.pages,
             load.retries, load.missing_values, load.unparseable_values, load.qualified_values,
             load.first_fetched_at, load.last_fetched_at],
        )
    return load


_DONE = object()


def _prefetched(pages: Iterator[SeriesPage], depth: int = 8) -> Iterator[SeriesPage]:
    """Fetch the next pages in a background thread while DuckDB parses the current ones (DuckDB and
    socket reads release the GIL). At most ``depth`` pages wait in memory; a fetch error is re-raised
    here, and leaving early stops the fetching."""
    waiting: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def offer(item: object) -> bool:
        while not stop.is_set():
            try:
                waiting.put(item, timeout=0.5)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for page in pages:
                if not offer(page):
                    return
            offer(_DONE)
        except BaseException as exc:  # handed to the consumer, which raises it in its own thread
            offer(exc)

    worker = threading.Thread(target=produce, name="sdg-page-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item = waiting.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join(timeout=30)


class _PageSpool:
    """Pages on their way into DuckDB: bodies written as received to a scratch folder, parsed by
    read_json in batches of FLUSH_PAGES, checked, and appended inside the series' transaction.
    Memory stays bounded by one batch whatever the size of the series."""

    FLUSH_PAGES = 150

    def __init__(self, con: duckdb.DuckDBPyConnection, directory: Path, run_id: str, load: SeriesLoad) -> None:
        self.con, self.directory, self.run_id, self.load = con, directory, run_id, load
        self.pending: list[dict[str, Any]] = []
        self.written = 0
        self.unknown: set[str] = set()
        self.page_dimensions: list[tuple[int, set[str]]] = []  # in fetch order, for drift reporting
        con.execute("create or replace temp table sdg_page_lineage (file varchar, request_url varchar, page integer, "
                    "fetched_at timestamptz, response_sha256 varchar, run_id varchar)")

    def add(self, page: SeriesPage) -> None:
        if not page.records:
            self.page_dimensions.append((page.page_number, set()))
            return
        keys = set().union(*(record.keys() for record in page.records if isinstance(record, dict)))
        missing = [name for name in REQUIRED_FIELDS if name not in keys]
        if missing:
            raise SdgApiError(f"{_where(page)}: records lack required field(s) {', '.join(missing)}")
        self.unknown |= keys - KNOWN_FIELDS
        self.written += 1
        path = self.directory / f"{self.written}.json"
        path.write_bytes(page.fetched.body)
        self.pending.append({"file": str(path), "request_url": page.fetched.url, "page": page.page_number,
                             "fetched_at": page.fetched.fetched_at, "response_sha256": page.fetched.sha256,
                             "run_id": self.run_id, "records": len(page.records), "series": page.series_code,
                             "where": _where(page)})
        if len(self.pending) >= self.FLUSH_PAGES:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        con, pending = self.con, self.pending
        lineage = pd.DataFrame([{k: v for k, v in p.items() if k not in ("records", "series", "where")}  # noqa: F841
                                for p in pending])
        con.execute("delete from sdg_page_lineage")
        con.execute("insert into sdg_page_lineage by name select * from lineage")
        unknown = sorted(self.unknown)
        try:
            con.execute("create or replace temp table sdg_pages as "
                        + spooled_pages_sql([p["file"] for p in pending], unknown))
        except duckdb.InvalidInputException as exc:
            raise SdgApiError(_name_page(str(exc), pending)) from exc
        by_file = {p["file"]: p for p in pending}
        for spool_file, record, problem in con.execute(_PAGE_CHECKS, {"series": pending[0]["series"]}).fetchall():
            raise SdgApiError(f"{by_file[spool_file]['where']} record {record}: {problem}")
        counts = {row[0]: row[1:] for row in con.execute(_PAGE_COUNTS).fetchall()}
        for p in pending:  # in fetch order
            records, missing, unparseable, qualified, names = counts.get(p["file"], (0, 0, 0, 0, []))
            if records != p["records"]:
                raise SdgApiError(f"{p['where']}: parsed {records} records of {p['records']}")
            self.load.missing_values += missing
            self.load.unparseable_values += unparseable
            self.load.qualified_values += qualified
            self.page_dimensions.append((p["page"], set(names or [])))
        con.execute("insert into raw_sdg.series_observations by name select * exclude (spool_file) from sdg_pages")
        self.load.unknown_fields.update({name: sum(p["records"] for p in pending) for name in unknown})
        for p in pending:
            Path(p["file"]).unlink()
        self.pending = []


def _where(page: SeriesPage) -> str:
    batch = f" areas {page.area_batch[0]}..{page.area_batch[-1]}" if page.area_batch else ""
    return f"series {page.series_code}{batch} page {page.page_number}"


def _name_page(message: str, pending: list[dict[str, Any]]) -> str:
    """DuckDB refused a spooled page; find the API page, record and field, and say what changed."""
    for p in pending:
        if p["file"] not in message:
            continue
        for index, record in enumerate(orjson.loads(Path(p["file"]).read_bytes())["data"]):
            for name, value in record.items():
                if name in RECORD_FIELDS and value is not None and not _fits(value, RECORD_FIELDS[name]):
                    return (f"{p['where']} record {index}: field {name} changed JSON type "
                            f"(got {type(value).__name__} {str(value)[:80]!r}); refusing to coerce it")
        return f"{p['where']}: {message.splitlines()[0].replace(p['file'], 'the page')}"
    return message.splitlines()[0]


def _fits(value: Any, expected: Any) -> bool:
    if isinstance(expected, list):
        return isinstance(value, list)
    if expected.startswith("MAP"):
        return isinstance(value, dict)
    return not isinstance(value, (list, dict))
