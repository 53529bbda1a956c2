"""Landing KoBo submissions into DuckDB: one transaction per source unit (an export file or an asset).

Respondent-level rows go to ``raw_kobo_restricted`` (which publication never copies); counts,
exclusions, field issues and the contract's indicator declarations go to ``raw_kobo``, and hold
no personal data. Every submission read is either landed or counted in ``raw_kobo.exclusions``
with a reason, so ``submissions_read = submissions_landed + submissions_excluded`` always holds.

Rows are first staged chunk by chunk in a temporary table (already hashed and reduced to the
contract's fields), then identity rules run in SQL over the whole unit: an edit replaces the
version it deprecates, exact copies are dropped, copies that disagree are all excluded, then test
submissions are excluded. Every validation status lands: which ones are published is the contract's
policy, applied by dbt (``ingestion.kobo.validation``). A failure anywhere rolls the unit back, leaving
its previous version as it was; loading the same input again gives the same rows.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from ingestion.kobo.client import KoboClient
from ingestion.kobo.contract import KoboContract
from ingestion.kobo.errors import KoboApiError, KoboAssetChangedError, KoboExportError
from ingestion.kobo.exports import XlsxExport, open_csv_export
from ingestion.kobo.form import FormDefinition
from ingestion.kobo.privacy import Hasher, hasher_for
from ingestion.kobo.records import (
    META_COLUMNS,
    Layout,
    Normalizer,
    RepeatInstance,
    SourceRecord,
    api_record,
    check_form_types,
    personal_columns,
)
from ingestion.kobo.results import KoboIngestResult
from ingestion.kobo.tables import ensure_schema, land_contract
from ingestion.kobo.validation import status_counts
from ingestion.warehouse import transaction

log = logging.getLogger(__name__)

CHUNK_SIZE = 5000

_STAGE_DDL = """
create or replace temp table kobo_stage_submissions (
    seq bigint, source_row integer, error_reason varchar,
    submission_key varchar, instance_key varchar, deprecated_key varchar, respondent_key varchar,
    content_digest varchar, form_version varchar, submission_time timestamptz, validation_status varchar,
    test_reason varchar, fields_json varchar, gps_latitude double, gps_longitude double,
    coordinates_status varchar, source_sha256 varchar, fetched_at timestamptz
);
create or replace temp table kobo_stage_repeats (
    parent_seq bigint, repeat_name varchar, row_index integer, row_path varchar, source_row integer,
    error_reason varchar, fields_json varchar
);
"""

# Identity rules, in order; the first that applies is the reason. See the module docstring.
_DECIDE = """
create or replace temp table kobo_decision as
with live as (
    select s.* from kobo_stage_submissions s
    where s.error_reason is null
      and not exists (
          select 1 from kobo_stage_submissions b
          where b.error_reason is null and b.seq <> s.seq and b.deprecated_key = s.instance_key)
), ranked as (
    select seq, test_reason,
        min(content_digest) over (partition by submission_key)
            <> max(content_digest) over (partition by submission_key) as conflicting,
        row_number() over (partition by submission_key, content_digest order by seq) as copy_number
    from live
)
select s.seq,
    case
        when s.error_reason is not null then s.error_reason
        when r.seq is null then 'superseded_edit'
        when r.conflicting then 'conflicting_duplicate'
        when r.copy_number > 1 then 'duplicate'
        else r.test_reason
    end as reason
from kobo_stage_submissions s left join ranked r on r.seq = s.seq
"""

_INSERT_SUBMISSIONS = """
insert into raw_kobo_restricted.submissions by name
select
    $survey_id as survey_id, $source_id as source_id, s.submission_key, s.instance_key, s.deprecated_key,
    s.respondent_key, s.form_version, s.submission_time, s.validation_status,
    s.fields_json::json::map(varchar, varchar) as fields, s.gps_latitude, s.gps_longitude, s.coordinates_status,
    s.source_row, $source as source, s.source_sha256, s.fetched_at, $ingested_at as ingested_at,
    $batch_id as batch_id, $run_id as run_id
from kobo_stage_submissions s join kobo_decision d on d.seq = s.seq
where d.reason is null
"""

_REPEAT_DECISION = """
select r.*, s.submission_key,
    coalesce(r.error_reason, case when d.reason is not null then 'parent_excluded' end) as reason
from kobo_stage_repeats r
left join kobo_decision d on d.seq = r.parent_seq
left join kobo_stage_submissions s on s.seq = r.parent_seq
"""


# -- staging ---------------------------------------------------------------------------------------------------
_SUBMISSION_COLUMNS = [
    "seq", "source_row", "error_reason", "submission_key", "instance_key", "deprecated_key", "respondent_key",
    "content_digest", "form_version", "submission_time", "validation_status", "test_reason", "fields_json",
    "gps_latitude", "gps_longitude", "coordinates_status", "source_sha256", "fetched_at",
]
_REPEAT_COLUMNS = [
    "parent_seq", "repeat_name", "row_index", "row_path", "source_row", "error_reason", "fields_json",
]


class _Stage:
    """Buffers staged rows and writes them to the temp tables a chunk at a time."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.submissions: list[dict[str, Any]] = []
        self.repeats: list[dict[str, Any]] = []
        self.seq = 0
        self.versions: set[str] = set()
        con.execute(_STAGE_DDL)

    def add_submission(self, row: dict[str, Any]) -> None:
        self.submissions.append(row)
        if row.get("form_version"):
            self.versions.add(row["form_version"])
        if len(self.submissions) >= CHUNK_SIZE:
            self.flush()

    def add_repeat(self, row: dict[str, Any]) -> None:
        self.repeats.append(row)
        if len(self.repeats) >= CHUNK_SIZE:
            self.flush()

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def flush(self) -> None:
        if self.submissions:
            frame = pd.DataFrame(self.submissions, columns=_SUBMISSION_COLUMNS)
            frame = _typed(frame, {"submission_time": "datetime64[us, UTC]", "fetched_at": "datetime64[us, UTC]",
                                   "gps_latitude": "float64", "gps_longitude": "float64",
                                   "seq": "int64", "source_row": "int64"})
            self.con.register("kobo_chunk", frame)
            self.con.execute("insert into kobo_stage_submissions by name select * from kobo_chunk")
            self.con.unregister("kobo_chunk")
            self.submissions = []
        if self.repeats:
            frame = pd.DataFrame(self.repeats, columns=_REPEAT_COLUMNS)
            frame = _typed(frame, {"parent_seq": "Int64", "row_index": "int64", "source_row": "int64"})
            self.con.register("kobo_chunk", frame)
            self.con.execute("insert into kobo_stage_repeats by name select * from kobo_chunk")
            self.con.unregister("kobo_chunk")
            self.repeats = []


def _typed(frame: pd.DataFrame, types: dict[str, str]) -> pd.DataFrame:
    for column, dtype in types.items():
        frame[column] = frame[column].astype(dtype) if not dtype.startswith("datetime") else pd.to_datetime(
            frame[column], utc=True).astype(dtype)
    # Every other column is text: object dtype keeps None as NULL whatever pandas' default string type.
    for column in frame.columns:
        if column not in types:
            frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
    return frame


@dataclass
class _Unit:
    """The source unit being landed: identity and lineage shared by its rows."""

    contract: KoboContract
    source_id: str
    source_kind: str
    source: str
    run_id: str
    now: datetime
    asset_uid: str | None = None


def _finish(con: duckdb.DuckDBPyConnection, unit: _Unit, stage: _Stage, normalizer: Normalizer, *,
            source_sha256: str, batch_id: str, salt_kind: str, unmapped: Iterable[str] = (),
            personal_dropped: int = 0, fetched: tuple[datetime | None, datetime | None] = (None, None),
            api: tuple[int, int, int] | None = None) -> KoboIngestResult:
    """Decide every staged row, replace the unit's landed rows, and record the counts."""
    stage.flush()
    survey_id = unit.contract.survey_id
    con.execute(_DECIDE)
    for table in ("raw_kobo_restricted.submissions", "raw_kobo_restricted.repeat_rows", "raw_kobo.loads",
                  "raw_kobo.exclusions", "raw_kobo.field_issues"):
        con.execute(f"delete from {table} where survey_id = ? and source_id = ?", [survey_id, unit.source_id])
    params = {"survey_id": survey_id, "source_id": unit.source_id, "source": unit.source,
              "ingested_at": unit.now, "batch_id": batch_id, "run_id": unit.run_id}
    con.execute(_INSERT_SUBMISSIONS, params)
    con.execute(
        f"""insert into raw_kobo_restricted.repeat_rows by name
        select $survey_id as survey_id, $source_id as source_id, submission_key, repeat_name, row_path, row_index,
            fields_json::json::map(varchar, varchar) as fields, source_row, $source as source,
            $ingested_at as ingested_at, $batch_id as batch_id, $run_id as run_id
        from ({_REPEAT_DECISION}) where reason is null""",
        params,
    )
    exclusions = con.execute(
        """select 'submission' as unit, d.reason, count(*) as row_count,
            case when d.reason in ('malformed_row', 'missing_key', 'field_conflict')
                 then 'source rows ' || array_to_string(list(s.source_row order by s.source_row)[1:20], ', ')
                      || case when count(*) > 20 then ', ...' else '' end end as detail
        from kobo_decision d join kobo_stage_submissions s on s.seq = d.seq
        where d.reason is not null group by d.reason
        union all
        select 'repeat_row', reason, count(*),
            case when reason = 'orphan_repeat_row'
                 then 'sheet rows ' || array_to_string(list(source_row order by source_row)[1:20], ', ')
                      || case when count(*) > 20 then ', ...' else '' end end
        from (""" + _REPEAT_DECISION + """) where reason is not null group by reason
        order by 1, 2"""
    ).fetchall()
    for unit_kind, reason, rows, detail in exclusions:
        con.execute("insert into raw_kobo.exclusions values (?, ?, ?, ?, ?, ?, ?)",
                    [survey_id, unit.source_id, batch_id, unit_kind, reason, rows, detail])
    issues = sorted(normalizer.issues.items())
    if issues:
        con.executemany(
            "insert into raw_kobo.field_issues values (?, ?, ?, ?, ?, ?, ?)",
            [(survey_id, unit.source_id, batch_id, name, kind, count,
              sorted(normalizer.examples.get((name, kind), ())) or None) for (name, kind), count in issues],
        )
    read, landed, invalid, latest = con.execute(
        """select count(*), count(*) filter (where d.reason is null),
            count(*) filter (where d.reason is null and s.coordinates_status in ('invalid', 'outside_area')),
            max(s.submission_time) filter (where d.reason is null)
        from kobo_stage_submissions s join kobo_decision d on d.seq = s.seq"""
    ).fetchone()
    repeats_read, repeats_landed = con.execute(
        f"select count(*), count(*) filter (where reason is null) from ({_REPEAT_DECISION})").fetchone()
    versions = tuple(sorted(stage.versions))
    con.execute(
        f"insert into raw_kobo.loads values ({', '.join(['?'] * 26)})",
        [survey_id, unit.source_id, unit.source_kind, unit.source, source_sha256, unit.asset_uid,
         unit.contract.sha256, salt_kind, batch_id, unit.run_id, unit.now, fetched[0], fetched[1],
         read, landed, read - landed, repeats_read, repeats_landed, repeats_read - repeats_landed,
         invalid, personal_dropped, list(versions), latest,
         *(api if api is not None else (None, None, None))],
    )
    land_contract(con, unit.contract, run_id=unit.run_id, now=unit.now)
    statuses = status_counts(con, survey_id, unit.source_id)  # what the landed policy publishes
    con.execute("drop table kobo_stage_submissions; drop table kobo_stage_repeats; drop table kobo_decision")
    result = KoboIngestResult(
        survey_id=survey_id,
        source_id=unit.source_id,
        source_kind=unit.source_kind,
        batch_id=batch_id,
        salt_kind=salt_kind,
        submissions_read=read,
        submissions_landed=landed,
        exclusions={reason: rows for kind, reason, rows, _ in exclusions if kind == "submission"},
        repeat_rows_read=repeats_read,
        repeat_rows_landed=repeats_landed,
        repeat_exclusions={reason: rows for kind, reason, rows, _ in exclusions if kind == "repeat_row"},
        invalid_coordinates=invalid,
        form_versions=versions,
        field_issues={f"{name}: {kind}": count for (name, kind), count in issues},
        unmapped_columns=tuple(unmapped),
        personal_columns_dropped=personal_dropped,
        api_pages=api[0] if api else None,
        api_retries=api[1] if api else None,
        api_restarts=api[2] if api else None,
        validation_policy=unit.contract.published_validation_statuses, validation_statuses=statuses,
    )
    log.info("KoBo %s %s: %d read, %d landed (%d published), excluded %s", survey_id, unit.source_id, read,
             landed, result.submissions_published, result.exclusions or "none")
    return result


def _check_now(now: datetime) -> None:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware (e.g. datetime.now(timezone.utc))")


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _batch_id(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def _unmapped_columns(layout: Layout, contract: KoboContract, personal: list[str]) -> list[str]:
    """Columns neither mapped by the contract, nor personal, nor meta: listed so schema drift is seen."""
    keys = set(layout.keys or ())
    sources = [source for spec in contract.fields for source in spec.sources]
    sources += [*contract.respondent_id, *([contract.gps.source] if contract.gps else [])]
    used = {key for key in (layout.resolve(source, keys) for source in sources) if key is not None}
    unmapped = []
    for header, key in zip(layout.headers, layout.keys or ()):
        if key in META_COLUMNS or header in personal or key in used:
            continue
        if any(key.startswith(f"{owner}/") or key.startswith(f"_{owner}_") for owner in used):
            continue  # a per-choice column or a geopoint part of a mapped question
        unmapped.append(header)
    return unmapped


# -- exports -------------------------------------------------------------------------------------------------
def ingest_kobo_export(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    contract: KoboContract,
    *,
    pii_salt: str | None,
    run_id: str,
    now: datetime,
    source_id: str | None = None,
    within: Callable[[KoboIngestResult], None] | None = None,
) -> "KoboIngestResult":
    """Land one KoBo export file (``.csv`` or ``.xlsx``) in one transaction, replacing its previous load.

    ``source_id`` names the unit (default ``export:<file name>``); pass the partner-relative path from
    the inbox so two partners' files never collide. Raises a :class:`KoboError` for a file the
    contract cannot read; nothing is landed then and the previous version stays.

    ``within`` is called with the result inside the transaction, once the unit's rows are in place:
    a caller's own bookkeeping (the partner inbox's file row) then commits with them, and anything
    it raises rolls the whole unit back.
    """
    path = Path(path)
    _check_now(now)
    hasher = hasher_for(contract, pii_salt)  # before reading a byte: no salt, no landing
    where = f"{contract.survey_id}: {path.name}"
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise KoboExportError(f"{where}: KoBo exports are .csv or .xlsx; got {suffix or 'no extension'}. "
                              "Fix: export from KoBo as CSV or XLS")
    if not path.is_file():
        raise KoboExportError(f"{where}: no such file")
    form = FormDefinition.load(contract.form_path) if contract.form_path else None
    if form is not None:
        check_form_types(contract, form, where=where)
    source_sha256 = _file_sha256(path)
    batch_id = _batch_id(source_sha256, contract.sha256, hasher.kind)
    unit = _Unit(contract, source_id or f"export:{path.name}", f"{suffix[1:]}_export", str(path), run_id, now)
    ensure_schema(con)
    normalizer = Normalizer(contract, hasher)
    with transaction(con):
        stage = _Stage(con)
        if suffix == ".csv":
            export = open_csv_export(path, contract, form, where=where)
            personal = personal_columns(export.layout, contract)
            for record in export.records(where=where):
                row = normalizer.submission(record, stage.next_seq(), export.layout)
                stage.add_submission({**row, "source_sha256": source_sha256})
            unmapped = _unmapped_columns(export.layout, contract, personal)
        else:
            with XlsxExport(path, contract, form, where=where) as book:
                personal, unmapped = _land_xlsx(book, contract, normalizer, stage, source_sha256)
        result = _finish(con, unit, stage, normalizer, source_sha256=source_sha256, batch_id=batch_id,
                         salt_kind=hasher.kind, unmapped=unmapped, personal_dropped=len(personal))
        _verify_accounting(result, where)
        if source_sha256 != _file_sha256(path):  # changed while we read it: the rows may mix two versions
            raise KoboExportError(f"{where}: the file changed while it was being read; nothing was landed. "
                                  "Fix: run again once the partner's upload has finished")
        if within is not None:
            within(result)
    return result


def _land_xlsx(book: XlsxExport, contract: KoboContract, normalizer: Normalizer, stage: _Stage,
               source_sha256: str) -> tuple[list[str], list[str]]:
    sheets = book.sheets()
    main = sheets[0]
    personal = personal_columns(main.layout, contract)
    unmapped = _unmapped_columns(main.layout, contract, personal)
    # _index of each sheet's rows -> (submission seq, row path): how repeat rows find their submission.
    parents: dict[str, dict[str, tuple[int, str]]] = {main.name: {}}
    for position, values in main.rows():
        seq = stage.next_seq()
        row = normalizer.submission(SourceRecord(position=position, values=values), seq, main.layout)
        stage.add_submission({**row, "source_sha256": source_sha256})
        if values.get("_index"):
            parents[main.name][values["_index"]] = (seq, "")
    by_sheet = {spec.sheet: spec for spec in contract.repeats}
    for sheet in sheets[1:]:
        spec = by_sheet.get(sheet.name)
        parents[sheet.name] = {}
        children: Counter[tuple[str, str]] = Counter()
        for position, values in sheet.rows():
            parent_table = values.get("_parent_table_name") or main.name
            parent_index = values.get("_parent_index") or ""
            parent = parents.get(parent_table, {}).get(parent_index)
            if parent is None:
                if spec is not None:
                    instance = RepeatInstance(spec.source, 0, "", values, position)
                    stage.add_repeat(normalizer.repeat_row(instance, spec, None, sheet.layout,
                                                           error="orphan_repeat_row"))
                continue
            children[(parent_table, parent_index)] += 1
            row_index = children[(parent_table, parent_index)]
            segment = f"{sheet.name}[{row_index}]"
            row_path = f"{parent[1]}/{segment}" if parent[1] else segment
            if values.get("_index"):
                parents[sheet.name][values["_index"]] = (parent[0], row_path)
            if spec is not None:
                instance = RepeatInstance(spec.source, row_index, row_path, values, position)
                stage.add_repeat(normalizer.repeat_row(instance, spec, parent[0], sheet.layout))
        if spec is None:
            unmapped.append(f"sheet {sheet.name}")
    return personal, unmapped


def _verify_accounting(result: KoboIngestResult, where: str) -> None:
    """Every row read is landed or counted: anything else is a bug, and must not commit."""
    if result.submissions_landed + result.submissions_excluded != result.submissions_read:
        raise KoboExportError(f"{where}: internal accounting error ({result.submissions_read} read, "
                              f"{result.submissions_landed} landed, {result.submissions_excluded} excluded)")


# -- API ---------------------------------------------------------------------------------------------------------
def ingest_kobo_api(
    con: duckdb.DuckDBPyConnection,
    client: KoboClient,
    asset_uid: str,
    contract: KoboContract,
    *,
    pii_salt: str | None,
    run_id: str,
    now: datetime,
    max_restarts: int = 2,
) -> KoboIngestResult:
    """Pull every submission of ``asset_uid`` and replace the asset's landed rows in one transaction.

    The form definition comes from the API and is fetched again when a submission names a form
    version not seen yet (the form was redeployed mid-pull). If submissions are added or deleted
    while paging, the pull starts again (at most ``max_restarts`` times) so the unit is one snapshot.
    """
    _check_now(now)
    hasher = hasher_for(contract, pii_salt)
    if contract.asset_uid is not None and contract.asset_uid != asset_uid:
        raise KoboApiError(f"{contract.origin} declares asset_uid {contract.asset_uid}, not {asset_uid}: "
                           "refusing to land one survey's data under another's contract")
    ensure_schema(con)
    restarts = 0
    retries_before = client.retries
    while True:
        try:
            with transaction(con):
                return _pull(con, client, asset_uid, contract, hasher, run_id=run_id, now=now,
                             restarts=restarts, retries_before=retries_before)
        except KoboAssetChangedError as exc:
            restarts += 1
            if restarts > max_restarts:
                raise KoboApiError(
                    f"asset {asset_uid}: submissions kept changing during the pull ({exc}; {restarts} attempts); "
                    "nothing was landed and the previous load is intact. Fix: run again later"
                ) from exc
            log.warning("KoBo asset %s changed during the pull (%s); starting again", asset_uid, exc)


def _pull(con: duckdb.DuckDBPyConnection, client: KoboClient, asset_uid: str, contract: KoboContract, hasher: Hasher,
          *, run_id: str, now: datetime, restarts: int, retries_before: int) -> KoboIngestResult:
    where = f"{contract.survey_id}: asset {asset_uid}"
    asset = client.get_asset(asset_uid)
    form = FormDefinition.from_asset(asset.data)
    check_form_types(contract, form, where=where)
    known_versions = set(form.version_ids)
    refetched: set[str] = set()
    layout = Layout(labels=False, form=form, language=form.default_language, group_separator="/")
    normalizer = Normalizer(contract, hasher)
    stage = _Stage(con)
    digest = hashlib.sha256(asset.sha256.encode())
    first_fetched, last_fetched, pages = asset.fetched_at, asset.fetched_at, 0
    repeat_specs = {spec.source: spec for spec in contract.repeats}
    seen_keys: set[str] = set()  # the API has no header: the keys of every record stand in for one
    position = 0
    for page in client.iter_data_pages(asset_uid):
        pages += 1
        digest.update(page.fetched.sha256.encode())
        first_fetched = min(first_fetched, page.fetched.fetched_at)
        last_fetched = max(last_fetched, page.fetched.fetched_at)
        new_versions = {str(item.get("__version__")) for item in page.results if item.get("__version__")}
        new_versions -= known_versions | refetched
        if new_versions:  # redeployed while we page: read the new form before its answers
            refetched |= new_versions
            asset = client.get_asset(asset_uid)
            form = FormDefinition.from_asset(asset.data)
            check_form_types(contract, form, where=where)
            known_versions |= set(form.version_ids)
            layout = Layout(labels=False, form=form, language=form.default_language, group_separator="/")
            digest.update(asset.sha256.encode())
        for raw in page.results:
            position += 1
            if not isinstance(raw, dict):
                record = SourceRecord(position=position, values=None, error="malformed_row")
            else:
                record = api_record(raw, position)
                seen_keys.update(record.values or ())
            seq = stage.next_seq()
            row = normalizer.submission(record, seq, layout)
            stage.add_submission({**row, "source_sha256": page.fetched.sha256, "fetched_at": page.fetched.fetched_at})
            for instance in record.repeats:
                spec = repeat_specs.get(instance.xpath)
                if spec is not None:
                    stage.add_repeat(normalizer.repeat_row(instance, spec, seq, layout))
    unit = _Unit(contract, f"api:{asset_uid}", "api", client.data_url(asset_uid), run_id, now, asset_uid=asset_uid)
    source_sha256 = digest.hexdigest()
    keys = tuple(sorted(seen_keys))
    seen = Layout(keys=keys, headers=keys)
    personal = personal_columns(seen, contract)
    result = _finish(
        con, unit, stage, normalizer, source_sha256=source_sha256,
        batch_id=_batch_id(source_sha256, contract.sha256, hasher.kind), salt_kind=hasher.kind,
        unmapped=_unmapped_columns(seen, contract, personal), personal_dropped=len(personal),
        fetched=(first_fetched, last_fetched), api=(pages, client.retries - retries_before, restarts),
    )
    _verify_accounting(result, where)
    return result
