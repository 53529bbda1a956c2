"""Reading the period of a partner's row: ``2019``, ``2019/20``, ``2013/14 to 2015/16``, dates.

Parsed once per distinct cell text (periods repeat a lot), so this can be plain Python.
The label is normalised (``2019-20`` becomes ``2019/20``); start and end are whole years except
for dates, matching the official series, whose periods are years.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from ingestion.partners.codes import WHITESPACE

MIN_YEAR, MAX_YEAR = 1900, 2100

_YEAR = re.compile(r"(\d{4})(?:\.0+)?")  # 2019.0: a year typed as a number in a spreadsheet
_SPAN = re.compile(r"(\d{4})\s*[/\-–]\s*(\d{2}|\d{4})")
_RANGE = re.compile(r"(.+?)\s+(?:to|-|–|à|au)\s+(.+)", re.IGNORECASE)
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[ T]00:00(?::00)?)?")
_DAY_FIRST_DATE = re.compile(r"(\d{1,2})[/.](\d{1,2})[/.](\d{4})")


@dataclass(frozen=True)
class Period:
    label: str
    start: date
    end: date


def _year_ok(year: int) -> bool:
    return MIN_YEAR <= year <= MAX_YEAR


def _simple(text: str) -> Period | None:
    if match := _YEAR.fullmatch(text):
        year = int(match.group(1))
        return Period(str(year), date(year, 1, 1), date(year, 12, 31)) if _year_ok(year) else None
    if match := _SPAN.fullmatch(text):
        first = int(match.group(1))
        second_text = match.group(2)
        second = int(second_text) if len(second_text) == 4 else first // 100 * 100 + int(second_text)
        if len(second_text) == 2 and second < first:  # 1999/00
            second += 100
        if not (_year_ok(first) and _year_ok(second)) or second <= first:
            return None
        if second == first + 1:  # a survey or financial year
            return Period(f"{first}/{second % 100:02d}", date(first, 1, 1), date(second, 12, 31))
        if len(second_text) == 4:  # 2015-2017: several calendar years
            return Period(f"{first} to {second}", date(first, 1, 1), date(second, 12, 31))
        return None
    return _date(text)


def _date(text: str) -> Period | None:
    if match := _ISO_DATE.fullmatch(text):
        year, month, day = (int(part) for part in match.groups())
    elif match := _DAY_FIRST_DATE.fullmatch(text):
        day, month, year = (int(part) for part in match.groups())
    else:
        return None
    if not _year_ok(year):
        return None
    try:
        when = date(year, month, day)
    except ValueError:
        return None
    return Period(when.isoformat(), when, when)


def parse_period(raw: str | None) -> Period | None:
    """The period a cell describes, or None when it cannot be read (or is blank)."""
    if raw is None:
        return None
    text = " ".join(raw.strip(WHITESPACE).split())
    if not text:
        return None
    if period := _simple(text):
        return period
    if match := _RANGE.fullmatch(text):
        first, last = _simple(match.group(1)), _simple(match.group(2))
        if first and last and last.end > first.start:
            return Period(f"{first.label} to {last.label}", first.start, last.end)
    return None
