"""The ``raw_partners`` schema: partners, their files (every version seen, with its outcome), every
observation read (accepted or set aside, in one table so none can go missing between two), the labels
as read, and the views dbt and the reports read. The dimension columns are the canonical model's.
"""

from __future__ import annotations

import duckdb

from ingestion.partners.codes import DIMENSIONS, TOTAL
from ingestion.sql import literal

_TOTALS = ",\n    ".join(f"coalesce(o.{dimension}, {literal(TOTAL)}) as {dimension}" for dimension in DIMENSIONS)
_DIMENSION_COLUMNS = ",\n    ".join(f"{dimension} varchar" for dimension in DIMENSIONS)

DDL = f"""
create schema if not exists raw_partners;
create table if not exists raw_partners.partners (
    partner_id varchar primary key,
    partner_name varchar not null,
    source_type varchar not null,          -- civil_society | citizen_generated
    licence varchar not null,
    attribution varchar not null,
    contract_file varchar not null,
    contract_sha256 varchar not null,
    run_id varchar not null,               -- the run that landed this version of the contract
    updated_at timestamptz not null
);
create table if not exists raw_partners.files (
    partner_id varchar not null,
    source_file varchar not null,          -- file name inside the partner's inbox folder
    sha256 varchar not null,               -- the latest version seen
    size_bytes bigint not null,
    modified_at timestamptz,
    contract_file varchar,
    contract_sha256 varchar not null,      -- '' when there was no usable contract; kobo: see kobo/inbox.py
    file_entry varchar,                    -- the contract's file entry that matched
    format varchar,                        -- open_sdg | wide | kobo (rows in raw_kobo*, not file_observations)
    status varchar not null,               -- loaded | loaded_with_rejections | rejected | retry | withdrawn
    errors json not null,                  -- file-level problems: [{{code, message, fix}}]
    notes json not null,                   -- things the partner should know: [text]
    reader varchar,                        -- duckdb | python-csv | xlsx | kobo: csv_export | xlsx_export
    encoding varchar,
    delimiter varchar,
    decimal_separator varchar,
    sheet varchar,
    header_row integer,
    headers json,
    rows_read bigint not null,             -- rows under the header, empty ones included; kobo: submissions
    rows_blank bigint not null,
    cells_blank bigint not null,           -- wide files: empty value cells (not observations)
    observations_landed bigint not null,
    observations_quarantined bigint not null,
    values_missing bigint not null,        -- accepted observations whose value is empty, n/a, .., x
    batch_id varchar not null,
    run_id varchar not null,
    ingested_at timestamptz not null,
    landed_sha256 varchar,                 -- the version whose rows are in file_observations (kobo: raw_kobo*)
    landed_batch_id varchar,               -- sha256 of file and contract: same input, same id (kobo: raw_kobo's)
    landed_at timestamptz,
    primary key (partner_id, source_file)
);
create table if not exists raw_partners.file_observations (
    partner_id varchar not null,
    source_file varchar not null,
    source_row integer not null,           -- the row number a spreadsheet program shows
    source_column varchar,                 -- wide files: the header of the value's column
    reason_code varchar,                   -- null: accepted; else why it was set aside (codes.REASONS)
    reason_column varchar,                 -- the column at fault, as headed in the file
    reason_value varchar,                  -- the cell at fault, as written (cut at 1000 characters)
    reason_detail varchar,
    raw_values json,                       -- set-aside rows: every cell by header; never personal data
    observation_key ubigint,               -- accepted rows: hash of the key, to find duplicates fast
    indicator_code varchar,
    series_code varchar,
    geo_area_m49 integer,
    period_label varchar,                  -- normalised: 2019, 2019/20, 2013/14 to 2015/16, 2019-06-30
    period_start date,
    period_end date,
    -- the dimensions, canonical codes; null: no breakdown (blank cell or no such column), shown as the total by the views
    {_DIMENSION_COLUMNS},
    extra_dimensions map(varchar, varchar),-- the partner's other breakdowns (name -> value), part of the key
    value double,                          -- null when value_is_missing
    value_qualifier varchar,               -- '<', '>' or null
    value_is_missing boolean,              -- the cell was empty or a marker such as n/a, .., x
    unit varchar,
    lower_bound double,
    upper_bound double,
    nature varchar,
    sample_size bigint,
    attributes map(varchar, varchar),      -- notes kept per row (e.g. observation status)
    period_raw varchar,                    -- null when written exactly as period_label (or no cell)
    value_raw varchar,                     -- the value cell as written; coded cells: see labels
    sample_size_raw varchar,               -- null when written exactly as sample_size (or no cell)
    lower_bound_raw varchar,
    upper_bound_raw varchar
);
create table if not exists raw_partners.labels (
    partner_id varchar not null,
    source_file varchar not null,
    file_sha256 varchar not null,
    field varchar not null,                -- the canonical field or dimension the column maps to
    column_header varchar,                 -- as headed in the file (null: a wide file's value columns)
    label varchar not null,                -- a distinct cell text, exactly as written
    code varchar,                          -- what it was read as (null: not recognised)
    problem varchar,                       -- unknown_code | formula_text | unparseable_period | null
    rows bigint not null,                  -- rows of the file with this text
    batch_id varchar not null,
    ingested_at timestamptz not null
);
create or replace view raw_partners.observations as
select
    o.partner_id,
    p.source_type,
    o.indicator_code,
    o.series_code,
    o.geo_area_m49,
    o.period_label,
    o.period_start,
    o.period_end,
    {_TOTALS},
    o.extra_dimensions,
    o.value,
    o.value_qualifier,
    o.value_is_missing,
    o.unit,
    o.lower_bound,
    o.upper_bound,
    o.nature,
    o.sample_size,
    o.attributes,
    coalesce(o.period_raw, o.period_label) as period_raw,
    o.value_raw,
    coalesce(o.sample_size_raw, o.sample_size::varchar) as sample_size_raw,
    o.lower_bound_raw,
    o.upper_bound_raw,
    o.source_file,
    o.source_row,
    o.source_column,
    f.landed_sha256 as file_sha256,
    f.landed_batch_id as batch_id,
    f.landed_at as ingested_at
from raw_partners.file_observations as o
join raw_partners.files as f on f.partner_id = o.partner_id and f.source_file = o.source_file
join raw_partners.partners as p on p.partner_id = o.partner_id
where o.reason_code is null;
create or replace view raw_partners.quarantine as
select
    o.partner_id,
    o.source_file,
    f.landed_sha256 as file_sha256,
    o.source_row,
    o.source_column,
    o.reason_code,
    o.reason_column,
    o.reason_value,
    o.reason_detail,
    o.raw_values,
    f.landed_batch_id as batch_id,
    f.landed_at as ingested_at
from raw_partners.file_observations as o
join raw_partners.files as f on f.partner_id = o.partner_id and f.source_file = o.source_file
where o.reason_code is not null;
"""


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(DDL)
