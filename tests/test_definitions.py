"""The code location loads offline, opens no DuckDB file, and wires one lineage from API to published file."""

import os
import subprocess
import sys

from ingestion.sdg_api.series import default_series
from tests.conftest import REPO


def test_definitions_load_offline_without_opening_duckdb(tmp_path):
    """The real CLI loads the code location in a fresh process, with an API nobody answers and no
    warehouse: loading must neither call the API nor create (or open) a DuckDB file."""
    env = {
        **os.environ,
        "WAREHOUSE_PATH": str(tmp_path / "w" / "warehouse.duckdb"),
        "PUBLISHED_PATH": str(tmp_path / "w" / "published.duckdb"),
        "DAGSTER_HOME": str(tmp_path),
        "SDG_API_MODE": "live",
        "SDG_API_BASE_URL": "http://127.0.0.1:9/sdgapi",  # nothing listens there: any call would fail
    }
    # -X importtime lists every module the load imports (on stderr).
    completed = subprocess.run(
        [sys.executable, "-X", "importtime", os.path.join(os.path.dirname(sys.executable), "dagster"),
         "definitions", "validate", "-w", "workspace.yaml"],
        cwd=REPO, env=env, capture_output=True, text=True,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "Validation successful" in completed.stdout + completed.stderr
    assert not (tmp_path / "w").exists(), "loading definitions must not create or open the warehouse"
    # GX costs about 3 s to import: it is left to the check steps that validate, not paid by the UI, every
    # CLI call and every run's process at load.
    imported = {line.rsplit("|", 1)[-1].strip() for line in completed.stderr.splitlines() if line.startswith("import time:")}
    assert {"orchestration.assets.dbt", "orchestration.checks"} <= imported  # the code location was loaded here
    assert not {name for name in imported if name.startswith("great_expectations")}


def test_definitions_wire_one_lineage_from_api_to_published_file():
    from orchestration.definitions import defs

    graph = defs.get_repository_def().asset_graph
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    deps = {key.to_user_string(): {p.to_user_string() for p in graph.get(key).parent_keys}
            for key in graph.get_all_asset_keys()}
    assert {"raw_sdg/series_observations", "staging/stg_sdg__observations",
            "marts/fct_indicator_observations", "published_marts"} <= keys
    # One connected lineage: the dbt source is the ingestion asset itself, not a separate stub.
    assert "raw_sdg/series_observations" in deps["staging/stg_sdg__observations"]
    assert "marts/fct_indicator_observations" in deps["published_marts"]
    assert all(dep.startswith("marts/") for dep in deps["published_marts"])
    schedule = defs.resolve_schedule_def("nightly_schedule")
    assert (schedule.cron_schedule, schedule.execution_timezone, schedule.job_name) == ("0 2 * * *", "UTC",
                                                                                       "sdg_series_job")
    assert defs.resolve_sensor_def("main_after_nightly_runs").job_name == "main_job"
    assert sorted((s.name, s.cron_schedule, s.job_name) for s in defs.schedules) == [
        ("nightly_partners_schedule", "0 2 * * *", "partner_job"), ("nightly_schedule", "0 2 * * *", "sdg_series_job")]
    assert sorted(sensor.name for sensor in defs.sensors) == [
        "main_after_nightly_runs", "main_after_partner_update", "partner_inbox_sensor", "quality_gate_alert_sensor"]
    assert "raw_partners/observations" in deps["staging/stg_partners__observations"]
    # One partition per series of the curated default list (SDG_SERIES unset when the code location loads).
    partitions = defs.resolve_job_def("sdg_series_job").partitions_def.get_partition_keys()
    assert partitions == list(default_series()) and len(partitions) == 23
    checks = {k.to_user_string() for k in graph.asset_check_keys}
    blocking = {k.to_user_string() for k in graph.asset_check_keys if graph.get_check_spec(k).blocking}
    assert "marts/fct_indicator_observations:fct_indicator_observations_suite" in blocking
    # dbt tests surface as asset checks too
    assert any(c.startswith("marts/fct_indicator_observations:unique_") for c in checks)


def test_landing_jobs_leave_the_whole_table_suites_to_main_job():
    """A landing suite reads its whole table: once a night in main_job, not again in every series or
    partner run (where it had cost more than the landing itself)."""
    from orchestration.checks import LANDING_SUITE_CHECK_KEYS
    from orchestration.definitions import defs

    for name in ("sdg_series_job", "partner_job"):
        assert defs.resolve_job_def(name).asset_layer.asset_graph.asset_check_keys == set(), name
    main_checks = defs.resolve_job_def("main_job").asset_layer.asset_graph.asset_check_keys
    assert set(LANDING_SUITE_CHECK_KEYS) <= main_checks
