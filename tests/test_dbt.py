"""dbt parses, and its profile points at the same file as WAREHOUSE_PATH."""

import json
import os
import subprocess

import pytest

from ingestion import canonical
from ingestion.config import load_settings
from tests.conftest import DBT, REPO


def test_dbt_parse_produces_the_models(dbt_manifest):
    manifest = json.loads(dbt_manifest.read_text())
    models = {node["name"]: node for node in manifest["nodes"].values() if node["resource_type"] == "model"}
    assert {"stg_sdg__observations", "int_sdg_observations_coded", "fct_indicator_observations"} <= set(models)
    assert models["fct_indicator_observations"]["schema"] == "marts"
    assert models["stg_sdg__observations"]["schema"] == "staging"


@pytest.mark.dbt
def test_profile_resolves_warehouse_path_like_the_config_module(tmp_path):
    """`dbt debug` connects to the file WAREHOUSE_PATH names (relative to the repo root)."""
    target = tmp_path / "debug.duckdb"
    env = {**os.environ, "WAREHOUSE_PATH": str(target), "DBT_PROJECT_DIR": str(REPO / "dbt_project"),
           "DBT_PROFILES_DIR": str(REPO / "dbt_project")}
    completed = subprocess.run([str(DBT), "debug"], cwd=REPO / "dbt_project", env=env, capture_output=True, text=True)
    assert completed.returncode == 0, completed.stdout
    assert str(target) in completed.stdout
    assert target.exists()


@pytest.mark.dbt
@pytest.mark.parametrize("raw, expected", [("", 5), ("12", 12)])
def test_min_cell_size_reaches_dbt_as_the_config_module_parsed_it(tmp_path, raw, expected):
    """MIN_CELL_SIZE is parsed once, by ingestion/config.py, and reaches dbt as a var (what the dbt asset passes);
    unset, dbt and the config module share the default of dbt_project.yml."""
    settings = load_settings({"MIN_CELL_SIZE": raw})
    assert settings.min_cell_size == expected == (canonical.load().default_min_cell_size if not raw else int(raw))
    env = {**os.environ, "WAREHOUSE_PATH": str(tmp_path / "w.duckdb"), "MIN_CELL_SIZE": "999",
           "DBT_PROJECT_DIR": str(REPO / "dbt_project"), "DBT_PROFILES_DIR": str(REPO / "dbt_project")}
    completed = subprocess.run(
        [str(DBT), "compile", "--select", "int_kobo_indicator_cells_aggregated", "--target-path", str(tmp_path / "t"),
         "--vars", json.dumps(canonical.dbt_vars(settings.min_cell_size))],
        cwd=REPO / "dbt_project", env=env, capture_output=True, text=True)
    assert completed.returncode == 0, completed.stdout[-3000:]
    # the environment variable itself is not read by dbt (999 above): one parser, in Python
    assert f"sample_size < {expected} as below_min_cell_size" in completed.stdout


@pytest.mark.dbt
def test_the_whole_project_compiles_on_a_fresh_warehouse(tmp_path):
    """`dbt compile` (and `docs generate`) before any model was built: macros that look at built tables wait."""
    env = {**os.environ, "WAREHOUSE_PATH": str(tmp_path / "fresh.duckdb"),
           "DBT_PROJECT_DIR": str(REPO / "dbt_project"), "DBT_PROFILES_DIR": str(REPO / "dbt_project")}
    completed = subprocess.run([str(DBT), "compile", "--target-path", str(tmp_path / "t")],
                               cwd=REPO / "dbt_project", env=env, capture_output=True, text=True)
    assert completed.returncode == 0, completed.stdout[-3000:]
