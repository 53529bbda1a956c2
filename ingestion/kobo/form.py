"""A survey's form definition, from the API (``/api/v2/assets/{uid}/``) or from an XLSForm.

The form tells the readers what the export cannot: which question a label header means, which
XML value a choice label stands for, and each question's type, so a contract that expects a
select_multiple is stopped when the form now says select_one.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openpyxl

from ingestion.kobo.errors import KoboContractError

GROUP_TYPES = frozenset({"begin_group", "begin_repeat"})


def nfc(text: str) -> str:
    """Labels compare in Unicode NFC: "é" typed as one character or as "e" plus an accent is the same label."""
    return unicodedata.normalize("NFC", text)


@dataclass(frozen=True)
class Question:
    xpath: str
    name: str
    type: str  # normalised: select_one, select_multiple, integer, geopoint, begin_group, begin_repeat, ...
    list_name: str | None
    labels: Mapping[str | None, str]  # language (None: the form's only/default label) -> label
    parents: tuple[str, ...]  # XPaths of the enclosing groups and repeats, outermost first


@dataclass(frozen=True)
class Choice:
    name: str
    labels: Mapping[str | None, str]


@dataclass(frozen=True)
class FormDefinition:
    questions: Mapping[str, Question]  # by XPath, groups and repeats included
    choices: Mapping[str, tuple[Choice, ...]]  # by list name
    languages: tuple[str | None, ...]
    version: str | None = None
    version_ids: frozenset[str] = field(default_factory=frozenset)  # every deployed version the source listed

    # -- construction ---------------------------------------------------------------------------
    @classmethod
    def load(cls, path: Path) -> "FormDefinition":
        """An XLSForm (.xlsx) or a saved asset response (.json)."""
        path = Path(path)
        if path.suffix.lower() == ".json":
            try:
                return cls.from_asset(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError) as exc:
                raise KoboContractError(f"{path.name}: not a readable KoBo asset JSON ({exc})") from exc
        return cls.from_xlsform(path)

    @classmethod
    def from_asset(cls, asset: Mapping[str, Any]) -> "FormDefinition":
        """From an ``/api/v2/assets/{uid}/`` response (``content.survey``/``choices``/``translations``)."""
        content = asset.get("content") or {}
        translations = tuple(content.get("translations") or [None])

        def labels(row: Mapping[str, Any]) -> dict[str | None, str]:
            label = row.get("label")
            if isinstance(label, list):
                return {lang: nfc(text) for lang, text in zip(translations, label) if isinstance(text, str)}
            return {translations[0]: nfc(label)} if isinstance(label, str) else {}

        rows = [
            {**row, "_labels": labels(row), "_list": row.get("select_from_list_name")}
            for row in content.get("survey") or []
        ]
        choices: dict[str, list[Choice]] = {}
        for row in content.get("choices") or []:
            choices.setdefault(str(row.get("list_name")), []).append(Choice(str(row.get("name")), labels(row)))
        versions = {str(item.get("uid")) for item in (asset.get("deployed_versions") or {}).get("results") or []}
        versions |= {str(asset[key]) for key in ("version_id", "deployed_version_id") if asset.get(key)}
        if asset.get("version"):  # formpack-style fixtures carry a bare version id
            versions.add(str(asset["version"]))
        version = asset.get("deployed_version_id") or asset.get("version_id") or asset.get("version")
        return cls(
            questions=_questions(rows),
            choices={name: tuple(items) for name, items in choices.items()},
            languages=translations,
            version=str(version) if version else None,
            version_ids=frozenset(versions),
        )

    @classmethod
    def from_xlsform(cls, path: Path) -> "FormDefinition":
        """From an XLSForm: sheets survey, choices and settings; ``label::<language>`` columns."""
        try:
            workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many types for a broken file
            raise KoboContractError(f"{Path(path).name}: not a readable XLSForm ({type(exc).__name__})") from exc
        try:
            sheets = {name.lower(): workbook[name] for name in workbook.sheetnames}
            if "survey" not in sheets:
                raise KoboContractError(f"{Path(path).name}: an XLSForm needs a 'survey' sheet")
            survey = _sheet_rows(sheets["survey"])
            choice_rows = _sheet_rows(sheets["choices"]) if "choices" in sheets else []
            settings = (_sheet_rows(sheets["settings"]) or [{}])[0] if "settings" in sheets else {}
        finally:
            workbook.close()
        languages = _xlsform_languages(survey + choice_rows)
        default = settings.get("default_language")
        if default in languages:  # the default language first, as KoBo lists it
            languages = [default] + [lang for lang in languages if lang != default]

        def labels(row: Mapping[str, Any]) -> dict[str | None, str]:
            found = {}
            for key, value in row.items():
                if value in (None, ""):
                    continue
                if key == "label":
                    found[None] = nfc(str(value))
                elif key.startswith("label::"):
                    found[key.split("::", 1)[1]] = nfc(str(value))
            return found

        rows = []
        for row in survey:
            raw_type = str(row.get("type") or "").strip()
            if not raw_type:
                continue
            parts = raw_type.split()
            list_name = parts[1] if parts[0] in ("select_one", "select_multiple") and len(parts) > 1 else None
            rows.append({"type": parts[0] if list_name else raw_type, "name": row.get("name"),
                         "_labels": labels(row), "_list": list_name})
        choices: dict[str, list[Choice]] = {}
        for row in choice_rows:
            if row.get("list_name") in (None, ""):
                continue
            choices.setdefault(str(row["list_name"]), []).append(Choice(_cell_text(row.get("name")), labels(row)))
        version = settings.get("version")
        return cls(
            questions=_questions(rows),
            choices={name: tuple(items) for name, items in choices.items()},
            languages=tuple(languages) or (None,),
            version=str(version) if version not in (None, "") else None,
            version_ids=frozenset({str(version)}) if version not in (None, "") else frozenset(),
        )

    # -- lookups ----------------------------------------------------------------------------------
    @property
    def default_language(self) -> str | None:
        return self.languages[0] if self.languages else None

    def label(self, labels: Mapping[str | None, str], language: str | None) -> str | None:
        if language in labels:
            return labels[language]
        if language is None and len(labels) == 1:
            return next(iter(labels.values()))
        return None

    def choices_for(self, xpath: str) -> tuple[Choice, ...]:
        question = self.questions.get(xpath)
        if question is None or question.list_name is None:
            return ()
        return self.choices.get(question.list_name, ())

    def label_paths(self, language: str | None, group_separator: str) -> dict[str, list[str]]:
        """The header a labels-mode export writes for each question -> the XPath(s) it may mean."""
        paths: dict[str, list[str]] = {}
        for question in self.questions.values():
            if question.type in GROUP_TYPES:
                continue
            text = self.label(question.labels, language)
            if text is None:
                continue
            if group_separator:
                parents = [self.label(self.questions[p].labels, language) or self.questions[p].name
                           for p in question.parents if p in self.questions]
                text = group_separator.join([*parents, text])
            paths.setdefault(text, []).append(question.xpath)
        return paths

    def by_name(self) -> dict[str, list[str]]:
        """Question name -> XPath(s), for exports written without a group separator."""
        names: dict[str, list[str]] = {}
        for question in self.questions.values():
            if question.type not in GROUP_TYPES:
                names.setdefault(question.name, []).append(question.xpath)
        return names


def _questions(rows: Iterable[Mapping[str, Any]]) -> dict[str, Question]:
    questions: dict[str, Question] = {}
    stack: list[str] = []
    for row in rows:
        kind = str(row.get("type") or "").strip().replace(" ", "_")
        kind = {"int": "integer", "begin_group": "begin_group", "begin_repeat": "begin_repeat"}.get(kind, kind)
        if kind in ("end_group", "end_repeat"):
            if stack:
                stack.pop()
            continue
        name = row.get("name") or row.get("$autoname")
        if not name:
            continue
        name = str(name)
        xpath = str(row.get("$xpath") or "/".join([*stack, name]))
        questions[xpath] = Question(
            xpath=xpath,
            name=name,
            type=kind,
            list_name=row.get("_list"),
            labels=row.get("_labels") or {},
            parents=tuple(_ancestors(stack)),
        )
        if kind in GROUP_TYPES:
            stack[:] = xpath.split("/")  # the group's own path; "end" pops back to its parent
    return questions


def _ancestors(stack: list[str]) -> list[str]:
    return ["/".join(stack[: depth + 1]) for depth in range(len(stack))]


def _sheet_rows(sheet) -> list[dict[str, Any]]:
    rows = sheet.iter_rows(values_only=True)
    header = [str(cell).strip() if cell is not None else "" for cell in next(rows, ())]
    return [
        {key: value for key, value in zip(header, row) if key}
        for row in rows
        if any(cell not in (None, "") for cell in row)
    ]


def _xlsform_languages(rows: list[dict[str, Any]]) -> list[str | None]:
    languages: list[str | None] = []
    for row in rows:
        for key in row:
            language = key.split("::", 1)[1] if key.startswith("label::") else (None if key == "label" else "")
            if language != "" and language not in languages:
                languages.append(language)
    return languages


def _cell_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)
