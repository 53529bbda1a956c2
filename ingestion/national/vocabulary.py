"""What every national platform shares: the column headers and labels Open SDG platforms write, mapped to
canonical fields and codes once (seeds ``open_sdg_columns`` and ``label_crosswalk``, vocabulary
``open_sdg``), age ranges read by rule, and the indicator a file name stands for.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from ingestion import canonical
from ingestion.partners.codes import CODED_FIELDS, DIMENSIONS, label_key

CROSSWALK_VOCABULARY = "open_sdg"
# What a platform contract may map a header to besides a breakdown of its own.
CANONICAL_FIELDS = ("period", "value", "unit", "series_code", *DIMENSIONS)

# indicator_8-5-2.csv, Indicator_16.9.1.csv, indicator_16-2-1-1.csv, indicator_11-1-1-a.csv
_FILE_NAME = re.compile(r"indicator[ _-]?(\d{1,2})[-._]([0-9a-z]{1,2})[-._](\d{1,2})((?:[-._][0-9a-z]{1,3})*)", re.I)
_RANGE = re.compile(r"(?:aged? )?(\d{1,3}) ?(?:-|–|to) ?(\d{1,3})(?: years?)?(?: old)?")
_OVER = re.compile(r"(?:aged? )?(\d{1,3}) ?(?:\+|years? and (?:older|over|above)|and (?:older|over|above)|years? or (?:older|more))(?: years?)?")
_UNDER = re.compile(r"(?:aged? )?(?:under|less than|below) (\d{1,3})(?: years?)?(?: old)?")


@dataclass(frozen=True)
class Indicator:
    code: str  # the global indicator: 16.2.1
    national_id: str  # the platform's own: 16.2.1.1 (a national proxy), 11.1.1.a

    @property
    def slug(self) -> str:
        return self.national_id.replace(".", "-")


def indicator_of(file_name: str) -> Indicator | None:
    """The indicator a file of an Open SDG platform holds, from its name (every naming variant in use)."""
    stem = file_name.rsplit(".", 1)[0] if file_name.lower().endswith(".csv") else file_name
    match = _FILE_NAME.fullmatch(stem)
    if not match:
        return None
    code = ".".join(part.lower() for part in match.groups()[:3])
    code = ".".join(str(int(part)) if part.isdigit() else part for part in code.split("."))
    extra = [part.lower() for part in re.split(r"[-._]", match.group(4)) if part]
    return Indicator(code, ".".join([code, *extra]))


def age_code(label: str) -> str | None:
    """``Y15T24`` for '15-24', 'aged 15-24 years', '15 to 24 years old'; ``Y_GE65`` for '65+', 'aged 65 and
    older'; ``Y0T14`` for 'under 15'. None for anything else (it is then an unknown label)."""
    text = label_key(label)
    if match := _RANGE.fullmatch(text):
        return f"Y{int(match.group(1))}T{int(match.group(2))}"
    if match := _OVER.fullmatch(text):
        return f"Y_GE{int(match.group(1))}"
    if (match := _UNDER.fullmatch(text)) and int(match.group(1)) > 0:
        return f"Y0T{int(match.group(1)) - 1}"
    return None


def shared_vocabularies() -> dict[str, dict[str, str]]:
    """Field -> label key -> canonical code: the labels every platform is read with."""
    vocabularies: dict[str, dict[str, str]] = {}
    for row in canonical.seed_rows("label_crosswalk"):
        if row["vocabulary"] == CROSSWALK_VOCABULARY:
            vocabularies.setdefault(row["dimension"], {})[label_key(row["label"])] = row["code"]
    return vocabularies


def shared_columns() -> dict[str, str]:
    """Header label key -> canonical field."""
    return {label_key(row["header"]): row["field"] for row in canonical.seed_rows("open_sdg_columns")}


def merge_vocabularies(*layers: Mapping[str, Mapping[str, str]]) -> dict[str, dict[str, str]]:
    """Later layers win: a platform's own words over the shared crosswalk."""
    merged: dict[str, dict[str, str]] = {}
    for layer in layers:
        for field_name, labels in layer.items():
            merged.setdefault(field_name, {}).update({label_key(label): code for label, code in labels.items()})
    return merged


def series_code_for(iso3: str, indicator: Indicator, subject: str | None = None) -> str:
    """The series a platform's indicator lands as when the contract maps it to no UN series: MDA_10_2_1."""
    words = [iso3.upper(), *indicator.national_id.upper().split(".")]
    if subject:
        words.append(re.sub(r"[^A-Z0-9]+", "_", subject.upper()).strip("_"))
    return "_".join(words)[:60]


assert set(CANONICAL_FIELDS) - {"period", "value"} <= set(CODED_FIELDS)
