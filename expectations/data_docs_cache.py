"""Compile GX's Data Docs templates once per process.

GX builds a new Jinja environment for every Data Docs page it renders, so every page compiled GX's
templates again: about half the time a check takes on a small table, and a third of main_job's checks.
One in-memory bytecode cache, given to each of those environments, compiles each template once; Jinja
checks every cached template against its source, so a changed template is compiled again.
"""

from __future__ import annotations

from great_expectations.render.view.view import DefaultJinjaView
from jinja2 import BytecodeCache
from jinja2.bccache import Bucket


class MemoryBytecodeCache(BytecodeCache):
    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        if bucket.key in self._code:
            bucket.bytecode_from_string(self._code[bucket.key])

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


_CACHE = MemoryBytecodeCache()


def share_template_cache() -> None:
    """Give every GX Jinja view (created from now on) the process's one bytecode cache. Idempotent."""
    original = DefaultJinjaView.__init__
    if getattr(original, "shares_template_cache", False):
        return

    def __init__(self, *args, **kwargs) -> None:  # noqa: N807 (GX's own constructor, wrapped)
        original(self, *args, **kwargs)
        self.env.bytecode_cache = _CACHE

    __init__.shares_template_cache = True
    DefaultJinjaView.__init__ = __init__
