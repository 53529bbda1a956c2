"""From one KoBo submission, as read from any source, to one privacy-safe staged row.

Every source (CSV export, XLSX export, API v2) is first turned into ``SourceRecord``: a mapping
from column key to text, where a key is the question's XPath when the form lets us translate the
export's header, and the header itself otherwise. :class:`Normalizer` then applies the contract:
it reads the canonical fields (a question that moved between groups is found under any of its
paths), maps choice labels and values to canonical codes, hashes identifiers, coarsens GPS, and
keeps nothing else. Its output rows carry no answer the contract did not map.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any

from ingestion.kobo.contract import ALWAYS_PERSONAL, FieldSpec, KoboContract, RepeatSpec
from ingestion.kobo.errors import KoboExportError, KoboFormMismatchError
from ingestion.kobo.form import GROUP_TYPES, FormDefinition, nfc
from ingestion.kobo.privacy import Hasher, coarsen, parse_coordinates

# Meta columns, matched by name, never by position (with and without the "meta/" group).
ROOT_UUID_KEYS = ("meta/rootUuid", "rootUuid")
INSTANCE_KEYS = ("meta/instanceID", "instanceID")
DEPRECATED_KEYS = ("meta/deprecatedID", "deprecatedID")
VERSION_KEYS = ("__version__", "meta/versionID", "_version_")
META_COLUMNS = frozenset({
    "_id", "_uuid", "_submission_time", "_validation_status", "_notes", "_status", "_submitted_by",
    "__version__", "_version_", "_tags", "_index", "_geolocation", "_attachments", "_xform_id_string",
    "formhub/uuid", "meta/versionID", "meta/formUID", "meta/instanceName", "_parent_index",
    "_parent_table_name", *ROOT_UUID_KEYS, *INSTANCE_KEYS, *DEPRECATED_KEYS,
})
# Server bookkeeping that differs between copies of the same submission: ignored when comparing content.
BOOKKEEPING = frozenset({
    "_id", "_index", "_submission_time", "_status", "_validation_status", "_notes", "_tags", "_attachments",
    "_submitted_by", "_geolocation", "_xform_id_string", "_parent_index", "_parent_table_name",
})
GEO_PART = re.compile(r"^_(.+)_(latitude|longitude|altitude|precision)$")
TRUTHY = frozenset({"1", "1.0", "true", "True", "TRUE"})
UNMAPPED = "unmapped"


@dataclass
class RepeatInstance:
    """One row of a repeat group: its XPath, 1-based position under its parent, and its answers."""

    xpath: str
    row_index: int
    row_path: str  # e.g. "houshold_member_repeat[2]"; nested repeats add levels
    values: dict[str, str | None]
    position: int  # row in the repeat sheet (XLSX), or the parent's position (API)


@dataclass
class SourceRecord:
    position: int  # 1-based data row in the file, or order in the API pull
    values: dict[str, str | None] | None  # None when the row could not be read
    error: str | None = None
    repeats: list[RepeatInstance] = field(default_factory=list)
    digest_payload: Any = None  # what "exact duplicate" compares; defaults to the non-bookkeeping values


@dataclass
class Layout:
    """How one source's keys relate to the form: per-choice columns, label translation."""

    labels: bool = False  # values are choice labels (labels-mode export)
    form: FormDefinition | None = None
    language: str | None = None
    group_separator: str = "/"
    keys: tuple[str, ...] | None = None  # an export's translated header; None for the API
    headers: tuple[str, ...] = ()
    choice_columns: Mapping[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    duplicate_keys: frozenset[str] = frozenset()

    def resolve(self, source: str, values: Mapping[str, Any]) -> str | None:
        if source in values or source in self.choice_columns:
            return source
        if not self.group_separator:  # exported without group names: match the question's own name
            short = source.rsplit("/", 1)[-1]
            if short in values or short in self.choice_columns:
                return short
        return None


# -- export headers ---------------------------------------------------------------------------------
def export_layout(headers: Sequence[str], contract: KoboContract, form: FormDefinition | None) -> Layout:
    """Translate an export's header row into keys, and find its select_multiple per-choice columns."""
    export = contract.export
    labels = export.headers == "labels"
    language = export.language if export.language is not None else (form.default_language if form else None)
    question_of: dict[str, str] = {}  # header text -> XPath
    multiple_texts: set[str] = set()
    if form is not None:
        if labels:
            candidates = form.label_paths(language, export.group_separator)
        elif export.group_separator:
            candidates = {xpath: [xpath] for xpath, q in form.questions.items() if q.type not in GROUP_TYPES}
        else:
            candidates = form.by_name()
        for text, xpaths in candidates.items():
            if len(xpaths) == 1:
                question_of[text] = xpaths[0]
                if form.questions[xpaths[0]].type == "select_multiple":
                    multiple_texts.add(text)
    headers = [nfc(header) for header in headers]
    header_set = set(headers)
    contract_multiple = {
        source for spec in _all_fields(contract) if spec.type == "select_multiple" for source in spec.sources
    }
    prefixes = header_set | multiple_texts | contract_multiple
    keys: list[str] = []
    choice_columns: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for header in headers:
        if header in META_COLUMNS:
            keys.append(header)
            continue
        if header in question_of:
            keys.append(question_of[header])
            continue
        geo = GEO_PART.match(header)
        if geo and (geo[1] in header_set or geo[1] in question_of):
            keys.append(f"_{question_of.get(geo[1], geo[1])}_{geo[2]}")
            continue
        prefix = _longest_prefix(header, prefixes)
        if prefix is not None:
            question = question_of.get(prefix, prefix)
            token = header[len(prefix) + 1:]
            if labels and form is not None:
                token = _choice_names(form, question, language).get(token, token)
            key = f"{question}/{token}"
            keys.append(key)
            choice_columns[question].append((key, token))
            continue
        keys.append(header)
    counts = Counter(keys)
    return Layout(
        labels=labels,
        form=form,
        language=language,
        group_separator=export.group_separator,
        keys=tuple(keys),
        headers=tuple(headers),
        choice_columns={question: tuple(columns) for question, columns in choice_columns.items()},
        duplicate_keys=frozenset(key for key, count in counts.items() if count > 1),
    )


def _longest_prefix(header: str, prefixes: set[str]) -> str | None:
    position = header.rfind("/")
    while position > 0:
        if header[:position] in prefixes:
            return header[:position]
        position = header.rfind("/", 0, position)
    return None


def _all_fields(contract: KoboContract) -> list[FieldSpec]:
    return [*contract.fields, *(spec for repeat in contract.repeats for spec in repeat.fields)]


def _choice_names(form: FormDefinition, xpath: str, language: str | None) -> dict[str, str]:
    """Choice label (in ``language``) -> XML value, for one question."""
    names = {}
    for choice in form.choices_for(xpath):
        label = form.label(choice.labels, language)
        if label is not None:
            names.setdefault(label, choice.name)
    return names


def check_export_columns(layout: Layout, contract: KoboContract, fields: Sequence[FieldSpec], *,
                         where: str, need_meta: bool = True) -> None:
    """Refuse an export the contract cannot read: missing meta columns, missing or ambiguous questions."""
    keys = set(layout.keys or ())
    if need_meta:
        missing = []
        if not keys & {*ROOT_UUID_KEYS, "_uuid", *INSTANCE_KEYS}:
            missing.append("_uuid (or meta/rootUuid)")
        for column in ("_submission_time", "_validation_status"):
            if column not in keys:
                missing.append(column)
        if contract.test_tags and "_tags" not in keys:
            missing.append("_tags (the contract excludes test submissions by tag)")
        if missing:
            raise KoboExportError(
                f"{where}: missing meta column(s) {', '.join(missing)}. Meta columns are matched by name, never "
                "by position. Fix: export again from KoBo keeping every meta column (_id, _uuid, "
                "_submission_time, _validation_status, __version__, _tags, _index)"
            )
    absent = []
    for spec in fields:
        resolved = [layout.resolve(source, keys) for source in spec.sources]
        found = [key for key in resolved if key is not None]
        if not found and not spec.optional:
            absent.append(f"{spec.name} (looked for {', '.join(map(repr, spec.sources))})")
        for key in found:
            if key in layout.duplicate_keys:
                raise KoboExportError(
                    f"{where}: field {spec.name}: the export has several columns named {key!r}, so its answers "
                    "are ambiguous. Fix: export again with 'include groups in headers' (a question that moved "
                    "between groups then gets one column per group), or with XML values and headers"
                )
        if spec.type == "select_multiple" and found and layout.choice_columns:
            if not any(layout.choice_columns.get(key) for key in found):
                raise KoboFormMismatchError(
                    f"{where}: field {spec.name} is select_multiple in the contract, but the export has no "
                    f"per-choice 0/1 columns for {found[0]!r} while it has them for other questions: the question "
                    "was probably changed to select_one. Fix: check the form; if it is now single-choice, change "
                    f"fields.{spec.name}.type to select_one (and its indicators) in {contract.origin}"
                )
    if absent:
        raise KoboExportError(f"{where}: no column for {'; '.join(absent)}.{_header_hint(layout, contract)}")


def _header_hint(layout: Layout, contract: KoboContract) -> str:
    """Why the questions were not found: labels in another language, or labels versus XML names."""
    headers = set(layout.headers)
    form = layout.form
    if form is None:
        return (" Fix: check export.headers/group_separator in the contract against the export, or name the "
                "questions as they appear in the header row")
    scores = {}
    for language in form.languages:
        texts = form.label_paths(language, layout.group_separator)
        scores[language] = len(headers & set(texts))
    xml_score = len(headers & set(form.questions))
    best = max(scores, key=lambda language: scores[language]) if scores else None
    if layout.labels and best is not None and best != layout.language and scores[best] > scores.get(layout.language, 0):
        return (f" The header row matches {scores[best]} question labels in {best!r} but "
                f"{scores.get(layout.language, 0)} in {layout.language!r}: the export was made in another language. "
                f"Fix: export again with labels in {layout.language!r}, or set export.language: {best!r}")
    if layout.labels and xml_score > max(scores.values(), default=0):
        return " The header row holds XML names, not labels. Fix: set export.headers: xml"
    if not layout.labels and best is not None and scores[best] > xml_score:
        return f" The header row holds labels ({best!r}), not XML names. Fix: set export.headers: labels"
    return " Fix: check the contract's sources against the form (they are XPaths such as group/question)"


def check_form_types(contract: KoboContract, form: FormDefinition, *, where: str) -> None:
    """A contract select_multiple must still be a select_multiple in the form (and so on)."""
    for spec in _all_fields(contract):
        for source in spec.sources:
            question = form.questions.get(source)
            if question is None:
                continue
            if spec.type == "select_multiple" and question.type != "select_multiple":
                version = f" version {form.version}" if form.version else ""
                raise KoboFormMismatchError(
                    f"{where}: field {spec.name} is select_multiple in the contract, but the form{version} defines "
                    f"{source} as {question.type}. Fix: if the question is now single-choice, change "
                    f"fields.{spec.name}.type to select_one (and the indicators using contains) in {contract.origin}"
                )


# -- API records --------------------------------------------------------------------------------------
def api_record(raw: Mapping[str, Any], position: int) -> SourceRecord:
    """Flatten one API v2 result into text values and repeat rows (nested lists of dicts)."""
    values: dict[str, str | None] = {}
    repeats: list[RepeatInstance] = []
    for key, value in raw.items():
        if key != "_attachments" and _is_repeat(value):
            repeats.extend(_repeat_instances(key, value, "", position))
            continue
        values[key] = _api_text(key, value)
    return SourceRecord(position=position, values=values, repeats=repeats,
                        digest_payload={k: v for k, v in raw.items() if k not in BOOKKEEPING})


def _is_repeat(value: Any) -> bool:
    """A repeat group arrives as a non-empty list of dicts (one per repeat instance)."""
    return isinstance(value, list) and bool(value) and all(isinstance(item, dict) for item in value)


def _repeat_instances(xpath: str, rows: list[dict], parent_path: str, position: int) -> Iterator[RepeatInstance]:
    segment = xpath.rsplit("/", 1)[-1][:31]
    for index, row in enumerate(rows, start=1):
        path = f"{parent_path}/{segment}[{index}]" if parent_path else f"{segment}[{index}]"
        values: dict[str, str | None] = {}
        nested: list[RepeatInstance] = []
        for key, value in row.items():
            if _is_repeat(value):
                nested.extend(_repeat_instances(key, value, path, position))
            else:
                values[key] = _api_text(key, value)
        yield RepeatInstance(xpath=xpath, row_index=index, row_path=path, values=values, position=position)
        yield from nested


def _api_text(key: str, value: Any) -> str | None:
    if value is None:
        return None
    if key == "_validation_status" and isinstance(value, dict):
        return value.get("uid")
    if isinstance(value, list):
        if key == "_tags":
            return ",".join(str(item) for item in value)
        return " ".join(str(item) for item in value if item is not None) or None
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# -- normalisation ----------------------------------------------------------------------------------------
def normalise_validation_status(value: str | None) -> str | None:
    """'validation_status_not_approved', 'Not Approved' -> 'not_approved'; empty -> None."""
    if value is None or not value.strip():
        return None
    text = value.strip().lower().replace(" ", "_").replace("-", "_")
    return text.removeprefix("validation_status_") or None


def parse_submission_time(value: str | None) -> datetime | None:
    """KoBo writes ``2023-07-19 18:33:06`` (exports) or ``2023-05-18T14:48:51`` (API), in UTC."""
    if value is None or not value.strip():
        return None
    text = value.strip().replace("Z", "+00:00")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def parse_tags(value: str | None) -> set[str]:
    if not value:
        return set()
    text = value.strip()
    if text.startswith("["):
        try:
            return {str(item).strip() for item in json.loads(text.replace("'", '"'))}
        except ValueError:
            pass
    return {tag.strip() for tag in re.split(r"[,;]", text) if tag.strip()}


def _strip_uuid(value: str | None) -> str | None:
    if value is None:
        return None
    text = value.strip().removeprefix("uuid:").strip()
    return text or None


def _first(values: Mapping[str, str | None], keys: Sequence[str]) -> str | None:
    for key in keys:
        value = values.get(key)
        if value is not None and str(value).strip():
            return str(value)
    return None


class Normalizer:
    """Applies one contract to records; counts field issues as it goes (an example only for a defined choice)."""

    def __init__(self, contract: KoboContract, hasher: Hasher) -> None:
        self.contract = contract
        self.hasher = hasher
        self.issues: Counter[tuple[str, str]] = Counter()
        self.examples: dict[tuple[str, str], set[str]] = defaultdict(set)
        self.test_tags = {tag.casefold() for tag in contract.test_tags}  # KoBo tags are typed by hand

    def issue(self, field_name: str, kind: str, example: str | None = None) -> None:
        self.issues[(field_name, kind)] += 1
        if example is not None and len(self.examples[(field_name, kind)]) < 5:
            self.examples[(field_name, kind)].add(example[:60])

    # -- one submission -----------------------------------------------------------------------------
    def submission(self, record: SourceRecord, seq: int, layout: Layout) -> dict[str, Any]:
        row: dict[str, Any] = {"seq": seq, "source_row": record.position, "error_reason": None}
        if record.values is None:
            return {**row, "error_reason": record.error or "malformed_row"}
        values = record.values
        root = _strip_uuid(_first(values, ROOT_UUID_KEYS))
        uuid = _strip_uuid(values.get("_uuid"))
        instance = _strip_uuid(_first(values, INSTANCE_KEYS)) or uuid
        key = root or uuid or instance
        if key is None:
            return {**row, "error_reason": "missing_key"}
        fields: dict[str, str | None] = {}
        for spec in self.contract.fields:
            value, conflict = self.field_value(spec, values, layout)
            if conflict:
                return {**row, "error_reason": "field_conflict"}
            fields[spec.name] = value
        submitted_raw = values.get("_submission_time")
        submitted = parse_submission_time(submitted_raw)
        if submitted is None and submitted_raw:
            self.issue("_submission_time", "invalid_timestamp")
        row.update(
            submission_key=self.hasher(key),
            instance_key=self.hasher(instance),
            deprecated_key=self.hasher(_strip_uuid(_first(values, DEPRECATED_KEYS))),
            respondent_key=self.hasher(self._respondent_id(values, layout)),
            content_digest=self.hasher(json.dumps(
                record.digest_payload if record.digest_payload is not None
                else {k: v for k, v in values.items() if k not in BOOKKEEPING and v not in (None, "")},
                sort_keys=True, default=str,
            )),
            form_version=_first(values, VERSION_KEYS),
            submission_time=submitted,
            validation_status=normalise_validation_status(values.get("_validation_status")),
            test_reason=self._test_reason(submitted, parse_tags(values.get("_tags"))),
            fields_json=json.dumps(fields, sort_keys=True),
        )
        row.update(self._gps(values, layout))
        return row

    def repeat_row(self, instance: RepeatInstance, spec: RepeatSpec, parent_seq: int | None,
                   layout: Layout, error: str | None = None) -> dict[str, Any]:
        row: dict[str, Any] = {
            "parent_seq": parent_seq, "repeat_name": spec.name, "row_index": instance.row_index,
            "row_path": instance.row_path, "source_row": instance.position, "error_reason": error,
            "fields_json": None,
        }
        if error is not None:
            return row
        fields: dict[str, str | None] = {}
        for field_spec in spec.fields:
            value, conflict = self.field_value(field_spec, instance.values, layout, prefix=f"{spec.name}.")
            if conflict:
                return {**row, "error_reason": "field_conflict"}
            fields[field_spec.name] = value
        row["fields_json"] = json.dumps(fields, sort_keys=True)
        return row

    def _test_reason(self, submitted: datetime | None, tags: set[str]) -> str | None:
        launch = self.contract.launch_date
        if launch is not None and submitted is not None and submitted.date() < launch:
            return "test_before_launch"
        if {tag.casefold() for tag in tags} & self.test_tags:
            return "test_tagged"
        return None

    def _respondent_id(self, values: Mapping[str, str | None], layout: Layout) -> str | None:
        for source in self.contract.respondent_id:
            key = layout.resolve(source, values)
            if key is not None and (values.get(key) or "").strip():
                return str(values[key]).strip()
        return None

    def _gps(self, values: Mapping[str, str | None], layout: Layout) -> dict[str, Any]:
        gps = self.contract.gps
        if gps is None:
            return {"gps_latitude": None, "gps_longitude": None, "coordinates_status": "not_collected"}
        key = layout.resolve(gps.source, values)
        if key is None:
            return {"gps_latitude": None, "gps_longitude": None, "coordinates_status": "missing"}
        latitude, longitude = values.get(f"_{key}_latitude"), values.get(f"_{key}_longitude")
        if latitude is None and longitude is None:  # the API sends "lat lon altitude precision" in one answer
            parts = (values.get(key) or "").split()
            latitude, longitude = (parts[0], parts[1]) if len(parts) >= 2 else (" ".join(parts), None)
        lat, lon, status = parse_coordinates(latitude, longitude)
        if status == "valid" and gps.area:
            south, west, north, east = gps.area
            if not (south <= lat <= north and west <= lon <= east):
                lat, lon, status = None, None, "outside_area"  # possible on Earth, not in the surveyed area
        lat, lon = coarsen(lat, lon, gps)
        return {"gps_latitude": lat, "gps_longitude": lon, "coordinates_status": status}

    # -- one field ------------------------------------------------------------------------------------
    def field_value(self, spec: FieldSpec, values: Mapping[str, str | None], layout: Layout,
                    prefix: str = "") -> tuple[str | None, bool]:
        """(canonical value, conflict): the first answered source wins; two different answers conflict."""
        found: list[str] = []
        for source in spec.sources:
            key = layout.resolve(source, values)
            if key is None:
                continue
            value = self._decode(spec, key, values, layout, prefix + spec.name)
            if value is not None:
                found.append(value)
        if not found:
            return None, False
        return found[0], len(set(found)) > 1

    def _decode(self, spec: FieldSpec, key: str, values: Mapping[str, str | None], layout: Layout,
                name: str) -> str | None:
        if spec.type == "select_multiple":
            return self._select_multiple(spec, key, values, layout, name)
        raw = (values.get(key) or "").strip()
        if not raw:
            return None
        if spec.type == "select_one":
            if not layout.labels and len(raw.split()) > 1:
                self.issue(name, "multiple_choices_in_select_one")
                return None
            return self._code(spec, self._choice_value(key, raw, layout), raw, name, key, layout)
        if spec.type in ("integer", "decimal"):
            try:
                number = float(raw)
            except ValueError:
                self.issue(name, f"invalid_{spec.type}")
                return None
            if spec.type == "integer" and not number.is_integer():
                self.issue(name, "invalid_integer")
                return None
            too_small = spec.minimum is not None and number < spec.minimum
            if too_small or (spec.maximum is not None and number > spec.maximum):
                self.issue(name, "out_of_range")
                return None
            return str(int(number)) if spec.type == "integer" else repr(number)
        if spec.type == "date":
            try:
                return date.fromisoformat(raw[:10]).isoformat()
            except ValueError:
                self.issue(name, "invalid_date")
                return None
        return raw

    def _choice_value(self, key: str, raw: str, layout: Layout) -> str:
        if layout.labels and layout.form is not None:
            return _choice_names(layout.form, key, layout.language).get(nfc(raw), raw)
        return raw

    def _code(self, spec: FieldSpec, value: str, label: str, name: str, key: str, layout: Layout) -> str:
        if spec.codes is None:
            return value
        code = spec.codes.get(value, spec.codes.get(label))
        if code is None:
            # The example goes to a non-restricted table: only a choice the form or the export's own
            # header defines qualifies, never text someone typed into the answer.
            self.issue(name, "unmapped_code", value if _defined_choice(key, value, label, layout) else None)
            return UNMAPPED
        return code

    def _select_multiple(self, spec: FieldSpec, key: str, values: Mapping[str, str | None], layout: Layout,
                         name: str) -> str | None:
        columns = layout.choice_columns.get(key, ())
        answered = [(token, (values.get(column) or "").strip()) for column, token in columns]
        from_columns = [token for token, cell in answered if cell in TRUTHY]
        summary = (values.get(key) or "").strip()
        if any(cell for _, cell in answered):
            tokens = from_columns
            if summary:
                from_summary = self._split_summary(spec, key, summary, layout, columns)
                if ({self._choice_value(key, token, layout) for token in from_summary}
                        != {self._choice_value(key, token, layout) for token in tokens}):
                    self.issue(name, "summary_mismatch")  # the 0/1 columns win: they are unambiguous
        elif summary:
            tokens = self._split_summary(spec, key, summary, layout, columns)
            if columns:
                self.issue(name, "summary_only")
        else:
            return None
        codes: list[str] = []
        for token in tokens:
            value = self._choice_value(key, token, layout)
            code = self._code(spec, value, token, name, key, layout)
            if code not in codes:
                codes.append(code)
        return " ".join(sorted(codes)) or None  # sorted: the same answer lands the same whatever the column order

    def _split_summary(self, spec: FieldSpec, key: str, summary: str, layout: Layout,
                       columns: Sequence[tuple[str, str]]) -> list[str]:
        if not layout.labels:
            return summary.split()
        # Labels contain spaces ("Land encroachment"): match the longest known label at each position.
        known = {token for _, token in columns} | set(spec.codes or ())
        if layout.form is not None:
            known |= set(_choice_names(layout.form, key, layout.language))
        tokens, position = [], 0
        while position < len(summary):
            match = max((label for label in known if summary.startswith(label, position)
                         and summary[position + len(label):position + len(label) + 1] in ("", " ")),
                        key=len, default=None)
            if match is None:
                end = summary.find(" ", position)
                end = len(summary) if end < 0 else end
                match = summary[position:end]
            tokens.append(match)
            position += len(match)
            while position < len(summary) and summary[position] == " ":
                position += 1
        return tokens


def _defined_choice(key: str, value: str, label: str, layout: Layout) -> bool:
    """Is this answer a choice the form, or the export's per-choice columns, define for the question?"""
    if any(token in (value, label) for _, token in layout.choice_columns.get(key, ())):
        return True
    if layout.form is None:
        return False
    return any(choice.name == value or label in choice.labels.values() for choice in layout.form.choices_for(key))


def personal_columns(layout: Layout, contract: KoboContract) -> list[str]:
    """Columns present in this export that are personal (dropped; never landed)."""
    never = contract.never_land | ALWAYS_PERSONAL
    return [
        header for header, key in zip(layout.headers, layout.keys or ())
        if key in never or header in never or header.endswith("_URL") or any(
            key.startswith(f"_{source}_") for source in never)
    ]
