"""The shape every benchmark writes to reports/bench/<name>.json, so results compare across versions."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from collections.abc import Callable
from typing import Any

from ingestion.config import PROJECT_ROOT

REPORT_DIR = PROJECT_ROOT / "reports" / "bench"


@dataclass(frozen=True)
class BenchResult:
    name: str
    figures: dict[str, Any]
    reference: str  # what the figures are compared with
    ratio_to_reference: float
    target_ratio: float

    def write(self, directory: Path = REPORT_DIR) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{self.name}.json"
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")
        return path


def run_alone(run: Callable[[], BenchResult]) -> None:
    """What `python -m bench.bench_<name>` does: run the benchmark, print its figures and write its report."""
    result = run()
    print(json.dumps(result.figures, indent=2))
    print(f"ratio to reference ({result.reference}): {result.ratio_to_reference} (target {result.target_ratio})")
    print(result.write())
