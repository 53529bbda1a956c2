"""Loading a partner contract: ``contracts/partners/<partner_id>.yml``, validated against
``contract_schema.json`` and then checked for meaning (codes exist, every key field has a source).
Every problem names the contract file, the field and what to write instead.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from ingestion.config import PROJECT_ROOT
from ingestion.kobo import KoboContract, KoboContractError
from ingestion.kobo import load_contract as load_kobo_contract
from ingestion.partners.codes import (
    CODED_FIELDS,
    DIMENSIONS,
    FIELDS,
    KEY_FIELDS,
    allowed_codes_hint,
    is_valid_code,
    label_key,
)
from ingestion.partners.contract import (
    KOBO_FORMAT,
    TABULAR_FORMATS,
    ColumnRef,
    Contract,
    ContractError,
    FileSpec,
    ReadOptions,
    WideSpec,
)

SCHEMA_PATH = Path(__file__).with_name("contract_schema.json")
# What a KoBo entry must not have: its survey contract alone says how the export is read and what is
# personal, so a second description here could only disagree with it.
# (`wide` has its own message, below.)
_TABULAR_ONLY = ("read", "constants", "columns", "dimensions", "attributes", "personal_data", "missing_values")


class _ContractLoader(yaml.SafeLoader):
    """YAML without the 1.1 surprises: ``No``, ``yes``, ``on``, ``off`` stay text (a label such as
    ``No`` must not become ``false``); only ``true``/``false`` are booleans."""


_ContractLoader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.copy().items()
}
_ContractLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _string_keys(node: Any) -> Any:
    # Labels such as 1 or 2019 are mapping keys too; the contract compares text.
    if isinstance(node, dict):
        return {str(key): _string_keys(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_string_keys(item) for item in node]
    return node


@lru_cache(maxsize=1)
def contract_schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def _path_text(path: Iterator[Any] | Any) -> str:
    parts = []
    for part in path:
        parts.append(f"[{part}]" if isinstance(part, int) else (f".{part}" if parts else str(part)))
    return "".join(parts) or "(top level)"


def _schema_problem(error: jsonschema.ValidationError) -> str:
    where = _path_text(error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    if error.validator == "additionalProperties":
        allowed = sorted(schema.get("properties", {}))
        unexpected = sorted(set(error.instance) - set(allowed)) if isinstance(error.instance, dict) else []
        hints = []
        for name in unexpected:
            close = difflib.get_close_matches(name, allowed, n=1)
            hints.append(f"'{name}'" + (f" (did you mean '{close[0]}'?)" if close else ""))
        return (f"{where}: unknown field {', '.join(hints)}. Fix: remove it or correct the spelling; "
                f"allowed here: {', '.join(allowed)}")
    if error.validator == "required":
        return f"{where}: {error.message}. Fix: add it (see contracts/partners/README.md)"
    if error.validator in ("enum", "const"):
        choices = schema.get("enum") or [schema.get("const")]
        return f"{where}: {error.instance!r} is not allowed. Fix: use one of {', '.join(map(repr, choices))}"
    if error.validator == "pattern":
        return (f"{where}: {error.instance!r} has the wrong form. Fix: use lower-case letters, digits and '_' "
                f"(pattern {schema.get('pattern')})")
    if error.validator == "propertyNames":
        return f"{where}: a name has the wrong form. Fix: use lower-case letters, digits and '_' ({error.message})"
    if error.validator == "oneOf":
        return f"{where}: {error.instance!r} has the wrong shape. Fix: {schema.get('description', 'see the schema')}"
    if error.validator == "type":
        return f"{where}: {error.instance!r} must be of type {schema.get('type')}"
    return f"{where}: {error.message}"


def _column(value: Any) -> ColumnRef:
    if isinstance(value, str):
        return ColumnRef((value,))
    if isinstance(value, list):
        return ColumnRef(tuple(value))
    headers = value["header"]
    return ColumnRef((headers,) if isinstance(headers, str) else tuple(headers), bool(value.get("required", True)))


def _check_code(field_name: str, code: Any, where: str, problems: list[str]) -> str:
    text = str(code).strip()
    if field_name == "geo_area_m49":
        if not (text.isdigit() and 0 < int(text) < 1000):
            problems.append(f"{where}: {code!r} is not an M49 area code. Fix: use the UN M49 number, e.g. 4 for Afghanistan")
        return str(int(text)) if text.isdigit() else text
    if field_name == "period":
        return text
    checked = field_name if field_name in CODED_FIELDS else "custom"
    if not is_valid_code(checked, text):
        problems.append(f"{where}: {code!r} is not a valid {field_name} code. Fix: use {allowed_codes_hint(checked)}")
    return text


def _kobo_survey(where: str, entry: dict[str, Any], partner_id: str, base_dir: Path,
                 problems: list[str]) -> KoboContract | None:
    """The KoBo survey contract a ``format: kobo`` entry names, or None (with the problems) if unusable."""
    for name in _TABULAR_ONLY:
        if name in entry:
            problems.append(f"{where}.{name}: a KoBo export is described by its survey contract (fields, personal, "
                            f"export), not here. Fix: remove '{name}' (see contracts/kobo/README.md)")
    written = entry.get("kobo_contract")
    if written is None:
        problems.append(f"{where}: format 'kobo' needs the survey contract. Fix: add kobo_contract: "
                        "contracts/kobo/<survey_id>.yml (a path from the repository root; see contracts/kobo/README.md)")
        return None
    path = Path(written)
    path = path if path.is_absolute() else Path(base_dir) / path
    if not path.is_file():
        problems.append(f"{where}.kobo_contract: {written} does not exist. Fix: write the survey contract there "
                        "(see contracts/kobo/README.md) or correct the path (relative to the repository root)")
        return None
    try:
        survey = load_kobo_contract(path, base_dir=base_dir)
    except KoboContractError as exc:
        detail = str(exc).replace("\n", "\n      ")
        problems.append(f"{where}.kobo_contract: the survey contract {written} is not valid:\n      {detail}\n    "
                        "Fix: correct the survey contract as each line says (see contracts/kobo/README.md)")
        return None
    if survey.organisation != partner_id:
        # The survey's figures are published under its organisation: it must be the partner sending them.
        problems.append(f"{where}.kobo_contract: the survey contract {written} belongs to organisation "
                        f"'{survey.organisation}', not to this partner. Fix: set organisation: {partner_id} in it, "
                        "or name this partner's own survey contract")
        return None
    return survey


def _file_spec(index: int, entry: dict[str, Any], problems: list[str], partner_id: str, base_dir: Path) -> FileSpec:
    where = f"files[{index}]"
    read = entry.get("read", {})
    header_row = read.get("header_row", "auto")
    constants_raw = entry.get("constants", {})
    columns = {name: _column(value) for name, value in entry.get("columns", {}).items()}
    dimensions = {name: _column(value) for name, value in entry.get("dimensions", {}).items()}
    wide_raw = entry.get("wide")
    wide = None
    if wide_raw:
        wide = WideSpec(wide_raw["header_is"], tuple(wide_raw.get("value_columns", ())), wide_raw.get("value_columns_match"))
    spec_format = entry["format"]

    constants: dict[str, str] = {}
    for name, value in constants_raw.items():
        if name == "value":
            problems.append(f"{where}.constants.value: a value cannot be a constant. Fix: map the value column under 'columns'")
        elif name not in FIELDS and name not in DIMENSIONS:
            problems.append(f"{where}.constants.{name}: unknown field. Fix: use one of {', '.join(FIELDS + DIMENSIONS)}")
        else:
            constants[name] = _check_code(name, value, f"{where}.constants.{name}", problems)
        if name in columns or name in dimensions:
            problems.append(f"{where}.constants.{name}: also mapped to a column. Fix: keep either the constant or the column")

    for name in dimensions:
        if name in FIELDS:
            problems.append(f"{where}.dimensions.{name}: '{name}' is a field, not a dimension. Fix: move it under 'columns'")

    if spec_format == "wide":
        if wide is None:
            problems.append(f"{where}: format 'wide' needs a 'wide' section. Fix: add wide: {{header_is: period, value_columns_match: '^\\d{{4}}$'}}")
        else:
            if not wide.value_columns and not wide.value_columns_match:
                problems.append(f"{where}.wide: say which columns hold values. Fix: add value_columns (a list) or value_columns_match (a pattern)")
            if wide.value_columns_match:
                try:
                    re.compile(wide.value_columns_match)
                except re.error as exc:
                    problems.append(f"{where}.wide.value_columns_match: not a valid regular expression ({exc})")
            if wide.header_is in columns or wide.header_is in dimensions or wide.header_is in constants:
                problems.append(f"{where}.wide.header_is: '{wide.header_is}' is also mapped elsewhere. Fix: map it only once")
            if wide.header_is in FIELDS and wide.header_is != "period":
                problems.append(f"{where}.wide.header_is: must be 'period' or a dimension name, not '{wide.header_is}'")
        if "value" in columns:
            problems.append(f"{where}.columns.value: a wide file has one value column per {wide.header_is if wide else 'year'}. Fix: remove columns.value")
    elif wide is not None:
        problems.append(f"{where}.wide: only used with format 'wide'. Fix: remove it or set format: wide")

    kobo = None
    if spec_format == KOBO_FORMAT:
        kobo = _kobo_survey(where, entry, partner_id, base_dir, problems)
    elif "kobo_contract" in entry:
        problems.append(f"{where}.kobo_contract: only used with format 'kobo'. Fix: remove it or set format: kobo")

    if spec_format in TABULAR_FORMATS:
        wide_field = wide.header_is if wide else None
        needed = [*KEY_FIELDS] + ([] if spec_format == "wide" else ["value"])
        for name in needed:
            if name not in columns and name not in constants and name != wide_field:
                problems.append(f"{where}: no source for '{name}'. Fix: map it under 'columns' or give it under 'constants'")

    mapped = [header for ref in [*columns.values(), *dimensions.values()] for header in ref.headers]
    for header in entry.get("personal_data", []):
        if label_key(header) in {label_key(name) for name in mapped + list(entry.get("attributes", []))}:
            problems.append(f"{where}.personal_data: '{header}' is also mapped as data. Fix: personal columns are dropped; map it only once")

    patterns = entry["pattern"]
    return FileSpec(
        index=index,
        label=entry.get("label") or (patterns if isinstance(patterns, str) else patterns[0]),
        patterns=(patterns,) if isinstance(patterns, str) else tuple(patterns),
        format=spec_format,
        read=ReadOptions(
            encoding=read.get("encoding", "auto"),
            delimiter=read.get("delimiter", "auto"),
            decimal=read.get("decimal", "auto"),
            sheet=read.get("sheet"),
            header_row=None if header_row == "auto" else int(header_row),
        ),
        constants=constants,
        columns=columns,
        dimensions=dimensions,
        attributes=tuple(entry.get("attributes", ())),
        personal_data=tuple(entry.get("personal_data", ())),
        missing_values=tuple(str(marker) for marker in entry.get("missing_values", ())),
        wide=wide,
        kobo_contract=entry.get("kobo_contract"),
        kobo=kobo,
    )


def _vocabularies(data: dict[str, Any], files: list[FileSpec], problems: list[str]) -> dict[str, dict[str, str]]:
    used = {name for spec in files for name in [*spec.columns, *spec.dimensions]}
    used |= {spec.wide.header_is for spec in files if spec.wide}
    vocabularies: dict[str, dict[str, str]] = {}
    for field_name, labels in data.get("vocabularies", {}).items():
        where = f"vocabularies.{field_name}"
        if field_name in ("period", "value", "sample_size", "lower_bound", "upper_bound"):
            problems.append(f"{where}: {field_name} is read as a number or period, not looked up. Fix: remove this vocabulary")
            continue
        if field_name not in used:
            close = difflib.get_close_matches(field_name, sorted(used | set(CODED_FIELDS)), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            problems.append(f"{where}: no file entry maps a column to '{field_name}'{hint}. Fix: map the column under "
                            f"'dimensions' or 'columns', or remove the vocabulary")
        mapping: dict[str, str] = {}
        for label, code in labels.items():
            key = label_key(str(label))
            checked = _check_code(field_name, code, f"{where}.{label}", problems)
            if key in mapping and mapping[key] != checked:
                problems.append(f"{where}: '{label}' is listed twice with different codes ({mapping[key]}, {checked}); "
                                f"labels are compared ignoring case and spaces. Fix: keep one")
            mapping[key] = checked
        vocabularies[field_name] = mapping
    return vocabularies


def load_contract(path: Path, *, base_dir: Path = PROJECT_ROOT) -> Contract:
    """Read and check one contract file; raises ``ContractError`` listing every problem.

    ``base_dir`` is what a ``kobo_contract`` path is relative to: the repository root."""
    path = Path(path)
    try:
        raw_bytes = path.read_bytes()
    except OSError as exc:
        raise ContractError(path, [f"cannot read the file ({exc.strerror})"]) from exc
    try:
        data = _string_keys(yaml.load(raw_bytes.decode("utf-8"), Loader=_ContractLoader))  # noqa: S506 -- safe loader subclass
    except UnicodeDecodeError as exc:
        raise ContractError(path, [f"not UTF-8 text ({exc.reason} at byte {exc.start}). Fix: save the contract as UTF-8"]) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ContractError(path, [f"{where}not valid YAML ({getattr(exc, 'problem', exc)}). Fix: check indentation and quoting there"]) from exc
    if not isinstance(data, dict):
        raise ContractError(path, ["the file must be a YAML mapping (field: value lines), see contracts/partners/README.md"])

    validator = jsonschema.Draft202012Validator(contract_schema())
    errors = sorted(validator.iter_errors(data), key=lambda error: [str(part) for part in error.absolute_path])
    if errors:
        raise ContractError(path, [_schema_problem(error) for error in errors])

    problems: list[str] = []
    partner = data["partner"]
    if partner["id"] != path.stem:
        problems.append(f"partner.id: '{partner['id']}' differs from the file name '{path.name}'. Fix: name the file "
                        f"{partner['id']}.yml (the inbox folder has the same name)")
    files = [_file_spec(index, entry, problems, partner["id"], base_dir) for index, entry in enumerate(data["files"])]
    vocabularies = _vocabularies(data, files, problems)
    if problems:
        raise ContractError(path, problems)
    return Contract(
        partner_id=partner["id"],
        name=partner["name"],
        type=partner["type"],
        licence=data["licence"],
        attribution=data["attribution"],
        path=path,
        sha256=hashlib.sha256(raw_bytes).hexdigest(),
        vocabularies=vocabularies,
        files=tuple(files),
        contact=partner.get("contact"),
        language=partner.get("language"),
        notes=data.get("notes"),
        raw=data,
    )


def contract_path(contracts_dir: Path, partner_id: str) -> Path:
    return Path(contracts_dir) / f"{partner_id}.yml"
