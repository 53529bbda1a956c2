"""Landing of SDG API series into ``raw_sdg``: streamed page by page, one transaction per series.

A series is replaced as a whole: its old rows are deleted and the new pages inserted in the
same transaction, so a failure half-way (network, a short page, a broken record) leaves the
previous version of that series exactly as it was, and a rerun never duplicates rows.

How a page travels: a fetch process (ingestion/sdg_api/fetch.py; one for a whole group of series, a
thread where fork is unavailable) gets it through the client (which retries until the body is whole,
valid JSON), notes its record count, field names and dimension names, and writes the body to a
scratch folder; the calling process appends the
pages spooled so far with one ``insert ... select ... from read_json(...)`` per batch (parse,
value rules, lineage and record checks in the same pass, straight into the landing table); before
the commit, the rows landed per page are counted in the table itself and compared with what each
page held and with the API's ``totalElements``.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pandas as pd

from ingestion.sdg_api.client import SdgApiClient, SdgApiError
from ingestion.sdg_api.fetch import CodeLists, SeriesFetch, SpooledPage
from ingestion.sdg_api.parse import (
    MACROS_SQL,
    RECORD_FIELDS,
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
    fetch: SeriesFetch | None = None,
) -> SeriesLoad:
    """Fetch every page of ``series_code`` and replace that series in ``raw_sdg`` atomically.

    The fetcher (``fetch``, shared by a group of series; else one for this series alone) fetches,
    validates and spools the pages while DuckDB appends the pages spooled so far; the counts are checked
    against the table itself before the commit.
    """
    if fetch is None:
        with (tempfile.TemporaryDirectory(prefix="sdg_spool_", ignore_cleanup_errors=True) as scratch,
              series_fetch(client, [series_code], area_codes, Path(scratch)) as alone):
            return land_series(con, client, series_code, area_codes, run_id, release, request_key,
                               schema_checked, fetch=alone)
    try:
        return _land_fetched(con, fetch, series_code, run_id, release, request_key, schema_checked)
    except BaseException:
        fetch.abandon(series_code)  # the fetcher stops this series and goes on with the next
        raise
    finally:
        client.retries = max(client.retries, fetch.retries_seen)  # counted where the pages are fetched


def _land_fetched(con: duckdb.DuckDBPyConnection, fetch: SeriesFetch, series_code: str, run_id: str,
                  release: str | None, request_key: str | None, schema_checked: bool) -> SeriesLoad:
    # A group of series checks the landing tables' layout once (land_group), not once per series.
    recreated = [] if schema_checked else ensure_schema(con)
    load = SeriesLoad(series_code=series_code, release=release, recreated_tables=recreated)
    con.execute(MACROS_SQL)
    items = fetch.items(series_code)
    first = next(items)  # the code lists, or the series' fetch error
    assert isinstance(first, CodeLists), first
    # The request key too: landing the same responses under new rules (LANDING_RULES_VERSION) is a new batch.
    digest = hashlib.sha256(f"{series_code}|{request_key or ''}".encode())
    code_lists = []
    for kind, fetched in first.lists:
        digest.update(fetched.sha256.encode())
        lineage = {"request_url": fetched.url, "fetched_at": fetched.fetched_at, "response_sha256": fetched.sha256}
        code_lists += [{**row, **lineage} for row in parse_code_lists(fetched.data, kind)]
    declared_dimensions = {row["concept"] for row in code_lists if row["kind"] == "dimension"}
    with _one_duckdb_thread(con), transaction(con):
        for table in ("series_observations", "series_code_lists", "series_loads"):
            con.execute(f"delete from raw_sdg.{table} where series_code = ?", [series_code])
        batch_expected: dict[tuple | None, int] = {}
        batch_landed: Counter = Counter()
        spool = _PageSpool(con, series_code, run_id, load)
        for page in items:
            assert isinstance(page, SpooledPage), page
            expected = batch_expected.setdefault(page.area_batch, page.total_elements)
            if page.total_elements != expected:
                raise SdgApiError(
                    f"series {series_code} page {page.page_number}: totalElements changed from "
                    f"{expected} to {page.total_elements} while paging; the series changed upstream, retry later"
                )
            spool.add(page)
            batch_landed[page.area_batch] += page.records
            load.pages += 1
            digest.update(page.sha256.encode())
            load.first_fetched_at = min(filter(None, [load.first_fetched_at, page.fetched_at]))
            load.last_fetched_at = max(filter(None, [load.last_fetched_at, page.fetched_at]))
            if spool.ready(more_waiting=fetch.waiting()):
                spool.flush()
        spool.flush()
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
        load.retries = fetch.retries_seen - first.retries_before
        load.batch_id = digest.hexdigest()[:16]
        if load.pages == 0 or load.first_fetched_at is None:
            raise SdgApiError(f"series {series_code}: the API returned no pages")
        load.undeclared_dimensions = load.dimension_names - declared_dimensions
        con.execute(_MARK_SUPERSEDED, {"series": series_code})
        load.duplicates_superseded = con.execute(
            "select count(*) from raw_sdg.series_observations where series_code = ? and superseded_by is not null",
            [series_code]).fetchone()[0]
        if code_lists:
            codes = pd.DataFrame([{**row, "series_code": series_code, "batch_id": load.batch_id}  # noqa: F841
                                  for row in code_lists])  # scanned by name below
            con.execute("insert into raw_sdg.series_code_lists by name select * from codes")
        con.execute(
            """insert into raw_sdg.series_loads values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [series_code, load.batch_id, run_id, load.rows_landed, load.total_elements, load.pages,
             load.retries, load.missing_values, load.unparseable_values, load.qualified_values,
             load.first_fetched_at, load.last_fetched_at, load.duplicates_superseded, release, request_key],
        )
    return load


def series_fetch(client: SdgApiClient, series_codes: Sequence[str], area_codes: Sequence[int] | None,
                 directory: Path) -> SeriesFetch:
    """The fetcher for ``series_codes``, as far ahead as two full batches of pages."""
    return SeriesFetch(client, series_codes, area_codes, directory, depth=2 * _PageSpool.FLUSH_PAGES)


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


class _PageSpool:
    """Spooled pages on their way into DuckDB: appended in batches, each batch one ``insert ... select``
    from ``read_json`` of its files inside the series' transaction, with no intermediate copy. A batch
    goes as soon as DuckDB would otherwise wait (at least MIN_FLUSH_PAGES), and never grows past
    FLUSH_PAGES, so memory and scratch space stay bounded whatever the size of the series."""

    FLUSH_PAGES = 100
    MIN_FLUSH_PAGES = 8

    def __init__(self, con: duckdb.DuckDBPyConnection, series_code: str, run_id: str, load: SeriesLoad) -> None:
        self.con, self.series_code, self.run_id, self.load = con, series_code, run_id, load
        self.pending: list[SpooledPage] = []
        self.appended: list[SpooledPage] = []
        self.unknown: set[str] = set()
        self.page_dimensions: list[tuple[int, set[str]]] = []  # in fetch order, for drift reporting
        con.execute(_LINEAGE_DDL)

    def add(self, page: SpooledPage) -> None:
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


def _insert_lineage(con: duckdb.DuckDBPyConnection, pages: list[SpooledPage], run_id: str) -> None:
    """The lineage of each spooled page, keyed by its spool file (joined to its rows in the read)."""
    con.execute(
        "insert into sdg_page_lineage select unnest($file), unnest($ordinal), unnest($url), unnest($page), "
        "unnest($fetched_at), unnest($sha256), $run_id, unnest($unknown)",
        {"file": [p.file for p in pages], "ordinal": [p.ordinal for p in pages], "url": [p.url for p in pages],
         "page": [p.page_number for p in pages], "fetched_at": [p.fetched_at for p in pages],
         "sha256": [p.sha256 for p in pages], "run_id": run_id,
         "unknown": [sorted(p.unknown_fields) for p in pages]},
    )


def _explain_refusal(message: str, pending: list[SpooledPage], unknown: list[str], run_id: str) -> str:
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


def _name_page(message: str, pending: list[SpooledPage]) -> str:
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
