"""The ``detail`` a set-aside row carries (``raw_partners.quarantine.reason_detail``), in one place.

The checks (``evaluate.rows``) write it in English, filled in by SQL from a template below; the
partner's report reads it back with :func:`say_detail`, which finds the template again and says it in
the partner's language (the templates and the field names are msgids). A detail no template matches
is shown as stored.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from ingestion.partners.i18n import N_
from ingestion.sql import literal

# Detail kind -> its English template; {field} is a field's name in words (FIELD_NAMES).
DETAILS: dict[str, str] = {
    "empty": N_("the {field} is empty"),
    "unknown_label": N_("not an agreed label for {field}"),
    "not_a_number": N_("the {field} is not a number"),
    "row_unit": N_("the unit of this row is {unit}"),
    "range_between": N_("values in unit {unit} must be between {low} and {high}"),
    "range_at_least": N_("values in unit {unit} must be at least {low}"),
    "range_at_most": N_("values in unit {unit} must be at most {high}"),
    "bounds": N_("lower {low}, upper {high}"),
}

# The fields a detail can name, in words (a partner's own breakdown is named as its contract writes it).
FIELD_NAMES: dict[str, str] = {
    "series_code": N_("series code"), "geo_area_m49": N_("geo area m49"), "period": N_("period"),
    "unit": N_("unit"), "value": N_("value"), "lower_bound": N_("lower bound"), "upper_bound": N_("upper bound"),
    "sample_size": N_("sample size"), "sex": N_("sex"), "age_group": N_("age group"),
    "disability_status": N_("disability status"), "location": N_("location"),
    "income_quantile": N_("income quantile"), "migratory_status": N_("migratory status"),
    "population_group": N_("population group"),
}


def field_words(name: str) -> str:
    return FIELD_NAMES.get(name, name.replace("_", " "))


def detail_text(kind: str, **params: str) -> str:
    """The English detail of ``kind`` with ``params`` filled in (plain text)."""
    return DETAILS[kind].format(**params)


def detail_sql(kind: str, **params: str) -> str:
    """SQL: the English detail of ``kind``, ``params`` being SQL expressions (null if any is null)."""
    pieces = re.split(r"\{(\w+)\}", DETAILS[kind])
    parts = [params[piece] if index % 2 else literal(piece) for index, piece in enumerate(pieces) if piece]
    return "(" + " || ".join(parts) + ")"


@lru_cache(maxsize=1)
def _patterns() -> list[tuple[re.Pattern[str], str]]:
    def pattern(template: str) -> re.Pattern[str]:
        pieces = re.split(r"\{(\w+)\}", template)
        return re.compile("".join(f"(?P<{piece}>.+?)" if index % 2 else re.escape(piece)
                                  for index, piece in enumerate(pieces)) + r"\Z")
    return [(pattern(template), template) for template in DETAILS.values()]


def say_detail(text: str, gettext: Callable[[str], str]) -> str:
    """A stored detail in the language of ``gettext`` (as stored when no template matches it)."""
    words = {english: name for name, english in FIELD_NAMES.items()}
    for pattern, template in _patterns():
        if match := pattern.match(text):
            params = {key: gettext(value) if key == "field" and value in words else value
                      for key, value in match.groupdict().items()}
            return gettext(template).format(**params)
    return text
