"""Partner reports in the partner's language (``ingestion.partners.i18n``): the bundled French partner
reads French from heading to fix, a language without a catalogue falls back to English and says so,
every shipped catalogue translates every msgid the code has, numbers and dates follow the language, and
the index lists every file the partner ever sent, newest first, withdrawn ones included."""

from __future__ import annotations

import re
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from ingestion.kobo.inbox_report import KOBO_REASONS
from ingestion.partners.codes import REASONS
from ingestion.partners.details import DETAILS, detail_text, field_words, say_detail
from ingestion.partners.i18n import DOMAIN, LOCALE_DIR, extract_catalog, shipped_languages, translator
from tests.partners_corpus.support import NOW, SAMPLE_CONTRACTS, SAMPLE_INBOX, workspace

FRENCH = "idp_monitoring_network"
FRENCH_FILE = SAMPLE_INBOX / FRENCH / "suivi_deplaces_2019-2021.csv"
KOBO = "community_wg_survey"
NNBSP = "\u202f"  # CLDR's French group separator (narrow no-break space)


@pytest.fixture
def ws(tmp_path):
    space = workspace(tmp_path)
    yield space
    space.con.close()


def partner(ws, partner_id: str, language: str | None = None, files: tuple[Path, ...] = ()) -> None:
    """A bundled partner in the scratch workspace, its contract's language optionally replaced."""
    text = (SAMPLE_CONTRACTS / f"{partner_id}.yml").read_text(encoding="utf-8")
    if language is not None:
        text, count = re.subn(r"(?m)^  language: \w+$", f"  language: {language}", text)
        if not count:
            text = text.replace(f"  id: {partner_id}\n", f"  id: {partner_id}\n  language: {language}\n")
    ws.contract(partner_id, text)
    ws.drop(partner_id, *(files or tuple(sorted((SAMPLE_INBOX / partner_id).iterdir()))))


def english_fragments() -> list[str]:
    """A long placeholder-free piece of every msgid whose translation differs: none may remain in a
    translated report (the partner's own cells are not msgids, so this cannot be fooled by them)."""
    french = translator("fr")
    fragments = []
    for message in extract_catalog():
        for msgid in (message.id if isinstance(message.id, tuple) else (message.id,)):
            if not msgid or french.gettext(msgid) == msgid:
                continue
            longest = max(re.split(r"\{\w+\}|`[^`]*`", msgid), key=len).strip()
            if len(longest) >= 12:
                fragments.append(longest)
    return fragments


# --- the bundled French partner -----------------------------------------------------------------------


def test_the_french_partner_reads_its_report_in_french_from_heading_to_fix(ws):
    partner(ws, FRENCH)
    (ws.inbox / FRENCH / "suivi_vide.csv").write_bytes(b"")  # a file-level problem and its fix, too
    result = ws.run(FRENCH)
    page = next(item for item in result.files if item.file_name == FRENCH_FILE.name)
    markdown, page_html = page.report_markdown.read_text(), page.report_html.read_text()
    index = result.report_markdown.read_text()
    empty = next(item for item in result.files if item.file_name == "suivi_vide.csv").report_markdown.read_text()

    assert markdown.startswith(f"# Retour sur {FRENCH_FILE.name}\n")
    assert (f"De **Réseau de suivi des déplacés (fictional)** · version reçue `69b6e7cda03f` (4{NNBSP}487 octets), "
            "traitée le 1 juin 2024, 12:00 UTC") in markdown
    assert "**Accepté en partie : certaines lignes ont été mises de côté (voir ci-dessous).**" in markdown
    assert "## Ce qu'il faut corriger" in markdown and "## En chiffres" in markdown
    assert "### 1 × La ligne utilise un autre séparateur (`wrong_delimiter`)" in markdown
    assert "Comment corriger : Utilisez le même séparateur sur chaque ligne." in markdown
    assert "Ce qui s'est passé : La cellule de la valeur" in markdown
    assert "- colonnes séparées par : point-virgule" in markdown
    assert '<html lang="fr">' in page_html and "<h2>Ce qu&#x27;il faut corriger</h2>" in page_html
    # The partner's own column names, labels and file names are quoted as they are.
    assert "| 51 | Milieu | `Semi-urbain` |" in markdown and "| 54 | Taille de l'échantillon | `-12` |" in markdown
    # The details beside each set-aside cell are said in French too.
    assert "| 51 | Milieu | `Semi-urbain` | libellé non convenu pour : milieu |" in markdown
    assert "doivent être comprises entre 0 et 100" in markdown
    assert "not an agreed label" not in markdown and "must be between" not in markdown
    assert index.startswith("# Données reçues de Réseau de suivi des déplacés (fictional)\n")
    assert f"| [{FRENCH_FILE.name}](files/{FRENCH_FILE.name}.md) | chargé avec des rejets | 49 | 5 |" in index
    assert "**Le fichier est vide (0 octet).**" in empty
    assert "Comment corriger : Envoyez de nouveau le fichier ; il n'a peut-être pas été enregistré." in empty
    # No English reason text, heading or sentence is left.
    for reason in REASONS.values():
        for text in (reason.title, reason.explanation, reason.fix):
            assert text not in markdown
    leftovers = {fragment for fragment in english_fragments() for text in (markdown, index, empty) if fragment in text}
    assert leftovers == set()
    assert "This report is in English" not in markdown + index


def test_a_kobo_page_in_spanish_with_its_plurals(ws):
    partner(ws, KOBO, language="es")
    result = ws.run(KOBO)
    markdown = result.files[0].report_markdown.read_text()
    assert ("320 entrevistas conservadas, 14 apartadas: 4 entrevistas piloto antes de la fecha de inicio, 3 "
            "entrevistas no aprobadas") in markdown
    assert "### 4 entrevistas piloto antes de la fecha de inicio (`test_before_launch`)" in markdown
    assert "| entrevistas conservadas | 320 |" in markdown
    for reason in KOBO_REASONS.values():
        assert reason.explanation not in markdown and reason.fix not in markdown
    assert "| 320 entrevistas | 14 entrevistas |" in result.report_markdown.read_text()


# --- a language without a catalogue -------------------------------------------------------------------


def test_a_language_without_a_catalogue_gets_english_and_is_told_once_at_the_top(ws):
    partner(ws, FRENCH, language="sw")
    result = ws.run(FRENCH)
    notice = "This report is in English: it is not available in Swahili (sw) yet."
    for path in (result.report_markdown, result.files[0].report_markdown):
        text = path.read_text()
        lines = text.splitlines()
        assert lines[2].startswith(notice) and text.count("This report is in English") == 1
    markdown = result.files[0].report_markdown.read_text()
    assert "### 1 × The row uses a different separator (`wrong_delimiter`)" in markdown
    assert "How to fix it: Use the same separator on every line." in markdown
    assert '<html lang="en">' in result.files[0].report_html.read_text()


def test_english_and_unset_languages_have_no_notice():
    for language in (None, "", "en", "en-GB"):
        tr = translator(language)
        assert tr.notice is None and tr.gettext("What to fix") == "What to fix"
    assert translator("fr-CA").gettext("What to fix") == "Ce qu'il faut corriger"  # the language's catalogue
    assert translator("xx-nonsense").notice.startswith("This report is in English: it is not available in xx-nonsense")


# --- catalogues ---------------------------------------------------------------------------------------


def _placeholders(text: str) -> set[str]:
    return set(re.findall(r"\{\w*\}", text))


@pytest.mark.parametrize("language", ["fr", "es"])
def test_every_msgid_in_the_code_is_translated_in_every_shipped_catalogue(language):
    assert language in shipped_languages()
    template = extract_catalog()
    with (LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as handle:
        catalog = read_po(handle, locale=language)
    problems = []
    for message in template:
        if not message.id:
            continue
        entry = catalog.get(message.id)
        strings = (entry.string if isinstance(entry.string, tuple) else (entry.string,)) if entry else ()
        if entry is None or entry.fuzzy or not strings or not all(strings):
            problems.append(f"untranslated: {message.id!r}")
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        if any(_placeholders(string) != _placeholders(ids[0]) for string in strings):
            problems.append(f"placeholders differ: {message.id!r}")
        if "`" in ids[0] and any(string.count("`") != ids[0].count("`") for string in strings):
            problems.append(f"code marks (backticks) differ: {message.id!r}")
    assert problems == []


def test_the_committed_template_is_what_the_code_holds():
    with (LOCALE_DIR / f"{DOMAIN}.pot").open("rb") as handle:
        committed = {message.id for message in read_po(handle) if message.id}
    assert committed == {message.id for message in extract_catalog() if message.id}, "run `make messages`"


# --- numbers and dates --------------------------------------------------------------------------------


def test_numbers_and_dates_follow_the_language():
    french, spanish, english = translator("fr"), translator("es"), translator("en")
    assert (french.number(1234), spanish.number(12345), english.number(1234)) == (f"1{NNBSP}234", "12.345", "1,234")
    assert french.number(2.5) == "2,5"
    assert french.datetime(NOW, french.gettext("yyyy-MM-dd HH:mm")) == "1 juin 2024, 12:00"
    assert spanish.datetime(NOW, spanish.gettext("yyyy-MM-dd")) == "1 de junio de 2024"
    assert english.datetime(NOW, english.gettext("yyyy-MM-dd HH:mm")) == "2024-06-01 12:00"
    assert french.ngettext("{count} interview", "{count} interviews", 1) == "1 entretien"
    assert french.ngettext("{count} interview", "{count} interviews", 1500) == f"1{NNBSP}500 entretiens"


# --- the partner's history ----------------------------------------------------------------------------


def history(index: str, heading: str) -> list[list[str]]:
    """The rows of the history table under ``heading``."""
    section = index.split(f"## {heading}\n", 1)[1]
    return [[cell.strip() for cell in line.strip("|").split(" | ")]
            for line in section.splitlines() if line.startswith("| ") and "---" not in line][1:]


def test_the_index_lists_every_file_received_across_runs_newest_first(ws):
    partner(ws, FRENCH, files=(FRENCH_FILE, FRENCH_FILE), )
    ws.drop(FRENCH, FRENCH_FILE, FRENCH_FILE, names=["suivi_a.csv", "suivi_b.csv"])
    (ws.inbox / FRENCH / FRENCH_FILE.name).unlink()
    ws.run(FRENCH, run_id="run-1")
    (ws.inbox / FRENCH / "suivi_a.csv").unlink()  # withdrawn by the next run
    newer = ws.inbox / FRENCH / "suivi_c.csv"
    shutil.copyfile(FRENCH_FILE, newer)
    newer.write_bytes(newer.read_bytes().replace(b"2019/20;", b"2019/20 ;", 1))
    result = ws.run(FRENCH, run_id="run-2", now=NOW + timedelta(days=1))
    index = result.report_markdown.read_text()
    shas = dict(ws.rows("select source_file, sha256 from raw_partners.files"))
    rows = history(index, "Tous les fichiers reçus, du plus récent au plus ancien")
    assert [(row[0], row[1].split("]")[0][1:], row[2], row[3]) for row in rows] == [
        ("2 juin 2024, 12:00", "suivi_a.csv", f"`{shas['suivi_a.csv'][:12]}`", "retiré"),
        ("2 juin 2024, 12:00", "suivi_c.csv", f"`{shas['suivi_c.csv'][:12]}`", "chargé avec des rejets"),
        ("1 juin 2024, 12:00", "suivi_b.csv", f"`{shas['suivi_b.csv'][:12]}`", "chargé avec des rejets"),
    ]
    assert [row[4:] for row in rows] == [["0", "0"], ["49", "5"], ["49", "5"]]
    # Every file's page is written, the withdrawn one's included, and linked from the history.
    assert "(files/suivi_a.csv.md)" in rows[0][1] and (result.report_markdown.parent / "files" / "suivi_a.csv.md").exists()
    assert "Retiré : le fichier n'est plus dans votre dossier de dépôt" in (
        result.report_markdown.parent / "files" / "suivi_a.csv.md").read_text()


def test_the_history_in_english_keeps_the_source_wording(ws):
    partner(ws, FRENCH, language="en")
    result = ws.run(FRENCH)
    rows = history(result.report_markdown.read_text(), "Every file received, newest first")
    assert rows == [["2024-06-01 12:00", f"[{FRENCH_FILE.name}](files/{FRENCH_FILE.name}.md)", "`69b6e7cda03f`",
                     "loaded with rejections", "49", "5"]]


@pytest.mark.parametrize("kind", sorted(DETAILS))
def test_every_stored_detail_reads_back_in_the_partner_language(kind):
    """What evaluate stores (English, from the template) is found again and said in French."""
    params = {"field": field_words("disability_status"), "unit": "PT", "low": "0", "high": "100"}
    names = set(re.findall(r"\{(\w+)\}", DETAILS[kind]))
    english = detail_text(kind, **{name: params[name] for name in names})
    french = say_detail(english, translator("fr").gettext)
    assert french != english
    if "unit" in names:
        assert "PT" in french
    if "field" in names:
        assert "situation de handicap" in french
    assert say_detail("a detail no template knows", translator("fr").gettext) == "a detail no template knows"
