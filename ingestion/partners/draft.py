"""A draft partner contract from a sample file: ``make draft-contract PARTNER=<id> FILE=<path>``, or

    python -m ingestion.partners.draft --partner <id> --file <path> [--contracts-dir contracts/partners]
        [--constant geo_area_m49=4 ...] [--name "Partner name"] [--type civil_society|citizen_generated]

reads the file as the pipeline would (``draft_read``), proposes what each column is (``draft_columns``)
and a canonical code for each label from the seeds (``draft_codes``), and writes
``<contracts-dir>/<id>.yml`` for a person to review (``draft_write``). The draft is loaded with
``load_contract`` before it is written, so it validates as it stands. An existing contract is never
overwritten. A KoBoToolbox export gets a ``format: kobo`` entry naming the partner's survey contract.

Exit codes: 0 the draft was written; 2 no draft (the message says why and what to do).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import yaml

from ingestion.config import PROJECT_ROOT
from ingestion.kobo.records import META_COLUMNS
from ingestion.partners.codes import DIMENSIONS, FIELDS
from ingestion.partners.contract import ContractError
from ingestion.partners.contract_load import contract_path, load_contract
from ingestion.partners.draft_columns import Mapped, Proposal, classify
from ingestion.partners.draft_read import DraftError, SampleFile, read_sample
from ingestion.partners.draft_write import render, render_kobo
from ingestion.partners.evaluate.privacy import not_a_breakdown
from ingestion.partners.inbox import InvalidPartnerIdError, validate_partner_id
from ingestion.partners.read.staged import find_header

DEFAULT_CONTRACTS_DIR = PROJECT_ROOT / "contracts" / "partners"
DEFAULT_KOBO_DIR = PROJECT_ROOT / "contracts" / "kobo"
_HOW_TO_GIVE = {
    "geo_area_m49": "the M49 number of the area the figures describe, e.g. geo_area_m49=4 (Afghanistan)",
    "series_code": "the SDG series code, e.g. series_code=SH_OOP_XPD_EARNNET40",
    "unit": "the unit code of dbt_project/seeds/units.csv, e.g. unit=PT",
    "period": "the period, e.g. period=2020",
    "value": "(a value cannot be a constant: the file needs a column of values, or one column per year)",
}


@dataclass
class Draft:
    path: Path
    text: str
    format: str
    proposal: Proposal | None = None
    warnings: list[str] = field(default_factory=list)


def parse_constants(items: list[str]) -> dict[str, str]:
    constants = {}
    for item in items:
        name, sep, value = item.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not value:
            raise DraftError(f"--constant {item!r}: write FIELD=VALUE, e.g. geo_area_m49=4")
        if name == "value" or (name not in FIELDS and name not in DIMENSIONS):
            raise DraftError(f"--constant {item!r}: '{name}' cannot be a constant; use one of "
                             f"{', '.join(name for name in FIELDS + DIMENSIONS if name != 'value')}")
        constants[name] = value
    return constants


def _shown(path: Path) -> str:
    resolved = Path(path).resolve()
    for base in (Path.cwd(), PROJECT_ROOT):
        try:
            return str(resolved.relative_to(base.resolve()))
        except ValueError:
            continue
    return str(resolved)


def _survey_of(partner_id: str, kobo_dir: Path, base_dir: Path) -> str | None:
    """The path (as a contract writes it) of a KoBo survey contract whose organisation is the partner."""
    for path in sorted(Path(kobo_dir).glob("*.yml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError, UnicodeDecodeError):
            continue
        if isinstance(data, dict) and data.get("organisation") == partner_id:
            try:
                return str(path.resolve().relative_to(Path(base_dir).resolve()))
            except ValueError:
                return str(path.resolve())
    return None


def _check(text: str, partner_id: str, base_dir: Path):
    """The draft loaded by ``load_contract`` from a scratch copy (so nothing is written if it fails)."""
    with tempfile.TemporaryDirectory(prefix="draft-contract-") as scratch:
        path = Path(scratch) / f"{partner_id}.yml"
        path.write_text(text, encoding="utf-8")
        return load_contract(path, base_dir=base_dir)


def _kobo_draft(partner_id: str, sample: SampleFile, shown: str, now: datetime, name: str, kobo_dir: Path,
                base_dir: Path) -> tuple[str, list[str]]:
    survey = _survey_of(partner_id, kobo_dir, base_dir)
    # Judged by the question's own name (the last part of its XPath); KoBo's meta columns the survey
    # contract handles itself (_uuid, _notes, ...) are left out.
    personal = [Mapped(header, why) for header in sample.headers if header not in META_COLUMNS
                and (why := not_a_breakdown(header.rsplit("/", 1)[-1], 1, 1, 0, 0, 0)) is not None]
    text = render_kobo(partner_id, sample, shown, now, name=name, survey=survey or f"contracts/kobo/{partner_id}.yml",
                       survey_exists=survey is not None, personal=personal)
    warnings = []
    if survey is None:
        warnings.append(f"this file is a KoBoToolbox export: the draft names contracts/kobo/{partner_id}.yml, a survey "
                        "contract that does not exist yet. Write it (see contracts/kobo/README.md, organisation: "
                        f"{partner_id}); until then the contract does not validate and the file is not read")
    else:
        _check(text, partner_id, base_dir)
    return text, warnings


def draft_contract(partner_id: str, file: Path, contracts_dir: Path = DEFAULT_CONTRACTS_DIR, *,
                   constants: dict[str, str] | None = None, name: str | None = None, partner_type: str = "civil_society",
                   now: datetime | None = None, kobo_dir: Path = DEFAULT_KOBO_DIR, base_dir: Path = PROJECT_ROOT) -> Draft:
    """Write the draft contract of ``partner_id`` from ``file``; raises ``DraftError`` (nothing written)."""
    try:
        validate_partner_id(partner_id)
    except InvalidPartnerIdError as exc:
        raise DraftError(str(exc)) from exc
    target = contract_path(contracts_dir, partner_id)
    if target.exists():
        raise DraftError(f"{target} exists: a draft never overwrites a contract. Move it away first, or draft "
                         "under another partner id and compare")
    now = now or datetime.now(timezone.utc)
    name = name or partner_id
    sample = read_sample(Path(file))
    shown = _shown(Path(file))
    proposal = None
    if sample.is_kobo:
        text, warnings = _kobo_draft(partner_id, sample, shown, now, name, kobo_dir, base_dir)
    else:
        proposal = classify(sample, constants or {})
        if proposal.missing:
            lines = "\n".join(f"  - {missing}: {_HOW_TO_GIVE[missing]}" for missing in proposal.missing)
            raise DraftError(f"{file}: the file has no column for these key fields, so nothing was written. Give "
                             "them on the command line (--constant FIELD=VALUE; with make: CONSTANTS=\"FIELD=VALUE "
                             f"...\"):\n{lines}")
        text = render(partner_id, sample, shown, proposal, now, name=name, partner_type=partner_type)
        try:
            contract = _check(text, partner_id, base_dir)
        except ContractError as exc:
            raise DraftError(f"the draft does not validate, so nothing was written (please report it):\n{exc}") from exc
        if find_header(sample.head, contract.files[0]) != sample.header_row - 1:
            text = render(partner_id, sample, shown, proposal, now, name=name, partner_type=partner_type,
                          header_row_auto=False)
            _check(text, partner_id, base_dir)
        warnings = []
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(target, "x", encoding="utf-8") as handle:  # never overwrite, even one written meanwhile
            handle.write(text)
    except FileExistsError as exc:
        raise DraftError(f"{target} exists: a draft never overwrites a contract") from exc
    return Draft(target, text, "kobo" if sample.is_kobo else proposal.format, proposal, warnings)


def summary(draft: Draft) -> str:
    lines = [f"draft contract written: {draft.path} (format {draft.format}); review it before the next run"]
    if draft.proposal is not None:
        labels = [item for vocabulary in draft.proposal.vocabularies for item in vocabulary.proposals]
        unknown = [item.label for item in labels if item.code is None]
        lines.append(f"  columns: {len(draft.proposal.columns)} fields, {len(draft.proposal.dimensions)} breakdowns, "
                     f"{len(draft.proposal.attributes)} notes, {len(draft.proposal.personal)} personal (dropped)")
        lines.append(f"  labels: {len(labels) - len(unknown)} with a proposed code, {len(unknown)} unknown"
                     + (f" ({', '.join(unknown[:6])}{', ...' if len(unknown) > 6 else ''})" if unknown else ""))
    lines += [f"  warning: {warning}" for warning in draft.warnings]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ingestion.partners.draft", description=__doc__.split("\n\n")[0])
    parser.add_argument("--partner", required=True, help="the partner id: the contract's and the inbox folder's name")
    parser.add_argument("--file", required=True, type=Path, help="a sample file of the partner (.csv or .xlsx)")
    parser.add_argument("--contracts-dir", type=Path, default=DEFAULT_CONTRACTS_DIR)
    parser.add_argument("--kobo-contracts-dir", type=Path, default=DEFAULT_KOBO_DIR)
    parser.add_argument("--constant", action="append", default=[], metavar="FIELD=VALUE",
                        help="a field the file has no column for (repeatable), e.g. geo_area_m49=4")
    parser.add_argument("--name", help="the partner's name (default: the id)")
    parser.add_argument("--type", default="civil_society", choices=("civil_society", "citizen_generated"))
    args = parser.parse_args(argv)
    try:
        draft = draft_contract(args.partner, args.file, args.contracts_dir, constants=parse_constants(args.constant),
                               name=args.name, partner_type=args.type, kobo_dir=args.kobo_contracts_dir)
    except DraftError as exc:
        print(f"draft-contract: {exc}", file=sys.stderr)
        return 2
    print(summary(draft))
    return 0


if __name__ == "__main__":
    sys.exit(main())
