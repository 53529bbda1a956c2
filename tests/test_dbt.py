"""dbt parses, and its profile points at the same file as WAREHOUSE_PATH."""

import json
import os
import subprocess

from tests.conftest import DBT, REPO


def test_dbt_parse_produces_the_models(dbt_manifest):
    manifest = json.loads(dbt_manifest.read_text())
    models = {node["name"]: node for node in manifest["nodes"].values() if node["resource_type"] == "model"}
    assert {"stg_sdg__observations", "int_sdg_observations_coded", "fct_indicator_observations"} <= set(models)
    assert models["fct_indicator_observations"]["schema"] == "marts"
    assert models["stg_sdg__observations"]["schema"] == "staging"


def test_profile_resolves_warehouse_path_like_the_config_module(tmp_path):
    """`dbt debug` connects to the file WAREHOUSE_PATH names (relative to the repo root)."""
    target = tmp_path / "debug.duckdb"
    env = {**os.environ, "WAREHOUSE_PATH": str(target), "DBT_PROJECT_DIR": str(REPO / "dbt_project"),
           "DBT_PROFILES_DIR": str(REPO / "dbt_project")}
    completed = subprocess.run([str(DBT), "debug"], cwd=REPO / "dbt_project", env=env, capture_output=True, text=True)
    assert completed.returncode == 0, completed.stdout
    assert str(target) in completed.stdout
    assert target.exists()
