"""A platform's files as the partner pipeline reads them: one contract for the platform whose file entries
are made from each file's name and header (the indicator from the name, each column from the shared and
the platform's column names, the unit from the file, the contract or the platform's indicator
configuration), so no one writes an entry per indicator.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ingestion import canonical
from ingestion.national.platform import Platform
from ingestion.national.vocabulary import (
    Indicator,
    age_code,
    indicator_of,
    merge_vocabularies,
    series_code_for,
    shared_columns,
    shared_vocabularies,
)
from ingestion.partners.codes import DIMENSIONS, Problem, label_key
from ingestion.partners.contract import ColumnRef, Contract, FileSpec, ReadOptions, SubjectSpec
from ingestion.partners.read.subjects import subject_of

SOURCE_TYPE = "national_official"
NATURE = "C"  # SDMX nature: country data, as the country produced it
SUBJECT_COLUMN = "Series"


@dataclass
class PlatformContract:
    contract: Contract
    problems: dict[str, list[Problem]] = field(default_factory=dict)  # file name -> why it cannot be read


def _header(path: Path) -> list[str]:
    """The first row as text (platforms write UTF-8, often with a byte-order mark); [] when unreadable."""
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            with open(path, newline="", encoding=encoding) as handle:
                return next(csv.reader(handle), [])
        except (UnicodeDecodeError, csv.Error):
            continue
        except OSError:
            return []
    return []


def _configured_unit(config_dir: Path | None, indicator: Indicator) -> str | None:
    path = config_dir / f"{indicator.slug}.yml" if config_dir else None
    if not path or not path.is_file():
        return None
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    units = config.get("computation_units") if isinstance(config, dict) else None
    return str(units).strip() if units else None


def _subjects(header: list[str], markers: Mapping[str, str]) -> tuple[str, ...]:
    found: list[str] = []
    for name in header:
        split = subject_of(name)
        if split and split[1] not in found:
            found.append(split[1])
    found += [subject for key, subject in markers.items() if subject not in found
              and any(label_key(name) == label_key(key) for name in header)]
    return tuple(found) if len(found) > 1 else ()


def _file_spec(index: int, path: Path, indicator: Indicator, platform: Platform, columns: Mapping[str, str],
               vocabularies: Mapping[str, Mapping[str, str]], config_dir: Path | None) -> FileSpec | Problem:
    header = _header(path)
    subjects = _subjects(header, platform.subject_markers)
    bases = []
    for name in header:
        split = subject_of(name) if subjects else None
        base = split[0] if split and split[1] in subjects else name
        if base not in bases:
            bases.append(base)
    refs: dict[str, list[str]] = {}
    for base in bases:
        target = columns.get(label_key(base))
        if target:
            refs.setdefault(target, []).append(base)
    constants = {"indicator_code": indicator.code, "geo_area_m49": str(platform.m49), "nature": NATURE}
    fields = {"period": ColumnRef(tuple(refs.pop("period", ["Year"]))), "value": ColumnRef(tuple(refs.pop("value", ["Value"])))}
    if subjects:
        fields["series_code"] = ColumnRef((SUBJECT_COLUMN,))
    else:
        constants["series_code"] = platform.series.get(indicator.national_id) or series_code_for(platform.iso3, indicator)
    refs.pop("series_code", None)  # a series column in words cannot be a code; the indicator names the series
    unit_columns = refs.pop("unit", [])
    if (unit := platform.unit_for(indicator)) is not None:
        constants["unit"] = unit
    elif unit_columns:
        fields["unit"] = ColumnRef(tuple(unit_columns))
    elif (configured := _configured_unit(config_dir, indicator)) is not None:
        code = vocabularies.get("unit", {}).get(label_key(configured))
        if code is None:
            return Problem("unknown_unit", f"the platform's configuration gives the unit '{configured}', which no crosswalk knows",
                           f"Add it to vocabularies.unit in {platform.path.name} (or to the seed label_crosswalk, "
                           "vocabulary open_sdg, if every platform writes it so).")
        constants["unit"] = code
    else:
        return Problem("no_unit", "the file has no Units column and the platform's indicator configuration gives no unit",
                       f"Give it in {platform.path.name}: indicators: {{'{indicator.national_id}': {{unit: PT}}}} (a code of seed units).")
    dimensions = {target: ColumnRef(tuple(headers), required=False) for target, headers in refs.items()}
    markers = {name: subject for name, subject in platform.subject_markers.items() if subject in subjects}
    return FileSpec(
        index=index, label=f"indicator {indicator.national_id}", patterns=(path.name,), format="open_sdg",
        read=ReadOptions(), constants=constants, columns=fields, dimensions=dimensions, attributes=(),
        personal_data=(), missing_values=(), wide=None, keep_unnamed=True,
        subjects=SubjectSpec(subjects, SUBJECT_COLUMN, markers,
                             {subject: series_code_for(platform.iso3, indicator, subject) for subject in subjects})
        if subjects else None,
    )


def _digest(platform: Platform, config_dir: Path | None) -> str:
    """What the landed rows depend on besides each file's bytes: the contract, the shared crosswalk and the
    indicator configurations (a change to any of them lands the platform again)."""
    digest = hashlib.sha256(platform.sha256.encode())
    for seed in ("label_crosswalk", "open_sdg_columns"):
        digest.update(repr(canonical.seed_rows(seed)).encode())
    for path in sorted(config_dir.glob("*.yml")) if config_dir and config_dir.is_dir() else []:
        digest.update(path.name.encode() + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def platform_contract(platform: Platform, files: list[Path], config_dir: Path | None) -> PlatformContract:
    """The contract the partner pipeline reads ``files`` with, and the files it cannot read."""
    vocabularies = merge_vocabularies(shared_vocabularies(), platform.vocabularies)
    shared = shared_columns()
    specs: list[FileSpec] = []
    out_problems: dict[str, list[Problem]] = {}
    for path in files:
        indicator = indicator_of(path.name)
        if indicator is None:
            out_problems[path.name] = [Problem(
                "no_indicator_code", f"the file name '{path.name}' holds no indicator code",
                "Platform files are named after their indicator, such as indicator_8-5-2.csv; rename it, or remove it from the platform's data folder.")]
            continue
        spec = _file_spec(len(specs), path, indicator, platform, {**shared, **platform.columns_for(indicator)},
                          vocabularies, config_dir)
        if isinstance(spec, Problem):
            out_problems[path.name] = [spec]
        else:
            specs.append(spec)
    contract = Contract(
        partner_id=platform.source_id, name=platform.name, type=SOURCE_TYPE, licence=platform.licence,
        attribution=platform.attribution, path=platform.path, sha256=_digest(platform, config_dir),
        vocabularies={name: labels for name, labels in vocabularies.items() if name in (*DIMENSIONS, "unit")},
        files=tuple(specs), notes=platform.notes, label_rules={"age_group": age_code})
    return PlatformContract(contract, out_problems)
