"""Partner data contracts, as loaded: ``contracts/partners/<partner_id>.yml`` describes a partner's
files (layout, columns, constants) and labels; ``contract_load`` reads and checks one.

A contract is the only place a partner's layout and labels are described, so every error
names the contract file, the field and what to write instead.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingestion.kobo import KoboContract
from ingestion.partners.codes import CODED_FIELDS, WHITESPACE, is_valid_code, label_key

TABULAR_FORMATS = ("open_sdg", "wide")  # read by this package, cell by cell, through columns and vocabularies
KOBO_FORMAT = "kobo"  # KoBoToolbox exports: read by ingestion.kobo through the survey contract the entry names


class ContractError(ValueError):
    """The contract cannot be used; the message lists every problem and how to fix it."""

    def __init__(self, path: Path, problems: list[str]):
        self.path = path
        self.problems = problems
        lines = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(f"contract {path} is not valid ({len(problems)} problem(s)):\n{lines}")


@dataclass(frozen=True)
class ColumnRef:
    headers: tuple[str, ...]  # accepted headers, first found wins
    required: bool = True

    @property
    def display(self) -> str:
        return " / ".join(f"'{header}'" for header in self.headers)


@dataclass(frozen=True)
class ReadOptions:
    encoding: str = "auto"
    delimiter: str = "auto"
    decimal: str = "auto"
    sheet: str | None = None
    header_row: int | None = None  # 1-based; None = find it


@dataclass(frozen=True)
class WideSpec:
    header_is: str  # "period" or a dimension
    value_columns: tuple[str, ...] = ()
    value_columns_match: str | None = None

    def is_value_column(self, header: str) -> bool:
        if self.value_columns:
            return label_key(header) in {label_key(name) for name in self.value_columns}
        return bool(self.value_columns_match and re.fullmatch(self.value_columns_match, header.strip(WHITESPACE)))


@dataclass(frozen=True)
class SubjectSpec:
    """Several subjects in one file (an Open SDG practice): a header ending in ``(<subject>)`` belongs to that
    subject, and a row to the subject whose columns it fills. Reading merges each subject's columns into one
    (``Sex (neglected)`` into ``Sex``) and adds ``column``, the row's subject; a row that fills none is the
    first subject's headline, or the headline of the subject a ``markers`` column (header -> subject) names."""

    subjects: tuple[str, ...]  # in the order of the header
    column: str = "Subject"
    markers: Mapping[str, str] = field(default_factory=dict)
    values: Mapping[str, str] = field(default_factory=dict)  # what ``column`` says for a subject (default: its name)

    def value_of(self, subject: str) -> str:
        return self.values.get(subject, subject)


@dataclass(frozen=True)
class FileSpec:
    index: int
    label: str
    patterns: tuple[str, ...]
    format: str
    read: ReadOptions
    constants: Mapping[str, str]
    columns: Mapping[str, ColumnRef]  # canonical field -> column
    dimensions: Mapping[str, ColumnRef]  # dimension (canonical or the partner's own) -> column
    attributes: tuple[str, ...]
    personal_data: tuple[str, ...]
    missing_values: tuple[str, ...]
    wide: WideSpec | None
    kobo_contract: str | None = None  # format kobo: the survey contract's path as written in the contract
    kobo: KoboContract | None = None  # format kobo: that survey contract, loaded and checked
    subjects: SubjectSpec | None = None  # several subjects in one file (national platforms)
    # Columns the contract does not name are kept as breakdowns without the personal-data heuristics: for
    # published official aggregates (national platforms), where a long label is an education level, not a note.
    keep_unnamed: bool = False

    def matches(self, file_name: str) -> bool:
        return any(fnmatch.fnmatchcase(file_name.lower(), pattern.lower()) for pattern in self.patterns)


@dataclass(frozen=True)
class MappedLabel:
    code: str | None  # canonical code, or the text itself for a breakdown without vocabulary
    problem: str | None  # "unknown_code" | "formula_text" | None
    blank: bool


@dataclass(frozen=True)
class Contract:
    partner_id: str
    name: str
    type: str
    licence: str
    attribution: str
    path: Path
    sha256: str
    vocabularies: Mapping[str, Mapping[str, str]]  # field -> label_key(label) -> code
    files: tuple[FileSpec, ...]
    contact: str | None = None
    language: str | None = None  # the reports' language (i18n); None: English
    notes: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)
    # field -> rule giving the code of a label no vocabulary lists (national platforms: age ranges in words)
    label_rules: Mapping[str, Callable[[str], str | None]] = field(default_factory=dict, repr=False)

    def spec_for(self, file_name: str) -> FileSpec | None:
        """The first file entry whose pattern matches ``file_name``."""
        return next((spec for spec in self.files if spec.matches(file_name)), None)

    def map_label(self, field_name: str, raw: str | None, extra_missing: frozenset[str] = frozenset()) -> MappedLabel:
        """Translate one cell of a coded column to its canonical code (see ``codes.is_valid_code``)."""
        text = "" if raw is None else " ".join(raw.strip(WHITESPACE).split())
        if not text:
            return MappedLabel(None, None, True)
        vocabulary = self.vocabularies.get(field_name)
        key = label_key(text)
        if vocabulary and key in vocabulary:
            return MappedLabel(vocabulary[key], None, False)
        if field_name in self.label_rules and (ruled := self.label_rules[field_name](text)) is not None:
            return MappedLabel(ruled, None, False)
        if text.startswith("="):
            return MappedLabel(None, "formula_text", False)
        if field_name == "geo_area_m49" and text.isdigit():
            text = str(int(text))
        if field_name not in CODED_FIELDS and not vocabulary:
            return MappedLabel(text, None, False)  # a breakdown of the partner's own, kept as written
        candidate = text.upper() if field_name != "geo_area_m49" else text
        if is_valid_code(field_name if field_name in CODED_FIELDS else "custom", candidate):
            return MappedLabel(candidate, None, False)
        return MappedLabel(None, "unknown_code", False)
