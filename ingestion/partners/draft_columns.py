"""What each column of a sample file is, for a draft contract: a canonical field, a canonical dimension,
a breakdown of the partner's own, a note kept per row (attribute), personal data, or empty.

A column is recognised by its header first (the usual English, French and Spanish names of each field,
the dimensions' names in the seed ``sdg_dimension_concepts`` and a few more), checked against its cells
(an "Age" column of exact ages is personal data, not age groups); then by its cells (periods, codes, the
seeds' labels of one dimension). What is neither, and does not look personal to ``evaluate.privacy``,
is kept as the partner's own breakdown, as the pipeline keeps an unmapped column.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from ingestion import canonical
from ingestion.partners.codes import CODE_PATTERNS, DIMENSIONS, FIELDS, MISSING_MARKERS, label_key
from ingestion.partners.draft_codes import (
    CodeProposal,
    countries,
    is_exact_age,
    labels_known,
    own_code,
    propose_label,
)
from ingestion.partners.draft_read import ColumnFacts, SampleFile
from ingestion.partners.evaluate.privacy import not_a_breakdown
from ingestion.partners.periods import parse_period

YEAR_HEADER = r"^(19|20)\d{2}$"  # a wide file's value columns, one per year
_FIELD_HEADERS: dict[str, tuple[str, ...]] = {
    "period": ("year", "years", "period", "time period", "time", "date", "survey year", "reference year", "année",
               "annee", "période", "periode", "año", "ano", "periodo", "fecha"),
    "value": ("value", "values", "obs value", "obs_value", "observation value", "valeur", "valor", "estimate",
              "figure", "result", "résultat", "resultado"),
    "unit": ("unit", "units", "unit measure", "unit of measure", "unit of measurement", "units of measurement",
             "unité", "unite", "unités", "unité de mesure", "unidad", "unidades", "unidad de medida"),
    "series_code": ("series", "series code", "sdg series", "série", "serie", "code de la série", "código de la serie"),
    "indicator_code": ("sdg indicator", "indicator code", "sdg indicator code", "indicateur odd", "indicador ods"),
    "geo_area_m49": ("geoareacode", "geo area code", "geo_area_code", "m49", "m49 code", "area code", "country code",
                     "country", "pays", "país", "pais", "geo area", "reference area", "ref area"),
    "sample_size": ("sample size", "sample", "n", "number of respondents", "respondents", "unweighted base", "base",
                    "households", "number of households", "households interviewed", "interviews",
                    "taille de l'échantillon", "taille de l’échantillon", "échantillon", "effectif",
                    "tamaño de la muestra", "muestra"),
    "lower_bound": ("lower bound", "lower", "lower ci", "lower confidence limit", "lower limit", "ci lower",
                    "borne inférieure", "límite inferior"),
    "upper_bound": ("upper bound", "upper", "upper ci", "upper confidence limit", "upper limit", "ci upper",
                    "borne supérieure", "límite superior"),
    "nature": ("nature", "data nature"),
}
# "Indicator" names the series in many spreadsheets, and the indicator in others: its cells decide.
_INDICATOR_HEADERS = ("indicator", "indicateur", "indicador", "sdg indicator", "indicator name")
_DIMENSION_HEADERS: dict[str, tuple[str, ...]] = {
    "sex": ("sex", "gender"),
    "age_group": ("age", "age group", "age groups", "age band", "age range"),
    "disability_status": ("disability", "disability status"),
    "location": ("location", "area", "urban or rural", "urban/rural", "urban rural", "urbanisation", "residence",
                 "area of residence", "type of area"),
    "income_quantile": ("quantile", "quintile", "income quintile", "wealth quintile", "income quantile",
                        "wealth quantile"),
    "migratory_status": ("migratory status", "migration status", "displacement status"),
    "population_group": ("population group", "group"),
}
# Notes on each row, never part of what identifies a figure (Open SDG's own columns among them).
_ATTRIBUTE_HEADERS = ("observation status", "obs status", "unit multiplier", "unit mult", "geocode", "footnote",
                      "footnotes", "source", "data source", "reporting type", "statut de l'observation")
# Free text, which can name people: dropped like the comments evaluate.privacy withholds.
_FREE_TEXT_WORDS = frozenset({"commentaire", "commentaires", "remarque", "remarques", "comentario", "comentarios",
                              "observaciones", "nota", "notas"})
_NUMBER = re.compile(r"[<>]?\s*[+-]?(\d[\d\s\u00a0\u202f',.]*)%?")


@dataclass
class Mapped:
    header: str
    comment: str = ""


@dataclass
class Vocabulary:
    field: str
    header: str
    proposals: list[CodeProposal]
    note: str = ""


@dataclass
class Proposal:
    format: str  # open_sdg | wide | kobo
    columns: dict[str, Mapped] = field(default_factory=dict)  # canonical field -> column
    dimensions: dict[str, Mapped] = field(default_factory=dict)  # dimension (canonical or own) -> column
    constants: dict[str, tuple[str, str]] = field(default_factory=dict)  # field -> (code, comment)
    attributes: list[Mapped] = field(default_factory=list)
    personal: list[Mapped] = field(default_factory=list)  # comment: why it looks personal
    ignored: list[str] = field(default_factory=list)  # empty columns
    vocabularies: list[Vocabulary] = field(default_factory=list)
    value_columns: list[str] = field(default_factory=list)  # wide
    decimal: tuple[str, str] = ("auto", "")
    notes: list[str] = field(default_factory=list)

    def source_of(self, name: str) -> bool:
        return name in self.columns or name in self.constants or (name == "period" and self.format == "wide")

    @property
    def missing(self) -> list[str]:
        needed = ["series_code", "geo_area_m49", "period", "unit"] + (["value"] if self.format == "open_sdg" else [])
        return [name for name in needed if not self.source_of(name)]


def slug(header: str) -> str:
    """A breakdown name from a header: 'Statut migratoire' -> statut_migratoire."""
    text = "".join(char for char in unicodedata.normalize("NFKD", label_key(header)) if not unicodedata.combining(char))
    name = "_".join(re.findall(r"[a-z0-9]+", text))[:40].strip("_") or "breakdown"
    return name if name[0].isalpha() else f"b_{name}"[:40]


def _share(labels: list[str], test) -> float:
    return sum(1 for label in labels if test(label)) / len(labels) if labels else 0.0


def _is_number(label: str) -> bool:
    return bool(_NUMBER.fullmatch(label.strip()))


def _is_indicator(label: str) -> bool:
    return bool(CODE_PATTERNS["indicator_code"].fullmatch(label.strip()))


def _is_series_code(label: str) -> bool:
    return bool(CODE_PATTERNS["series_code"].fullmatch(label.strip())) and "_" in label


def _by_header(facts: ColumnFacts) -> str | None:
    key = label_key(facts.header)
    if key in _INDICATOR_HEADERS:
        return "indicator_code" if _share(facts.labels, _is_indicator) >= 0.8 else "series_code"
    for name, headers in _FIELD_HEADERS.items():
        if key in headers:
            return name
    for name, headers in _DIMENSION_HEADERS.items():
        if key in headers:
            return name
    concepts = {label_key(row["api_concept"]): row["canonical_dimension"] for row in canonical.seed_rows("sdg_dimension_concepts")}
    return concepts.get(key) if concepts.get(key) in DIMENSIONS else None


def _by_cells(facts: ColumnFacts, proposal: Proposal) -> str | None:
    labels = facts.labels
    if not proposal.source_of("period") and _share(labels, lambda label: parse_period(label) is not None) >= 0.8:
        return "period"
    if _share(labels, _is_indicator) >= 0.8:
        return "indicator_code"
    if _share(labels, _is_series_code) >= 0.8:
        return "series_code"
    if _share(labels, lambda label: label_key(label) in countries()) >= 0.8:
        return "geo_area_m49"
    known = {dimension: labels_known(dimension, labels) for dimension in DIMENSIONS if dimension not in proposal.dimensions}
    best = max(known.values(), default=0)
    winners = [dimension for dimension, count in known.items() if count == best]
    return winners[0] if best and len(winners) == 1 else None


def _personal(facts: ColumnFacts) -> str | None:
    if set(re.findall(r"[a-z]+", label_key(facts.header))) & _FREE_TEXT_WORDS:
        return "its name suggests free text (comments can name people)"
    return not_a_breakdown(facts.header, *facts.profile)


def classify(sample: SampleFile, constants: dict[str, str]) -> Proposal:
    """The draft's reading of every column of ``sample`` (not a KoBo export)."""
    wide = [facts for facts in sample.columns if re.fullmatch(YEAR_HEADER, facts.header)]
    proposal = Proposal("wide" if len(wide) >= 2 else "open_sdg")
    if proposal.format == "wide":
        proposal.value_columns = [facts.header for facts in wide]
    for name, value in constants.items():
        proposal.constants[name] = (value, "given on the command line")
    for facts in sample.columns:
        if proposal.format == "wide" and facts in wide:
            continue
        if not facts.filled:
            proposal.ignored.append(facts.header)
            continue
        _place(facts, proposal, sample)
    _units_from_values(sample, proposal, wide)
    _decimal(sample, proposal, wide)
    return proposal


def _place(facts: ColumnFacts, proposal: Proposal, sample: SampleFile) -> None:
    name = _by_header(facts)
    taken = name in proposal.columns or name in proposal.dimensions
    if name == "age_group" and facts.labels and _share(facts.labels, is_exact_age) >= 0.5:
        proposal.personal.append(Mapped(facts.header, "it holds exact ages, which single people out (age groups "
                                                      "belong in the age_group column)"))
        return
    if name in proposal.constants:
        proposal.attributes.append(Mapped(facts.header, f"{name} is given as a constant; this column is kept as a "
                                                        f"note ({_examples(facts.labels)})"))
        return
    if name is None or taken:
        if label_key(facts.header) in _ATTRIBUTE_HEADERS:
            proposal.attributes.append(Mapped(facts.header, "a note on each row, not part of what identifies a figure"))
            return
        if (why := _personal(facts)) is not None:
            proposal.personal.append(Mapped(facts.header, why))
            return
        name = _by_cells(facts, proposal)
        if name in proposal.columns or name in proposal.dimensions or name in proposal.constants:
            name = None
        how = "by its cells"
    else:
        how = "by its name"
    if name is None:
        own = slug(facts.header)
        while own in FIELDS or own in DIMENSIONS or own in proposal.dimensions:
            own = f"{own[:36]}_own"
        proposal.dimensions[own] = Mapped(facts.header, "the partner's own breakdown, kept as written ("
                                          f"{_examples(facts.labels)}). If it is one of {', '.join(DIMENSIONS)}, "
                                          "map it there with a vocabulary")
        return
    if name in DIMENSIONS:
        proposal.dimensions[name] = Mapped(facts.header, f"recognised {how}; a blank cell is the total (_T)")
        proposal.vocabularies.append(Vocabulary(name, facts.header, [propose_label(name, label) for label in facts.labels]))
        return
    proposal.columns[name] = Mapped(facts.header, f"recognised {how}{_field_note(name, facts)}")
    if name in ("unit", "nature"):
        proposal.vocabularies.append(Vocabulary(name, facts.header, [propose_label(name, label) for label in facts.labels]))
    elif name == "series_code":
        _series_vocabulary(facts, proposal)
    elif name == "geo_area_m49" and not all(label.strip().isdigit() for label in facts.labels):
        proposal.vocabularies.append(Vocabulary(name, facts.header, [
            CodeProposal(label, countries().get(label_key(label)),
                         "iso3166_countries seed" if label_key(label) in countries() else "choose an M49 number")
            for label in facts.labels]))


def _examples(labels: list[str], limit: int = 4) -> str:
    shown = ", ".join(f"'{label[:40]}{'...' if len(label) > 40 else ''}'" for label in labels[:limit])
    return f"{len(labels)} label(s): {shown}{', ...' if len(labels) > limit else ''}"


def _field_note(name: str, facts: ColumnFacts) -> str:
    if name == "period":
        unreadable = [label for label in facts.labels if parse_period(label) is None]
        read = len(facts.labels) - len(unreadable)
        note = f"; {read} period(s), e.g. {next((label for label in facts.labels if parse_period(label)), '-')}"
        return note + (f"; not periods: {_examples(unreadable, 2)}" if unreadable else "")
    if name in ("value", "sample_size", "lower_bound", "upper_bound"):
        odd = [label for label in facts.labels if not _is_number(label) and label_key(label) not in MISSING_MARKERS]
        return f"; not numbers (add those meaning 'no value' to missing_values): {_examples(odd, 3)}" if odd else ""
    return ""


def _series_vocabulary(facts: ColumnFacts, proposal: Proposal) -> None:
    proposals = []
    for label in facts.labels:
        if _is_series_code(label) or CODE_PATTERNS["series_code"].fullmatch(label.strip()):
            proposals.append(CodeProposal(label, label.strip(), "already a series code"))
        else:
            proposals.append(CodeProposal(label, own_code(label), "a code of the partner's own, made from the label: "
                                          "replace it by the SDG series code if there is one "
                                          "(data/sdg_api/default_series.csv)"))
    proposal.vocabularies.append(Vocabulary("series_code", facts.header, proposals))


def _value_labels(sample: SampleFile, proposal: Proposal, wide: list[ColumnFacts]) -> list[str]:
    if proposal.format == "wide":
        return [label for facts in wide for label in facts.labels]
    header = proposal.columns.get("value")
    return next((facts.labels for facts in sample.columns if header and facts.header == header.header), [])


def _units_from_values(sample: SampleFile, proposal: Proposal, wide: list[ColumnFacts]) -> None:
    if proposal.source_of("unit"):
        return
    numbers = [label for label in _value_labels(sample, proposal, wide) if _is_number(label)]
    if numbers and _share(numbers, lambda label: label.strip().endswith("%")) >= 0.8:
        proposal.constants["unit"] = ("PT", "the values are written with a % sign (units seed 'Percent'): check")


def _decimal(sample: SampleFile, proposal: Proposal, wide: list[ColumnFacts]) -> None:
    if sample.kind != "csv":
        return
    labels = _value_labels(sample, proposal, wide)
    commas = sum(1 for label in labels if re.fullmatch(r"[<>]?-?\d+,\d{1,2}%?", label.strip()))
    dots = sum(1 for label in labels if re.fullmatch(r"[<>]?-?\d+\.\d+%?", label.strip()))
    expected = "," if sample.delimiter == ";" else "."
    seen = "," if commas > dots else "." if dots > commas else None
    if seen is None or seen == expected:
        proposal.decimal = ("auto", f"'{expected}' (the pipeline's choice for this delimiter)"
                            + (f"; the values agree ({max(commas, dots)} decimal values)" if seen else ""))
    else:
        proposal.decimal = (seen, f"the values use '{seen}' ({max(commas, dots)} decimal values), not the '{expected}' "
                                  "the pipeline would assume for this delimiter")
