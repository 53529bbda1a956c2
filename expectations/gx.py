"""Great Expectations, imported on first use.

Importing GX costs about 3 s. The code location names every suite's check when it loads (the UI, each
CLI call, each run's process), but only a check step that validates needs GX itself; suites refer to
``gxe`` from here, and the first attribute looked up imports ``great_expectations.expectations``.
"""

from __future__ import annotations

import importlib
from typing import Any


class _Deferred:
    def __init__(self, module: str) -> None:
        self._module_name = module

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # tools that inspect objects (pytest's collection, copy, pickle) import nothing
            raise AttributeError(name)
        return getattr(importlib.import_module(self._module_name), name)


def deferred(module: str) -> Any:
    """``module``, imported when one of its attributes is first looked up."""
    return _Deferred(module)


gxe: Any = deferred("great_expectations.expectations")
