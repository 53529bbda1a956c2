"""Who each published row comes from, and on what terms: the UN's terms for official data, the partner's
``licence`` and ``attribution`` from its data contract for civil-society and citizen-generated data.

Only the contracts' public header is read (partner name, type, licence, attribution, and whether the data
is synthetic); nothing else of a contract, and nothing of the partners' files, reaches the report.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

OFFICIAL_SOURCE_ID = "unsd_sdg_api"
UN_TERMS_URL = "https://www.un.org/en/about-us/terms-of-use"
UN_DATABASE_URL = "https://unstats.un.org/sdgs/dataportal"


@dataclass(frozen=True)
class Source:
    source_id: str
    name: str
    source_type: str
    licence: str
    attribution: str
    licence_url: str | None = None
    synthetic: bool = False  # made-up data (a contract marked synthetic, or a partner named "(fictional)")


OFFICIAL = Source(
    source_id=OFFICIAL_SOURCE_ID,
    name="United Nations Statistics Division, Global SDG Indicators Database",
    source_type="official",
    licence="United Nations terms of use",
    attribution=f"United Nations, Global SDG Indicators Database ({UN_DATABASE_URL})",
    licence_url=UN_TERMS_URL,
)

LICENCE_URLS = {"CC-BY-4.0": "https://creativecommons.org/licenses/by/4.0/",
                "CC0-1.0": "https://creativecommons.org/publicdomain/zero/1.0/",
                "CC-BY-SA-4.0": "https://creativecommons.org/licenses/by-sa/4.0/"}


def is_synthetic_label(text: str | None) -> bool:
    """A ``data_source`` (or a name) that says the data is made up."""
    if not text:
        return False
    return text.upper().startswith("SYNTHETIC") or "(fictional)" in text.lower()


def _yaml(path: Path) -> dict:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle) or {}


def _kobo_synthetic(contract: dict, root: Path) -> bool:
    for file_rule in contract.get("files") or []:
        kobo = file_rule.get("kobo_contract") if isinstance(file_rule, dict) else None
        if kobo:
            path = Path(kobo) if Path(kobo).is_absolute() else root / kobo
            if path.is_file() and _yaml(path).get("synthetic") is True:
                return True
    return False


def _surveys(kobo_contracts: Path | None, partners: dict[str, Source]) -> dict[str, Source]:
    """KoBo surveys publish under their ``survey_id``: their partner's (``organisation``) licence and
    attribution, and the survey's own ``synthetic`` flag."""
    surveys = {}
    for path in sorted(Path(kobo_contracts).glob("*.yml")) if kobo_contracts else []:
        contract = _yaml(path)
        survey_id = contract.get("survey_id")
        if not survey_id:
            continue
        partner = partners.get(str(contract.get("organisation")))
        title = str(contract.get("title") or survey_id)
        synthetic = contract.get("synthetic") is True or is_synthetic_label(title)
        surveys[survey_id] = Source(
            source_id=survey_id, name=f"{partner.name}: {title}" if partner else title,
            source_type=partner.source_type if partner else "citizen_generated",
            licence=partner.licence if partner else "licence not stated (no partner contract for this survey)",
            attribution=partner.attribution if partner else title,
            licence_url=partner.licence_url if partner else None,
            synthetic=synthetic or bool(partner and partner.synthetic))
    return surveys


def _platforms(national_contracts: Path | None) -> dict[str, Source]:
    """National platforms publish as ``national_<iso3>``, on their platform contract's licence and attribution."""
    platforms = {}
    for path in sorted(Path(national_contracts).glob("*.yml")) if national_contracts else []:
        contract = _yaml(path)
        platform = contract.get("platform") or {}
        source_id = f"national_{path.stem.lower()}"
        licence = str(contract.get("licence") or "licence not stated in the platform's contract")
        platforms[source_id] = Source(
            source_id=source_id, name=str(platform.get("name") or source_id), source_type="national_official",
            licence=licence, attribution=str(contract.get("attribution") or platform.get("name") or source_id),
            licence_url=LICENCE_URLS.get(licence))
    return platforms


def load_sources(partner_contracts: Path, project_root: Path, kobo_contracts: Path | None = None,
                 national_contracts: Path | None = None) -> dict[str, Source]:
    """Every source by id: the official one, one per partner contract, one per KoBo survey contract and one
    per national platform contract."""
    sources = {OFFICIAL.source_id: OFFICIAL, **_platforms(national_contracts)}
    for path in sorted(Path(partner_contracts).glob("*.yml")):
        contract = _yaml(path)
        partner = contract.get("partner") or {}
        if not isinstance(partner, dict) or not partner.get("id"):
            continue
        name = str(partner.get("name") or partner["id"])
        licence = str(contract.get("licence") or "licence not stated in the partner's contract")
        sources[partner["id"]] = Source(
            source_id=partner["id"], name=name, source_type=str(partner.get("type") or "civil_society"),
            licence=licence, attribution=str(contract.get("attribution") or name),
            licence_url=LICENCE_URLS.get(licence),
            synthetic=bool(contract.get("synthetic")) or _kobo_synthetic(contract, project_root)
            or is_synthetic_label(name) or is_synthetic_label(contract.get("attribution")),
        )
    return {**sources, **_surveys(kobo_contracts, sources)}


def source_for(source_id: str, source_type: str, sources: dict[str, Source]) -> Source:
    """The source of a published row; a partner without a contract any more is named as such, never guessed."""
    return sources.get(source_id) or Source(
        source_id=source_id, name=source_id, source_type=source_type,
        licence="unknown: no data contract found for this source", attribution=source_id)
