"""The KoBo tables: DDL, and the tables that come from the contract alone.

``raw_kobo_restricted`` holds one row per respondent (and per repeat instance): hashed keys and
the contract's canonical fields, never a name, phone, id or exact point. Publication copies only
``marts`` and ``meta``, so these rows never leave the warehouse. ``raw_kobo`` holds counts,
exclusion reasons, field issues and the contract's declarations, with no personal data.
"""

from __future__ import annotations

from datetime import datetime

import duckdb

from ingestion.kobo.contract import KoboContract
from ingestion.kobo.validation import published_statuses
from ingestion.warehouse import ensure_tables

DDL = """
create schema if not exists raw_kobo;
create schema if not exists raw_kobo_restricted;
create table if not exists raw_kobo_restricted.submissions (
    survey_id varchar not null,
    source_id varchar not null,            -- the unit this row was landed with: an export file or an API asset
    submission_key varchar not null,       -- HMAC-SHA256(PII_SALT, meta/rootUuid, else _uuid, else instanceID)
    instance_key varchar,                  -- HMAC of this version's instanceID (an edit gets a new one)
    deprecated_key varchar,                -- HMAC of meta/deprecatedID: the instance this edit replaced
    respondent_key varchar,                -- HMAC of the contract's respondent_id answer, if declared
    form_version varchar,                  -- __version__
    submission_time timestamptz,           -- _submission_time (server time, UTC)
    validation_status varchar,             -- approved | on_hold | not_approved | null (none); all land, dbt
                                           -- publishes those in raw_kobo.surveys.published_statuses
    fields map(varchar, varchar) not null, -- canonical field -> canonical value; every contract field is a key
    gps_latitude double,                   -- coarsened per the contract's gps.policy, else null
    gps_longitude double,
    coordinates_status varchar not null,   -- valid | invalid | outside_area | missing | not_collected
    source_row integer not null,           -- data row in the export / position in the API pull
    source varchar not null,               -- the file path, or the API data URL
    source_sha256 varchar not null,        -- of the file, or of the API page body
    fetched_at timestamptz,                -- API only: the page's HTTP Date
    ingested_at timestamptz not null,
    batch_id varchar not null,
    run_id varchar not null
);
create table if not exists raw_kobo_restricted.repeat_rows (
    survey_id varchar not null,
    source_id varchar not null,
    submission_key varchar not null,
    repeat_name varchar not null,          -- the contract's name for the repeat group
    row_path varchar not null,             -- e.g. houshold_member_repeat[2]; nested repeats add levels
    row_index integer not null,            -- 1-based position under its parent row
    fields map(varchar, varchar) not null,
    source_row integer not null,
    source varchar not null,
    ingested_at timestamptz not null,
    batch_id varchar not null,
    run_id varchar not null
);
create table if not exists raw_kobo.loads (
    survey_id varchar not null,
    source_id varchar not null,
    source_kind varchar not null,          -- csv_export | xlsx_export | api
    source varchar not null,
    source_sha256 varchar not null,        -- file sha256, or sha256 over the API response bodies
    asset_uid varchar,
    contract_sha256 varchar not null,
    salt_kind varchar not null,            -- configured | public_test_salt (synthetic data only)
    batch_id varchar not null,
    run_id varchar not null,
    ingested_at timestamptz not null,
    first_fetched_at timestamptz,
    last_fetched_at timestamptz,
    submissions_read bigint not null,
    submissions_landed bigint not null,
    submissions_excluded bigint not null,
    repeat_rows_read bigint not null,
    repeat_rows_landed bigint not null,
    repeat_rows_excluded bigint not null,
    invalid_coordinates bigint not null,   -- landed submissions whose point is invalid or outside_area (kept)
    personal_columns_dropped integer not null,
    form_versions varchar[] not null,
    latest_submission_time timestamptz,
    api_pages integer,
    api_retries integer,
    api_restarts integer,
    primary key (survey_id, source_id)
);
create table if not exists raw_kobo.exclusions (
    survey_id varchar not null,
    source_id varchar not null,
    batch_id varchar not null,
    unit varchar not null,                 -- submission | repeat_row
    reason varchar not null,
    row_count bigint not null,
    detail varchar                         -- source row numbers for unreadable rows; never answers
);
create table if not exists raw_kobo.field_issues (
    survey_id varchar not null,
    source_id varchar not null,
    batch_id varchar not null,
    field varchar not null,
    issue varchar not null,                -- unmapped_code, invalid_integer, out_of_range, summary_only, ...
    row_count bigint not null,             -- among the rows read
    examples varchar[]                     -- unmapped choice codes/labels only; never free text
);
create table if not exists raw_kobo.surveys (
    survey_id varchar primary key,
    title varchar not null,
    organisation varchar not null,
    geo_area_m49 integer not null,
    reference_year integer,                -- null: the year of each submission
    synthetic boolean not null,            -- fictional data (bundled sample, tests)
    asset_uid varchar,
    published_validation_statuses varchar not null, -- the contract's policy: all_but_not_approved | approved_only
    published_statuses varchar[] not null, -- the validation statuses it publishes ('none': no status), read by dbt
    contract varchar not null,
    contract_sha256 varchar not null,
    ingested_at timestamptz not null,
    run_id varchar not null
);
create table if not exists raw_kobo.survey_fields (
    survey_id varchar not null,
    repeat_name varchar,                   -- null for submission-level fields
    field varchar not null,
    type varchar not null,                 -- select_one | select_multiple | integer | decimal | date | text
    codes varchar[]                        -- the canonical codes a coded field can take (plus 'unmapped')
);
create table if not exists raw_kobo.indicator_definitions (
    survey_id varchar not null,
    series_code varchar not null,
    indicator_code varchar,
    description varchar,
    unit varchar not null,                 -- PT: percent of the denominator; NUMBER: respondents
    disaggregate_by varchar[] not null,
    primary key (survey_id, series_code)
);
create table if not exists raw_kobo.indicator_conditions (
    survey_id varchar not null,
    series_code varchar not null,
    role varchar not null,                 -- numerator | denominator (all conditions of a role must hold)
    position integer not null,
    field varchar not null,                -- canonical field, or derived disability_status / age_group
    op varchar not null,                   -- eq ne in not_in lt le gt ge contains is_null not_null
    value varchar,
    value_list varchar[]
);
create table if not exists raw_kobo.age_bands (
    survey_id varchar not null,
    age_group varchar not null,            -- SDMX code, e.g. Y15T24, Y_GE65
    min_age integer not null,
    max_age integer                        -- inclusive; null: open-ended
);
"""


def ensure_schema(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Create the KoBo tables, carrying rows over when an upgrade changed a layout (with no transaction
    open); returns the tables that could not keep everything (see ``ingestion.warehouse.ensure_tables``)."""
    return ensure_tables(con, DDL)


def land_contract(con: duckdb.DuckDBPyConnection, contract: KoboContract, *, run_id: str, now: datetime) -> None:
    """Replace the survey's rows in raw_kobo.surveys, survey_fields, indicator_* and age_bands.

    Called inside every ingestion transaction, and usable alone (e.g. by a contracts asset).
    """
    con.execute(DDL)  # inside the caller's transaction: create what is missing, migrate nothing
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware (e.g. datetime.now(timezone.utc))")
    survey_id = contract.survey_id
    for table in ("surveys", "survey_fields", "indicator_definitions", "indicator_conditions", "age_bands"):
        con.execute(f"delete from raw_kobo.{table} where survey_id = ?", [survey_id])
    con.execute(
        "insert into raw_kobo.surveys values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [survey_id, contract.title, contract.organisation, contract.geo_area_m49, contract.reference_year,
         contract.synthetic, contract.asset_uid, contract.published_validation_statuses,
         published_statuses(contract.published_validation_statuses), contract.origin, contract.sha256, now, run_id],
    )
    field_rows = [
        (survey_id, repeat, spec.name, spec.type, sorted(set(spec.codes.values())) if spec.codes else None)
        for repeat, specs in [(None, contract.fields), *((r.name, r.fields) for r in contract.repeats)]
        for spec in specs
    ]
    con.executemany("insert into raw_kobo.survey_fields values (?, ?, ?, ?, ?)", field_rows)
    for indicator in contract.indicators:
        con.execute(
            "insert into raw_kobo.indicator_definitions values (?, ?, ?, ?, ?, ?)",
            [survey_id, indicator.series_code, indicator.indicator_code, indicator.description, indicator.unit,
             list(indicator.disaggregate_by)],
        )
        conditions = [
            (survey_id, indicator.series_code, role, position, condition.field, condition.op, condition.value,
             list(condition.values) if condition.values is not None else None)
            for role, items in (("numerator", indicator.numerator), ("denominator", indicator.denominator))
            for position, condition in enumerate(items)
        ]
        if conditions:
            con.executemany("insert into raw_kobo.indicator_conditions values (?, ?, ?, ?, ?, ?, ?, ?)", conditions)
    if contract.age_bands:
        con.executemany(
            "insert into raw_kobo.age_bands values (?, ?, ?, ?)",
            [(survey_id, band.code, band.min_age, band.max_age) for band in contract.age_bands],
        )
