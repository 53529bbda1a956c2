"""Several subjects in one file, as Open SDG platforms publish them (Moldova's 16.2.1.1: children
subjected to violence, and neglected children, each with its own area, sex, age and disability columns):
the staged table is rewritten so that each subject's columns become one column and a ``Subject`` column
says whose row it is. The rows stay where they were (``rowid`` is still the spreadsheet's row number), so
everything downstream reads an ordinary tidy file.
"""

from __future__ import annotations

import re

import duckdb

from ingestion.partners.codes import WHITESPACE, label_key
from ingestion.partners.contract import SubjectSpec
from ingestion.partners.read.staged import CELLS, StagedFile
from ingestion.sql import literal

_SUFFIX = re.compile(r"(.*\S)\s*\(([^()]+)\)")


def subject_of(header: str) -> tuple[str, str] | None:
    """``("Sex", "neglected")`` for ``"Sex (neglected)"``; None for a header without a bracketed suffix."""
    match = _SUFFIX.fullmatch(header.strip(WHITESPACE))
    return (match.group(1), match.group(2).strip(WHITESPACE)) if match else None


def _filled(column: str) -> str:
    return f"coalesce(regexp_matches({column}, '[^\\s]'), false)"


def split_subjects(con: duckdb.DuckDBPyConnection, staged: StagedFile, spec: SubjectSpec) -> StagedFile:
    """Rewrite ``_pt_cells`` with one column per breakdown (the subjects' columns merged) and the subject."""
    wanted = {label_key(subject): subject for subject in spec.subjects}
    markers = {label_key(header): subject for header, subject in spec.markers.items()}
    plain: list[int] = []
    merged: dict[str, list[int]] = {}  # base header -> its subjects' positions
    owner: dict[int, str] = {}  # position -> subject
    for position, header in enumerate(staged.headers):
        split = subject_of(header)
        if split and label_key(split[1]) in wanted:
            merged.setdefault(split[0], []).append(position)
            owner[position] = wanted[label_key(split[1])]
        elif label_key(header) in markers:
            owner[position] = markers[label_key(header)]  # its cell only says whose headline the row is
        else:
            plain.append(position)
    header_index = staged.header_row - 1
    whose = " ".join(
        f"when {' or '.join(_filled(f'c{p}') for p in positions)} then {literal(spec.value_of(subject))}"
        for subject in spec.subjects
        if (positions := [p for p, s in owner.items() if s == subject]))
    anything = " or ".join(_filled(f"c{p}") for p in range(len(staged.headers)))  # a blank row stays blank
    items = [f"c{p}" for p in plain]
    for base, positions in merged.items():
        cells = ", ".join(f"case when {_filled(f'c{p}')} then c{p} end" for p in positions)
        items.append(f"case when rowid = {header_index} then {literal(base)} else coalesce({cells}) end")
    items.append(f"case when rowid < {header_index} then null when rowid = {header_index} then {literal(spec.column)} "
                 f"else case {whose} when {anything} then {literal(spec.value_of(spec.subjects[0]))} end end")
    select = ", ".join(f"{item} as c{number}" for number, item in enumerate(items))
    con.execute(f"create or replace temp table _pt_subjects as select {select}, extra from {CELLS} order by rowid")
    con.execute(f"drop table {CELLS}")
    con.execute(f"alter table _pt_subjects rename to {CELLS}")
    headers = [staged.headers[p] for p in plain] + list(merged) + [spec.column]
    notes = [*staged.notes, f"this file holds {len(spec.subjects)} subjects ("
             + ", ".join(f"'{subject}'" for subject in spec.subjects)
             + f"); each subject's columns were read as one, and the column '{spec.column}' says whose row it is"]
    return StagedFile(headers, staged.header_row, staged.rows_read, staged.reader, staged.encoding, staged.delimiter,
                      staged.sheet, staged.personal_removed, notes)
