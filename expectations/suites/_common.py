"""Building blocks shared by the suites: schema, lineage, canonical codes, ranges by unit, small cells.

Canonical code lists and unit ranges are read from the dbt seeds (``dbt_project/seeds/*.csv``), the
same files dbt loads, so a rule and the vocabulary it checks against cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache

from expectations.gx import gxe

import duckdb
import yaml

from ingestion import canonical
from ingestion.canonical import seed_rows, unit_ranges
from ingestion.landing import ensure_landing_tables

CRITICAL = "critical"  # blocks publication
WARNING = "warning"  # reported, does not block
# Area codes of the SDG API: M49 (1-999), and 5-digit codes for groupings outside M49 (99018, an FAO
# Major Fishing Area) that GeoArea/List and GeoArea/Tree list too.
API_AREA_CODE_MAX = 99_999
UNMAPPED = "unmapped"  # what dbt writes for a source code it could not translate

TypeSpec = str | Sequence[str]


@lru_cache(maxsize=None)
def _landing_tables() -> dict[str, dict[str, str]]:
    """Column name -> DuckDB type of every landing table, as ingestion creates them (in a scratch database)."""
    with duckdb.connect(":memory:") as con:
        ensure_landing_tables(con)
        rows = con.execute("select schema_name || '.' || table_name, column_name, data_type from duckdb_columns() "
                           "where database_name = current_database() order by column_index").fetchall()
    tables: dict[str, dict[str, str]] = {}
    for table, column, data_type in rows:
        tables.setdefault(table, {})[column] = data_type
    return tables


def landing_columns(table: str) -> dict[str, str]:
    """The columns and types landing declares for ``table`` (ingestion's DDL: the one place they are defined)."""
    return _landing_tables()[table]


def schema(columns: Mapping[str, TypeSpec], severity: str = CRITICAL) -> list[gxe.Expectation]:
    """Every column present, each with its DuckDB type (one type, or a tuple of acceptable ones).

    Evaluated on the table's column types (see ``expectations.runner``), not on its rows.
    """
    rules: list[gxe.Expectation] = [
        gxe.ExpectTableColumnsToMatchSet(column_set=list(columns), exact_match=False, severity=severity)
    ]
    for column, types in columns.items():
        accepted = [types] if isinstance(types, str) else list(types)
        rules.append(gxe.ExpectColumnValuesToBeInSet(column=column, value_set=accepted, severity=severity,
                                                     meta={"scope": "schema"}))
    return rules


def not_null(columns: Iterable[str], severity: str = CRITICAL, where: str | None = None) -> list[gxe.Expectation]:
    return [gxe.ExpectColumnValuesToNotBeNull(column=c, severity=severity, **_condition(where)) for c in columns]


def null(columns: Iterable[str], severity: str = CRITICAL, where: str | None = None) -> list[gxe.Expectation]:
    return [gxe.ExpectColumnValuesToBeNull(column=c, severity=severity, **_condition(where)) for c in columns]


def unique(columns: Sequence[str], severity: str = CRITICAL) -> gxe.Expectation:
    if len(columns) == 1:
        return gxe.ExpectColumnValuesToBeUnique(column=columns[0], severity=severity)
    return gxe.ExpectCompoundColumnsToBeUnique(column_list=list(columns), ignore_row_if="never", severity=severity)


def in_set(column: str, values: Iterable[str], severity: str = CRITICAL, where: str | None = None) -> gxe.Expectation:
    return gxe.ExpectColumnValuesToBeInSet(column=column, value_set=sorted(set(values)), severity=severity,
                                           **_condition(where))


def non_negative(columns: Iterable[str], severity: str = CRITICAL) -> list[gxe.Expectation]:
    return [gxe.ExpectColumnValuesToBeBetween(column=c, min_value=0, severity=severity) for c in columns]


def known_codes(columns: Iterable[str], severity: str = WARNING) -> list[gxe.Expectation]:
    """Codes of the closed vocabularies (sex, disability, location, income, reporting type, age
    groups) are ones the vocabulary seeds list; ``_T`` (total) and ``_U`` (unknown) included."""
    rules = []
    for column in columns:
        codes = vocabulary(column)
        if codes:
            rules.append(in_set(column, codes, severity))
    return rules


def value_ranges(value: str = "value", unit: str = "unit", severity: str = CRITICAL,
                 where: str | None = None) -> list[gxe.Expectation]:
    """``value`` within the range of its ``unit`` (seed ``units``): percent 0-100, counts and rates
    non-negative, per-N rates at most N; and a warning for a unit the seed does not know."""
    rules: list[gxe.Expectation] = []
    known = []
    for code, low, high in units():
        known.append(code)
        if low is None and high is None:
            continue
        condition = f'{unit} == "{code}"' + (f" and ({where})" if where else "")
        bounds = {k: v for k, v in (("min_value", low), ("max_value", high)) if v is not None}
        rules.append(gxe.ExpectColumnValuesToBeBetween(column=value, severity=severity, row_condition=condition,
                                                       condition_parser="pandas", **bounds))
    rules.append(in_set(unit, known, WARNING))
    return rules


def small_cells(min_cell_size: int, value: str = "value", sample_size: str = "sample_size",
                source_type: str = "source_type") -> gxe.Expectation:
    """Blocking: no cell of a source type that counts respondents (dbt var ``small_cell_sources``) shows a value
    when fewer than ``min_cell_size`` answered; where that var says so, a cell whose count is unknown is small."""
    size = int(min_cell_size)
    cases = [f'({source_type} == "{kind}" and ({sample_size} < {size}'
             + (f" or {sample_size}.isna()))" if unknown_is_small else "))")
             for kind, unknown_is_small in canonical.load().small_cell_sources.items()]
    return gxe.ExpectColumnValuesToBeNull(column=value, severity=CRITICAL, condition_parser="pandas",
                                          row_condition=" or ".join(cases))


def only_declared_columns(table: str) -> gxe.Expectation:
    """Blocking: the table has exactly the columns its dbt model declares (models/marts/_marts.yml), so no
    column nobody reviewed (a respondent's answer, a name, a phone number) can reach the published file."""
    return gxe.ExpectTableColumnsToMatchSet(column_set=declared_columns(table), exact_match=True, severity=CRITICAL,
                                            meta={"rule": "personal_columns"})


def declared_columns(table: str) -> list[str]:
    """The columns dbt declares for mart ``table`` (``marts.<model>``), in order."""
    schema, name = table.split(".")
    with open(canonical.DBT_PROJECT / "models" / schema / f"_{schema}.yml", encoding="utf-8") as handle:
        models = {model["name"]: model for model in yaml.safe_load(handle)["models"]}
    return [column["name"] for column in models[name]["columns"]]


def vocabulary(dimension: str) -> list[str]:
    """Canonical codes of ``dimension`` (seeds ``vocabulary`` and ``age_groups``); empty if open."""
    if dimension == "age_group":
        return [row["code"] for row in seed_rows("age_groups")]
    return [row["code"] for row in seed_rows("vocabulary") if row["dimension"] == dimension]


def units() -> list[tuple[str, float | None, float | None]]:
    """(unit code, min, max) from seed ``units``; None where the seed gives no bound."""
    return [(code, low, high) for code, (low, high) in unit_ranges().items()]


def _condition(where: str | None) -> dict[str, str]:
    return {"row_condition": where, "condition_parser": "pandas"} if where else {}
