"""The canonical vocabulary, read from the dbt seeds (``dbt_project/seeds/*.csv``).

They are the files dbt loads, so the landing rules, the dbt models and the GX suites check against one
list: a unit the partner rules accept is a unit the marts know.
"""

from __future__ import annotations

import csv
from functools import lru_cache

from ingestion.config import PROJECT_ROOT

SEEDS = PROJECT_ROOT / "dbt_project" / "seeds"


@lru_cache(maxsize=None)
def seed_rows(name: str) -> tuple[dict[str, str], ...]:
    """The rows of seed ``name`` (e.g. ``units``), as dictionaries of strings."""
    with open(SEEDS / f"{name}.csv", newline="", encoding="utf-8") as handle:
        return tuple(csv.DictReader(handle))


def unit_ranges() -> dict[str, tuple[float | None, float | None]]:
    """Unit code -> (min, max) a value in that unit can take; None where the seed gives no bound."""
    def bound(text: str | None) -> float | None:
        return float(text) if text and text.strip() else None

    return {row["code"]: (bound(row["min_value"]), bound(row["max_value"])) for row in seed_rows("units")}
