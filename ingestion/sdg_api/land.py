"""Landing of SDG API series into ``raw_sdg``: streamed page by page, one transaction per series.

A series is replaced as a whole: its old rows are deleted and the new pages inserted in the
same transaction, so a failure half-way (network, a short page, a broken record) leaves the
previous version of that series exactly as it was, and a rerun never duplicates rows.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import duckdb
import pandas as pd

from ingestion.sdg_api.client import SdgApiClient, SdgApiError, SeriesPage
from ingestion.sdg_api.parse import KNOWN_FIELDS, RecordError, parse_code_lists, parse_observation
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

_INSERT_OBSERVATIONS = """
insert into raw_sdg.series_observations by name
select
    md5(request_url || '#' || record_index::varchar) as record_id,
    * exclude (goal_codes, target_codes, indicator_codes, footnotes, attributes, dimensions, extra_fields),
    goal_codes::json::varchar[] as goal_codes,
    target_codes::json::varchar[] as target_codes,
    indicator_codes::json::varchar[] as indicator_codes,
    footnotes::json::varchar[] as footnotes,
    attributes::json::map(varchar, varchar) as attributes,
    dimensions::json::map(varchar, varchar) as dimensions,
    extra_fields::json as extra_fields
from page_rows
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
    retries_before = client.retries
    digest = hashlib.sha256(series_code.encode())
    code_lists = []
    for kind, fetched in client.series_code_lists(series_code):
        digest.update(fetched.sha256.encode())
        lineage = {"request_url": fetched.url, "fetched_at": fetched.fetched_at, "response_sha256": fetched.sha256}
        code_lists += [{**row, **lineage} for row in parse_code_lists(fetched.data, kind)]
    declared_dimensions = {row["concept"] for row in code_lists if row["kind"] == "dimension"}
    with transaction(con):
        for table in ("series_observations", "series_code_lists", "series_loads"):
            con.execute(f"delete from raw_sdg.{table} where series_code = ?", [series_code])
        batch_expected: dict[tuple | None, int] = {}
        batch_landed: Counter = Counter()
        first_page_dimensions: set[str] | None = None
        for page in client.iter_series_pages(series_code, area_codes):
            expected = batch_expected.setdefault(page.area_batch, page.total_elements)
            if page.total_elements != expected:
                raise SdgApiError(
                    f"series {series_code} page {page.page_number}: totalElements changed from "
                    f"{expected} to {page.total_elements} while paging; the series changed upstream, retry later"
                )
            page_dimensions = {name for record in page.records for name in (record.get("dimensions") or {})}
            if first_page_dimensions is None:
                first_page_dimensions = page_dimensions
            elif page.records and page_dimensions != first_page_dimensions:
                load.pages_with_changed_dimensions.append(page.page_number)
            rows = _page_rows(page, run_id, load)
            if rows:
                page_rows = pd.DataFrame(rows)  # noqa: F841 -- scanned by name in the SQL below
                con.execute(_INSERT_OBSERVATIONS)
            batch_landed[page.area_batch] += len(rows)
            load.pages += 1
            digest.update(page.fetched.sha256.encode())
            fetched_at = page.fetched.fetched_at
            load.first_fetched_at = min(filter(None, [load.first_fetched_at, fetched_at]))
            load.last_fetched_at = max(filter(None, [load.last_fetched_at, fetched_at]))
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


def _page_rows(page: SeriesPage, run_id: str, load: SeriesLoad) -> list[dict]:
    rows = []
    for index, record in enumerate(page.records):
        try:
            row = parse_observation(record)
        except RecordError as exc:
            raise SdgApiError(
                f"series {page.series_code} page {page.page_number} record {index}: {exc}"
            ) from exc
        if row["series_code"] != page.series_code:
            raise SdgApiError(
                f"series {page.series_code} page {page.page_number} record {index}: "
                f"belongs to series {row['series_code']}"
            )
        load.missing_values += row["value_is_missing"]
        load.unparseable_values += row["value_is_unparseable"]
        load.qualified_values += row["value_qualifier"] is not None
        load.dimension_names.update((record.get("dimensions") or {}).keys())
        load.unknown_fields.update(key for key in record if key not in KNOWN_FIELDS)
        row.update(
            request_url=page.fetched.url,
            page=page.page_number,
            record_index=index,
            fetched_at=page.fetched.fetched_at,
            response_sha256=page.fetched.sha256,
            run_id=run_id,
        )
        rows.append(row)
    return rows

