"""Landing of partner files into ``raw_partners``: one transaction per file.

Every observation read from a file lands once, in ``file_observations``, with either no reason
(accepted) or the reason it was set aside, so no row can go missing between two tables. The
views ``observations`` (accepted, with the file's lineage) and ``quarantine`` (set aside, with
the raw cells) are what dbt and the reports read.

A file is identified by partner and name; its version by sha256. Landing a new version deletes
the rows of the previous one and inserts the new ones in the same transaction, so readers see
either the old version or the new one, never a mix. A version that cannot be read at all leaves
the previously landed rows in place (``files.landed_sha256`` says which version they are).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone

import duckdb
import pandas as pd

from ingestion.partners.codes import DIMENSIONS, TOTAL, Problem
from ingestion.partners.contract import Contract
from ingestion.partners.evaluate import EVAL, KEY, RAW_CELL_CHARS, Evaluation, Layout, raw_values_json
from ingestion.partners.read import CELLS, StagedFile
from ingestion.sql import literal
from ingestion.warehouse import transaction

_TOTALS = ",\n    ".join(f"coalesce(o.{dimension}, '{TOTAL}') as {dimension}" for dimension in DIMENSIONS)

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
    contract_sha256 varchar not null,      -- '' when there was no usable contract; kobo: see partners/kobo.py
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
    sex varchar,                           -- canonical codes; null: no breakdown (blank cell or no
    age_group varchar,                     -- such column), shown as _T by the views
    disability_status varchar,
    location varchar,
    income_quantile varchar,
    migratory_status varchar,
    population_group varchar,
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

_DUPLICATES = "_pt_duplicates"


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(DDL)


@dataclass(frozen=True)
class FileVersion:
    partner_id: str
    source_file: str
    sha256: str
    size_bytes: int
    modified_at: datetime


@dataclass(frozen=True)
class LandedCounts:
    observations: int
    landed: int
    quarantined: int
    values_missing: int
    by_reason: dict[str, int]


def previous_version(con: duckdb.DuckDBPyConnection, partner_id: str, source_file: str) -> dict | None:
    cursor = con.execute("select * from raw_partners.files where partner_id = ? and source_file = ?",
                         [partner_id, source_file])
    row = cursor.fetchone()
    if row is None:
        return None
    return dict(zip([column[0] for column in cursor.description], row))


def upsert_partner(con: duckdb.DuckDBPyConnection, contract: Contract, contract_file: str, run_id: str, now: datetime) -> None:
    """The partner's row, rewritten only when its contract changed: an unchanged night leaves the landing
    tables as they were (ingestion/fingerprint.py), so run_id and updated_at say when this version came."""
    current = con.execute("select contract_file, contract_sha256 from raw_partners.partners where partner_id = ?",
                          [contract.partner_id]).fetchone()
    if current == (contract_file, contract.sha256):
        return
    with transaction(con):
        con.execute("delete from raw_partners.partners where partner_id = ?", [contract.partner_id])
        con.execute("insert into raw_partners.partners values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [contract.partner_id, contract.name, contract.type, contract.licence, contract.attribution,
                     contract_file, contract.sha256, run_id, now])


def _files_row(con: duckdb.DuckDBPyConnection, values: dict) -> None:
    columns = list(values)
    con.execute("delete from raw_partners.files where partner_id = ? and source_file = ?",
                [values["partner_id"], values["source_file"]])
    con.execute(f"insert into raw_partners.files ({', '.join(columns)}) values ({', '.join('?' for _ in columns)})",
                [values[column] for column in columns])


def _timestamp(mtime: datetime | float | None) -> datetime | None:
    if mtime is None or isinstance(mtime, datetime):
        return mtime
    return datetime.fromtimestamp(mtime, tz=timezone.utc)


def _mark_duplicates(con: duckdb.DuckDBPyConnection, partner_id: str, source_file: str,
                     staged: StagedFile, value_header: str | None, layout: Layout) -> None:
    """Set aside accepted observations whose key repeats: all of them when their values differ
    (we cannot tell which is right), the later ones when they are exact repeats. Candidates are
    found by a hash of the key, then compared exactly."""
    scope = "partner_id = $partner and source_file = $file and reason_code is null"
    params = {"partner": partner_id, "file": source_file}
    partition = ", ".join(f"k{index}" for index in range(len(KEY)))
    con.execute(f"""
        create or replace temp table {_DUPLICATES} as
        with candidates as (
            select observation_key from raw_partners.file_observations where {scope}
            group by 1 having count(*) > 1
        ),
        rows as (
            select source_row, source_column, value_raw, {', '.join(f'{part} as k{index}' for index, part in enumerate(KEY))},
                   coalesce(value::varchar, 'missing') || coalesce(value_qualifier, '') || coalesce(unit, '') as signature
            from raw_partners.file_observations
            where {scope} and observation_key in (select observation_key from candidates)
        ),
        ranked as (
            select *,
                   row_number() over keyed as position,
                   count(*) over (partition by {partition}) as n,
                   count(distinct signature) over (partition by {partition}) as n_values,
                   list(source_row) over keyed as all_rows
            from rows
            window keyed as (partition by {partition}
                             order by source_row, source_column
                             rows between unbounded preceding and unbounded following)
        )
        select r.source_row, r.source_column,
               case when r.n_values > 1 then 'conflicting_duplicate' else 'duplicate_row' end as reason_code,
               coalesce(r.source_column, {literal(value_header) if value_header else 'null'}) as reason_column,
               left(r.value_raw, {RAW_CELL_CHARS}) as reason_value,
               'same breakdown in rows ' || array_to_string(list_sort(list_distinct(r.all_rows))[1:10], ', ')
                   || case when len(list_distinct(r.all_rows)) > 10 then ' and more' else '' end as reason_detail,
               {raw_values_json(staged.headers, 'c', layout.withheld_positions)} as raw_values
        from ranked r join {CELLS} c on c.rowid = r.source_row - 1
        where r.n > 1 and (r.n_values > 1 or r.position > 1)
    """, params)
    con.execute(f"""
        update raw_partners.file_observations as o
        set reason_code = d.reason_code, reason_column = d.reason_column, reason_value = d.reason_value,
            reason_detail = d.reason_detail, raw_values = d.raw_values
        from {_DUPLICATES} as d
        where o.partner_id = $partner and o.source_file = $file and o.source_row = d.source_row
          and o.source_column is not distinct from d.source_column
    """, params)
    con.execute(f"drop table {_DUPLICATES}")


def _insert_labels(con: duckdb.DuckDBPyConnection, version: FileVersion, evaluation: Evaluation,
                   batch_id: str, ingested_at: datetime) -> None:
    if not evaluation.labels:
        return
    labels = pd.DataFrame.from_records(
        [(use.field, use.column, use.label, use.code, use.problem, use.rows) for use in evaluation.labels],
        columns=["field", "column_header", "label", "code", "problem", "rows"])
    con.register("_pt_labels", labels)
    try:
        con.execute("""
            insert into raw_partners.labels by name
            select ?::varchar as partner_id, ?::varchar as source_file, ?::varchar as file_sha256, *,
                   ?::varchar as batch_id, ?::timestamptz as ingested_at
            from _pt_labels
        """, [version.partner_id, version.source_file, version.sha256, batch_id, ingested_at])
    finally:
        con.unregister("_pt_labels")


def land_file(
    con: duckdb.DuckDBPyConnection,
    *,
    version: FileVersion,
    contract: Contract,
    file_entry: str,
    file_format: str,
    staged: StagedFile,
    evaluation: Evaluation,
    decimal: str,
    notes: list[str],
    batch_id: str,
    run_id: str,
    ingested_at: datetime,
) -> LandedCounts:
    """Replace the file's rows with this version's, all in one transaction."""
    partner_id, source_file = version.partner_id, version.source_file
    where = [partner_id, source_file]
    with transaction(con):
        for table in ("file_observations", "labels"):
            con.execute(f"delete from raw_partners.{table} where partner_id = ? and source_file = ?", where)
        observations = con.execute(f"""
            insert into raw_partners.file_observations by name
            select ?::varchar as partner_id, ?::varchar as source_file, * from {EVAL}
        """, where).fetchone()[0]
        _mark_duplicates(con, partner_id, source_file, staged, evaluation.value_header, evaluation.layout)
        _insert_labels(con, version, evaluation, batch_id, ingested_at)
        landed, missing = con.execute(
            "select count(*) filter (where reason_code is null), count(*) filter (where reason_code is null and value_is_missing) "
            "from raw_partners.file_observations where partner_id = ? and source_file = ?", where).fetchone()
        by_reason = dict(con.execute(
            "select reason_code, count(*) from raw_partners.file_observations where partner_id = ? and source_file = ? "
            "and reason_code is not null group by reason_code order by reason_code", where).fetchall())
        quarantined = sum(by_reason.values())
        if landed + quarantined != observations:
            raise RuntimeError(f"{partner_id}/{source_file}: {observations} observations read but {landed} accepted "
                               f"and {quarantined} set aside; nothing was landed")
        blank_cells = (staged.rows_read - evaluation.blank_rows) * evaluation.wide_columns - observations if evaluation.wide_columns else 0
        _files_row(con, {
            "partner_id": partner_id, "source_file": source_file, "sha256": version.sha256,
            "size_bytes": version.size_bytes, "modified_at": _timestamp(version.modified_at),
            "contract_file": str(contract.path.name), "contract_sha256": contract.sha256,
            "file_entry": file_entry, "format": file_format,
            "status": "loaded_with_rejections" if quarantined else "loaded",
            "errors": "[]", "notes": json.dumps(notes), "reader": staged.reader, "encoding": staged.encoding,
            "delimiter": staged.delimiter, "decimal_separator": decimal, "sheet": staged.sheet,
            "header_row": staged.header_row, "headers": json.dumps(staged.headers),
            "rows_read": staged.rows_read, "rows_blank": evaluation.blank_rows, "cells_blank": blank_cells,
            "observations_landed": landed, "observations_quarantined": quarantined, "values_missing": missing,
            "batch_id": batch_id, "run_id": run_id, "ingested_at": ingested_at,
            "landed_sha256": version.sha256, "landed_batch_id": batch_id, "landed_at": ingested_at,
        })
    return LandedCounts(observations, landed, quarantined, missing, by_reason)


def record_failure(
    con: duckdb.DuckDBPyConnection,
    *,
    version: FileVersion,
    contract: Contract | None,
    file_entry: str | None,
    file_format: str | None,
    problems: list[Problem],
    notes: list[str],
    status: str,
    staged: StagedFile | None,
    batch_id: str,
    run_id: str,
    ingested_at: datetime,
    contract_sha256: str | None = None,
) -> None:
    """Record a version that could not be landed; rows of an earlier version stay as they were.

    ``contract_sha256`` overrides the contract's own (a KoBo file also depends on its survey contract)."""
    previous = previous_version(con, version.partner_id, version.source_file) or {}
    if contract_sha256 is None:
        contract_sha256 = contract.sha256 if contract else ""
    with transaction(con):
        _files_row(con, {
            "partner_id": version.partner_id, "source_file": version.source_file, "sha256": version.sha256,
            "size_bytes": version.size_bytes, "modified_at": _timestamp(version.modified_at),
            "contract_file": contract.path.name if contract else None,
            "contract_sha256": contract_sha256,
            "file_entry": file_entry, "format": file_format, "status": status,
            "errors": json.dumps([problem.as_dict() for problem in problems]), "notes": json.dumps(notes),
            "reader": staged.reader if staged else None, "encoding": staged.encoding if staged else None,
            "delimiter": staged.delimiter if staged else None, "decimal_separator": None,
            "sheet": staged.sheet if staged else None, "header_row": staged.header_row if staged and staged.headers else None,
            "headers": json.dumps(staged.headers) if staged and staged.headers else None,
            "rows_read": staged.rows_read if staged else 0, "rows_blank": 0, "cells_blank": 0,
            "observations_landed": 0, "observations_quarantined": 0, "values_missing": 0,
            "batch_id": batch_id, "run_id": run_id, "ingested_at": ingested_at,
            "landed_sha256": previous.get("landed_sha256"), "landed_batch_id": previous.get("landed_batch_id"),
            "landed_at": previous.get("landed_at"),
        })


@dataclass(frozen=True)
class KoboFileCounts:
    """What ``ingestion.kobo`` landed from one export, as the partner's files table records it."""

    reader: str  # csv_export | xlsx_export
    delimiter: str | None
    submissions_read: int
    submissions_landed: int
    submissions_excluded: int


def track_kobo_file(
    con: duckdb.DuckDBPyConnection,
    *,
    version: FileVersion,
    contract: Contract,
    file_entry: str,
    contract_sha256: str,
    counts: KoboFileCounts,
    notes: list[str],
    batch_id: str,
    run_id: str,
    ingested_at: datetime,
) -> None:
    """Record a KoBo export as landed. Called inside ``ingest_kobo_export``'s transaction, so this row
    and the survey's rows in ``raw_kobo*`` change together; it opens no transaction of its own.

    The interviews themselves stay in ``raw_kobo_restricted`` (dbt aggregates them): none go to
    ``file_observations``, and rows an earlier contract read from this file name as a table go."""
    where = [version.partner_id, version.source_file]
    for table in ("file_observations", "labels"):
        con.execute(f"delete from raw_partners.{table} where partner_id = ? and source_file = ?", where)
    _files_row(con, {
        "partner_id": version.partner_id, "source_file": version.source_file, "sha256": version.sha256,
        "size_bytes": version.size_bytes, "modified_at": _timestamp(version.modified_at),
        "contract_file": contract.path.name, "contract_sha256": contract_sha256,
        "file_entry": file_entry, "format": "kobo",
        "status": "loaded_with_rejections" if counts.submissions_excluded else "loaded",
        "errors": "[]", "notes": json.dumps(notes), "reader": counts.reader,
        "encoding": "utf-8" if counts.reader == "csv_export" else None, "delimiter": counts.delimiter,
        "decimal_separator": None, "sheet": None, "header_row": 1, "headers": None,
        "rows_read": counts.submissions_read, "rows_blank": 0, "cells_blank": 0,
        "observations_landed": counts.submissions_landed, "observations_quarantined": counts.submissions_excluded,
        "values_missing": 0, "batch_id": batch_id, "run_id": run_id, "ingested_at": ingested_at,
        "landed_sha256": version.sha256, "landed_batch_id": batch_id, "landed_at": ingested_at,
    })


WITHDRAWN_NOTE = "the file is no longer in the partner's inbox folder: its figures are no longer used or published"


def withdraw_file(con: duckdb.DuckDBPyConnection, partner_id: str, source_file: str, run_id: str,
                  now: datetime) -> None:
    """The file is gone from the inbox folder: its rows go; its ``files`` row stays, as ``withdrawn``, for
    the history and the partner's report. Runs inside the caller's transaction (with the KoBo rows of
    an export, see ``partners.kobo.withdraw_kobo_rows``)."""
    where = [partner_id, source_file]
    for table in ("file_observations", "labels"):
        con.execute(f"delete from raw_partners.{table} where partner_id = ? and source_file = ?", where)
    con.execute(
        """update raw_partners.files set status = 'withdrawn', errors = '[]', notes = ?, observations_landed = 0,
               observations_quarantined = 0, values_missing = 0, run_id = ?, ingested_at = ?, landed_sha256 = null,
               landed_batch_id = null, landed_at = null
           where partner_id = ? and source_file = ?""",
        [json.dumps([WITHDRAWN_NOTE]), run_id, now, *where],
    )
