"""Feedback reports for partners, in Markdown and HTML, written from what is in the warehouse.

One page per file (what was accepted, each reason rows were set aside with examples and the
fix) and one index page per partner. Written from ``raw_partners`` rather than from a run's
memory, so an unchanged file's report is the same on every run, and the text is plain language
a partner without a data team can act on. Every cell text is escaped: a partner's cell such as
``=cmd|...`` or ``<script>`` is shown, never interpreted.
"""

from __future__ import annotations

import json
from datetime import timezone
from pathlib import Path

import duckdb

from ingestion.kobo.inbox_report import kobo_sections
from ingestion.partners.codes import REASONS
from ingestion.partners.document import Code, Document, Link, Strong, file_slug, rich, short, write_page
from ingestion.partners.read import delimiter_name
from ingestion.warehouse import fetch_dicts

EXAMPLES_PER_REASON = 5
LABELS_SHOWN = 60


# --- content ---------------------------------------------------------------------------------------

_STATUS_TEXT = {
    "loaded": "Accepted: every row was read.",
    "loaded_with_rejections": "Accepted in part: some rows were set aside (see below).",
    "rejected": "Not accepted: the file could not be used as a whole (see below).",
    "retry": "Not processed yet: we will try again at the next run.",
    "withdrawn": "Withdrawn: the file is no longer in your inbox folder, so its figures are no longer used or published.",
}
_KOBO_STATUS_TEXT = {
    **_STATUS_TEXT,
    "loaded": "Accepted: every interview was kept.",
    "loaded_with_rejections": "Accepted: some interviews were set aside (see below why).",
}



def _file_document(con: duckdb.DuckDBPyConnection, partner: dict, row: dict) -> Document:
    partner_id, name = row["partner_id"], row["source_file"]
    doc = Document(f"Feedback on {name}")
    processed = row["ingested_at"].astimezone(timezone.utc)
    doc.para(["From ", Strong(partner.get("partner_name") or partner_id), " · received version ",
              Code(row["sha256"][:12]), f" ({row['size_bytes']:,} bytes), processed {processed:%Y-%m-%d %H:%M} UTC"])
    kobo = row["format"] == "kobo"
    doc.para(Strong((_KOBO_STATUS_TEXT if kobo else _STATUS_TEXT).get(row["status"], row["status"])))
    errors = json.loads(row["errors"] or "[]")
    if errors:
        doc.heading(2, "What is wrong with the file")
        for error in errors:
            if error["code"] == "internal_error":  # the details are for the data team, in the files table
                error = {"message": "an error on our side stopped the processing of this file",
                         "fix": "Nothing to do for you: the data team has been told, and the file is read again at the next run."}
            doc.para([Strong(error["message"][0].upper() + error["message"][1:] + ".")])
            doc.para(["How to fix it: ", error["fix"]])
        if row["landed_sha256"] and row["landed_sha256"] != row["sha256"]:
            doc.para(["Your previous version of this file (", Code(row["landed_sha256"][:12]), ", received ",
                      f"{row['landed_at'].astimezone(timezone.utc):%Y-%m-%d}) is still the one in use."])
    if kobo and row["status"] != "withdrawn":
        kobo_sections(con, doc, row)
    elif row["status"] in ("loaded", "loaded_with_rejections"):
        doc.heading(2, "In numbers")
        table = [["rows read (after the column names)", f"{row['rows_read']:,}"],
                 ["values accepted", f"{row['observations_landed']:,}"],
                 ["values set aside", f"{row['observations_quarantined']:,}"]]
        if row["values_missing"]:
            table.append(["accepted rows with no value (empty, n/a, .., x)", f"{row['values_missing']:,}"])
        if row["rows_blank"]:
            table.append(["empty rows skipped", f"{row['rows_blank']:,}"])
        if row["cells_blank"]:
            table.append(["empty value cells skipped", f"{row['cells_blank']:,}"])
        doc.table(["", "count"], table)
        summary = fetch_dicts(con, """
            select series_code, unit, count(*) as n, min(period_start) as first, max(period_end) as last,
                   count(distinct period_label) as periods
            from raw_partners.observations where partner_id = ? and source_file = ?
            group by all order by series_code, unit""", [partner_id, name])
        if summary:
            doc.heading(2, "What we accepted")
            doc.table(["series", "unit", "values", "periods", "from", "to"],
                      [[Code(item["series_code"]), Code(item["unit"]), f"{item['n']:,}", str(item["periods"]),
                        str(item["first"].year), str(item["last"].year)] for item in summary])
        reasons = fetch_dicts(con, """
            select reason_code, count(*) as n from raw_partners.quarantine
            where partner_id = ? and source_file = ? group by reason_code""", [partner_id, name])
        order = list(REASONS)
        reasons.sort(key=lambda item: order.index(item["reason_code"]) if item["reason_code"] in order else len(order))
        if reasons:
            doc.heading(2, "What to fix")
            doc.para("These rows are not in the database. Correct them in your file and send the whole file again; "
                     "it will replace this version.")
        for item in reasons:
            reason = REASONS.get(item["reason_code"])
            title = reason.title if reason else item["reason_code"]
            doc.heading(3, [f"{item['n']:,} × {title} (", Code(item["reason_code"]), ")"])
            if reason:
                doc.para(["What happened: ", *rich(reason.explanation)])
                doc.para(["How to fix it: ", *rich(reason.fix)])
            examples = fetch_dicts(con, """
                select source_row, source_column, reason_column, reason_value, reason_detail
                from raw_partners.quarantine where partner_id = ? and source_file = ? and reason_code = ?
                order by source_row, source_column limit ?""", [partner_id, name, item["reason_code"], EXAMPLES_PER_REASON])
            doc.table(["row", "column", "cell", "detail"],
                      [[str(example["source_row"]), short(example["reason_column"] or example["source_column"] or ""),
                        Code(short(example["reason_value"])), short(example["reason_detail"] or "")] for example in examples])
            if item["n"] > len(examples):
                doc.para(f"… and {item['n'] - len(examples):,} more row(s) for the same reason.")
    labels = fetch_dicts(con, """
        select coalesce(column_header, '(column headers)') as column_header, label, code, problem, rows
        from raw_partners.labels where partner_id = ? and source_file = ? and file_sha256 = ?
        order by column_header, problem nulls first, label limit ?""", [partner_id, name, row["landed_sha256"] or "", LABELS_SHOWN])
    if labels and row["status"] in ("loaded", "loaded_with_rejections") and not kobo:
        doc.heading(2, "How we read your labels")
        doc.para("Each label in your file and the code it was read as. Please check they mean what you meant.")
        doc.table(["column", "your label", "read as", "rows"],
                  [[short(item["column_header"]), Code(short(item["label"])),
                    Code(item["code"]) if item["code"] else Strong("not recognised"), f"{item['rows']:,}"] for item in labels])
    notes = json.loads(row["notes"] or "[]")
    if notes:
        doc.heading(2, "Good to know")
        doc.items([note[0].upper() + note[1:] for note in notes])
    doc.heading(2, "How we read the file")
    how = []
    if row["format"]:
        how.append(["layout: ", Code(row["format"]), f" (contract entry {row['file_entry']!r})"])
    if row["sheet"]:
        how.append(["sheet: ", Code(row["sheet"])])
    if row["encoding"]:
        how.append(["text encoding: ", Code(row["encoding"])])
    if row["delimiter"]:
        how.append([f"columns separated by: {delimiter_name(row['delimiter'])}"])
    if row["decimal_separator"]:
        how.append(["decimal separator: ", Code(row["decimal_separator"])])
    if row["header_row"]:
        how.append([f"column names on row {row['header_row']}"])
    if not kobo:
        how.append(["row numbers above are the ones your spreadsheet program shows"])
    doc.items(how)
    return doc


def write_partner_reports(
    con: duckdb.DuckDBPyConnection,
    partner_id: str,
    partner_name: str | None,
    file_names: list[str],
    partner_problems: list[dict],
    skipped: list[tuple[str, str]],
    reports_dir: Path,
) -> tuple[Path, Path, dict[str, tuple[Path, Path]]]:
    """Write ``<reports_dir>/<partner_id>/index.{md,html}`` and one page per file; return their paths."""
    folder = Path(reports_dir) / partner_id
    partner = {"partner_name": partner_name}
    rows = {row["source_file"]: row for row in fetch_dicts(
        con, "select * from raw_partners.files where partner_id = ?", [partner_id])}
    per_file: dict[str, tuple[Path, Path]] = {}
    index = Document(f"Data received from {partner_name or partner_id}")
    if partner_problems:
        index.heading(2, "Problems with the data contract")
        for problem in partner_problems:
            index.para([Strong(problem["message"])])
            index.para(["How to fix it: ", problem["fix"]])
    if skipped:
        index.heading(2, "What we did not read")
        index.items([[Code(name), f": {why}"] for name, why in skipped])
    table = []
    for name in file_names:
        row = rows.get(name)
        if row is None:
            table.append([Code(name), "not processed", "", "", ""])
            continue
        slug = file_slug(name)
        doc = _file_document(con, partner, row)
        md_path, html_path = folder / "files" / f"{slug}.md", folder / "files" / f"{slug}.html"
        write_page(md_path, doc.markdown())
        write_page(html_path, doc.html())
        per_file[name] = (md_path, html_path)
        unit = " interviews" if row["format"] == "kobo" else ""
        table.append([Link(name, f"files/{slug}.md"), row["status"].replace("_", " "),
                      f"{row['observations_landed']:,}{unit}", f"{row['observations_quarantined']:,}{unit}",
                      "; ".join(error["message"] for error in json.loads(row["errors"] or "[]"))])
    index.heading(2, "Files")
    if table:
        index.table(["file", "result", "values accepted", "values set aside", "problem"], table)
    else:
        index.para("No files were found in your folder.")
    index_md, index_html = folder / "index.md", folder / "index.html"
    write_page(index_md, index.markdown())
    write_page(index_html, index.html())
    return index_md, index_html, per_file
