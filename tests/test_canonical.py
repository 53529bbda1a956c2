"""Each rule of the canonical model is defined once (dbt_project.yml vars, the seeds): change it there and every
layer follows: the dbt models and tests (through var()), the GX second line and the landing rules (through
ingestion/canonical.py)."""

import json
import os
import subprocess

import pytest
import yaml

from expectations.suites import _common as common
from ingestion import canonical
from tests.conftest import DBT, REPO

PROJECT = REPO / "dbt_project"


def project_vars() -> dict:
    return yaml.safe_load((PROJECT / "dbt_project.yml").read_text())["vars"]


def compile_models(tmp_path, select: str, overrides: dict) -> dict[str, str]:
    """`dbt compile` of ``select`` with ``overrides`` as --vars: compiled SQL by node name."""
    env = {**os.environ, "WAREHOUSE_PATH": str(tmp_path / "w.duckdb"), "DBT_PROJECT_DIR": str(PROJECT),
           "DBT_PROFILES_DIR": str(PROJECT)}
    target = tmp_path / "target"
    completed = subprocess.run(
        [str(DBT), "compile", "--select", select, "--target-path", str(target), "--vars", json.dumps(overrides)],
        cwd=PROJECT, env=env, capture_output=True, text=True)
    assert completed.returncode == 0, completed.stdout[-3000:]
    return {path.stem: path.read_text() for path in (target / "compiled").rglob("*.sql")}


def test_python_reads_the_vars_dbt_reads():
    model = canonical.load()
    values = project_vars()
    assert model.dimensions == tuple(values["dimensions"])
    assert model.observation_grain == (*values["observation_identity"], *values["dimensions"],
                                       *values["observation_qualifiers"])
    assert model.default_min_cell_size == values["min_cell_size"]
    assert dict(model.small_cell_sources) == values["small_cell_sources"]


def test_closed_code_lists_come_from_the_seed_with_their_unknown_codes():
    for dimension in canonical.load().closed_code_lists:
        codes = canonical.code_list(dimension)
        assert {canonical.load().total_code} < codes, dimension
    assert "_U" in canonical.code_list("sex")  # the hand copy this replaced lacked it


@pytest.mark.dbt
def test_dbt_follows_a_change_of_the_dimensions(tmp_path):
    """A dimension taken out of var dimensions leaves the grain test, the coverage mart and the comparison join."""
    dimensions = [d for d in project_vars()["dimensions"] if d != "migratory_status"]
    compiled = compile_models(tmp_path, "mart_data_coverage mart_source_comparison fct_indicator_observations,test_type:generic",
                              {"dimensions": dimensions})
    [grain_test] = [sql for name, sql in compiled.items()
                    if name.startswith("unique_combination_of_columns_") and "fct_indicator_observations" in sql]
    coverage = compiled["mart_data_coverage"]
    comparison = compiled["mart_source_comparison"]
    for sql in (grain_test, coverage):
        assert "income_quantile" in sql and "migratory_status" not in sql
    assert "official.income_quantile = non_official.income_quantile" in comparison
    assert "official.migratory_status" not in comparison
    # and Python, given the same vars, agrees on the grain
    model = canonical.model_from_vars({**project_vars(), "dimensions": dimensions})
    assert "migratory_status" not in model.observation_grain


@pytest.mark.dbt
def test_the_small_cell_rule_follows_its_var_in_dbt_and_in_gx(tmp_path, monkeypatch):
    """small_cell_sources says which source types count respondents: dbt's suppression and its test, and the GX
    second line, all read it."""
    rule = {"citizen_generated": True}  # civil-society cells no longer suppressed
    compiled = compile_models(tmp_path, "int_observations_unioned assert_small_cells_have_no_value",
                              {"small_cell_sources": rule, "min_cell_size": 7})
    for name in ("int_observations_unioned", "assert_small_cells_have_no_value"):
        assert "when 'citizen_generated' then coalesce(sample_size < 7, true)" in compiled[name], name
        assert "when 'civil_society'" not in compiled[name], name
    changed = canonical.model_from_vars({**project_vars(), "small_cell_sources": rule})
    monkeypatch.setattr(canonical, "load", lambda: changed)
    condition = common.small_cells(7).row_condition
    text = getattr(condition, "pass_through_filter", condition)
    assert "citizen_generated" in text and "civil_society" not in text and "< 7" in text
