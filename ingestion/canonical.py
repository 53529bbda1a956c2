"""The canonical model, read from where it lives: the ``vars`` of ``dbt_project/dbt_project.yml`` (dimensions,
grain, small-cell rule, closed code lists) and the dbt seeds (code lists, units and their ranges).

dbt reads the same ``vars`` with ``var()`` and loads the same seeds, so the landing rules, the dbt models and
tests, and the GX suites check against one definition: change a rule there and every layer follows.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

DBT_PROJECT = Path(__file__).resolve().parent.parent / "dbt_project"


@dataclass(frozen=True)
class CanonicalModel:
    dimensions: tuple[str, ...]
    observation_identity: tuple[str, ...]
    observation_qualifiers: tuple[str, ...]
    suppression_family: tuple[str, ...]
    closed_code_lists: tuple[str, ...]
    total_code: str
    default_min_cell_size: int
    # source type -> whether a cell of unknown size counts as small
    small_cell_sources: Mapping[str, bool]
    source_types: tuple[str, ...] = ()  # most authoritative first
    official_source_types: tuple[str, ...] = ()  # published aggregates: never suppressed, compared with

    @property
    def landed_source_types(self) -> tuple[str, ...]:
        """What the partner landing tables hold: every kind of source but the UN database."""
        return tuple(kind for kind in self.source_types if kind != "official")

    @property
    def observation_grain(self) -> tuple[str, ...]:
        """The columns that identify one observation, in the order dbt hashes them."""
        return (*self.observation_identity, *self.dimensions, *self.observation_qualifiers)


def model_from_vars(values: Mapping[str, Any]) -> CanonicalModel:
    """The model from a ``vars`` mapping (dbt_project.yml's, or one a test writes)."""
    def names(key: str) -> tuple[str, ...]:
        return tuple(str(item) for item in values[key])

    return CanonicalModel(
        dimensions=names("dimensions"),
        observation_identity=names("observation_identity"),
        observation_qualifiers=names("observation_qualifiers"),
        suppression_family=names("suppression_family"),
        closed_code_lists=names("closed_code_lists"),
        total_code=str(values["total_code"]),
        default_min_cell_size=int(values["min_cell_size"]),
        small_cell_sources=MappingProxyType({str(k): bool(v) for k, v in values["small_cell_sources"].items()}),
        source_types=names("source_types"),
        official_source_types=names("official_source_types"),
    )


def load() -> CanonicalModel:
    """The model the dbt project declares (read once per process)."""
    return _load(DBT_PROJECT)


@lru_cache(maxsize=None)
def _load(project_dir: Path) -> CanonicalModel:
    with open(project_dir / "dbt_project.yml", encoding="utf-8") as handle:
        return model_from_vars(yaml.safe_load(handle)["vars"])


def dbt_vars(min_cell_size: int) -> dict[str, Any]:
    """What a dbt invocation receives with ``--vars``: the settings that override the project's defaults."""
    return {"min_cell_size": int(min_cell_size)}


@lru_cache(maxsize=None)
def seed_rows(name: str, project_dir: Path = DBT_PROJECT) -> tuple[Mapping[str, str], ...]:
    """The rows of seed ``name`` (e.g. ``units``), read-only: every caller shares them."""
    with open(project_dir / "seeds" / f"{name}.csv", newline="", encoding="utf-8") as handle:
        return tuple(MappingProxyType(row) for row in csv.DictReader(handle))


def code_list(dimension: str, project_dir: Path = DBT_PROJECT) -> frozenset[str]:
    """Canonical codes of ``dimension`` (seeds ``vocabulary`` and ``age_groups``); empty when none is listed."""
    if dimension == "age_group":
        return frozenset(row["code"] for row in seed_rows("age_groups", project_dir))
    return frozenset(row["code"] for row in seed_rows("vocabulary", project_dir) if row["dimension"] == dimension)


def unit_ranges(project_dir: Path = DBT_PROJECT) -> dict[str, tuple[float | None, float | None]]:
    """Unit code -> (min, max) a value in that unit can take; None where the seed gives no bound."""
    def bound(row: Mapping[str, str], column: str) -> float | None:
        text = (row.get(column) or "").strip()
        try:
            return float(text) if text else None
        except ValueError:
            raise ValueError(f"{project_dir / 'seeds' / 'units.csv'}: unit {row.get('code')!r} has {column} "
                             f"{text!r}, not a number (leave it empty for no bound)") from None

    return {row["code"]: (bound(row, "min_value"), bound(row, "max_value")) for row in seed_rows("units", project_dir)}
