"""The code location loads offline, opens no DuckDB file, and wires one lineage from API to published file."""

import json
import os
import subprocess
import sys
import textwrap

from tests.conftest import REPO

PROBE = textwrap.dedent(
    """
    import json
    import dagster as dg
    from orchestration.definitions import defs
    repo = defs.get_repository_def()
    graph = repo.asset_graph
    keys = sorted(key.to_user_string() for key in graph.get_all_asset_keys())
    deps = {key.to_user_string(): sorted(p.to_user_string() for p in graph.get(key).parent_keys)
            for key in graph.get_all_asset_keys()}
    schedule = defs.get_schedule_def("nightly_schedule")
    sensor = defs.get_sensor_def("main_after_nightly_runs")
    sensors = sorted(sensor.name for sensor in defs.sensors)
    schedules = sorted((s.name, s.cron_schedule, s.job_name) for s in defs.schedules)
    series_job = defs.resolve_job_def("sdg_series_job")
    checks = sorted(k.to_user_string() for k in graph.asset_check_keys)
    blocking = sorted(k.to_user_string() for k in graph.asset_check_keys if graph.get_check_spec(k).blocking)
    print(json.dumps({"keys": keys, "deps": deps, "cron": schedule.cron_schedule, "tz": schedule.execution_timezone,
                      "job": schedule.job_name, "checks": checks, "blocking": blocking,
                      "sensor_job": sensor.job_name, "sensors": sensors, "schedules": schedules,
                      "partitions": series_job.partitions_def.get_partition_keys()}))
    """
)


def load_in_subprocess(tmp_path):
    env = {
        **os.environ,
        "WAREHOUSE_PATH": str(tmp_path / "w" / "warehouse.duckdb"),
        "PUBLISHED_PATH": str(tmp_path / "w" / "published.duckdb"),
        "SDG_API_MODE": "live",
        "SDG_API_BASE_URL": "http://127.0.0.1:9/sdgapi",  # nothing listens there: any call would fail
        "PYTHONPATH": str(REPO),
    }
    completed = subprocess.run([sys.executable, "-c", PROBE], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_definitions_load_offline_without_opening_duckdb(tmp_path):
    loaded = load_in_subprocess(tmp_path)
    assert not (tmp_path / "w").exists(), "loading definitions must not create or open the warehouse"
    assert {"raw_sdg/series_observations", "staging/stg_sdg__observations",
            "marts/fct_indicator_observations", "published_marts"} <= set(loaded["keys"])
    # One connected lineage: the dbt source is the ingestion asset itself, not a separate stub.
    assert "raw_sdg/series_observations" in loaded["deps"]["staging/stg_sdg__observations"]
    assert "marts/fct_indicator_observations" in loaded["deps"]["published_marts"]
    assert all(dep.startswith("marts/") for dep in loaded["deps"]["published_marts"])
    assert (loaded["cron"], loaded["tz"], loaded["job"]) == ("0 2 * * *", "UTC", "sdg_series_job")
    assert loaded["sensor_job"] == "main_job"
    assert loaded["schedules"] == [["nightly_partners_schedule", "0 2 * * *", "partner_job"],
                                   ["nightly_schedule", "0 2 * * *", "sdg_series_job"]]
    assert loaded["sensors"] == ["main_after_nightly_runs", "main_after_partner_update", "partner_inbox_sensor",
                                "quality_gate_alert_sensor"]
    assert "raw_partners/observations" in loaded["deps"]["staging/stg_partners__observations"]
    # One partition per series of the curated default list.
    assert loaded["partitions"][0] == "SH_OOP_XPD_EARNNET40" and len(loaded["partitions"]) == 8
    assert "marts/fct_indicator_observations:fct_indicator_observations_suite" in loaded["blocking"]
    # dbt tests surface as asset checks too
    assert any(c.startswith("marts/fct_indicator_observations:unique_") for c in loaded["checks"])


def test_dagster_validates_the_workspace(tmp_path):
    env = {**os.environ, "WAREHOUSE_PATH": str(tmp_path / "warehouse.duckdb"), "DAGSTER_HOME": str(tmp_path)}
    completed = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "dagster"), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=REPO, env=env, capture_output=True, text=True,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "Validation successful" in completed.stdout + completed.stderr
    assert not (tmp_path / "warehouse.duckdb").exists()


def test_landing_jobs_leave_the_whole_table_suites_to_main_job():
    """A landing suite reads its whole table: once a night in main_job, not again in every series or
    partner run (where it had cost more than the landing itself)."""
    from orchestration.checks import LANDING_SUITE_CHECK_KEYS
    from orchestration.definitions import defs

    for name in ("sdg_series_job", "partner_job"):
        assert defs.resolve_job_def(name).asset_layer.asset_graph.asset_check_keys == set(), name
    main_checks = defs.resolve_job_def("main_job").asset_layer.asset_graph.asset_check_keys
    assert set(LANDING_SUITE_CHECK_KEYS) <= main_checks
