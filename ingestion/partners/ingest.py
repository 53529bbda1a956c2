"""Ingesting one partner's inbox folder: every file through its contract into ``raw_partners``,
then the feedback reports. This is what a Dagster asset (one partition per partner) calls.

A file that cannot be used produces a file-level problem and the run goes on with the next
file; the partner's files are only ever opened for reading.
"""

from __future__ import annotations

import json
import logging
import os
import re
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from ingestion.kobo.inbox import ingest_kobo_file, withdraw_kobo_rows
from ingestion.partners.codes import Problem
from ingestion.partners.context import FileContext, FileVersion
from ingestion.partners.contract import Contract, ContractError
from ingestion.partners.contract_load import contract_path, load_contract
from ingestion.partners.evaluate import EVAL, TEMP_TABLES, Evaluation, evaluate
from ingestion.partners.i18n import Msg
from ingestion.partners.inbox import list_partners, partner_dir, partner_entries, real_dir, validate_partner_id
from ingestion.partners.land import (
    WITHDRAWN_NOTE,
    land_file,
    previous_version,
    record_failure,
    upsert_partner,
    withdraw_file,
)
from ingestion.partners.read import CELLS, FileRejected, StagedFile, stage_file
from ingestion.partners.report import write_partner_reports
from ingestion.partners.results import FileIngestResult, PartnerIngestResult
from ingestion.partners.schema import ensure_schema
from ingestion.partners.sniff import sniff_file
from ingestion.sql import literal
from ingestion.warehouse import transaction

log = logging.getLogger(__name__)

_TEMP_TABLES = (*TEMP_TABLES, CELLS)
# DuckDB's memory while partner files are read: a 1,000,000-row file needs about half of it; a
# larger file spills its staged cells to disk rather than growing the process.
MEMORY_LIMIT = "768MB"


def _drop_temp_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"drop view if exists temp.{EVAL}")
    for table in _TEMP_TABLES:
        con.execute(f"drop table if exists temp.{table}")


def _notes(staged: StagedFile, evaluation: Evaluation | None) -> list[str]:
    notes = list(staged.notes)
    if staged.personal_removed:
        notes.append(Msg("these columns hold personal data and were removed before anything was stored, as agreed: "
                         "{columns}", columns=", ".join(f"'{name}'" for name in staged.personal_removed)))
    if evaluation is not None:
        layout = evaluation.layout
        if layout.unmapped:
            notes.append(Msg("these columns are not in your data contract; we kept them as extra breakdowns of your "
                             "figures (tell us what they mean so we can use them): {columns}",
                             columns=", ".join(f"'{name}'" for name, _ in layout.unmapped)))
        if layout.withheld:
            notes.append(Msg("these columns are not in your data contract and look like personal data or free text, so "
                             "they were not stored (add them to personal_data in your contract, or tell us if they are "
                             "breakdowns of your figures): {columns}",
                             columns=[Msg("'{name}' ({why})", name=name, why=why) for name, _, why in layout.withheld]))
        if layout.ignored_blank:
            notes.append(Msg("these columns are empty and were ignored: {columns}",
                             columns=", ".join(f"'{name}'" for name in layout.ignored_blank)))
    return notes


def ingest_file(
    con: duckdb.DuckDBPyConnection,
    contract: Contract,
    path: Path,
    run_id: str,
    now: datetime,
    *,
    pii_salt: str | None = None,
) -> FileIngestResult:
    """Land one file of ``contract.partner_id``; never raises for a problem with the file itself.

    ``pii_salt`` is only used by ``format: kobo`` files (hashing respondent identifiers)."""
    partner_id = contract.partner_id
    try:
        sniff = sniff_file(path)
    except OSError as exc:
        return FileIngestResult(partner_id, path.name, "", "retry", errors=[Problem(
            "unreadable", Msg("the file could not be opened ({reason})", reason=exc.strerror),
            Msg("We will try again at the next run."))])
    spec = contract.spec_for(path.name)
    ctx = FileContext(con, FileVersion.of(partner_id, path, sniff), contract, spec, contract.sha256, run_id, now,
                      pii_salt)
    if spec is not None and spec.format == "kobo":  # its rows go to raw_kobo*, through the survey contract
        return ingest_kobo_file(ctx, path, sniff)
    result = FileIngestResult(partner_id, path.name, sniff.sha256, "unchanged", batch_id=ctx.batch_id)

    previous = previous_version(con, partner_id, path.name)
    if (previous and previous["sha256"] == sniff.sha256 and previous["contract_sha256"] == contract.sha256
            and previous["status"] not in ("retry", "withdrawn")):
        # The same bytes under the same contract: nothing to do (the stored outcome stands; a file
        # that was rejected stays rejected until the partner sends a new version).
        if previous["status"] == "rejected":
            result.status = "rejected"
        result.rows_read = previous["rows_read"]
        result.observations_landed = previous["observations_landed"]
        result.observations_quarantined = previous["observations_quarantined"]
        result.values_missing = previous["values_missing"]
        result.rejected_by_reason = dict(con.execute(
            "select reason_code, count(*) from raw_partners.quarantine where partner_id = ? and source_file = ? "
            "and file_sha256 = ? group by reason_code order by reason_code", [partner_id, path.name, sniff.sha256]).fetchall())
        result.errors = [Problem(**error) for error in json.loads(previous["errors"])]
        return result

    staged: StagedFile | None = None
    status = "rejected"
    try:
        if spec is None:
            patterns = ", ".join(f"'{pattern}'" for entry in contract.files for pattern in entry.patterns)
            raise FileRejected([Problem(
                "no_matching_pattern", Msg("the file name '{file}' matches no file pattern of the contract ({patterns})",
                                           file=path.name, patterns=patterns),
                Msg("Name the file as agreed (or ask us to add this kind of file to your contract)."))])
        staged = stage_file(con, path, spec, sniff)
        if staged.rows_read == 0:
            raise FileRejected([Problem("empty", Msg("the file has column names (row {row}) but no data rows",
                                                     row=staged.header_row), Msg("Send the file again with its data rows."))])
        evaluation = evaluate(con, contract, spec, staged)
        if evaluation.blank_rows == staged.rows_read:
            raise FileRejected([Problem("empty", Msg("all {count} rows under the column names are empty",
                                                     count=staged.rows_read), Msg("Send the file again with its data rows."))])
        after = os.stat(path)
        if after.st_size != sniff.size or after.st_mtime_ns != sniff.mtime_ns:
            status = "retry"
            raise FileRejected([Problem("file_changed_during_read", Msg("the file changed while it was being read"), Msg(
                "Nothing to do: it is read again at the next run, once it has finished copying."))])
        notes = _notes(staged, evaluation)
        counts = land_file(ctx, staged, evaluation, notes)
        result.status = "loaded_with_rejections" if counts.quarantined else "loaded"
        result.rows_read = staged.rows_read
        result.observations_landed = counts.landed
        result.observations_quarantined = counts.quarantined
        result.values_missing = counts.values_missing
        result.rejected_by_reason = counts.by_reason
        result.notes = notes
    except FileRejected as rejected:
        result.status, result.errors = status, rejected.problems
        result.notes = _notes(staged, None) if staged else []
    except Exception as exc:  # a bug must not stop the other files; the file is retried next run
        # The type and where, not the message: a database error's message can quote a cell (a name,
        # a phone number), and this message reaches the report, the files table and Dagster.
        log.error("partner %s file %s: unexpected %s\n%s", partner_id, path.name, type(exc).__name__,
                  "".join(traceback.format_tb(exc.__traceback__)))
        result.status, result.errors = "retry", [Problem(
            "internal_error", f"an unexpected error stopped the processing of this file ({type(exc).__name__})",
            "Nothing to do for you: the data team has been told, and the file is read again at the next run.")]
    finally:
        _drop_temp_tables(con)
    if result.status in ("rejected", "retry"):
        record_failure(ctx, result.errors, result.notes, result.status, staged)
    return result


_UNITS = {"b": 1, "bytes": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3, "tb": 1000**4,
          "kib": 1024, "mib": 1024**2, "gib": 1024**3, "tib": 1024**4}


def _size(text: str) -> float:
    """DuckDB's memory sizes as bytes: '768MB', '18.8 GiB'."""
    match = re.fullmatch(r"\s*([\d.]+)\s*([A-Za-z]*)\s*", text)
    if not match:
        return float("inf")
    return float(match.group(1)) * _UNITS.get(match.group(2).lower() or "b", 1)


@contextmanager
def memory_budget(con: duckdb.DuckDBPyConnection, limit: str | None) -> Iterator[None]:
    """Cap DuckDB's memory while partner files are read, so a huge file spills to disk instead of
    growing the process (restored afterwards; never raised above the connection's own limit)."""
    current = con.execute("select current_setting('memory_limit')").fetchone()[0]
    lower = limit is not None and _size(limit) < _size(current)
    if lower:
        con.execute(f"set memory_limit = {literal(limit)}")
    try:
        yield
    finally:
        if lower:
            con.execute(f"set memory_limit = {literal(current)}")


def ingest_partner(
    con: duckdb.DuckDBPyConnection,
    partner_id: str,
    inbox: Path,
    contracts_dir: Path,
    reports_dir: Path,
    run_id: str,
    now: datetime,
    memory_limit: str | None = MEMORY_LIMIT,
    *,
    pii_salt: str | None = None,
) -> PartnerIngestResult:
    """Ingest every file in ``<inbox>/<partner_id>/`` and write the partner's feedback reports.

    ``pii_salt`` (``settings.pii_salt``) hashes respondent identifiers of ``format: kobo`` files;
    without it a real survey's file is reported as ``pii_salt_missing`` and retried at the next run,
    while the partner's other files land. Raises ``InvalidPartnerIdError`` for an unsafe id (before
    touching any path); every other problem is reported in the result."""
    validate_partner_id(partner_id)
    if memory_limit is not None and not re.fullmatch(r"\d+(\.\d+)?\s*[KMGT]i?B", memory_limit):
        raise ValueError(f"memory_limit must look like '768MB' or '2GiB'; got {memory_limit!r}")
    with memory_budget(con, memory_limit):
        ensure_schema(con)
        files, skipped = partner_entries(inbox, partner_id)
        path = contract_path(contracts_dir, partner_id)
        result = PartnerIngestResult(partner_id, None, path if path.exists() else None, skipped=skipped)
        contract: Contract | None = None
        if not path.exists():
            result.errors.append(Problem(
                "no_contract",
                Msg("there is no data contract for partner '{partner}' ({file} in the contracts folder)",
                    partner=partner_id, file=path.name),
                Msg("The data team writes contracts/partners/{partner}.yml (see contracts/partners/README.md); "
                    "until then this partner's files are not read.", partner=partner_id)))
        else:
            try:
                contract = load_contract(path)
            except ContractError as exc:
                result.errors.append(Problem("invalid_contract", str(exc),
                                             Msg("The data team fixes the contract as the message says.")))
        if contract is None:
            for file_path in files:
                result.files.append(reject_file(con, partner_id, file_path, result.errors, run_id, now))
        else:
            result.partner_name = contract.name
            upsert_partner(con, contract, path.name, run_id, now)
            for file_path in files:
                result.files.append(ingest_file(con, contract, file_path, run_id, now, pii_salt=pii_salt))
        for name, why in skipped:
            log.warning("partner %s: %s not read: %s", partner_id, name, why)
        # A missing folder (a wrong PARTNER_INBOX) or an empty one (a sync half-way, a folder being replaced)
        # withdraws nothing: only files missing beside files still there are taken as withdrawn.
        present = {file_path.name for file_path in files} | {name for name, _ in skipped}
        if present and real_dir(partner_dir(inbox, partner_id)):
            result.files += _withdraw_missing(con, partner_id, present, run_id, now)
        elif con.execute("select count(*) from raw_partners.files where partner_id = ? and status <> 'withdrawn'",
                         [partner_id]).fetchone()[0]:
            log.warning("partner %s: the inbox folder is missing or empty; the files landed before stay in use "
                        "(to withdraw them: scripts/withdraw_partner_files.py)", partner_id)
        return write_reports(con, result, reports_dir, contract.language if contract else None)



def _withdraw_missing(con: duckdb.DuckDBPyConnection, partner_id: str, present: set[str], run_id: str,
                      now: datetime) -> list[FileIngestResult]:
    """Files landed before that are no longer in the partner's folder (the inbox is what the partner
    currently vouches for; the file itself is gone already), withdrawn ones included."""
    gone = [name for name, in con.execute("select source_file from raw_partners.files where partner_id = ? "
                                          "order by 1", [partner_id]).fetchall() if name not in present]
    return withdraw_files(con, partner_id, gone, run_id, now)


def withdraw_files(con: duckdb.DuckDBPyConnection, partner_id: str, names: list[str], run_id: str,
                   now: datetime) -> list[FileIngestResult]:
    """Withdraw these landed files of the partner, each in its own transaction: their rows go (for a
    KoBo export, its interviews too); ``raw_partners.files`` keeps them as ``withdrawn``. A file already
    withdrawn is left as it is; a name never landed is not in the result."""
    landed = {name: (file_format, sha256, status) for name, file_format, sha256, status in con.execute(
        "select source_file, format, sha256, status from raw_partners.files where partner_id = ?",
        [partner_id]).fetchall()}
    results = []
    for name in names:
        if name not in landed:
            continue
        file_format, sha256, status = landed[name]
        if status != "withdrawn":
            with transaction(con):
                if file_format == "kobo":
                    withdraw_kobo_rows(con, partner_id, name)
                withdraw_file(con, partner_id, name, run_id, now)
            log.warning("partner %s: %s withdrawn; its rows were removed", partner_id, name)
        results.append(FileIngestResult(partner_id, name, sha256, "withdrawn", notes=[WITHDRAWN_NOTE]))
    return results


def reject_file(con: duckdb.DuckDBPyConnection, partner_id: str, path: Path, problems: list[Problem], run_id: str,
                now: datetime, contract: Contract | None = None) -> FileIngestResult:
    """Record a file that cannot be read at all (no contract, or, for a national platform, no indicator in its
    name) as rejected with ``problems``, so the report and ``raw_partners.files`` say why."""
    try:
        sniff = sniff_file(path)
    except OSError as exc:
        return FileIngestResult(partner_id, path.name, "", "retry", errors=[Problem(
            "unreadable", Msg("the file could not be opened ({reason})", reason=exc.strerror),
            Msg("We will try again at the next run."))])
    ctx = FileContext(con, FileVersion.of(partner_id, path, sniff), contract, None, contract.sha256 if contract else "",
                      run_id, now)
    record_failure(ctx, problems, [], "rejected")
    return FileIngestResult(partner_id, path.name, sniff.sha256, "rejected", errors=list(problems), batch_id=ctx.batch_id)


def write_reports(con: duckdb.DuckDBPyConnection, result: PartnerIngestResult, reports_dir: Path,
                  language: str | None = None) -> PartnerIngestResult:
    """The source's feedback reports, in ``language`` where it has a catalogue, linked from ``result`` and its files."""
    index_md, index_html, per_file = write_partner_reports(
        con, result.partner_id, result.partner_name, [item.file_name for item in result.files],
        [problem.as_dict() for problem in result.errors], result.skipped, reports_dir, language)
    result.report_markdown, result.report_html = index_md, index_html
    for item in result.files:
        item.report_markdown, item.report_html = per_file.get(item.file_name, (None, None))
    return result


def ingest_inbox(con: duckdb.DuckDBPyConnection, inbox: Path, *args: Any, **options: Any) -> list[PartnerIngestResult]:
    """Every partner folder in the inbox, one after the other (for a non-partitioned run); after ``inbox``, the
    arguments of ``ingest_partner``."""
    return [ingest_partner(con, partner_id, inbox, *args, **options) for partner_id in list_partners(inbox)]
