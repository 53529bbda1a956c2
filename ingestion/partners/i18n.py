"""The partners' feedback reports in the partner's language (the contract's ``partner.language``).

The English text in the code is the msgid, the single source of every message: ``_()`` and
``ngettext()`` in the report code, ``N_()``/``Nn_()`` where a text is only marked (``codes.REASONS``),
and ``Msg()`` for a file-level problem or note that is stored in ``raw_partners.files`` in English
and rendered again, translated, in the report. The translations are gettext catalogues,
``locale/<language>/LC_MESSAGES/messages.po``, compiled in memory on first use (no binary ``.mo`` in
the repository). A language without a catalogue gets English, said once at the top of each page.
``extract_catalog()`` is what ``make messages`` (scripts/extract_messages.py) and the completeness test
extract, with Babel's extraction API (the same as ``pybabel extract``).
"""

from __future__ import annotations

import gettext
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.dates import format_datetime
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations

SOURCE_LANGUAGE = "en"  # the msgids' language: needs no catalogue
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "messages"
# What the extraction reads: this package and the KoBo modules that write partner reports or notes.
_REPO = LOCALE_DIR.parents[2]
SOURCE_GLOBS = (("ingestion/partners", "**/*.py"), ("ingestion/kobo", "inbox*.py"))
KEYWORDS = {**DEFAULT_KEYWORDS, "Nn_": (1, 2), "Msg": None}
COMMENT_TAGS = ("Translators:",)


def N_(message: str) -> str:
    """Marks ``message`` for extraction; it is translated where it is shown."""
    return message


def Nn_(singular: str, plural: str) -> tuple[str, str]:
    """Marks a singular/plural pair for extraction (rendered with ``Translator.ngettext``)."""
    return singular, plural


def _english(value: Any) -> Any:
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else value


class Msg(str):
    """An English text (what logs, Dagster and the files table show) that remembers its msgid and
    parameters, so that the report can render it again in the partner's language."""

    msgid: str
    params: dict[str, Any]

    def __new__(cls, msgid: str, **params: Any) -> Msg:
        self = super().__new__(cls, msgid.format(**{key: _english(value) for key, value in params.items()}))
        self.msgid, self.params = msgid, params
        return self

    def stored(self) -> dict[str, Any]:
        """For JSON: ``{"text", "msgid", "params"}``, nested ``Msg`` parameters included."""
        return {"text": str(self), "msgid": self.msgid, "params": {key: stored(value) for key, value in self.params.items()}}


def stored(value: Any) -> Any:
    """A note, a problem's text or a parameter, as it is kept in JSON."""
    if isinstance(value, Msg):
        return value.stored()
    if isinstance(value, (list, tuple)):
        return [stored(item) for item in value]
    return value


@lru_cache(maxsize=None)
def _catalogue(language: str) -> Translations | None:
    """The compiled catalogue of ``language`` (fuzzy entries left out), or None when there is none."""
    path = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not path.is_file():
        return None
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=language, domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(fp=compiled, domain=DOMAIN)


def shipped_languages() -> list[str]:
    return sorted(path.parents[1].name for path in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))


def _locale(language: str) -> Locale | None:
    try:
        return Locale.parse(language.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return None


@dataclass(frozen=True)
class Translator:
    language: str  # as the contract writes it
    locale: Locale  # numbers and dates: the partner's own conventions whenever Babel knows them
    translations: gettext.NullTranslations
    missing: str | None = None  # the language asked for, when it has no catalogue (the report is in English)

    def gettext(self, message: str) -> str:
        return self.translations.gettext(message)

    def ngettext(self, singular: str, plural: str, count: int) -> str:
        """The plural form for ``count``, its ``{count}`` formatted for the language."""
        return self.translations.ngettext(singular, plural, count).format(count=self.number(count))

    def number(self, value: int | float) -> str:
        return format_decimal(value, locale=self.locale)

    def datetime(self, value: datetime, pattern: str) -> str:
        """``pattern`` is a translated CLDR pattern (a msgid such as ``yyyy-MM-dd HH:mm``), in UTC."""
        return format_datetime(value, pattern, tzinfo=value.tzinfo, locale=self.locale)

    def render(self, msgid: str, params: dict[str, Any] | None = None) -> str:
        text = self.gettext(msgid)
        return text.format(**{key: self._param(value) for key, value in (params or {}).items()}) if params else text

    def text(self, value: Any) -> str:
        """A stored note or problem text: ``{"msgid", "params"}`` rendered in the language, a plain
        (older, or never marked) English text translated when it is a msgid, else as it is."""
        if isinstance(value, dict) and "msgid" in value:
            return self.render(value["msgid"], value.get("params"))
        return self.gettext(value) if value else ""

    def _param(self, value: Any) -> str:
        if isinstance(value, bool):
            return str(value)
        if isinstance(value, (int, float)):
            return self.number(value)
        if isinstance(value, list):  # items that are sentences hold commas themselves
            separator = "; " if any(isinstance(item, dict) for item in value) else ", "
            return separator.join(self._param(item) for item in value)
        if isinstance(value, dict):
            return self.text(value)
        return str(value)

    @property
    def notice(self) -> str | None:
        """Said (in English) at the top of each page when the partner's language has no catalogue yet."""
        if not self.missing:
            return None
        locale = _locale(self.missing)
        name = locale.get_display_name("en") if locale else self.missing
        return (f"This report is in English: it is not available in {name} ({self.missing}) yet. "
                "Tell us if a translation would help.")


def translator(language: str | None) -> Translator:
    """The translator for a contract's ``partner.language`` (None or English: English, no notice)."""
    language = (language or SOURCE_LANGUAGE).strip() or SOURCE_LANGUAGE
    parsed = _locale(language)
    locale = parsed or Locale.parse(SOURCE_LANGUAGE)  # a code Babel does not know: English formats, and the notice
    if parsed is not None and parsed.language == SOURCE_LANGUAGE:
        return Translator(language, locale, gettext.NullTranslations())
    for candidate in (str(locale), locale.language):  # fr_CA, then fr
        catalogue = _catalogue(candidate)
        if catalogue is not None:
            return Translator(language, locale, catalogue)
    return Translator(language, locale, gettext.NullTranslations(), missing=language)


def source_files() -> Iterator[Path]:
    for folder, pattern in SOURCE_GLOBS:
        yield from sorted((_REPO / folder).glob(pattern))


def extract_catalog() -> Catalog:
    """Every msgid of the partner reports, extracted from the code (as ``pybabel extract`` would)."""
    catalog = Catalog(project="inclusive-sdg-pipeline partner reports", domain=DOMAIN, fuzzy=False)
    for path in source_files():
        with path.open("rb") as handle:
            for lineno, message, comments, context in extract(
                    "python", handle, keywords=KEYWORDS, comment_tags=COMMENT_TAGS, strip_comment_tags=True):
                catalog.add(message, None, [(str(path.relative_to(_REPO)), lineno)], auto_comments=comments,
                            context=context)
    return catalog
