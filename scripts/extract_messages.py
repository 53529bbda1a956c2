"""Re-extract the partner reports' messages and bring every catalogue up to date (`make messages`).

    .venv/bin/python scripts/extract_messages.py [<new language> ...]

Extracts every msgid from the code with Babel (``ingestion.partners.i18n.extract_catalog``, the same as
``pybabel extract -k Nn_:1,2 -k Msg``) into ``ingestion/partners/locale/messages.pot``, then updates each
``locale/<language>/LC_MESSAGES/messages.po`` from it (as ``pybabel update``): new messages arrive
untranslated, changed ones fuzzy (a fuzzy translation is not used until a translator clears the flag),
removed ones go. A language named on the command line gets a new, empty catalogue (as ``pybabel init``).
Then translate the empty and fuzzy entries; tests/test_partner_report_i18n.py fails until every shipped
catalogue is complete.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from babel import Locale  # noqa: E402
from babel.messages.catalog import Catalog  # noqa: E402
from babel.messages.pofile import read_po, write_po  # noqa: E402

from ingestion.partners.i18n import DOMAIN, LOCALE_DIR, extract_catalog, shipped_languages  # noqa: E402


def _messages(catalog: Catalog) -> list[tuple]:
    return [(message.id, sorted(message.locations), message.auto_comments) for message in catalog if message.id]


def main(new_languages: list[str]) -> None:
    template = extract_catalog()
    LOCALE_DIR.mkdir(parents=True, exist_ok=True)
    pot = LOCALE_DIR / f"{DOMAIN}.pot"
    if pot.exists():  # the same messages: keep the date, so an unchanged extraction changes no file
        with pot.open("rb") as handle:
            previous = read_po(handle)
        if _messages(previous) == _messages(template):
            template.creation_date = previous.creation_date
    with pot.open("wb") as handle:
        write_po(handle, template, width=100, omit_header=False, sort_output=False)
    for language in sorted(set(shipped_languages()) | set(new_languages)):
        path = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
        if path.exists():
            with path.open("rb") as handle:
                catalog = read_po(handle, locale=language, domain=DOMAIN)
        else:
            catalog = Catalog(locale=Locale.parse(language), domain=DOMAIN, project=template.project)
            path.parent.mkdir(parents=True, exist_ok=True)
        catalog.update(template, update_header_comment=False)
        with path.open("wb") as handle:
            write_po(handle, catalog, width=100, ignore_obsolete=True)
        todo = sum(1 for message in catalog if message.id and (message.fuzzy or not all(
            message.string if isinstance(message.string, tuple) else [message.string])))
        print(f"{path.relative_to(LOCALE_DIR.parents[2])}: {len(catalog)} messages, {todo} to translate")


if __name__ == "__main__":
    main(sys.argv[1:])
