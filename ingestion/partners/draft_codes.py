"""Proposing canonical codes for a partner's labels, for a draft contract (``draft``).

The only sources are the dbt seeds (``ingestion.canonical``): the vocabulary seed (codes and their
labels), the label crosswalk (the SDG API's labels), the age groups (codes, labels and age bounds), the
population groups, the units and the M49 country list. Existing partner contracts are not a source:
a draft must not spread one partner's choices to another.

Every proposal says how it was found (``how``), which the draft writes beside it as a comment, so the
person reviewing the draft knows which codes to check first. A label nothing matches has no code: the
draft lists it with the codes to choose from and leaves it out of the vocabulary.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from ingestion import canonical
from ingestion.partners.codes import CODE_LISTS, DIMENSIONS, TOTAL, UNIT_RANGES, is_valid_code, label_key

# Dimensions whose seed lists every code; the others (age_group aside) also take codes of the partner's own.
_SEED_DIMENSIONS = ("sex", "disability_status", "location", "income_quantile", "migratory_status")
MIN_UNIT_SIMILARITY = 0.8  # 'Percentage' is this close to the seed's 'Percent'


@dataclass(frozen=True)
class CodeProposal:
    label: str
    code: str | None  # None: nothing in the seeds matches
    how: str  # where the code comes from, or what to choose from


def words(text: str) -> tuple[str, ...]:
    """The words of a label, compared as labels are (``label_key``), punctuation dropped."""
    return tuple(re.findall(r"[^\W_]+", label_key(text)))


def _fold(text: str) -> str:
    return "".join(char for char in unicodedata.normalize("NFKD", label_key(text)) if not unicodedata.combining(char))


@lru_cache(maxsize=1)
def _seed_labels() -> dict[str, dict[str, list[tuple[str, str]]]]:
    """dimension -> label_key -> [(code, where)], from the vocabulary seed, the crosswalk and the group seeds."""
    index: dict[str, dict[str, list[tuple[str, str]]]] = {}

    def add(dimension: str, label: str, code: str, where: str) -> None:
        if not label or not code:
            return
        entries = index.setdefault(dimension, {}).setdefault(label_key(label), [])
        if (code, where) not in entries:
            entries.append((code, where))

    for row in canonical.seed_rows("vocabulary"):
        add(row["dimension"], row["label"], row["code"], f"vocabulary seed: '{row['label']}'")
    for row in canonical.seed_rows("label_crosswalk"):
        add(row["dimension"], row["label"], row["code"], f"label crosswalk ({row['vocabulary']}): '{row['label']}'")
    for row in canonical.seed_rows("age_groups"):
        add("age_group", row["label"], row["code"], f"age_groups seed: '{row['label']}'")
    for row in canonical.seed_rows("population_groups"):
        add("population_group", row["label"], row["code"], f"population_groups seed: '{row['label']}'")
    for row in canonical.seed_rows("units"):
        add("unit", row["label"], row["code"], f"units seed: '{row['label']}'")
    return index


def code_choices(dimension: str) -> list[str]:
    """The codes of a dimension or unit, in seed order (what a reviewer chooses from)."""
    if dimension == "unit":
        return list(UNIT_RANGES)
    if dimension == "age_group":
        return [row["code"] for row in canonical.seed_rows("age_groups")]
    if dimension == "population_group":
        return [row["code"] for row in canonical.seed_rows("population_groups")]
    return list(dict.fromkeys(row["code"] for row in canonical.seed_rows("vocabulary") if row["dimension"] == dimension))


def choices_hint(dimension: str) -> str:
    codes = code_choices(dimension)
    if dimension == "age_group":
        return f"a code of dbt_project/seeds/age_groups.csv ({', '.join(codes[:4])}, ... {len(codes)} codes)"
    if dimension == "unit":
        return ", ".join(codes[:10]) + f", ... (dbt_project/seeds/units.csv, {len(codes)} codes)"
    text = ", ".join(codes)
    if dimension not in CODE_LISTS:
        text += ", or an upper-case code of the partner's own"
    return text


def _valid(dimension: str, code: str) -> bool:
    return is_valid_code(dimension if dimension in (*DIMENSIONS, "unit") else "custom", code)


def _unique(candidates: list[tuple[str, str]], dimension: str) -> tuple[str, str] | None:
    codes = {code for code, _ in candidates if _valid(dimension, code)}
    if len(codes) != 1:
        return None
    code = codes.pop()
    return code, next(where for found, where in candidates if found == code)


def _total_labels() -> dict[str, str]:
    """label_key -> where, for the seeds' labels of the total code of any dimension ('All areas', 'Everyone')."""
    found: dict[str, str] = {}
    for dimension in (*_SEED_DIMENSIONS, "age_group"):
        for key, entries in _seed_labels().get(dimension, {}).items():
            for code, where in entries:
                if code == TOTAL:
                    found.setdefault(key, where)
    return found


_AGE_RANGE = re.compile(r"(\d{1,3})\s*(?:-|–|to|à|a|y|and)\s*(\d{1,3})(?:\s*(?:years?|yrs?|ans|años))?")
_AGE_OVER = re.compile(r"(\d{1,3})\s*(?:\+|(?:years?|ans|años)?\s*(?:and over|and above|and older|or more|or older|"
                       r"et plus|ou plus|y más|o más))")
_AGE_UNDER = re.compile(r"(?:under|less than|below|moins de|menos de|<)\s*(\d{1,3})(?:\s*(?:years?|ans|años))?")


def age_bounds(label: str) -> tuple[int, int | None] | None:
    """(lower, upper) ages a group label describes ('15-24', '60 and over', 'Under 60'), or None."""
    text = label_key(label)
    if match := _AGE_RANGE.fullmatch(text):
        return int(match.group(1)), int(match.group(2))
    if match := _AGE_OVER.fullmatch(text):
        return int(match.group(1)), None
    if match := _AGE_UNDER.fullmatch(text):
        return 0, int(match.group(1)) - 1
    return None


def is_exact_age(label: str) -> bool:
    return bool(re.fullmatch(r"\d{1,3}(\.0+)?", label_key(label)))


def _by_age_bounds(label: str) -> tuple[str, str] | None:
    bounds = age_bounds(label)
    if bounds is None:
        return None
    for row in canonical.seed_rows("age_groups"):
        upper = int(row["upper_age"]) if row["upper_age"] else None
        if row["lower_age"] and (int(row["lower_age"]), upper) == bounds:
            return row["code"], f"age_groups seed: '{row['label']}' (ages {bounds[0]} to {bounds[1] or 'any'}: check)"
    return None


def _contained(label: str, dimension: str) -> tuple[str, str] | None:
    """The one code whose seed label contains the label's words in a row ('With disability' in 'Persons
    with disability'); None when no label or labels of several codes do."""
    label_words = words(label)
    if not label_words or max(len(word) for word in label_words) < 3:
        return None
    found: list[tuple[str, str]] = []
    for key, entries in _seed_labels().get(dimension, {}).items():
        seed_words = words(key)
        width = len(label_words)
        if any(seed_words[start:start + width] == label_words for start in range(len(seed_words) - width + 1)):
            found += [(code, f"{where} (part of the label: check)") for code, where in entries]
    return _unique(found, dimension)


def _containing(label: str, dimension: str) -> tuple[str, str] | None:
    """The one code of the longest seed labels (two words or more) found inside the label ('with disability'
    in 'Households with a member with disability'); None when none is, or those found have several codes."""
    label_words = words(label)
    found: dict[int, list[tuple[str, str]]] = {}
    for key, entries in _seed_labels().get(dimension, {}).items():
        seed_words = words(key)
        if len(seed_words) >= 2 and len(seed_words) < len(label_words) and _contained_words(seed_words, label_words):
            found.setdefault(len(seed_words), []).extend(
                (code, f"{where}, found inside the label: check") for code, where in entries)
    return _unique(found[max(found)], dimension) if found else None


def propose_label(dimension: str, label: str) -> CodeProposal:
    """A canonical code for one label of a dimension column (or the unit), from the seeds only."""
    key = label_key(label)
    seeds = _seed_labels().get(dimension, {})
    if key in seeds and (match := _unique(seeds[key], dimension)):
        return CodeProposal(label, *match)
    upper = label.strip().upper()
    if upper in code_choices(dimension) and _valid(dimension, upper):
        return CodeProposal(label, upper, "already a code of the seeds")
    if key in (totals := _total_labels()):
        return CodeProposal(label, TOTAL, f"{totals[key]}, the total ({TOTAL}) of every dimension")
    if dimension == "age_group" and (match := _by_age_bounds(label)):
        return CodeProposal(label, *match)
    if dimension == "unit" and (match := _unit_by_form(label)):
        return CodeProposal(label, *match)
    if dimension != "unit" and (match := _contained(label, dimension)):
        return CodeProposal(label, *match)
    if dimension != "unit" and (match := _containing(label, dimension)):
        return CodeProposal(label, *match)
    if dimension != "unit" and any(words(label) == words(total) for total in totals):
        return CodeProposal(label, TOTAL, f"a label of the total ({TOTAL})")
    for total in totals:
        if words(label) and _contained_words(words(label), words(total)):
            return CodeProposal(label, TOTAL, f"{totals[total]} (part of the label: check), the total ({TOTAL})")
    return CodeProposal(label, None, f"choose one of {choices_hint(dimension)}")


def _contained_words(label_words: tuple[str, ...], seed_words: tuple[str, ...]) -> bool:
    width = len(label_words)
    return max(len(word) for word in label_words) >= 3 and any(
        seed_words[start:start + width] == label_words for start in range(len(seed_words) - width + 1))


def _unit_by_form(label: str) -> tuple[str, str] | None:
    """Units written differently from the seed: a % sign; the seed's label followed by more words ('Per
    million population'); a close spelling with the same numbers ('Percentage')."""
    if "%" in label:
        return "PT", "a % sign: units seed 'Percent'"
    rows = [(row["code"], row["label"]) for row in canonical.seed_rows("units") if row["code"] in UNIT_RANGES]
    label_words = words(label)
    prefixed = [(code, seed) for code, seed in rows if words(seed) and label_words[:len(words(seed))] == words(seed)]
    if prefixed:
        code, seed = max(prefixed, key=lambda item: len(words(item[1])))
        return code, f"units seed: '{seed}', followed by more words (check)"
    digits = re.sub(r"\D", "", label)
    folded = re.sub(r"[^\w]+", " ", _fold(label)).strip()
    scored = sorted(((difflib.SequenceMatcher(None, folded, _fold(seed)).ratio(), code, seed) for code, seed in rows
                     if re.sub(r"\D", "", seed) == digits), reverse=True)
    if scored and scored[0][0] >= MIN_UNIT_SIMILARITY and (len(scored) == 1 or scored[1][0] < scored[0][0]):
        return scored[0][1], f"units seed: '{scored[0][2]}', spelt differently (check)"
    return None


def labels_known(dimension: str, labels: list[str]) -> int:
    """How many of the labels the seeds give a code of ``dimension`` (totals aside: every dimension has one)."""
    return sum(1 for label in labels if (proposal := propose_label(dimension, label)).code not in (None, TOTAL)
               and "part of the label" not in proposal.how)


def own_code(label: str, limit: int = 60) -> str:
    """An upper-case code of the partner's own made from a label ('Receives an old-age pension' ->
    RECEIVES_AN_OLD_AGE_PENSION), cut at a word boundary; always a valid series or breakdown code."""
    parts = re.findall(r"[A-Z0-9]+", _fold(label).upper())
    code = ""
    for part in parts:
        if len(code) + len(part) + (1 if code else 0) > limit:
            break
        code = f"{code}_{part}" if code else part
    code = code or (parts[0][:limit] if parts else "CODE")
    return code if code[0].isalpha() else f"X_{code}"[:limit]


@lru_cache(maxsize=1)
def countries() -> dict[str, str]:
    """label_key of a country's name, ISO3 or ISO2 code -> its M49 number (seed iso3166_countries)."""
    found: dict[str, str] = {}
    for row in canonical.seed_rows("iso3166_countries"):
        for name in (row["country_name"], row["iso3"], row["iso2"]):
            if name:
                found[label_key(name)] = str(int(row["m49_code"]))
    return found
