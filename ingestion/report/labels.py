"""Words for the codes the marts use, so a reader sees "women with disabilities, rural" and not F/PD/R."""

from __future__ import annotations

CODES = {
    "sex": {"F": "women", "M": "men"},
    "disability_status": {"PD": "persons with disabilities", "PWD": "persons without disabilities"},
    "location": {"U": "urban", "R": "rural"},
    "income_quantile": {"Q1": "poorest 20%", "Q2": "second quintile", "Q3": "middle quintile",
                        "Q4": "fourth quintile", "Q5": "richest 20%"},
    "migratory_status": {"IDP": "internally displaced", "REF": "refugees", "HOST": "host community",
                         "RET": "returnees", "NON_DISPLACED": "non-displaced", "MS_MIGRANT": "migrants",
                         "MS_NONMIGRANT": "non-migrants"},
    "population_group": {"IDP": "internally displaced", "REF": "refugees", "OLDER_PERSONS": "older persons"},
}
DIMENSION_WORDS = {"sex": "sex", "age_group": "age", "disability_status": "disability", "location": "location",
                   "income_quantile": "income", "migratory_status": "migratory status",
                   "population_group": "population group"}
SOURCE_TYPES = {"official": "official (UN)", "national_official": "national official", "civil_society": "civil society",
                "citizen_generated": "citizen-generated"}


def code_label(dimension: str, code: str | None) -> str:
    if code is None:
        return "?"
    if dimension == "age_group":
        return "age " + code.replace("Y_GE", "").replace("Y", "").replace("T", "-") + ("+" if "GE" in code else "")
    return CODES.get(dimension, {}).get(code, code)


def group_label(row: dict, dimensions: tuple[str, ...]) -> str:
    """The group a row is about, in words: every dimension that is not the total."""
    parts = [code_label(d, row.get(d)) for d in dimensions if row.get(d) not in (None, "_T")]
    if row.get("other_disaggregation"):
        parts.append(row["other_disaggregation"])
    return ", ".join(parts) or "everyone"


def reference_label(row: dict, dimensions: tuple[str, ...]) -> str:
    """The reference group of a gap row: the same group with the compared dimension's reference code."""
    return group_label({**row, row["compared_dimension"]: row["reference_code"]}, dimensions)


def number(value: float | int | None) -> str:
    """How every number is written in tables and CSV files: at most three decimals, no thousands separator."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return f"{float(value):.3f}".rstrip("0").rstrip(".") if not isinstance(value, int) else str(value)
