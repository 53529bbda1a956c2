"""Where each canonical field of a staged file comes from: a column of the header, a contract constant,
or (wide files) the header of a value column; and what becomes of the columns the contract does not name.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

import duckdb

from ingestion.partners.codes import CODED_FIELDS, DIMENSIONS, Problem, label_key
from ingestion.partners.contract import FileSpec
from ingestion.partners.evaluate.privacy import PROFILE_WIDTH, column_profile, not_a_breakdown
from ingestion.partners.read import CELLS, FileRejected, StagedFile

# Fields read from one cell each (besides the coded ones): numbers and the period.
PARSED_FIELDS = ("period", "value", "sample_size", "lower_bound", "upper_bound")


@dataclass(frozen=True)
class Source:
    kind: str  # column | constant | wide
    column: int | None = None
    header: str | None = None
    constant: str | None = None


@dataclass
class Layout:
    sources: dict[str, Source] = field(default_factory=dict)  # field or dimension -> where it comes from
    custom_dimensions: list[tuple[str, Source]] = field(default_factory=list)  # the partner's own breakdowns
    unmapped: list[tuple[str, int]] = field(default_factory=list)  # columns not in the contract: kept as breakdowns
    withheld: list[tuple[str, int, str]] = field(default_factory=list)  # (header, position, why): not stored
    attributes: list[tuple[str, int]] = field(default_factory=list)
    wide_columns: list[tuple[int, str]] = field(default_factory=list)
    ignored_blank: list[str] = field(default_factory=list)

    @property
    def withheld_positions(self) -> frozenset[int]:
        return frozenset(position for _, position, _ in self.withheld)


@dataclass
class FieldCells:
    """Per field read from cells (not constants): SQL for the cells, for their header, and (coded
    fields) the prefix of the lookup columns. Filled by ``labels`` and ``numbers``, read by the checks."""

    raw: dict[str, str] = field(default_factory=dict)
    header: dict[str, str] = field(default_factory=dict)
    prefix: dict[str, str] = field(default_factory=dict)


def _base_key(display_name: str) -> str:
    # read.plan_header shows a repeated header as "Name (2)"; they are the same header.
    key = label_key(display_name)
    if key.endswith(")") and " (" in key and key.rsplit(" (", 1)[1][:-1].isdigit():
        return key.rsplit(" (", 1)[0]
    return key


def _header_index(staged: StagedFile) -> dict[str, list[int]]:
    index: dict[str, list[int]] = {}
    for position, name in enumerate(staged.headers):
        index.setdefault(_base_key(name), []).append(position)
    return index


def resolve_layout(con: duckdb.DuckDBPyConnection, spec: FileSpec, staged: StagedFile) -> Layout:
    """Find each contract column in the header; raise ``FileRejected`` listing all that are missing."""
    index = _header_index(staged)
    layout = Layout()
    missing, duplicated = [], []
    used: set[int] = set()
    for name, ref in [*spec.columns.items(), *spec.dimensions.items()]:
        found = next((key for key in map(label_key, ref.headers) if key in index), None)
        if found is None:
            if ref.required:
                missing.append((name, ref))
            continue
        positions = index[found]
        if len(positions) > 1:
            duplicated.append((name, ref, len(positions)))
            continue
        source = Source("column", positions[0], staged.headers[positions[0]])
        used.add(positions[0])
        if name in CODED_FIELDS or name in PARSED_FIELDS:
            layout.sources[name] = source
        else:
            layout.custom_dimensions.append((name, source))
    for name, value in spec.constants.items():
        layout.sources[name] = Source("constant", constant=value)
    for header in spec.attributes:
        for position in index.get(label_key(header), []):
            if position not in used:
                layout.attributes.append((staged.headers[position], position))
                used.add(position)
    if spec.wide:
        layout.wide_columns = [(position, name) for position, name in enumerate(staged.headers)
                               if position not in used and spec.wide.is_value_column(name)]
        used.update(position for position, _ in layout.wide_columns)
        if spec.wide.header_is in DIMENSIONS or spec.wide.header_is == "period":
            layout.sources[spec.wide.header_is] = Source("wide")
        else:
            layout.custom_dimensions.append((spec.wide.header_is, Source("wide")))
    _refuse_missing(spec, staged, layout, missing, duplicated)
    _sort_unnamed(con, staged, layout, [position for position in range(len(staged.headers)) if position not in used],
                  spec.keep_unnamed)
    return layout


def _refuse_missing(spec: FileSpec, staged: StagedFile, layout: Layout, missing: list, duplicated: list) -> None:
    problems = []
    if missing or (spec.wide and not layout.wide_columns):
        present = ", ".join(f"'{name}'" for name in staged.headers) or "(none)"
        lines = []
        for name, ref in missing:
            close = difflib.get_close_matches(ref.headers[0], staged.headers, n=1, cutoff=0.6)
            hint = f" (is '{close[0]}' meant to be it?)" if close else ""
            lines.append(f"{ref.display} for {name}{hint}")
        if spec.wide and not layout.wide_columns:
            lines.append("at least one value column (one per year or group)")
        problems.append(Problem(
            "required_columns_missing",
            f"required column(s) missing: {'; '.join(lines)}. The header (row {staged.header_row}) has: {present}",
            "Use the column names agreed in your contract (spelling matters, upper/lower case does not), "
            "or tell us the new names so we update the contract."))
    for name, ref, count in duplicated:
        problems.append(Problem(
            "duplicate_columns", f"the column {ref.display} (for {name}) appears {count} times",
            "Keep one column with that name, or rename the others."))
    if problems:
        raise FileRejected(problems)


def _sort_unnamed(con: duckdb.DuckDBPyConnection, staged: StagedFile, layout: Layout, rest: list[int],
                  spec_keeps_all: bool = False) -> None:
    """The columns the contract does not name: empty (ignored), personal or free text (withheld), or
    kept as breakdowns (unmapped)."""
    if not rest:
        return
    measures = con.execute(
        "select " + ", ".join(column_profile(f"c{p}") for p in rest)
        + f" from {CELLS} where rowid >= {staged.header_row}").fetchone()
    for number, position in enumerate(rest):
        header = staged.headers[position]
        count, distinct, longest, contacts, with_digits = measures[PROFILE_WIDTH * number:PROFILE_WIDTH * (number + 1)]
        if not count:
            layout.ignored_blank.append(header)
        elif not spec_keeps_all and (why := not_a_breakdown(header, count, distinct, longest, contacts, with_digits)) is not None:
            layout.withheld.append((header, position, why))
        else:
            layout.unmapped.append((header, position))
