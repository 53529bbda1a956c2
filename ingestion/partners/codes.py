"""Every rule about partner values in one place: canonical codes, units and their ranges,
missing-value markers, and the reasons a row can be set aside (with the plain-language text
the partner reads in the feedback report).

Codes are SDMX-style, the same vocabulary the official SDG data is mapped to in dbt, so a
partner's ``Femme`` and the API's ``FEMALE`` both end up as ``F``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from ingestion import canonical
from ingestion.partners.i18n import Msg, N_, stored

_MODEL = canonical.load()

# The code every code list has for "everyone": a blank cell (or no such column) means it.
TOTAL = _MODEL.total_code

# The disaggregations the published fact table has a column for (dbt_project.yml ``vars.dimensions``).
# A partner's other breakdowns (ethnicity, region, ...) are kept, by name, in ``extra_dimensions``.
DIMENSIONS: tuple[str, ...] = _MODEL.dimensions

# Fields a contract can take from a column or a constant (besides the dimensions).
FIELDS = (
    "indicator_code",
    "series_code",
    "geo_area_m49",
    "period",
    "value",
    "unit",
    "lower_bound",
    "upper_bound",
    "nature",
    "sample_size",
)

# Fields whose cells are codes looked up in the contract's vocabularies.
CODED_FIELDS = ("indicator_code", "series_code", "geo_area_m49", "unit", "nature", *DIMENSIONS)

# A row without one of these cannot be placed, so it is set aside.
KEY_FIELDS = ("series_code", "geo_area_m49", "period", "unit")

# Closed code lists (``vars.closed_code_lists``): their codes are the vocabulary seed's, the same the
# marts use, ``_U`` (unknown) included; anything else must be mapped by the contract's vocabulary.
CODE_LISTS: dict[str, frozenset[str]] = {
    dimension: canonical.code_list(dimension) for dimension in _MODEL.closed_code_lists
}

_GENERIC_CODE = r"[A-Z0-9_]{1,40}"
# Open code lists: any code of the right shape (the contract documents its choices).
CODE_PATTERNS: dict[str, re.Pattern[str]] = {
    "age_group": re.compile(re.escape(TOTAL) + r"|Y\d{1,3}T\d{1,3}|Y_GE\d{1,3}|Y_LT\d{1,3}|Y\d{1,3}"),
    "migratory_status": re.compile(_GENERIC_CODE),
    "population_group": re.compile(_GENERIC_CODE),
    "series_code": re.compile(r"[A-Z][A-Z0-9_]{1,59}"),
    "indicator_code": re.compile(r"\d{1,2}\.[0-9a-z]{1,2}\.\d{1,2}"),
    "nature": re.compile(r"[A-Z]{1,4}"),
    "geo_area_m49": re.compile(r"\d{1,3}"),
    "custom": re.compile(_GENERIC_CODE),
}

# Units and the range a value in that unit can take (None: unbounded on that side): seed ``units``.
UNIT_RANGES: dict[str, tuple[float | None, float | None]] = canonical.unit_ranges()

# Cell contents that mean "no value" (compared after trimming and lower-casing). ``x`` is what
# statistics offices write for a suppressed cell; ``n/d`` is French "non disponible".
MISSING_MARKERS = frozenset(
    {"", "n/a", "na", "n.a.", "..", "...", "…", "-", "–", "—", "x", "nan", "null", "none", "n/d", "nd", "n.d.", ":"}
)

# Whitespace trimmed from every cell, including the no-break spaces spreadsheets insert.
WHITESPACE = " \t\r\n\u00a0\u202f\u2007\ufeff"


def label_key(text: str) -> str:
    """How labels are compared: Unicode-normalised, trimmed, case- and space-insensitive."""
    text = unicodedata.normalize("NFC", text).strip(WHITESPACE)
    return " ".join(text.split()).casefold()


def is_valid_code(field: str, code: str) -> bool:
    """Whether ``code`` is a canonical code for ``field`` (a dimension, unit or other coded field)."""
    if field == "unit":
        return code in UNIT_RANGES
    if field in CODE_LISTS:
        return code in CODE_LISTS[field]
    pattern = CODE_PATTERNS.get(field, CODE_PATTERNS["custom"])
    return bool(pattern.fullmatch(code))


def allowed_codes_hint(field: str) -> str:
    """The codes a field accepts, for error messages."""
    if field == "unit":
        return ", ".join(UNIT_RANGES)
    if field in CODE_LISTS:
        return ", ".join(sorted(CODE_LISTS[field]))
    pattern = CODE_PATTERNS.get(field, CODE_PATTERNS["custom"])
    return f"a code matching {pattern.pattern}"


@dataclass(frozen=True)
class Reason:
    title: str  # one line, for the report heading
    explanation: str  # what happened, in plain language
    fix: str  # what the partner can do


# Why a row (or a cell of a wide file) was set aside. Order is priority: a row gets the first
# reason that applies, so the partner fixes the most basic problem first. The texts are English msgids,
# translated where the report shows them (i18n).
REASONS: dict[str, Reason] = {
    "wrong_delimiter": Reason(
        N_("The row uses a different separator"),
        N_("All of this row's content is in its first cell, which contains another separator "
           "(for example `;` in a file separated by `,`). The columns could not be told apart."),
        N_("Use the same separator on every line. Re-saving the file from your spreadsheet program usually fixes it."),
    ),
    "extra_cells": Reason(
        N_("The row has more cells than there are column names"),
        N_("The row has more cells than the header row. Often a number was written with a comma "
           "(`12,5`) in a file whose columns are separated by commas, or a text contains the separator."),
        N_("Put quotes around cells that contain the separator, or use a dot for decimals, and send the file again."),
    ),
    "formula_text": Reason(
        N_("A cell holds a spreadsheet formula instead of a value"),
        N_("A cell starts with `=` (a formula). We never run formulas, so the value is unknown."),
        N_("In your spreadsheet, copy the cells and use 'Paste values only', then save and send the file again."),
    ),
    "missing_key_field": Reason(
        N_("A required cell is empty"),
        N_("The row does not say which indicator, place, period or unit the value belongs to."),
        N_("Fill in the empty cell, or delete the row if it is not a real observation."),
    ),
    "unknown_code": Reason(
        N_("A label we do not recognise"),
        N_("A cell contains a label that is not in the list agreed in your data contract (for example a typo such as `Femal`)."),
        N_("Use one of the agreed labels. If the label is correct and new, tell us and we will add it to your contract."),
    ),
    "unparseable_period": Reason(
        N_("The period could not be read"),
        N_("The year or period is not in a form we understand."),
        N_("Write years as `2019`, survey years as `2019/20`, pooled years as `2013/14 to 2015/16`, or dates as `2019-06-30`."),
    ),
    "unparseable_value": Reason(
        N_("The value is not a number"),
        N_("The value cell (or a confidence bound) contains text that is not a number."),
        N_("Write only the number, such as `12.5`, `<5` or `45%`. Leave the cell empty or write `n/a` if there is no value."),
    ),
    "invalid_sample_size": Reason(
        N_("The sample size is not a whole number of people"),
        N_("The sample size must be a whole number, zero or more."),
        N_("Write the number of respondents as a whole number, such as `250`, or leave the cell empty."),
    ),
    "unit_mismatch": Reason(
        N_("A percentage sign on a value that is not a percentage"),
        N_("The value has a `%` sign but the unit of this row is not percent."),
        N_("Remove the `%` sign, or correct the unit of the row."),
    ),
    "value_out_of_range": Reason(
        N_("The value is outside the possible range"),
        N_("The value cannot be right for its unit: a percentage above 100 or below 0, or a negative count or rate."),
        N_("Check the number (and the unit). A percentage must be between 0 and 100; counts and rates cannot be negative."),
    ),
    "inconsistent_bounds": Reason(
        N_("The confidence interval does not contain the value"),
        N_("The lower bound is above the value, or the upper bound is below it."),
        N_("Check the value and its lower and upper bounds; the lower bound must not exceed the upper one."),
    ),
    "conflicting_duplicate": Reason(
        N_("The same figure is given twice with different values"),
        N_("Two or more rows describe the same indicator, place, period and group but give different values. "
           "We cannot tell which one is right, so none of them is used."),
        N_("Keep only the correct row (or tell the rows apart, for example with a different group label) and send the file again."),
    ),
    "duplicate_row": Reason(
        N_("A repeated row"),
        N_("This row repeats an earlier row exactly (same group, same value). The earlier row was kept."),
        N_("Nothing to do; you may delete the repeated row next time."),
    ),
}


@dataclass(frozen=True)
class Problem:
    """A file-level problem: what is wrong and how the partner (or we) can fix it. ``message`` and ``fix``
    are English; written as ``i18n.Msg`` they are also kept as msgid and parameters (``i18n``), so the
    report can say them in the partner's language."""

    code: str
    message: str
    fix: str
    i18n: dict[str, Any] | None = field(default=None, compare=False, repr=False)  # as read back from JSON

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": str(self.message), "fix": str(self.fix)}
        i18n = self.i18n or {key: stored(text) for key, text in (("message", self.message), ("fix", self.fix))
                             if isinstance(text, Msg)}
        if i18n:
            out["i18n"] = i18n
        return out


# File-level problem codes, for reference (the message and fix are written where detected).
FILE_PROBLEMS = (
    "no_contract",  # no contract file for the partner
    "invalid_contract",  # the contract does not validate
    "no_matching_pattern",  # no file entry of the contract matches the file name
    "unsupported_format",  # .xls, .ods, .pdf, ...
    "unreadable",  # binary garbage, truncated workbook, broken encoding
    "too_large",  # size limits (including decompression bombs)
    "empty",  # no bytes, or a header without data rows
    "required_columns_missing",  # a column the contract needs is not in the header
    "duplicate_columns",  # a needed column appears twice
    "sheet_not_found",  # the named sheet is not in the workbook
    "file_changed_during_read",  # the partner was still writing the file
    "kobo_export_unreadable",  # format kobo: the export does not fit its survey contract (separator, headers, ...)
    "kobo_form_mismatch",  # format kobo: the form contradicts the survey contract (e.g. select_multiple became select_one)
    "pii_salt_missing",  # format kobo, real data: PII_SALT is not set, so identifiers cannot be hashed; retried
    "no_indicator_code",  # national platform: the file name names no indicator (indicator_8-5-2.csv)
    "no_unit", "unknown_unit",  # national platform: no unit in the file, the contract or the indicator configuration
    "platform_unreachable",  # national platform: its folder is missing or its site could not be reached
    "internal_error",  # a bug: the file is retried at the next run (details in raw_partners.files.errors)
)
