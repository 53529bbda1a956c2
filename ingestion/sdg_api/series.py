"""The curated default list of SDG series (``data/sdg_api/default_series.csv``)."""

from __future__ import annotations

import csv
from pathlib import Path

from ingestion.config import DEFAULT_SDG_SERIES_FILE, PROJECT_ROOT, Settings


def default_series(path: Path = PROJECT_ROOT / DEFAULT_SDG_SERIES_FILE) -> tuple[str, ...]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    unexplained = [row["series_code"] for row in rows if not (row.get("reason") or "").strip()]
    if unexplained:
        raise ValueError(f"{path}: every default series needs a reason; missing for {', '.join(unexplained)}")
    return tuple(row["series_code"].strip() for row in rows)


def configured_series(settings: Settings) -> tuple[str, ...]:
    """``SDG_SERIES`` when set, else the curated default list."""
    return settings.sdg_series if settings.sdg_series is not None else default_series()


def series_groups(series: tuple[str, ...], per_run: int) -> list[tuple[str, ...]]:
    """The series in runs of at most ``per_run``, in their configured order (each a contiguous range of the
    partitions, as Dagster runs a range)."""
    return [series[start:start + per_run] for start in range(0, len(series), per_run)]
