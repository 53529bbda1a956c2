"""Landing of partner files into ``raw_partners``: one transaction per file.

Every observation read from a file lands once, in ``file_observations``, with either no reason
(accepted) or the reason it was set aside, so no row can go missing between two tables. The
views ``observations`` (accepted, with the file's lineage) and ``quarantine`` (set aside, with
the raw cells) are what dbt and the reports read (``schema``).

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

from ingestion.partners.codes import Problem
from ingestion.partners.context import FileContext, FileVersion
from ingestion.partners.contract import Contract
from ingestion.partners.evaluate import EVAL, KEY, RAW_CELL_CHARS, Evaluation, Layout, raw_values_json
from ingestion.partners.i18n import Msg, stored
from ingestion.partners.read import CELLS, StagedFile
from ingestion.sql import literal
from ingestion.warehouse import transaction
from ingestion.warehouse import fetch_dicts

_DUPLICATES = "_pt_duplicates"


@dataclass(frozen=True)
class LandedCounts:
    observations: int
    landed: int
    quarantined: int
    values_missing: int
    by_reason: dict[str, int]


def previous_version(con: duckdb.DuckDBPyConnection, partner_id: str, source_file: str) -> dict | None:
    rows = fetch_dicts(con, "select * from raw_partners.files where partner_id = ? and source_file = ?",
                       [partner_id, source_file])
    return rows[0] if rows else None


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


def write_files_row(con: duckdb.DuckDBPyConnection, values: dict) -> None:
    columns = list(values)
    con.execute("delete from raw_partners.files where partner_id = ? and source_file = ?",
                [values["partner_id"], values["source_file"]])
    con.execute(f"insert into raw_partners.files ({', '.join(columns)}) values ({', '.join('?' for _ in columns)})",
                [values[column] for column in columns])


def as_timestamp(mtime: datetime | float | None) -> datetime | None:
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


def land_file(ctx: FileContext, staged: StagedFile, evaluation: Evaluation, notes: list[str]) -> LandedCounts:
    """Replace the file's rows with this version's (the ``_pt_eval`` view), all in one transaction."""
    con, version, contract = ctx.con, ctx.version, ctx.contract
    if contract is None:
        raise ValueError(f"{version.partner_id}/{version.source_file}: a file is landed under a contract")
    partner_id, source_file = version.partner_id, version.source_file
    batch_id, ingested_at = ctx.batch_id, ctx.now
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
        write_files_row(con, {
            "partner_id": partner_id, "source_file": source_file, "sha256": version.sha256,
            "size_bytes": version.size_bytes, "modified_at": as_timestamp(version.modified_at),
            "contract_file": str(contract.path.name), "contract_sha256": ctx.contract_sha256,
            "file_entry": ctx.file_entry, "format": ctx.file_format,
            "status": "loaded_with_rejections" if quarantined else "loaded",
            "errors": "[]", "notes": json.dumps(stored(notes)), "reader": staged.reader, "encoding": staged.encoding,
            "delimiter": staged.delimiter, "decimal_separator": evaluation.decimal, "sheet": staged.sheet,
            "header_row": staged.header_row, "headers": json.dumps(staged.headers),
            "rows_read": staged.rows_read, "rows_blank": evaluation.blank_rows, "cells_blank": blank_cells,
            "observations_landed": landed, "observations_quarantined": quarantined, "values_missing": missing,
            "batch_id": batch_id, "run_id": ctx.run_id, "ingested_at": ingested_at,
            "landed_sha256": version.sha256, "landed_batch_id": batch_id, "landed_at": ingested_at,
        })
    return LandedCounts(observations, landed, quarantined, missing, by_reason)


def record_failure(ctx: FileContext, problems: list[Problem], notes: list[str], status: str,
                   staged: StagedFile | None = None) -> None:
    """Record a version that could not be landed; rows of an earlier version stay as they were."""
    con, version, contract = ctx.con, ctx.version, ctx.contract
    previous = previous_version(con, version.partner_id, version.source_file) or {}
    with transaction(con):
        write_files_row(con, {
            "partner_id": version.partner_id, "source_file": version.source_file, "sha256": version.sha256,
            "size_bytes": version.size_bytes, "modified_at": as_timestamp(version.modified_at),
            "contract_file": contract.path.name if contract else None,
            "contract_sha256": ctx.contract_sha256,
            "file_entry": ctx.file_entry, "format": ctx.file_format, "status": status,
            "errors": json.dumps([problem.as_dict() for problem in problems]), "notes": json.dumps(stored(notes)),
            "reader": staged.reader if staged else None, "encoding": staged.encoding if staged else None,
            "delimiter": staged.delimiter if staged else None, "decimal_separator": None,
            "sheet": staged.sheet if staged else None, "header_row": staged.header_row if staged and staged.headers else None,
            "headers": json.dumps(staged.headers) if staged and staged.headers else None,
            "rows_read": staged.rows_read if staged else 0, "rows_blank": 0, "cells_blank": 0,
            "observations_landed": 0, "observations_quarantined": 0, "values_missing": 0,
            "batch_id": ctx.batch_id, "run_id": ctx.run_id, "ingested_at": ctx.now,
            "landed_sha256": previous.get("landed_sha256"), "landed_batch_id": previous.get("landed_batch_id"),
            "landed_at": previous.get("landed_at"),
        })


WITHDRAWN_NOTE = Msg("the file is no longer in the partner's inbox folder: its figures are no longer used or published")


def withdraw_file(con: duckdb.DuckDBPyConnection, partner_id: str, source_file: str, run_id: str,
                  now: datetime) -> None:
    """The file is gone from the inbox folder: its rows go; its ``files`` row stays, as ``withdrawn``, for
    the history and the partner's report. Runs inside the caller's transaction (with the KoBo rows of
    an export, see ``ingestion.kobo.inbox.withdraw_kobo_rows``)."""
    where = [partner_id, source_file]
    for table in ("file_observations", "labels"):
        con.execute(f"delete from raw_partners.{table} where partner_id = ? and source_file = ?", where)
    con.execute(
        """update raw_partners.files set status = 'withdrawn', errors = '[]', notes = ?, observations_landed = 0,
               observations_quarantined = 0, values_missing = 0, run_id = ?, ingested_at = ?, landed_sha256 = null,
               landed_batch_id = null, landed_at = null
           where partner_id = ? and source_file = ?""",
        [json.dumps(stored([WITHDRAWN_NOTE])), run_id, now, *where],
    )
