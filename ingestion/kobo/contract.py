"""The KoBo survey contract: what lands from one survey, under which names, and what never lands.

A contract is a YAML file ``contracts/kobo/<survey_id>.yml`` validated against
``contract.schema.json`` (shape) and then by :func:`parse_contract` (meaning: cross-references,
canonical code sets, privacy rules). Landing is an allowlist: only answers mapped in ``fields``
(and ``repeats``) land, so a question the contract does not know can never leak. The contract is
self-contained so a partner contract can embed it as its ``kobo`` format (``parse_contract`` takes
the mapping).

Canonical codes are SDMX-style, and the sets below are the one place they are defined for KoBo:
``sex`` F/M; ``location`` U (urban) / R (rural); ``migratory_status`` IDP (internally displaced),
REF (refugee or asylum seeker), RET (returnee), NON_DISPLACED (host community, never displaced);
the six Washington Group short-set domains with the answer codes in ``WG_CODES``. Totals (``_T``)
and derived fields (``disability_status`` PD/PWD, ``age_group``) are computed by dbt, not here.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from ingestion.config import PROJECT_ROOT
from ingestion.kobo.errors import KoboContractError
from ingestion.kobo.validation import DEFAULT_POLICY

SCHEMA_PATH = Path(__file__).with_name("contract.schema.json")

FIELD_TYPES = ("select_one", "select_multiple", "integer", "decimal", "date", "text")

# Washington Group Short Set: the six domains (canonical field names) and the answer codes.
WG_DOMAINS = ("wg_seeing", "wg_hearing", "wg_walking", "wg_cognition", "wg_selfcare", "wg_communication")
WG_CODES = ("NO_DIFFICULTY", "SOME_DIFFICULTY", "A_LOT_OF_DIFFICULTY", "CANNOT_DO", "DONT_KNOW", "REFUSED")

# Standard canonical fields: a select_one with a `codes` map onto exactly these codes.
STANDARD_CODES: dict[str, frozenset[str]] = {
    "sex": frozenset({"F", "M"}),
    "location": frozenset({"U", "R"}),
    "migratory_status": frozenset({"IDP", "REF", "RET", "NON_DISPLACED"}),
    **{domain: frozenset(WG_CODES) for domain in WG_DOMAINS},
}

# Fields dbt derives from landed ones; indicators may use them in conditions and disaggregations.
DERIVED_CODES: dict[str, frozenset[str] | None] = {
    "disability_status": frozenset({"PD", "PWD"}),  # from the six WG domains
    "age_group": None,  # the codes of the contract's age_groups
}

# KoBo meta columns that identify people or devices: never mappable, whatever the contract says.
ALWAYS_PERSONAL = frozenset({
    "_submitted_by", "_geolocation", "_attachments", "_notes", "deviceid", "phonenumber", "subscriberid",
    "simserial", "username", "email", "start-geopoint", "audit", "meta/audit",
})

OPS_WITH_VALUE = frozenset({"eq", "ne", "lt", "le", "gt", "ge", "contains"})
OPS_WITH_VALUES = frozenset({"in", "not_in"})
OPS_WITHOUT_VALUE = frozenset({"is_null", "not_null"})
NUMERIC_OPS = frozenset({"lt", "le", "gt", "ge"})


@dataclass(frozen=True)
class FieldSpec:
    name: str
    sources: tuple[str, ...]  # question keys, first non-empty wins (a question moved between groups)
    type: str
    codes: Mapping[str, str] | None = None  # source value (or label) -> canonical code
    minimum: float | None = None
    maximum: float | None = None
    optional: bool = False  # may be absent from an export (e.g. added in a later form version)


@dataclass(frozen=True)
class ExportSpec:
    separator: str = ";"
    headers: str = "xml"  # xml: XML names as headers and values; labels: question and choice labels
    language: str | None = None
    group_separator: str = "/"
    hxl_header: str | bool = "auto"


@dataclass(frozen=True)
class GpsSpec:
    source: str
    policy: str  # drop | round
    decimals: int = 1
    area: tuple[float, float, float, float] | None = None  # south, west, north, east


@dataclass(frozen=True)
class RepeatSpec:
    name: str
    source: str  # the repeat group's XPath
    sheet: str  # its sheet name in an XLSX export (KoBo truncates to 31 characters)
    fields: tuple[FieldSpec, ...] = ()


@dataclass(frozen=True)
class AgeBand:
    code: str
    min_age: int
    max_age: int | None


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: str | None = None
    values: tuple[str, ...] | None = None


@dataclass(frozen=True)
class IndicatorSpec:
    series_code: str
    indicator_code: str | None
    description: str | None
    unit: str
    numerator: tuple[Condition, ...]
    denominator: tuple[Condition, ...]
    disaggregate_by: tuple[str, ...]


@dataclass(frozen=True)
class KoboContract:
    survey_id: str
    title: str
    organisation: str
    geo_area_m49: int
    fields: tuple[FieldSpec, ...]
    synthetic: bool = False
    reference_year: int | None = None
    asset_uid: str | None = None
    form_path: Path | None = None
    export: ExportSpec = ExportSpec()
    respondent_id: tuple[str, ...] = ()
    launch_date: date | None = None
    test_tags: tuple[str, ...] = ()
    gps: GpsSpec | None = None
    personal: tuple[str, ...] = ()
    repeats: tuple[RepeatSpec, ...] = ()
    age_bands: tuple[AgeBand, ...] = ()
    indicators: tuple[IndicatorSpec, ...] = ()
    published_validation_statuses: str = DEFAULT_POLICY  # a policy of ingestion.kobo.validation.POLICIES
    origin: str = "<contract>"
    sha256: str = field(default="", compare=False)

    def field(self, name: str) -> FieldSpec | None:
        return next((spec for spec in self.fields if spec.name == name), None)

    @property
    def never_land(self) -> frozenset[str]:
        """Every question key that must never land as a value: personal, identifiers, GPS."""
        keys = set(self.personal) | set(self.respondent_id) | ALWAYS_PERSONAL
        if self.gps:
            keys.add(self.gps.source)
        return frozenset(keys)

    @property
    def derived_fields(self) -> dict[str, frozenset[str] | None]:
        """The derived fields this contract supplies inputs for, with their codes."""
        derived: dict[str, frozenset[str] | None] = {}
        names = {spec.name for spec in self.fields}
        if all(domain in names for domain in WG_DOMAINS):
            derived["disability_status"] = DERIVED_CODES["disability_status"]
        if "age" in names and self.age_bands:
            derived["age_group"] = frozenset(band.code for band in self.age_bands)
        return derived


# -- loading ------------------------------------------------------------------------------------------
def load_contract(path: Path, *, base_dir: Path = PROJECT_ROOT) -> KoboContract:
    """Read and validate ``contracts/kobo/<survey_id>.yml``; errors name the file, field and fix."""
    path = Path(path)
    origin = _display(path, base_dir)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise KoboContractError(f"{origin}: cannot read the contract ({exc.strerror})") from exc
    try:
        data = yaml.safe_load(raw.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise KoboContractError(f"{origin}: not valid UTF-8 YAML ({exc})") from exc
    contract = parse_contract(data, origin=origin, base_dir=base_dir, sha256=hashlib.sha256(raw).hexdigest())
    if path.stem != contract.survey_id:
        raise KoboContractError(
            f"{origin}: survey_id is {contract.survey_id!r} but the file is named {path.name!r}. "
            f"Fix: rename the file to {contract.survey_id}.yml (one contract per survey, named after it)"
        )
    return contract


def load_contracts(directory: Path, *, base_dir: Path = PROJECT_ROOT) -> dict[str, KoboContract]:
    """Every ``*.yml`` contract in ``directory``, by survey id; a contract that cannot be used is an error."""
    contracts, broken = load_contracts_reporting(directory, base_dir=base_dir)
    if broken:
        raise KoboContractError("; ".join(broken))
    return contracts


def load_contracts_reporting(directory: Path, *, base_dir: Path = PROJECT_ROOT) -> tuple[dict[str, KoboContract], list[str]]:
    """Like :func:`load_contracts`, but a contract that cannot be used is reported (the second item, one
    message each) instead of failing the others."""
    contracts: dict[str, KoboContract] = {}
    broken: list[str] = []
    for path in sorted(Path(directory).glob("*.yml")):
        try:
            contract = load_contract(path, base_dir=base_dir)
        except KoboContractError as exc:
            broken.append(str(exc))
            continue
        contracts[contract.survey_id] = contract
    return contracts, broken


def contract_for_asset(contracts: Iterable[KoboContract], asset_uid: str, broken: Iterable[str] = ()) -> KoboContract:
    """The one contract that declares ``asset_uid``; an asset without a contract never lands. ``broken``:
    the contracts that could not be read (one may be this asset's), named in the error."""
    matches = [contract for contract in contracts if contract.asset_uid == asset_uid]
    if len(matches) != 1:
        found = "no contract declares" if not matches else f"{len(matches)} contracts declare"
        unreadable = list(broken)
        also = (f" {len(unreadable)} contract(s) could not be read, perhaps this asset's: {'; '.join(unreadable)}."
                if unreadable and not matches else "")
        raise KoboContractError(
            f"KoBo asset {asset_uid}: {found} it (asset_uid).{also} Fix: add asset_uid: {asset_uid} to exactly "
            "one valid contract in contracts/kobo/; without one the pipeline does not know what is personal"
        )
    return matches[0]


def parse_contract(data: Any, *, origin: str = "<contract>", base_dir: Path = PROJECT_ROOT,
                   sha256: str | None = None) -> KoboContract:
    """Validate a contract mapping (from YAML or embedded in a partner contract) and build it."""
    data = _plain(data, origin, "$")
    errors = sorted(_validator().iter_errors(data), key=lambda error: list(error.absolute_path))
    if errors:
        raise KoboContractError("\n".join(_schema_message(origin, error) for error in errors[:10]))
    if sha256 is None:
        sha256 = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
    return _build(data, origin, Path(base_dir), sha256)


@lru_cache(maxsize=1)
def _validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _display(path: Path, base_dir: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path(base_dir).resolve()))
    except ValueError:
        return str(path)


def _plain(value: Any, origin: str, where: str) -> Any:
    """YAML to JSON-like data: dates become ISO strings, number keys strings; boolean keys are refused."""
    if isinstance(value, dict):
        plain = {}
        for key, item in value.items():
            if isinstance(key, bool) or key is None:
                raise KoboContractError(
                    f"{origin}: {where}: a key reads as {key!r}. Fix: quote it (YAML reads unquoted "
                    "yes/no/on/off/true/false as booleans and ~/null as null), e.g. \"yes\": \"YES\""
                )
            plain[str(key)] = _plain(item, origin, f"{where}.{key}")
        return plain
    if isinstance(value, list):
        return [_plain(item, origin, f"{where}[{index}]") for index, item in enumerate(value)]
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def _schema_message(origin: str, error: jsonschema.ValidationError) -> str:
    where = error.json_path
    instance = error.instance
    if error.validator == "additionalProperties":
        allowed = sorted((error.schema.get("properties") or {}).keys())
        hint = "remove it or fix its spelling" + (f"; allowed keys: {', '.join(allowed)}" if allowed else "")
    elif error.validator == "required":
        hint = "add the missing key"
    elif error.validator == "enum":
        hint = "use one of " + ", ".join(json.dumps(option) for option in error.validator_value)
    elif error.validator == "pattern":
        hint = f"the value must match {error.validator_value}"
    elif error.validator == "type" and isinstance(instance, bool):
        hint = "quote it: YAML reads unquoted yes/no/on/off/true/false as booleans"
    elif error.validator == "type":
        hint = f"write a {error.validator_value} here"
    elif error.validator in ("anyOf", "oneOf"):
        hint = "see the annotated example in contracts/kobo/README.md for this key's accepted shapes"
    else:
        hint = "see contracts/kobo/README.md"
    return f"{origin}: {where}: {error.message}. Fix: {hint}"


# -- building and checking meaning ------------------------------------------------------------------
def _sources(value: str | list[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _field(name: str, spec: Mapping[str, Any]) -> FieldSpec:
    return FieldSpec(
        name=name,
        sources=_sources(spec["source"]),
        type=spec["type"],
        codes=dict(spec["codes"]) if "codes" in spec else None,
        minimum=spec.get("min"),
        maximum=spec.get("max"),
        optional=bool(spec.get("optional", False)),
    )


def _build(data: Mapping[str, Any], origin: str, base_dir: Path, sha256: str) -> KoboContract:
    problems: list[str] = []

    def problem(where: str, text: str) -> None:
        problems.append(f"{origin}: {where}: {text}")

    export_data = data.get("export") or {}
    export = ExportSpec(separator=export_data.get("separator", ";"), headers=export_data.get("headers", "xml"),
                        language=export_data.get("language"), group_separator=export_data.get("group_separator", "/"),
                        hxl_header=export_data.get("hxl_header", "auto"))
    fields = tuple(_field(name, spec) for name, spec in data["fields"].items())
    personal = tuple(data.get("personal") or ())
    respondent_id = _sources(data["respondent_id"]) if "respondent_id" in data else ()
    gps = None
    if "gps" in data:
        area = data["gps"].get("area")
        gps = GpsSpec(source=data["gps"]["source"], policy=data["gps"]["policy"],
                      decimals=int(data["gps"].get("decimals", 1)),
                      area=(area["south"], area["west"], area["north"], area["east"]) if area else None)
        if gps.area and (gps.area[0] >= gps.area[2] or gps.area[1] >= gps.area[3]):
            problem("$.gps.area", "south must be below north and west below east")
        if gps.policy == "drop" and "decimals" in data["gps"]:
            problem("$.gps.decimals", "decimals only applies to policy 'round'. Fix: remove it or use policy: round")
    repeats = tuple(
        RepeatSpec(
            name=name,
            source=spec["source"],
            sheet=spec.get("sheet") or spec["source"].rsplit("/", 1)[-1][:31],
            fields=tuple(_field(name_, spec_) for name_, spec_ in (spec.get("fields") or {}).items()),
        )
        for name, spec in (data.get("repeats") or {}).items()
    )
    tests = data.get("test_submissions") or {}
    launch_date = None
    if "launch_date" in tests:
        try:
            launch_date = date.fromisoformat(tests["launch_date"])
        except ValueError:
            problem("$.test_submissions.launch_date",
                    f"{tests['launch_date']!r} is not a calendar date. Fix: YYYY-MM-DD")
    form_path = None
    if "form" in data:
        form_path = Path(data["form"])
        form_path = form_path if form_path.is_absolute() else base_dir / form_path
        if not form_path.is_file():
            problem("$.form", f"{data['form']} does not exist. Fix: commit the XLSForm there or correct the path "
                    f"(relative to {base_dir.name}/)")

    never_land = set(personal) | set(respondent_id) | ALWAYS_PERSONAL | ({gps.source} if gps else set())
    all_fields = [(f"$.fields.{spec.name}", spec) for spec in fields] + [
        (f"$.repeats.{repeat.name}.fields.{spec.name}", spec) for repeat in repeats for spec in repeat.fields
    ]
    for where, spec in all_fields:
        leaked = [source for source in spec.sources if source in never_land or source.endswith("_URL")]
        if leaked:
            problem(f"{where}.source", f"{', '.join(leaked)} is personal (listed in personal, respondent_id or gps, "
                    "or a KoBo meta/media column). Fix: do not map it; personal answers never land")
        if spec.codes is not None and spec.type not in ("select_one", "select_multiple"):
            problem(f"{where}.codes", f"codes only apply to select_one/select_multiple, not {spec.type}")
        if (spec.minimum is not None or spec.maximum is not None) and spec.type not in ("integer", "decimal"):
            problem(where, f"min/max only apply to integer/decimal, not {spec.type}")
        if spec.type == "select_multiple" and export.headers == "labels" and form_path is None and spec.codes is None:
            problem(f"{where}.codes", "a select_multiple read from label headers without a form needs codes "
                    "(choice labels contain spaces, so the labels themselves cannot be landed as a code list). "
                    "Fix: add codes: {<choice label>: <CODE>, ...} or point form: at the XLSForm")
    for spec in fields:
        allowed = STANDARD_CODES.get(spec.name)
        if spec.name == "age" and spec.type != "integer":
            problem("$.fields.age.type", "the canonical field age is whole years. Fix: type: integer")
        if allowed is None:
            continue
        if spec.type != "select_one" or spec.codes is None:
            problem(f"$.fields.{spec.name}", f"{spec.name} is a standard field: it must be a select_one with codes "
                    f"mapping every answer onto {', '.join(sorted(allowed))}")
            continue
        wrong = sorted(set(spec.codes.values()) - allowed)
        if wrong:
            problem(f"$.fields.{spec.name}.codes", f"{', '.join(wrong)} is not a canonical code for {spec.name}. "
                    f"Fix: use {', '.join(sorted(allowed))}")
    wg_present = [domain for domain in WG_DOMAINS if domain in {spec.name for spec in fields}]
    if wg_present and len(wg_present) != len(WG_DOMAINS):
        missing = [domain for domain in WG_DOMAINS if domain not in wg_present]
        problem("$.fields", f"Washington Group short set incomplete: {', '.join(missing)} missing. Fix: map all six "
                "domains (disability_status needs every one of them)")
    if gps and gps.source in (source for spec in fields for source in spec.sources):
        problem("$.gps.source", "the GPS question is also mapped as a field. Fix: remove it from fields")

    age_bands = tuple(AgeBand(band["code"], band["min"], band.get("max")) for band in data.get("age_groups") or ())
    _check_age_bands(age_bands, problem)
    if age_bands and not any(spec.name == "age" for spec in fields):
        problem("$.age_groups", "age_groups need the canonical field age. Fix: map age (type: integer)")

    contract = KoboContract(
        survey_id=data["survey_id"],
        title=data["title"],
        organisation=data["organisation"],
        geo_area_m49=data["geo_area_m49"],
        fields=fields,
        synthetic=bool(data.get("synthetic", False)),
        reference_year=data.get("reference_year"),
        asset_uid=data.get("asset_uid"),
        form_path=form_path,
        export=export,
        respondent_id=respondent_id,
        launch_date=launch_date,
        test_tags=tuple(tests.get("tags") or ()),
        gps=gps,
        personal=personal,
        repeats=repeats,
        age_bands=age_bands,
        indicators=(),
        published_validation_statuses=data.get("published_validation_statuses", DEFAULT_POLICY),
        origin=origin,
        sha256=sha256,
    )
    indicators = []
    seen_series: set[str] = set()
    for index, raw in enumerate(data.get("indicators") or ()):
        where = f"$.indicators[{index}]"
        if raw["series_code"] in seen_series:
            problem(f"{where}.series_code", f"{raw['series_code']} is declared twice")
        seen_series.add(raw["series_code"])
        numerator = _conditions(raw["numerator"], f"{where}.numerator", problem)
        denominator = _conditions(raw.get("denominator", ()), f"{where}.denominator", problem)
        for role, conditions in (("numerator", numerator), ("denominator", denominator)):
            for position, condition in enumerate(conditions):
                _check_condition(contract, condition, f"{where}.{role}[{position}]", problem)
        for name in raw["disaggregate_by"]:
            _check_disaggregation(contract, name, f"{where}.disaggregate_by", problem)
        indicators.append(IndicatorSpec(
            series_code=raw["series_code"],
            indicator_code=raw.get("indicator_code"),
            description=raw.get("description"),
            unit=raw["unit"],
            numerator=numerator,
            denominator=denominator,
            disaggregate_by=tuple(raw["disaggregate_by"]),
        ))
    if problems:
        raise KoboContractError("\n".join(problems))
    return replace(contract, indicators=tuple(indicators))


def _check_age_bands(bands: tuple[AgeBand, ...], problem) -> None:
    previous_max: int | None = None
    for index, band in enumerate(bands):
        where = f"$.age_groups[{index}]"
        expected = _band_bounds(band.code)
        if expected != (band.min_age, band.max_age):
            problem(where, f"code {band.code} means min {expected[0]}, max {expected[1]} but the band says "
                    f"min {band.min_age}, max {band.max_age}. Fix: make the code and the bounds agree")
        if previous_max is None and index > 0:
            problem(where, "only the last band may be open-ended (max: null)")
        elif previous_max is not None and band.min_age != previous_max + 1:
            problem(where, f"bands must be contiguous and ascending: expected min {previous_max + 1}")
        previous_max = band.max_age


def _band_bounds(code: str) -> tuple[int, int | None]:
    if match := re.fullmatch(r"Y(\d+)T(\d+)", code):
        return int(match[1]), int(match[2])
    if match := re.fullmatch(r"Y_GE(\d+)", code):
        return int(match[1]), None
    match = re.fullmatch(r"Y_LT(\d+)", code)
    assert match, code  # the schema's pattern admits only these three shapes
    return 0, int(match[1]) - 1


def _field_codes(contract: KoboContract, name: str) -> tuple[bool, str | None, frozenset[str] | None]:
    """(known, type, canonical codes or None when free) for a canonical or derived field."""
    derived = contract.derived_fields
    if name in derived:
        return True, "select_one", derived[name]
    spec = contract.field(name)
    if spec is None:
        return False, None, None
    codes = frozenset(spec.codes.values()) if spec.codes else None
    return True, spec.type, codes


def _check_condition(contract: KoboContract, condition: Condition, where: str, problem) -> None:
    known, kind, codes = _field_codes(contract, condition.field)
    if not known:
        available = sorted([spec.name for spec in contract.fields] + list(contract.derived_fields))
        problem(f"{where}.field", f"{condition.field!r} is neither a canonical field of this contract nor a derived "
                f"field it supplies inputs for. Fix: use one of {', '.join(available)}")
        return
    if condition.op in OPS_WITH_VALUE and condition.value is None:
        problem(where, f"op {condition.op} needs a value")
    if condition.op in OPS_WITH_VALUES and not condition.values:
        problem(where, f"op {condition.op} needs values: [...]")
    if condition.op in OPS_WITHOUT_VALUE and (condition.value is not None or condition.values):
        problem(where, f"op {condition.op} takes no value")
    if condition.op in NUMERIC_OPS and kind not in ("integer", "decimal"):
        problem(where, f"op {condition.op} compares numbers but {condition.field} is {kind}")
    if condition.op == "contains" and kind != "select_multiple":
        problem(where, f"op contains is for select_multiple fields; {condition.field} is {kind}. Fix: use eq")
    if codes is not None:
        wanted = [condition.value] if condition.value is not None else list(condition.values or ())
        wrong = [value for value in wanted if value not in codes]
        if wrong and condition.op not in NUMERIC_OPS:
            problem(where, f"{', '.join(map(repr, wrong))} is not a code of {condition.field}. "
                    f"Fix: use one of {', '.join(sorted(codes))}")


def _check_disaggregation(contract: KoboContract, name: str, where: str, problem) -> None:
    known, kind, _ = _field_codes(contract, name)
    if not known:
        problem(where, f"{name!r} is not a canonical or derived field of this contract")
    elif kind != "select_one":
        problem(where, f"{name} is {kind}; only single-choice fields (or derived age_group/disability_status) "
                "can disaggregate, so that every respondent falls in exactly one cell")


# -- conditions -----------------------------------------------------------------------------------------
_SHORTHAND_OPS = {"==": "eq", "!=": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge"}
_TOKEN = re.compile(r"""\s*(?:(?P<str>'[^']*'|"[^"]*")|(?P<op>==|!=|<=|>=|<|>|\(|\)|,)|(?P<word>[A-Za-z0-9_.\-]+))""")


def _literal(text: Any) -> str:
    return str(text)


def _conditions(raw: Any, where: str, problem) -> tuple[Condition, ...]:
    if not raw:
        return ()
    if isinstance(raw, list):
        return tuple(
            Condition(
                field=item["field"],
                op=item["op"],
                value=_literal(item["value"]) if "value" in item else None,
                values=tuple(_literal(value) for value in item["values"]) if "values" in item else None,
            )
            for item in raw
        )
    try:
        return parse_condition_text(raw)
    except ValueError as exc:
        problem(where, f"{exc}. Fix: write e.g. \"lost_income == 'YES' and age >= 18\", or a list of "
                "{field, op, value} conditions")
        return ()


def parse_condition_text(text: str) -> tuple[Condition, ...]:
    """Parse the shorthand ``field == 'X' and other in ('A', 'B')`` into conditions (all must hold)."""
    tokens: list[tuple[str, str]] = []
    position = 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            raise ValueError(f"cannot read the condition at {text[position:]!r}")
        position = match.end()
        kind = match.lastgroup or ""
        value = match[kind]
        tokens.append((kind, value[1:-1] if kind == "str" else value))
    conditions: list[Condition] = []
    index = 0

    def take() -> tuple[str, str]:
        nonlocal index
        if index >= len(tokens):
            raise ValueError(f"the condition {text!r} ends too early")
        index += 1
        return tokens[index - 1]

    def literal() -> str:
        kind, value = take()
        if kind not in ("str", "word"):
            raise ValueError(f"expected a value, found {value!r}")
        return value

    while True:
        kind, name = take()
        if kind != "word":
            raise ValueError(f"expected a field name, found {name!r}")
        kind, op = take()
        if kind == "op" and op in _SHORTHAND_OPS:
            conditions.append(Condition(name, _SHORTHAND_OPS[op], value=literal()))
        elif (kind, op) == ("word", "contains"):
            conditions.append(Condition(name, "contains", value=literal()))
        elif (kind, op) == ("word", "is"):
            negated = index < len(tokens) and tokens[index] == ("word", "not")
            index += negated
            if take() != ("word", "null"):
                raise ValueError("expected 'is null' or 'is not null'")
            conditions.append(Condition(name, "not_null" if negated else "is_null"))
        elif (kind, op) in (("word", "in"), ("word", "not")):
            operator = "in"
            if op == "not":
                if take() != ("word", "in"):
                    raise ValueError("expected 'not in'")
                operator = "not_in"
            if take() != ("op", "("):
                raise ValueError(f"expected '(' after {operator.replace('_', ' ')}")
            values = [literal()]
            while (separator := take()) == ("op", ","):
                values.append(literal())
            if separator != ("op", ")"):
                raise ValueError("expected ')' to close the list")
            conditions.append(Condition(name, operator, values=tuple(values)))
        else:
            raise ValueError(f"unknown operator {op!r} (use ==, !=, <, <=, >, >=, in, not in, contains, is null)")
        if index == len(tokens):
            return tuple(conditions)
        if take() != ("word", "and"):
            raise ValueError("conditions are joined with 'and' (all must hold); 'or' is written with 'in (...)'")
