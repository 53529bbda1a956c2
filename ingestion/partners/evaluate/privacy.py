"""Whether a column the contract does not name may be kept as a breakdown of the figures.

Such a column is kept, and breakdowns are published. One that looks like personal data or free text is
not stored at all: its header names personal data (or an identifier, or an age: exact ages single people
out; age groups belong in the contract's age column), it holds phone numbers or e-mail addresses, long
text, or a different value on most rows (identifiers and comments, not categories).
"""

from __future__ import annotations

import re

from ingestion.partners.codes import label_key
from ingestion.partners.evaluate.sqltext import filled, strip
from ingestion.partners.i18n import Msg
from ingestion.sql import literal

_PERSONAL_HEADER_WORDS = frozenset({
    "name", "names", "nom", "nombre", "phone", "telephone", "tel", "mobile", "cell", "email", "mail", "contact",
    "address", "adresse", "gps", "latitude", "longitude", "lat", "lon", "lng", "coordinates", "device", "deviceid",
    "imei", "comment", "comments", "note", "notes", "remark", "remarks", "observation", "observations", "passport",
    "birth", "dob", "signature", "respondent", "enumerator", "interviewer", "collector", "surveyor", "username",
    "id", "ids", "identifier", "uuid", "age", "ages", "edad",
})
# Every row different, on at least this many rows, mostly with digits: an identifier, however small the file.
MIN_ROWS_ALL_DISTINCT = 10
MAX_BREAKDOWN_CHARS = 80
_EMAIL = r"[^\s@]+@[^\s@]+\.[A-Za-z]{2,}"
# digits and phone punctuation only, written as a phone number is (a leading + or 0, or separators)
_PHONE = r"^(\+|0|\(|[0-9]+[ ().-])[0-9 ().-]+$"

PROFILE_WIDTH = 5  # the measures column_profile gives per column


def column_profile(cell: str) -> str:
    """SQL: filled cells, distinct values, longest value, cells that look like a phone or e-mail, cells with a digit."""
    value = strip(cell)
    contact = (f"regexp_matches({cell}, {literal(_EMAIL)}) or (regexp_matches({value}, {literal(_PHONE)})"
               f" and length(regexp_replace({cell}, '[^0-9]', '', 'g')) >= 9)")
    return (f"count(*) filter (where {filled(cell)}), count(distinct {value}) filter (where {filled(cell)}), "
            f"coalesce(max(length({value})), 0), count(*) filter (where {filled(cell)} and ({contact})), "
            f"count(*) filter (where {filled(cell)} and regexp_matches({cell}, '[0-9]'))")


def not_a_breakdown(header: str, filled_cells: int, distinct: int, longest: int, contacts: int,
                    with_digits: int) -> str | None:
    """Why an unnamed column is not kept as a breakdown, or None when it can be."""
    words = set(re.findall(r"[a-z]+", label_key(header)))
    if words & _PERSONAL_HEADER_WORDS:
        return Msg("its name suggests personal data")
    if contacts:
        return Msg("{count} cell(s) look like a phone number or an e-mail address", count=contacts)
    if longest > MAX_BREAKDOWN_CHARS:
        return Msg("it holds text up to {count} characters long", count=longest)
    # A different value on every row of a small file is an identifier when the values carry numbers
    # (HH-1001, R07); twelve district names on twelve rows are a breakdown.
    if (distinct > 50 and distinct * 2 > filled_cells) or (
            distinct == filled_cells >= MIN_ROWS_ALL_DISTINCT and with_digits * 10 >= filled_cells * 8):
        return Msg("it holds {distinct} different values in {rows} rows: identifiers or comments, not categories",
                   distinct=distinct, rows=filled_cells)
    return None
