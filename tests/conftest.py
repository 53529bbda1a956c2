"""Shared settings and fixtures. Tests read only files inside this repository (tests/data, data/).

The expensive fixtures (a whole pipeline run, the local API servers) live in tests/fixtures/.
Markers: ``e2e`` for tests that run the whole pipeline, ``dbt`` for tests that run dbt for real, ``gx`` for
tests that validate the GX suites with GX, ``snapshot`` for tests that read every bundled API response;
`make test-fast` leaves those out, `make test` runs everything.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from ingestion.sdg_api.replay import read_body

REPO = Path(__file__).resolve().parent.parent
TEST_DATA = REPO / "tests" / "data"
SNAPSHOT = REPO / "data" / "sdg_api" / "snapshot"
SAMPLE_PAGE = TEST_DATA / "sdg_api" / "series_data_SH_OOP_XPD_EARNNET40_area4_page1.json"
DBT = Path(sys.executable).parent / "dbt"
DBT_PROJECT = REPO / "dbt_project"
MANIFEST = DBT_PROJECT / "target" / "manifest.json"

pytest_plugins = ["tests.fixtures.pipeline", "tests.fixtures.servers"]


def dbt_env(warehouse: Path, project: Path = DBT_PROJECT, **extra: str) -> dict[str, str]:
    """The environment a dbt subprocess runs in: the given warehouse and project (and the worker's own
    DBT_LOG_PATH, inherited)."""
    return {**os.environ, "WAREHOUSE_PATH": str(warehouse), "DBT_PROJECT_DIR": str(project),
            "DBT_PROFILES_DIR": str(project), **extra}


def run_dbt(*args: str, warehouse: Path, project: Path = DBT_PROJECT, **env: str) -> subprocess.CompletedProcess:
    """The real dbt, in a subprocess, on ``warehouse``: what `make`, dagster-dbt and a developer run."""
    return subprocess.run([str(DBT), *args], cwd=project, env=dbt_env(warehouse, project, **env),
                          capture_output=True, text=True)


def _manifest_is_stale() -> bool:
    """Like make's rule for the manifest: missing, or older than a dbt source file."""
    if not MANIFEST.exists():
        return True
    built = MANIFEST.stat().st_mtime
    for folder, subfolders, files in os.walk(DBT_PROJECT):
        # Pruned, not filtered: target/ holds a compiled copy of the project per Dagster run.
        subfolders[:] = [name for name in subfolders if name not in ("target", "logs", "dbt_packages")]
        if any(Path(folder, name).stat().st_mtime > built for name in files
               if name.endswith((".sql", ".yml", ".csv"))):
            return True
    return False


def pytest_sessionstart(session: pytest.Session) -> None:
    """`dbt parse` when the manifest is missing or stale, as `make setup` does, once per session and
    before any xdist worker starts: the code location reads the manifest when it is imported."""
    if os.environ.get("PYTEST_XDIST_WORKER") or not _manifest_is_stale():
        return
    completed = run_dbt("parse", "--quiet", warehouse=REPO / "warehouse" / "warehouse.duckdb")
    if completed.returncode != 0:
        raise pytest.UsageError(f"dbt parse failed:\n{completed.stdout}{completed.stderr}")
    MANIFEST.touch()


@pytest.fixture(scope="session", autouse=True)
def dbt_log_folder(tmp_path_factory: pytest.TempPathFactory):
    """dbt writes its log beside the project unless told otherwise: each worker gets a folder of its own."""
    folder = tmp_path_factory.mktemp("dbt_logs")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DBT_LOG_PATH", str(folder))
        yield folder


@pytest.fixture(scope="session")
def dbt_manifest() -> Path:
    """The manifest `dbt parse` wrote at session start (or `make setup` before it)."""
    assert MANIFEST.exists()
    return MANIFEST


@pytest.fixture
def sample_page() -> dict:
    return json.loads(SAMPLE_PAGE.read_text(encoding="utf-8"))


def copy_snapshot(destination: Path) -> Path:
    """A writable copy of the bundled snapshot, for tests that alter a response: its own manifest, pointing
    at the bundled bodies (thousands of files, never written) until a test replaces one."""
    destination.mkdir(parents=True)
    manifest = json.loads((SNAPSHOT / "manifest.json").read_text(encoding="utf-8"))
    for recording in manifest["recordings"]:
        recording["file"] = str(SNAPSHOT / recording["file"])
    (destination / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return destination


def edit_series_page(snapshot: Path, series: str, edit: Callable[[dict], None], area: int | None = None) -> dict:
    """Alter page 1 of ``series`` in a snapshot copy: the one for the batch of areas holding ``area``, else the
    first with data. The edited body is written as plain JSON and the manifest points at it. The series gets
    a new release in Series/List, as the API announces a change. Returns the page."""
    manifest_path = snapshot / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    for recording in manifest["recordings"]:
        params = recording["params"]
        if (recording["path"] != "v1/sdg/Series/Data" or params["seriesCode"] != [series] or params["page"] != ["1"]
                or (area is not None and str(area) not in params["areaCode"])):
            continue
        page = json.loads(read_body(snapshot / recording["file"]))
        if page["data"]:
            edit(page)
            recording["file"] = f"edited_{series}_{params['areaCode'][0]}.json"
            (snapshot / recording["file"]).write_text(json.dumps(page))
            manifest_path.write_text(json.dumps(manifest))
            new_release(snapshot, series)
            return page
    raise LookupError(f"no page with data for {series} (area {area}) in {snapshot}")


def new_release(snapshot: Path, series: str, release: str = "2026.Q4.test") -> None:
    """``series`` is announced in a new release by Series/List in a snapshot copy."""
    manifest_path = snapshot / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    (recording,) = [r for r in manifest["recordings"] if r["path"] == "v1/sdg/Series/List"]
    listed = json.loads(read_body(snapshot / recording["file"]))
    (entry,) = [item for item in listed if item["code"] == series]
    entry["release"] = release
    recording["file"] = "series_list_edited.json"
    (snapshot / recording["file"]).write_text(json.dumps(listed))
    manifest_path.write_text(json.dumps(manifest))
