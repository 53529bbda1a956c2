"""SQL text built from values: the one place that quotes a literal or an identifier for DuckDB.

Values reach SQL text only where DuckDB cannot take a parameter (ATTACH paths, COMMENT ON, read_json's
file lists and column types, generated test tables); everywhere else they are bound as parameters.
"""

from __future__ import annotations

from typing import Any


def literal(value: Any) -> str:
    """A SQL literal: NULL, a boolean, a number as written, else a string (quotes doubled, standard SQL:
    no backslash escapes)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def identifier(name: str) -> str:
    """A quoted SQL identifier (double quotes doubled), for names that are not ours (partners' columns,
    API fields)."""
    return '"' + name.replace('"', '""') + '"'
