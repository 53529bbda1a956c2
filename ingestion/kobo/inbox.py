"""KoBoToolbox exports that arrive through the partner inbox: a contract file entry with
``format: kobo`` names the survey contract (``kobo_contract``), and the file is landed by
``ingestion.kobo.ingest_kobo_export`` into ``raw_kobo_restricted`` / ``raw_kobo``.

The partner side keeps what it keeps for every file: one ``raw_partners.files`` row (version,
status, counts, plain-language notes), written inside the KoBo landing's transaction so the row and
the survey's rows always describe the same version, and the feedback report. Interviews never go
to ``raw_partners.file_observations``: dbt aggregates them from ``raw_kobo_restricted``.

Nothing here may carry an answer: results, notes, log lines and errors hold counts, reason codes,
question names and the KoBo library's messages, which are written never to contain answers.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass, replace
from pathlib import Path

import duckdb

from ingestion.kobo import (
    KoboContract,
    KoboContractError,
    KoboError,
    KoboFormMismatchError,
    KoboIngestResult,
    PiiSaltMissingError,
    ingest_kobo_export,
)
from ingestion.kobo import ensure_schema as ensure_kobo_schema
from ingestion.kobo.inbox_report import policy_reasons
from ingestion.kobo.privacy import SALT_CONFIGURED, SALT_PUBLIC_TEST
from ingestion.kobo.validation import status_counts
from ingestion.partners.codes import Problem
from ingestion.partners.context import FileContext
from ingestion.partners.contract import Contract
from ingestion.partners.i18n import Msg, stored
from ingestion.partners.land import as_timestamp, previous_version, record_failure, write_files_row
from ingestion.partners.read import FileRejected
from ingestion.partners.results import FileIngestResult
from ingestion.partners.sniff import Sniff

log = logging.getLogger(__name__)

SALT_MISSING = "missing"
# Changed when landing keeps other rows from the same bytes, so that every KoBo file lands again once.
# "2": every validation status lands (the survey contract's policy is applied by dbt).
LANDING_RULES = "2"
UNMAPPED_SHOWN = 20  # question names listed in a note; the rest are counted
# The tables ingestion.kobo keys by (survey_id, source_id).
_KOBO_UNIT_TABLES = ("raw_kobo_restricted.submissions", "raw_kobo_restricted.repeat_rows", "raw_kobo.loads",
                     "raw_kobo.exclusions", "raw_kobo.field_issues")
_GPS_PRECISION = {0: "about 110 km", 1: "about 11 km", 2: "about 1 km"}


def source_id_for(partner_id: str, file_name: str) -> str:
    """The KoBo source unit of an inbox file: partner-relative, so two partners' files never collide."""
    return f"{partner_id}/{file_name}"


def withdraw_kobo_rows(con: duckdb.DuckDBPyConnection, partner_id: str, file_name: str) -> None:
    """Delete what an export file landed in raw_kobo*, whatever survey it was landed under (the caller's
    transaction)."""
    for table in _KOBO_UNIT_TABLES:
        con.execute(f"delete from {table} where source_id = ?", [source_id_for(partner_id, file_name)])


def salt_kind_for(survey: KoboContract, pii_salt: str | None) -> str:
    """Which key identifiers would be hashed with: configured, the public test salt, or none (missing)."""
    if pii_salt:
        return SALT_CONFIGURED
    return SALT_PUBLIC_TEST if survey.synthetic else SALT_MISSING


def kobo_contract_sha256(contract: Contract, survey: KoboContract, salt_kind: str) -> str:
    """What a KoBo file's landed rows depend on besides its bytes: both contracts, the form the survey
    contract names, which key hashed the identifiers (a salt set later must re-land the file,
    or its respondent keys would not match the API's), and the landing rules' version."""
    form = ""
    if survey.form_path is not None and survey.form_path.is_file():
        form = hashlib.sha256(survey.form_path.read_bytes()).hexdigest()
    key = f"{contract.sha256}:{survey.sha256}:{form}:{salt_kind}:{LANDING_RULES}"
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class _Target:
    """The file being landed and everything its rows are keyed by (``ctx.contract_sha256``: the KoBo one)."""

    ctx: FileContext
    survey: KoboContract
    path: Path
    sniff: Sniff
    source_id: str


def ingest_kobo_file(ctx: FileContext, path: Path, sniff: Sniff) -> FileIngestResult:
    """Land one KoBo export (``ctx.spec`` a ``format: kobo`` entry); never raises for a problem with the file."""
    con, contract, spec = ctx.con, ctx.contract, ctx.spec
    if contract is None or spec is None:
        raise ValueError(f"{ctx.partner_id}/{ctx.source_file}: a KoBo export is landed under its contract entry")
    survey = spec.kobo
    if survey is None:  # load_contract never builds a kobo entry without its survey contract
        raise ValueError(f"{contract.path}: entry {spec.label!r} has no loaded survey contract")
    ensure_kobo_schema(con)
    ctx = replace(ctx, contract_sha256=kobo_contract_sha256(contract, survey, salt_kind_for(survey, ctx.pii_salt)))
    target = _Target(ctx, survey, path, sniff, source_id_for(contract.partner_id, path.name))
    result = FileIngestResult(contract.partner_id, path.name, sniff.sha256, "unchanged", batch_id=ctx.batch_id)
    previous = previous_version(con, contract.partner_id, path.name)
    if (previous and previous["sha256"] == sniff.sha256 and previous["contract_sha256"] == ctx.contract_sha256
            and previous["status"] not in ("retry", "withdrawn")):
        return _unchanged(target, result, previous)
    try:
        landed = ingest_kobo_export(con, path, survey, pii_salt=ctx.pii_salt, run_id=ctx.run_id, now=ctx.now,
                                    source_id=target.source_id, within=lambda landed: _track(target, landed))
    except FileRejected as rejected:
        result.status, result.errors = _status_for(rejected.problems), rejected.problems
    except PiiSaltMissingError as exc:
        # The KoBo message is for the data team (it names the setting); it holds no secret.
        log.warning("partner %s file %s: %s", contract.partner_id, path.name, exc)
        result.status, result.errors = "retry", [Problem(
            "pii_salt_missing",
            Msg("the pipeline's secret key for protecting respondent identifiers (PII_SALT) is missing or too short, "
                "so nothing from this survey was stored"),
            Msg("Nothing to do for you: the data team sets PII_SALT, and the file is read again at the next run."))]
    except KoboError as exc:
        result.status, result.errors = _kobo_failure(target, exc)
    except Exception as exc:  # a bug must not stop the other files; the file is retried next run
        # Only the type: a database error's message can quote a cell, and cells here are answers.
        log.error("partner %s file %s: unexpected %s while landing a KoBo export", contract.partner_id, path.name,
                  type(exc).__name__)
        result.status, result.errors = "retry", [Problem(
            "internal_error", f"an unexpected error stopped the processing of this file ({type(exc).__name__})",
            "Nothing to do for you: the data team has been told, and the file is read again at the next run.")]
    else:
        _fill(result, landed, kobo_notes(survey, landed))
        result.batch_id = landed.batch_id
        return result
    record_failure(ctx, result.errors, [], result.status)
    return result


def _track(target: _Target, landed: KoboIngestResult) -> None:
    """Inside the KoBo transaction: refuse what must not replace the previous version, then record the file."""
    con = target.ctx.con
    if landed.submissions_read == 0:
        raise FileRejected([Problem("empty", "the export has column names but no interviews",
                                    "Export the survey's data again from KoBoToolbox once interviews are submitted.")])
    read_sha = con.execute("select source_sha256 from raw_kobo.loads where survey_id = ? and source_id = ?",
                           [target.survey.survey_id, target.source_id]).fetchone()[0]
    if read_sha != target.sniff.sha256:  # changed between our look and the KoBo read
        raise FileRejected([_changed_problem()])
    for table in _KOBO_UNIT_TABLES:  # the file's rows under a survey contract it no longer names
        con.execute(f"delete from {table} where source_id = ? and survey_id <> ?",
                    [target.source_id, target.survey.survey_id])
    export = target.survey.export
    track_kobo_file(target.ctx, KoboFileCounts(
        reader=landed.source_kind,
        delimiter=export.separator if landed.source_kind == "csv_export" and export.separator != "auto" else None,
        submissions_read=landed.submissions_read, submissions_landed=landed.submissions_published,
        submissions_excluded=landed.submissions_read - landed.submissions_published, batch_id=landed.batch_id),
        kobo_notes(target.survey, landed))


@dataclass(frozen=True)
class KoboFileCounts:
    """What ``ingestion.kobo`` landed from one export, as the partner's files table records it."""

    reader: str  # csv_export | xlsx_export
    delimiter: str | None
    submissions_read: int
    submissions_landed: int  # published: landed, and of a validation status the survey's policy publishes
    submissions_excluded: int  # excluded at landing, or set aside by the validation status policy
    batch_id: str  # ingestion.kobo's batch id of the load


def track_kobo_file(ctx: FileContext, counts: KoboFileCounts, notes: list[str]) -> None:
    """Record a KoBo export as landed. Called inside ``ingest_kobo_export``'s transaction, so this row
    and the survey's rows in ``raw_kobo*`` change together; it opens no transaction of its own.

    The interviews themselves stay in ``raw_kobo_restricted`` (dbt aggregates them): none go to
    ``file_observations``, and rows an earlier contract read from this file name as a table go."""
    con, version = ctx.con, ctx.version
    if ctx.contract is None:
        raise ValueError(f"{version.partner_id}/{version.source_file}: a KoBo export is tracked under its contract")
    where = [version.partner_id, version.source_file]
    for table in ("file_observations", "labels"):
        con.execute(f"delete from raw_partners.{table} where partner_id = ? and source_file = ?", where)
    write_files_row(con, {
        "partner_id": version.partner_id, "source_file": version.source_file, "sha256": version.sha256,
        "size_bytes": version.size_bytes, "modified_at": as_timestamp(version.modified_at),
        "contract_file": ctx.contract.path.name, "contract_sha256": ctx.contract_sha256,
        "file_entry": ctx.file_entry, "format": "kobo",
        "status": "loaded_with_rejections" if counts.submissions_excluded else "loaded",
        "errors": "[]", "notes": json.dumps(stored(notes)), "reader": counts.reader,
        "encoding": "utf-8" if counts.reader == "csv_export" else None, "delimiter": counts.delimiter,
        "decimal_separator": None, "sheet": None, "header_row": 1, "headers": None,
        "rows_read": counts.submissions_read, "rows_blank": 0, "cells_blank": 0,
        "observations_landed": counts.submissions_landed, "observations_quarantined": counts.submissions_excluded,
        "values_missing": 0, "batch_id": counts.batch_id, "run_id": ctx.run_id, "ingested_at": ctx.now,
        "landed_sha256": version.sha256, "landed_batch_id": counts.batch_id, "landed_at": ctx.now,
    })


def _fill(result: FileIngestResult, landed: KoboIngestResult, notes: list[str]) -> None:
    """The partner's counts: interviews kept are those published; set aside, those excluded at landing and
    those of a validation status the survey's policy does not publish."""
    result.rows_read = landed.submissions_read
    result.observations_landed = landed.submissions_published
    result.observations_quarantined = landed.submissions_read - landed.submissions_published
    result.status = "loaded_with_rejections" if result.observations_quarantined else "loaded"
    result.rejected_by_reason = dict(sorted({**landed.exclusions, **policy_reasons(landed.validation_statuses)}.items()))
    result.validation_statuses = landed.validation_statuses
    result.notes = notes


def _unchanged(target: _Target, result: FileIngestResult, previous: dict) -> FileIngestResult:
    """The same bytes under the same contracts and key: the stored outcome stands."""
    if previous["status"] == "rejected":
        result.status = "rejected"
    result.rows_read = previous["rows_read"]
    result.observations_landed = previous["observations_landed"]
    result.observations_quarantined = previous["observations_quarantined"]
    if previous["status"] != "rejected":  # a rejected version set nothing aside; an older one may be in use
        excluded = dict(target.ctx.con.execute(
            "select reason, row_count from raw_kobo.exclusions where survey_id = ? and source_id = ? and batch_id = ? "
            "and unit = 'submission' order by reason",
            [target.survey.survey_id, target.source_id, previous["landed_batch_id"] or ""]).fetchall())
        set_aside = policy_reasons(status_counts(target.ctx.con, target.survey.survey_id, target.source_id))
        result.rejected_by_reason = dict(sorted({**excluded, **set_aside}.items()))
        result.batch_id = previous["landed_batch_id"] or result.batch_id
    result.errors = [Problem(**error) for error in json.loads(previous["errors"])]
    return result


def _changed_problem() -> Problem:
    return Problem("file_changed_during_read", Msg("the file changed while it was being read"),
                   Msg("Nothing to do: it is read again at the next run, once it has finished copying."))


def _status_for(problems: list[Problem]) -> str:
    return "retry" if any(problem.code == "file_changed_during_read" for problem in problems) else "rejected"


def _kobo_failure(target: _Target, exc: KoboError) -> tuple[str, list[Problem]]:
    """A file the KoBo library refused, as the partner reads it (its messages never hold answers)."""
    try:
        after = os.stat(target.path)
    except OSError:
        after = None
    if after is None or after.st_size != target.sniff.size or after.st_mtime_ns != target.sniff.mtime_ns:
        return "retry", [_changed_problem()]
    # The library writes "<survey>: <file>: what is wrong. Fix: what to do"; the page is about that file.
    text = str(exc).removeprefix(f"{target.survey.survey_id}: {target.path.name}: ")
    message, _, fix = text.partition(" Fix: ")
    message = message.strip().rstrip(".") or type(exc).__name__
    fix = fix.strip().rstrip(".")
    if isinstance(exc, KoboContractError):
        return "rejected", [Problem("invalid_contract", message,
                                    f"The data team fixes the survey contract ({fix or 'as the message says'}).")]
    if isinstance(exc, KoboFormMismatchError):
        return "rejected", [Problem("kobo_form_mismatch", message, "The data team checks the form against the "
                                    f"survey contract ({fix or 'as the message says'}).")]
    fix = fix[:1].upper() + fix[1:] + "." if fix else "Export the survey's data again from KoBoToolbox and send it."
    return "rejected", [Problem("kobo_export_unreadable", message, fix)]


def kobo_notes(survey: KoboContract, landed: KoboIngestResult) -> list[str]:
    """What the partner should know about how the export was read, in plain language (no answers)."""
    notes: list[str] = []
    if landed.salt_kind == SALT_PUBLIC_TEST:
        notes.append(Msg("the survey contract marks this survey as fictional (test data): identifiers were protected "
                         "with a public key only. Real interviews are never sent under such a contract"))
    if landed.personal_columns_dropped:
        notes.append(Msg("{count} columns identify people or devices (names, phone numbers, identifiers, free text and "
                         "the like) and were removed before anything was stored, as the survey contract says",
                         count=landed.personal_columns_dropped))
    if survey.gps is not None:
        notes.append("GPS points were not stored" if survey.gps.policy == "drop" else
                     f"GPS points were rounded to {survey.gps.decimals} decimal{'' if survey.gps.decimals == 1 else 's'} "
                     f"({_GPS_PRECISION.get(survey.gps.decimals, 'coarser')}) before being stored")
    if landed.invalid_coordinates:
        notes.append(Msg("{count} kept interviews have a GPS point that is impossible or outside the survey area; the "
                         "point was left out, the interview kept", count=landed.invalid_coordinates))
    if survey.launch_date is not None and landed.exclusions.get("test_before_launch"):
        notes.append(Msg("interviews submitted before {date}, the launch date in the survey contract, count as pilot "
                         "interviews", date=survey.launch_date.isoformat()))
    if landed.unmapped_columns:
        shown = ", ".join(f"'{name}'" for name in landed.unmapped_columns[:UNMAPPED_SHOWN])
        more = len(landed.unmapped_columns) - UNMAPPED_SHOWN
        notes.append("these columns are not in the survey contract, so their answers were not stored (tell us if "
                     f"they should be used): {shown}" + (f" and {more:,} more" if more > 0 else ""))
    if landed.repeat_rows_read:
        notes.append(Msg("{kept} rows of repeat groups (such as household members) were kept and {excluded} set aside",
                         kept=landed.repeat_rows_landed, excluded=landed.repeat_rows_read - landed.repeat_rows_landed))
    return notes
