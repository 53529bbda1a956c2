"""National platform contracts: ``contracts/national/<iso3>.yml`` names the country, the platform's
licence and attribution, where its files come from, and only the words and columns that are its own
(everything Open SDG platforms share is in the seeds, ``vocabulary``)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from ingestion import canonical
from ingestion.config import PROJECT_ROOT
from ingestion.national.vocabulary import CANONICAL_FIELDS, Indicator
from ingestion.partners.codes import is_valid_code, label_key
from ingestion.partners.contract import ContractError
from ingestion.partners.contract_load import _ContractLoader, _schema_problem, _string_keys

SCHEMA_PATH = Path(__file__).with_name("platform_schema.json")
PARTNER_PREFIX = "national_"  # the platform's id among the sources: national_<iso3>, never a partner folder's


@dataclass(frozen=True)
class Source:
    folder: Path | None = None  # files as they are (and indicator-config/ beside them, if any)
    repository: Path | None = None  # a clone of the platform's data repository: data/, indicator-config/
    site: str | None = None  # <site>/data/indicator_<id>.csv over HTTP
    indicators: tuple[str, ...] = ()  # site: which indicators (ids as in the file names: 8-5-2)


@dataclass(frozen=True)
class Platform:
    iso3: str
    m49: int
    name: str
    licence: str
    attribution: str
    source: Source
    path: Path
    sha256: str
    url: str | None = None
    language: str = "en"
    notes: str | None = None
    columns: Mapping[str, str] = field(default_factory=dict)  # header key -> field or own breakdown name
    vocabularies: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # field -> label -> code
    series: Mapping[str, str] = field(default_factory=dict)  # national id -> UN series code
    overrides: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # national id -> {unit, columns}
    subject_markers: Mapping[str, str] = field(default_factory=dict)

    @property
    def source_id(self) -> str:
        return f"{PARTNER_PREFIX}{self.iso3.lower()}"

    def columns_for(self, indicator: Indicator) -> dict[str, str]:
        """Header key -> field or breakdown: the platform's columns, then the indicator's own."""
        own = self.overrides.get(indicator.national_id, {}).get("columns", {})
        return {**self.columns, **{label_key(header): target for header, target in own.items()}}

    def unit_for(self, indicator: Indicator) -> str | None:
        return self.overrides.get(indicator.national_id, {}).get("unit")


@lru_cache(maxsize=1)
def _schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def _m49(iso3: str) -> int | None:
    return next((int(row["m49_code"]) for row in canonical.seed_rows("iso3166_countries") if row["iso3"] == iso3), None)


def _national_id(text: str) -> str:
    return text.replace("-", ".").lower()


def load_platform(path: Path, *, base_dir: Path = PROJECT_ROOT) -> Platform:
    """Read and check a platform contract; ``ContractError`` lists every problem."""
    raw = path.read_bytes()
    try:
        data = _string_keys(yaml.load(raw.decode("utf-8"), Loader=_ContractLoader))  # noqa: S506 (a SafeLoader)
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ContractError(path, [f"not valid YAML: {exc}"]) from None
    problems = [_schema_problem(error) for error in
                sorted(jsonschema.Draft202012Validator(_schema()).iter_errors(data), key=lambda e: list(e.path))]
    if problems:
        raise ContractError(path, problems)
    platform, source = data["platform"], data["source"]
    m49 = _m49(platform["country"])
    if m49 is None:
        problems.append(f"platform.country: '{platform['country']}' is not an ISO 3166-1 alpha-3 code of seed iso3166_countries")
    places = [key for key in ("folder", "repository", "site") if key in source]
    if len(places) != 1:
        problems.append("source: name exactly one of folder, repository or site")
    if "indicators" in source and "site" not in source:
        problems.append("source.indicators: only for a site (a folder or repository is read whole)")
    for field_name, labels in data.get("vocabularies", {}).items():
        if field_name not in CANONICAL_FIELDS:
            problems.append(f"vocabularies.{field_name}: not a coded field (one of {', '.join(CANONICAL_FIELDS[2:])})")
            continue
        problems += [f"vocabularies.{field_name}.{label}: '{code}' is not a canonical {field_name} code"
                     for label, code in labels.items() if not is_valid_code(field_name, code)]
    for national_id, overrides in data.get("indicators", {}).items():
        if "unit" in overrides and not is_valid_code("unit", overrides["unit"]):
            problems.append(f"indicators.{national_id}.unit: '{overrides['unit']}' is not a unit code of seed units")
    if problems:
        raise ContractError(path, problems)

    def local(text: str) -> Path:
        return Path(text) if Path(text).is_absolute() else base_dir / text

    return Platform(
        iso3=platform["country"], m49=m49, name=platform["name"], licence=data["licence"],
        attribution=data["attribution"], path=path, sha256=hashlib.sha256(raw).hexdigest(),
        source=Source(folder=local(source["folder"]) if "folder" in source else None,
                      repository=local(source["repository"]) if "repository" in source else None,
                      site=source.get("site", "").rstrip("/") or None,
                      indicators=tuple(source.get("indicators", ()))),
        url=platform.get("url"), language=platform.get("language", "en"), notes=data.get("notes"),
        columns={label_key(header): target for header, target in data.get("columns", {}).items()},
        vocabularies=data.get("vocabularies", {}),
        series={_national_id(key): code for key, code in data.get("series", {}).items()},
        overrides={_national_id(key): value for key, value in data.get("indicators", {}).items()},
        subject_markers=data.get("subjects", {}).get("markers", {}),
    )


def platform_contracts(contracts_dir: Path) -> list[Path]:
    """The platform contracts of a folder, by country."""
    return sorted(contracts_dir.glob("*.yml")) if contracts_dir.is_dir() else []
