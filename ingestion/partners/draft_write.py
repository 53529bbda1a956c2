"""The text of a draft contract: YAML a person can review, every proposal with a comment saying where
it comes from (``draft_columns``, ``draft_codes``), and labels nothing matches left out of the vocabulary
as comments listing the codes to choose from, so the draft validates as it stands.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

from ingestion.partners.draft_columns import YEAR_HEADER, Mapped, Proposal
from ingestion.partners.draft_read import SampleFile
from ingestion.partners.read.delimited import delimiter_name

COMMENT_COLUMN = 40  # where trailing comments start, when the line is shorter


def scalar(value: str) -> str:
    """A YAML scalar: codes and numbers as they are, anything else double-quoted (JSON is valid YAML)."""
    text = str(value)
    if re.fullmatch(r"[A-Z_][A-Z0-9_]*|\d{1,3}", text):
        return text
    return json.dumps(text, ensure_ascii=False)


def line(indent: int, text: str, comment: str = "") -> str:
    body = " " * indent + text
    if not comment:
        return body
    return f"{body.ljust(COMMENT_COLUMN - 1)} # {' '.join(comment.split())}"


def header_comment(partner_id: str, sample: SampleFile, shown_path: str, now: datetime) -> list[str]:
    read = (f"CSV, {sample.encoding}, {delimiter_name(sample.delimiter)}-separated" if sample.kind == "csv"
            else f"XLSX, sheet '{sample.sheet}' of {', '.join(repr(name) for name in sample.sheets)}")
    return [
        f"# DRAFT data contract for partner '{partner_id}', for a person to review before it is used.",
        "# Proposed by `python -m ingestion.partners.draft` (make draft-contract) from the sample file",
        f"#   {shown_path}",
        f"#   (sha256 {sample.sha256[:16]}..., read as {read}, column names on row {sample.header_row})",
        f"# on {now.strftime('%Y-%m-%d %H:%M UTC')}.",
        "# The pipeline reads every contract in contracts/partners/ at its next run: review this one now.",
        "# Check every comment that says 'check', 'REVIEW' or 'unknown' (a label left out of a vocabulary is",
        "# set aside as unknown_code until it gets a code), and see contracts/partners/README.md.",
    ]


def _partner(partner_id: str, name: str, partner_type: str) -> list[str]:
    return [
        "contract_version: 1",
        "partner:",
        line(2, f"id: {partner_id}"),
        line(2, f"name: {scalar(name)}", "REVIEW: the partner's name, shown in its reports"),
        line(2, f"type: {partner_type}", "REVIEW: civil_society | citizen_generated (data collected by citizens)"),
        line(0, f"licence: {scalar('to be agreed')}", "REVIEW: the licence the partner grants, e.g. CC-BY-4.0"),
        line(0, f"attribution: {scalar(name)}", "REVIEW: how the partner wants to be cited"),
    ]


def _vocabularies(proposal: Proposal) -> list[str]:
    out: list[str] = []
    for vocabulary in proposal.vocabularies:
        known = [item for item in vocabulary.proposals if item.code is not None]
        head = f"column '{vocabulary.header}': {len(known)} of {len(vocabulary.proposals)} label(s) have a code"
        out.append(line(2, f"{vocabulary.field}:" if known else f"# {vocabulary.field}:", head))
        for item in vocabulary.proposals:
            if item.code is None:
                out.append(line(4, f"# {scalar(item.label)}:", f"unknown: {item.how}"))
            else:
                out.append(line(4, f"{scalar(item.label)}: {scalar(item.code)}", item.how))
    if not out:
        return []
    if not any(item.code is not None for vocabulary in proposal.vocabularies for item in vocabulary.proposals):
        return ["", "# vocabularies: none of the labels below has a code yet", *out]
    return ["", line(0, "vocabularies:", "per field: the partner's labels -> canonical codes"), *out]


def _mapping(title: str, entries: dict[str, Mapped]) -> list[str]:
    if not entries:
        return []
    return [line(4, f"{title}:"), *(line(6, f"{name}: {scalar(mapped.header)}", mapped.comment)
                                    for name, mapped in entries.items())]


def _headers(title: str, entries: list[Mapped]) -> list[str]:
    if not entries:
        return []
    return [line(4, f"{title}:"), *(line(6, f"- {scalar(mapped.header)}", mapped.comment) for mapped in entries)]


def _read(sample: SampleFile, proposal: Proposal, header_row_auto: bool) -> list[str]:
    out = [line(4, "read:")]
    if sample.kind == "csv":
        out.append(line(6, "encoding: auto", f"detected: {sample.encoding}"))
        out.append(line(6, "delimiter: auto", f"detected: {delimiter_name(sample.delimiter)} ({sample.delimiter!r})"))
        decimal, why = proposal.decimal
        out.append(line(6, f"decimal: {decimal if decimal == 'auto' else json.dumps(decimal)}", why))
    else:
        others = [name for name in sample.sheets if name != sample.sheet]
        out.append(line(6, f"sheet: {scalar(sample.sheet or '')}", "the sheet that looks like a table"
                        + (f" (the others: {', '.join(others)})" if others else "")))
    if header_row_auto:
        out.append(line(6, "header_row: auto", f"the column names are on row {sample.header_row}"))
    else:
        out.append(line(6, f"header_row: {sample.header_row}", "where the column names are"))
    return out


def render(partner_id: str, sample: SampleFile, shown_path: str, proposal: Proposal, now: datetime, *,
           name: str, partner_type: str, header_row_auto: bool = True) -> str:
    """The whole draft, as text."""
    pattern = f"*{Path(sample.path).suffix.lower()}"
    out = [*header_comment(partner_id, sample, shown_path, now), *_partner(partner_id, name, partner_type)]
    notes = [f"Draft from {Path(sample.path).name}: review every proposal before this contract is used."]
    out += ["notes: >", *(line(2, note) for note in notes + proposal.notes)]
    out += _vocabularies(proposal)
    layout = ("one column per year (wide)" if proposal.format == "wide" else "one row per figure (Open SDG style)")
    out += ["", "files:",
            line(2, f"- label: {scalar(Path(sample.path).name)}"),
            line(4, f"pattern: {scalar(pattern)}", "REVIEW: the file names this entry reads"),
            line(4, f"format: {proposal.format}", layout),
            *_read(sample, proposal, header_row_auto)]
    if proposal.constants:
        out.append(line(4, "constants:"))
        out += [line(6, f"{field}: {scalar(value)}", why) for field, (value, why) in proposal.constants.items()]
    out += _mapping("columns", proposal.columns)
    out += _mapping("dimensions", proposal.dimensions)
    out += _headers("attributes", proposal.attributes)
    out += _headers("personal_data", proposal.personal)
    if proposal.ignored:
        out.append(line(4, f"# empty columns, ignored by the pipeline: {', '.join(proposal.ignored)}"))
    if proposal.format == "wide":
        out += [line(4, "wide:"), line(6, "header_is: period"),
                line(6, f"value_columns_match: '{YEAR_HEADER}'",
                     f"{len(proposal.value_columns)} columns: {', '.join(proposal.value_columns)}")]
    return "\n".join(out) + "\n"


def render_kobo(partner_id: str, sample: SampleFile, shown_path: str, now: datetime, *, name: str,
                survey: str, survey_exists: bool, personal: list[Mapped]) -> str:
    """A KoBoToolbox export: the entry names the survey contract, which alone says how the export is read."""
    out = [*header_comment(partner_id, sample, shown_path, now), *_partner(partner_id, name, "citizen_generated")]
    out += ["notes: >", line(2, f"Draft from {Path(sample.path).name}, a KoBoToolbox export (meta columns "
                                f"{', '.join(sample.kobo_meta[:4])}). Its answers land through a survey contract.")]
    survey_comment = ("the survey contract of this partner (organisation: " + partner_id + "): check it is this survey's"
                      if survey_exists else
                      "TO WRITE: this survey contract does not exist yet; a KoBo export needs one (see "
                      "contracts/kobo/README.md), with organisation: " + partner_id)
    out += ["", "files:",
            line(2, f"- label: {scalar('KoBoToolbox export ' + Path(sample.path).name)}"),
            line(4, f"pattern: {scalar('*' + Path(sample.path).suffix.lower())}", "REVIEW: the file names this entry reads"),
            line(4, "format: kobo", "a KoBoToolbox export: read through the survey contract below"),
            line(4, f"kobo_contract: {survey}", survey_comment)]
    if personal:
        out.append(line(4, "# columns that look personal: list them under `personal` in the survey contract"))
        out += [line(4, f"#   {scalar(mapped.header)}", mapped.comment) for mapped in personal]
    return "\n".join(out) + "\n"
