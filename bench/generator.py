"""The benchmark warehouse generator (scripts/generate_bench_warehouse.py), loaded as a module."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

from ingestion.config import PROJECT_ROOT


def load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generate_bench_warehouse",
                                                  PROJECT_ROOT / "scripts" / "generate_bench_warehouse.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module
