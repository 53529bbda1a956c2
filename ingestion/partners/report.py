"""Feedback reports for partners, in Markdown and HTML, written from what is in the warehouse.

One page per file (what was accepted, each reason rows were set aside with examples and the
fix) and one index page per partner: this run's files, then every file ever received (its history,
from ``raw_partners.files``). Written from ``raw_partners`` rather than from a run's memory, so an
unchanged file's report is the same on every run, and the text is plain language a partner without a
data team can act on, in the partner's language (``i18n``; the partner's own labels, column and file
names are quoted as they are). Every cell text is escaped: a partner's cell such as ``=cmd|...`` or
``<script>`` is shown, never interpreted.
"""

from __future__ import annotations

import json
from datetime import timezone
from pathlib import Path

import duckdb

from ingestion.kobo.inbox_report import kobo_sections
from ingestion.partners.codes import REASONS
from ingestion.partners.details import say_detail
from ingestion.partners.document import Code, Document, Link, Strong, compose, file_slug, rich, short, write_page
from ingestion.partners.i18n import N_, Translator, translator
from ingestion.partners.read import delimiter_name
from ingestion.warehouse import fetch_dicts

EXAMPLES_PER_REASON = 5
LABELS_SHOWN = 60


# --- content ---------------------------------------------------------------------------------------

_STATUS_TEXT = {
    "loaded": N_("Accepted: every row was read."),
    "loaded_with_rejections": N_("Accepted in part: some rows were set aside (see below)."),
    "rejected": N_("Not accepted: the file could not be used as a whole (see below)."),
    "retry": N_("Not processed yet: we will try again at the next run."),
    "withdrawn": N_("Withdrawn: the file is no longer in your inbox folder, so its figures are no longer used or published."),
}
_KOBO_STATUS_TEXT = {
    **_STATUS_TEXT,
    "loaded": N_("Accepted: every interview was kept."),
    "loaded_with_rejections": N_("Accepted: some interviews were set aside (see below why)."),
}
# The result column of the index.
_STATUS_LABEL = {
    "loaded": N_("loaded"),
    "loaded_with_rejections": N_("loaded with rejections"),
    "rejected": N_("rejected"),
    "retry": N_("retry"),
    "withdrawn": N_("withdrawn"),
}


def _document(tr: Translator, title: str) -> Document:
    """A page in the partner's language, the English fallback said first."""
    doc = Document(title, "en" if tr.missing else tr.language.replace("_", "-"), tr.gettext("(empty)"))
    if tr.notice:
        doc.para(tr.notice)
    return doc


def _problem(tr: Translator, error: dict, key: str) -> str:
    """A stored problem's message or fix, from its msgid when it has one."""
    return tr.text((error.get("i18n") or {}).get(key) or error[key])


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _file_document(con: duckdb.DuckDBPyConnection, tr: Translator, partner: dict, row: dict) -> Document:
    _, number = tr.gettext, tr.number
    partner_id, name = row["partner_id"], row["source_file"]
    doc = _document(tr, _("Feedback on {file}").format(file=name))
    # Translators: a Babel (CLDR) date and time pattern, e.g. "d MMMM y, HH:mm"; the time is in UTC.
    processed = tr.datetime(row["ingested_at"].astimezone(timezone.utc), _("yyyy-MM-dd HH:mm"))
    doc.para(compose(_("From {partner} · received version {version} ({size} bytes), processed {when} UTC"),
                     partner=Strong(partner.get("partner_name") or partner_id), version=Code(row["sha256"][:12]),
                     size=number(row["size_bytes"]), when=processed))
    kobo = row["format"] == "kobo"
    status = (_KOBO_STATUS_TEXT if kobo else _STATUS_TEXT).get(row["status"])
    doc.para(Strong(_(status) if status else row["status"]))
    errors = json.loads(row["errors"] or "[]")
    if errors:
        doc.heading(2, _("What is wrong with the file"))
        for error in errors:
            if error["code"] == "internal_error":  # the details are for the data team, in the files table
                message = _("an error on our side stopped the processing of this file")
                fix = _("Nothing to do for you: the data team has been told, and the file is read again at the next run.")
            else:
                message, fix = _problem(tr, error, "message"), _problem(tr, error, "fix")
            doc.para([Strong(_capital(message) + ".")])
            doc.para(compose(_("How to fix it: {fix}"), fix=fix))
        if row["landed_sha256"] and row["landed_sha256"] != row["sha256"]:
            # Translators: a Babel (CLDR) date pattern, e.g. "d MMMM y".
            landed = tr.datetime(row["landed_at"].astimezone(timezone.utc), _("yyyy-MM-dd"))
            doc.para(compose(_("Your previous version of this file ({version}, received {date}) is still the one in use."),
                             version=Code(row["landed_sha256"][:12]), date=landed))
    if kobo and row["status"] != "withdrawn":
        kobo_sections(con, doc, row, tr)
    elif row["status"] in ("loaded", "loaded_with_rejections"):
        doc.heading(2, _("In numbers"))
        table = [[_("rows read (after the column names)"), number(row["rows_read"])],
                 [_("values accepted"), number(row["observations_landed"])],
                 [_("values set aside"), number(row["observations_quarantined"])]]
        if row["values_missing"]:
            table.append([_("accepted rows with no value (empty, n/a, .., x)"), number(row["values_missing"])])
        if row["rows_blank"]:
            table.append([_("empty rows skipped"), number(row["rows_blank"])])
        if row["cells_blank"]:
            table.append([_("empty value cells skipped"), number(row["cells_blank"])])
        doc.table(["", _("count")], table)
        summary = fetch_dicts(con, """
            select series_code, unit, count(*) as n, min(period_start) as first, max(period_end) as last,
                   count(distinct period_label) as periods
            from raw_partners.observations where partner_id = ? and source_file = ?
            group by all order by series_code, unit""", [partner_id, name])
        if summary:
            doc.heading(2, _("What we accepted"))
            doc.table([_("series"), _("unit"), _("values"), _("periods"), _("from"), _("to")],
                      [[Code(item["series_code"]), Code(item["unit"]), number(item["n"]), number(item["periods"]),
                        str(item["first"].year), str(item["last"].year)] for item in summary])
        _reasons(con, tr, doc, partner_id, name)
    labels = fetch_dicts(con, """
        select column_header, label, code, problem, rows
        from raw_partners.labels where partner_id = ? and source_file = ? and file_sha256 = ?
        order by coalesce(column_header, '(column headers)'), problem nulls first, label limit ?""",
                         [partner_id, name, row["landed_sha256"] or "", LABELS_SHOWN])
    if labels and row["status"] in ("loaded", "loaded_with_rejections") and not kobo:
        doc.heading(2, _("How we read your labels"))
        doc.para(_("Each label in your file and the code it was read as. Please check they mean what you meant."))
        doc.table([_("column"), _("your label"), _("read as"), _("rows")],
                  [[short(item["column_header"]) if item["column_header"] is not None else _("(column headers)"),
                    Code(short(item["label"])), Code(item["code"]) if item["code"] else Strong(_("not recognised")),
                    number(item["rows"])] for item in labels])
    notes = json.loads(row["notes"] or "[]")
    if notes:
        doc.heading(2, _("Good to know"))
        doc.items([_capital(tr.text(note)) for note in notes])
    doc.heading(2, _("How we read the file"))
    how = []
    if row["format"]:
        how.append(compose(_("layout: {layout} (contract entry {entry})"), layout=Code(row["format"]),
                           entry=repr(row["file_entry"])))
    if row["sheet"]:
        how.append(compose(_("sheet: {sheet}"), sheet=Code(row["sheet"])))
    if row["encoding"]:
        how.append(compose(_("text encoding: {encoding}"), encoding=Code(row["encoding"])))
    if row["delimiter"]:
        how.append([_("columns separated by: {delimiter}").format(delimiter=_(delimiter_name(row["delimiter"])))])
    if row["decimal_separator"]:
        how.append(compose(_("decimal separator: {separator}"), separator=Code(row["decimal_separator"])))
    if row["header_row"]:
        how.append([_("column names on row {row}").format(row=number(row["header_row"]))])
    if not kobo:
        how.append([_("row numbers above are the ones your spreadsheet program shows")])
    doc.items(how)
    return doc


def _reasons(con: duckdb.DuckDBPyConnection, tr: Translator, doc: Document, partner_id: str, name: str) -> None:
    """Why rows were set aside, most basic first, each with its fix and a few examples."""
    _ = tr.gettext
    reasons = fetch_dicts(con, """
        select reason_code, count(*) as n from raw_partners.quarantine
        where partner_id = ? and source_file = ? group by reason_code""", [partner_id, name])
    order = list(REASONS)
    reasons.sort(key=lambda item: order.index(item["reason_code"]) if item["reason_code"] in order else len(order))
    if reasons:
        doc.heading(2, _("What to fix"))
        doc.para(_("These rows are not in the database. Correct them in your file and send the whole file again; "
                   "it will replace this version."))
    for item in reasons:
        reason = REASONS.get(item["reason_code"])
        title = _(reason.title) if reason else item["reason_code"]
        doc.heading(3, compose(_("{count} × {title} ({code})"), count=tr.number(item["n"]), title=title,
                               code=Code(item["reason_code"])))
        if reason:
            doc.para(compose(_("What happened: {explanation}"), explanation=rich(_(reason.explanation))))
            doc.para(compose(_("How to fix it: {fix}"), fix=rich(_(reason.fix))))
        examples = fetch_dicts(con, """
            select source_row, source_column, reason_column, reason_value, reason_detail
            from raw_partners.quarantine where partner_id = ? and source_file = ? and reason_code = ?
            order by source_row, source_column limit ?""", [partner_id, name, item["reason_code"], EXAMPLES_PER_REASON])
        doc.table([_("row"), _("column"), _("cell"), _("detail")],
                  [[str(example["source_row"]), short(example["reason_column"] or example["source_column"] or ""),
                    Code(short(example["reason_value"])),
                    short(say_detail(example["reason_detail"], _) if example["reason_detail"] else "")]
                   for example in examples])
        if item["n"] > len(examples):
            doc.para(tr.ngettext("… and {count} more row for the same reason.",
                                 "… and {count} more rows for the same reason.", item["n"] - len(examples)))


def _counted(tr: Translator, row: dict, column: str) -> str:
    if row["format"] == "kobo":
        return tr.ngettext("{count} interview", "{count} interviews", row[column])
    return tr.number(row[column])


def _result(tr: Translator, row: dict) -> str:
    label = _STATUS_LABEL.get(row["status"])
    return tr.gettext(label) if label else row["status"].replace("_", " ")


def _history(tr: Translator, index: Document, rows: list[dict], links: dict[str, str]) -> None:
    """Every file the partner ever sent, newest first: the version we hold, what it gave, whether withdrawn."""
    _ = tr.gettext
    index.heading(2, _("Every file received, newest first"))
    index.para(_("One line per file name, across all runs: the version we hold now (a new version of a file "
                 "replaces the previous one), the date we last processed it or saw it withdrawn, what it "
                 "contributed and what was set aside."))
    # Translators: a Babel (CLDR) date and time pattern, e.g. "d MMMM y, HH:mm"; the time is in UTC.
    pattern = _("yyyy-MM-dd HH:mm")
    history = sorted(rows, key=lambda row: row["source_file"])
    history.sort(key=lambda row: row["ingested_at"], reverse=True)
    index.table([_("date (UTC)"), _("file"), _("version"), _("result"), _("values accepted"), _("values set aside")],
                [[tr.datetime(row["ingested_at"].astimezone(timezone.utc), pattern),
                  Link(row["source_file"], links[row["source_file"]]), Code(row["sha256"][:12]), _result(tr, row),
                  _counted(tr, row, "observations_landed"), _counted(tr, row, "observations_quarantined")]
                 for row in history])


def write_partner_reports(
    con: duckdb.DuckDBPyConnection,
    partner_id: str,
    partner_name: str | None,
    file_names: list[str],
    partner_problems: list[dict],
    skipped: list[tuple[str, str]],
    reports_dir: Path,
    language: str | None = None,
) -> tuple[Path, Path, dict[str, tuple[Path, Path]]]:
    """Write ``<reports_dir>/<partner_id>/index.{md,html}`` and one page per file the partner ever sent,
    in ``language`` (the contract's ``partner.language``); return the index and this run's files' pages."""
    tr = translator(language)
    _ = tr.gettext
    folder = Path(reports_dir) / partner_id
    partner = {"partner_name": partner_name}
    rows = {row["source_file"]: row for row in fetch_dicts(
        con, "select * from raw_partners.files where partner_id = ?", [partner_id])}
    pages: dict[str, tuple[Path, Path]] = {}
    links: dict[str, str] = {}
    for name, row in sorted(rows.items()):
        slug = file_slug(name)
        doc = _file_document(con, tr, partner, row)
        md_path, html_path = folder / "files" / f"{slug}.md", folder / "files" / f"{slug}.html"
        write_page(md_path, doc.markdown())
        write_page(html_path, doc.html())
        pages[name], links[name] = (md_path, html_path), f"files/{slug}.md"
    index = _document(tr, _("Data received from {partner}").format(partner=partner_name or partner_id))
    if partner_problems:
        index.heading(2, _("Problems with the data contract"))
        for problem in partner_problems:
            index.para([Strong(_problem(tr, problem, "message"))])
            index.para(compose(_("How to fix it: {fix}"), fix=_problem(tr, problem, "fix")))
    if skipped:
        index.heading(2, _("What we did not read"))
        index.items([[Code(name), f": {tr.text(why)}"] for name, why in skipped])
    table = []
    for name in file_names:
        row = rows.get(name)
        if row is None:
            table.append([Code(name), _("not processed"), "", "", ""])
            continue
        table.append([Link(name, links[name]), _result(tr, row), _counted(tr, row, "observations_landed"),
                      _counted(tr, row, "observations_quarantined"),
                      "; ".join(_problem(tr, error, "message") for error in json.loads(row["errors"] or "[]"))])
    index.heading(2, _("Files"))
    if table:
        index.table([_("file"), _("result"), _("values accepted"), _("values set aside"), _("problem")], table)
    else:
        index.para(_("No files were found in your folder."))
    if rows:
        _history(tr, index, list(rows.values()), links)
    index_md, index_html = folder / "index.md", folder / "index.html"
    write_page(index_md, index.markdown())
    write_page(index_html, index.html())
    return index_md, index_html, {name: pages[name] for name in file_names if name in pages}
