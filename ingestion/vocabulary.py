"""The canonical vocabulary, read from the dbt seeds (``dbt_project/seeds/*.csv``).

They are the files dbt loads, so the landing rules, the dbt models and the GX suites check against one
list: a unit the partner rules accept is a unit the marts know.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType

from ingestion.config import PROJECT_ROOT

SEEDS = PROJECT_ROOT / "dbt_project" / "seeds"


@lru_cache(maxsize=None)
def seed_rows(name: str) -> tuple[Mapping[str, str], ...]:
    """The rows of seed ``name`` (e.g. ``units``), read-only: every caller shares them."""
    with open(SEEDS / f"{name}.csv", newline="", encoding="utf-8") as handle:
        return tuple(MappingProxyType(row) for row in csv.DictReader(handle))


def unit_ranges() -> dict[str, tuple[float | None, float | None]]:
    """Unit code -> (min, max) a value in that unit can take; None where the seed gives no bound."""
    def bound(row: Mapping[str, str], column: str) -> float | None:
        text = (row.get(column) or "").strip()
        try:
            return float(text) if text else None
        except ValueError:
            raise ValueError(f"{SEEDS / 'units.csv'}: unit {row.get('code')!r} has {column} {text!r}, "
                             "not a number (leave it empty for no bound)") from None

    return {row["code"]: (bound(row, "min_value"), bound(row, "max_value")) for row in seed_rows("units")}
