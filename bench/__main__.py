"""`make bench`: run every bench/bench_*.py, print its figures and write reports/bench/<name>.json."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path


def main() -> int:
    modules = sorted(Path(__file__).parent.glob("bench_*.py"))
    if not modules:
        print("No benchmarks yet: each capability issue adds its own as bench/bench_<name>.py.")
        return 0
    for module_path in modules:
        module = importlib.import_module(f"bench.{module_path.stem}")
        result = module.run()
        path = result.write()
        print(f"{result.name}: {json.dumps(result.figures)}")
        print(f"  ratio to reference ({result.reference}): {result.ratio_to_reference:.2f} "
              f"(target {result.target_ratio}) -> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
