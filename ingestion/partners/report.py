"""Feedback reports for partners, in Markdown and HTML, written from what is in the warehouse.

One page per file (what was accepted, each reason rows were set aside with examples and the
fix) and one index page per partner. Written from ``raw_partners`` rather than from a run's
memory, so an unchanged file's report is the same on every run, and the text is plain language
a partner without a data team can act on. Every cell text is escaped: a partner's cell such as
``=cmd|...`` or ``<script>`` is shown, never interpreted.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
from dataclasses import dataclass
from datetime import timezone
from pathlib import Path

import duckdb

from ingestion.partners.codes import KOBO_FIELD_ISSUES, KOBO_REASONS, REASONS
from ingestion.partners.read import delimiter_name

EXAMPLES_PER_REASON = 5
LABELS_SHOWN = 60
EXAMPLE_CHARS = 80


# --- a tiny document model rendered twice -------------------------------------------------------


@dataclass(frozen=True)
class Code:
    text: str


@dataclass(frozen=True)
class Strong:
    text: str


@dataclass(frozen=True)
class Link:
    text: str
    href: str


Inline = str | Code | Strong | Link
Text = Inline | list[Inline]


def _short(text: str | None) -> str:
    text = "" if text is None else str(text)
    text = text.replace("\r\n", "\n").replace("\n", " ⏎ ")
    return text if len(text) <= EXAMPLE_CHARS else text[: EXAMPLE_CHARS - 1] + "…"


def _md_inline(part: Text, in_table: bool = False) -> str:
    if isinstance(part, list):
        return "".join(_md_inline(item, in_table) for item in part)
    if isinstance(part, Code):
        text = part.text
        fence = "``" if "`" in text else "`"
        pad = " " if text.startswith("`") or text.endswith("`") or not text else ""
        out = f"{fence}{pad}{text}{pad}{fence}" if text else "(empty)"
    elif isinstance(part, Strong):
        out = f"**{_md_escape(part.text)}**"
    elif isinstance(part, Link):
        out = f"[{_md_escape(part.text)}]({part.href})"
    else:
        out = _md_escape(part)
    return out.replace("|", "\\|") if in_table else out


def rich(text: str) -> list[Inline]:
    """Our own texts (codes.REASONS) mark code with backticks: `12.5`."""
    parts: list[Inline] = []
    for index, piece in enumerate(text.split("`")):
        if piece:
            parts.append(Code(piece) if index % 2 else piece)
    return parts


def _md_escape(text: str) -> str:
    return re.sub(r"([\\`*\[\]<>#|])", r"\\\1", text)


def _html_inline(part: Text) -> str:
    if isinstance(part, list):
        return "".join(_html_inline(item) for item in part)
    if isinstance(part, Code):
        return f"<code>{html.escape(part.text)}</code>" if part.text else "<em>(empty)</em>"
    if isinstance(part, Strong):
        return f"<strong>{html.escape(part.text)}</strong>"
    if isinstance(part, Link):
        href = re.sub(r"\.md$", ".html", part.href)  # the HTML pages link to each other
        return f'<a href="{html.escape(href, quote=True)}">{html.escape(part.text)}</a>'
    return html.escape(part)


class Document:
    def __init__(self, title: str):
        self.title = title
        self.blocks: list[tuple] = []

    def heading(self, level: int, text: Text) -> None:
        self.blocks.append(("h", level, text))

    def para(self, text: Text) -> None:
        self.blocks.append(("p", text))

    def items(self, items: list[Text]) -> None:
        if items:
            self.blocks.append(("ul", items))

    def table(self, header: list[str], rows: list[list[Text]]) -> None:
        self.blocks.append(("table", header, rows))

    def markdown(self) -> str:
        out = [f"# {_md_escape(self.title)}", ""]
        for block in self.blocks:
            if block[0] == "h":
                out += [f"{'#' * block[1]} {_md_inline(block[2])}", ""]
            elif block[0] == "p":
                out += [_md_inline(block[1]), ""]
            elif block[0] == "ul":
                out += [f"- {_md_inline(item)}" for item in block[1]] + [""]
            else:
                out.append("| " + " | ".join(_md_escape(cell) for cell in block[1]) + " |")
                out.append("|" + "---|" * len(block[1]))
                out += ["| " + " | ".join(_md_inline(cell, True) for cell in row) + " |" for row in block[2]]
                out.append("")
        return "\n".join(out).rstrip() + "\n"

    def html(self) -> str:
        body = [f"<h1>{html.escape(self.title)}</h1>"]
        for block in self.blocks:
            if block[0] == "h":
                body.append(f"<h{block[1]}>{_html_inline(block[2])}</h{block[1]}>")
            elif block[0] == "p":
                body.append(f"<p>{_html_inline(block[1])}</p>")
            elif block[0] == "ul":
                body.append("<ul>" + "".join(f"<li>{_html_inline(item)}</li>" for item in block[1]) + "</ul>")
            else:
                head = "".join(f"<th>{html.escape(cell)}</th>" for cell in block[1])
                rows = "".join("<tr>" + "".join(f"<td>{_html_inline(cell)}</td>" for cell in row) + "</tr>" for row in block[2])
                body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
        style = ("body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.5}"
                 "table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left}"
                 "code{background:#f3f3f3;padding:0 .2rem}")
        return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(self.title)}</title>'
                f"<style>{style}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def file_slug(file_name: str) -> str:
    """A safe, stable report name for a partner's file name (which may hold any character)."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", file_name).strip("._") or "file"
    if slug != file_name:
        slug += "-" + hashlib.sha256(file_name.encode()).hexdigest()[:8]
    return slug[:120]


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


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list) -> list[dict]:
    cursor = con.execute(sql, params)
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


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
        _kobo_sections(con, doc, row)
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
        summary = _rows(con, """
            select series_code, unit, count(*) as n, min(period_start) as first, max(period_end) as last,
                   count(distinct period_label) as periods
            from raw_partners.observations where partner_id = ? and source_file = ?
            group by all order by series_code, unit""", [partner_id, name])
        if summary:
            doc.heading(2, "What we accepted")
            doc.table(["series", "unit", "values", "periods", "from", "to"],
                      [[Code(item["series_code"]), Code(item["unit"]), f"{item['n']:,}", str(item["periods"]),
                        str(item["first"].year), str(item["last"].year)] for item in summary])
        reasons = _rows(con, """
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
            examples = _rows(con, """
                select source_row, source_column, reason_column, reason_value, reason_detail
                from raw_partners.quarantine where partner_id = ? and source_file = ? and reason_code = ?
                order by source_row, source_column limit ?""", [partner_id, name, item["reason_code"], EXAMPLES_PER_REASON])
            doc.table(["row", "column", "cell", "detail"],
                      [[str(example["source_row"]), _short(example["reason_column"] or example["source_column"] or ""),
                        Code(_short(example["reason_value"])), _short(example["reason_detail"] or "")] for example in examples])
            if item["n"] > len(examples):
                doc.para(f"… and {item['n'] - len(examples):,} more row(s) for the same reason.")
    labels = _rows(con, """
        select coalesce(column_header, '(column headers)') as column_header, label, code, problem, rows
        from raw_partners.labels where partner_id = ? and source_file = ? and file_sha256 = ?
        order by column_header, problem nulls first, label limit ?""", [partner_id, name, row["landed_sha256"] or "", LABELS_SHOWN])
    if labels and row["status"] in ("loaded", "loaded_with_rejections") and not kobo:
        doc.heading(2, "How we read your labels")
        doc.para("Each label in your file and the code it was read as. Please check they mean what you meant.")
        doc.table(["column", "your label", "read as", "rows"],
                  [[_short(item["column_header"]), Code(_short(item["label"])),
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


def kobo_summary(read: int, landed: int, exclusions: list[tuple[str, int]]) -> str:
    """'320 interviews kept, 14 set aside: 4 pilot interviews before the launch date, ...' (largest first)."""
    text = f"{landed:,} interview{'' if landed == 1 else 's'} kept"
    if read == landed:
        return text + ", none set aside."
    order = list(KOBO_REASONS)
    parts = [KOBO_REASONS[reason].counted(n) if reason in KOBO_REASONS else f"{n:,} × {reason}"
             for reason, n in sorted(exclusions, key=lambda item: (-item[1], order.index(item[0])
                                                                   if item[0] in order else len(order)))]
    return f"{text}, {read - landed:,} set aside: " + ", ".join(parts) + "."


def _kobo_sections(con: duckdb.DuckDBPyConnection, doc: Document, row: dict) -> None:
    """A KoBo export's page, from raw_kobo: counts, reasons and fixes, answers we could not use, and
    the survey. Counts and codes only: the interviews stay in raw_kobo_restricted."""
    if not row["landed_batch_id"]:
        return
    source_id = f"{row['partner_id']}/{row['source_file']}"
    loads = _rows(con, """
        select l.survey_id, s.title, l.submissions_read, l.submissions_landed, l.submissions_excluded,
               l.repeat_rows_read, l.repeat_rows_landed, len(l.form_versions) as form_versions
        from raw_kobo.loads l left join raw_kobo.surveys s using (survey_id)
        where l.source_id = ? and l.batch_id = ?""", [source_id, row["landed_batch_id"]])
    if not loads:
        return
    load = loads[0]
    key = [load["survey_id"], source_id, row["landed_batch_id"]]
    exclusions = _rows(con, """
        select unit, reason, row_count, detail from raw_kobo.exclusions
        where survey_id = ? and source_id = ? and batch_id = ? order by unit desc, reason""", key)
    submissions = [(item["reason"], item["row_count"]) for item in exclusions if item["unit"] == "submission"]
    if row["status"] in ("loaded", "loaded_with_rejections"):
        doc.para(kobo_summary(load["submissions_read"], load["submissions_landed"], submissions))
    doc.heading(2, "In numbers" if row["landed_sha256"] == row["sha256"] else "In numbers (the version in use)")
    table = [["interviews in the file (KoBo submissions)", f"{load['submissions_read']:,}"],
             ["interviews kept", f"{load['submissions_landed']:,}"],
             ["interviews set aside", f"{load['submissions_excluded']:,}"]]
    if load["repeat_rows_read"]:
        table += [["repeat-group rows kept", f"{load['repeat_rows_landed']:,}"],
                  ["repeat-group rows set aside", f"{load['repeat_rows_read'] - load['repeat_rows_landed']:,}"]]
    doc.table(["", "count"], table)
    order = list(KOBO_REASONS)
    exclusions.sort(key=lambda item: (item["unit"] != "submission", -item["row_count"],
                                      order.index(item["reason"]) if item["reason"] in order else len(order)))
    if exclusions:
        doc.heading(2, "Why interviews were set aside")
        doc.para("Set-aside interviews are not counted in any figure. Where a fix is needed, correct the interviews in "
                 "KoBoToolbox and send a new export of the whole survey; it replaces this one.")
    for item in exclusions:
        reason = KOBO_REASONS.get(item["reason"])
        title = reason.counted(item["row_count"]) if reason else f"{item['row_count']:,} × {item['reason']}"
        doc.heading(3, [title[0].upper() + title[1:] + " (", Code(item["reason"]), ")"])
        if reason:
            doc.para(["What happened: ", *rich(reason.explanation)])
            doc.para(["How to fix it: ", *rich(reason.fix)])
        if item["detail"]:  # row numbers only (ingestion.kobo never puts answers there)
            doc.para(f"Where in the file: {item['detail']}.")
    issues = _rows(con, """
        select field, issue, row_count from raw_kobo.field_issues
        where survey_id = ? and source_id = ? and batch_id = ? order by field, issue""", key)
    if issues:
        doc.heading(2, "Answers we could not use")
        doc.para("These interviews were kept, but one answer was not usable as written. Please check the form or "
                 "the survey contract.")
        doc.table(["question", "problem", "interviews"],
                  [[Code(item["field"]), rich(KOBO_FIELD_ISSUES.get(item["issue"], item["issue"])),
                    f"{item['row_count']:,}"] for item in issues])
    indicators = _rows(con, """
        select series_code, coalesce(description, series_code) as description from raw_kobo.indicator_definitions
        where survey_id = ? order by series_code""", [load["survey_id"]])
    doc.heading(2, "What we compute from it")
    doc.para(["Survey ", Strong(load["title"] or load["survey_id"]), " (survey contract ", Code(load["survey_id"]),
              f"), {load['form_versions']} form version(s) in the file. Figures are published for groups of "
              "people, never for one person, and only for groups large enough not to point at anyone."])
    doc.items([[Code(item["series_code"]), ": ", item["description"]] for item in indicators])


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
    rows = {row["source_file"]: row for row in _rows(
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
        _write(md_path, doc.markdown())
        _write(html_path, doc.html())
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
    _write(index_md, index.markdown())
    _write(index_html, index.html())
    return index_md, index_html, per_file
