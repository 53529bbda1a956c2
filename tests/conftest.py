"""Shared fixtures. Tests read only files inside this repository (tests/data, data/)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
TEST_DATA = REPO / "tests" / "data"
SNAPSHOT = REPO / "data" / "sdg_api" / "snapshot"
SAMPLE_PAGE = TEST_DATA / "sdg_api" / "series_data_SH_OOP_XPD_EARNNET40_area4_page1.json"
DBT = Path(sys.executable).parent / "dbt"


@pytest.fixture(scope="session", autouse=True)
def dbt_manifest() -> Path:
    """`dbt parse` once per session, as `make setup` does: the code location loads the manifest."""
    env = {**os.environ, "DBT_PROJECT_DIR": str(REPO / "dbt_project"), "DBT_PROFILES_DIR": str(REPO / "dbt_project")}
    completed = subprocess.run([str(DBT), "parse", "--quiet"], cwd=REPO / "dbt_project", env=env,
                               capture_output=True, text=True)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return REPO / "dbt_project" / "target" / "manifest.json"


@pytest.fixture
def sample_page() -> dict:
    return json.loads(SAMPLE_PAGE.read_text(encoding="utf-8"))


@pytest.fixture
def pipeline_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Point every setting at a temporary directory and the bundled replay snapshot."""
    from ingestion.config import load_settings

    monkeypatch.setenv("WAREHOUSE_PATH", str(tmp_path / "warehouse" / "warehouse.duckdb"))
    monkeypatch.setenv("PUBLISHED_PATH", str(tmp_path / "warehouse" / "published.duckdb"))
    monkeypatch.setenv("SDG_API_MODE", "replay")
    monkeypatch.setenv("SDG_API_REPLAY_DIR", str(SNAPSHOT))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.setenv("REPORTS_DIR", str(tmp_path / "reports"))
    for name in ("SDG_SERIES", "SDG_AREAS", "SDG_API_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    return load_settings()


def copy_snapshot(destination: Path) -> Path:
    """A writable copy of the bundled snapshot, for tests that alter a response."""
    shutil.copytree(SNAPSHOT, destination)
    return destination
