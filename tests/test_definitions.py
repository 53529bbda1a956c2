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


def test_every_asset_has_owners_and_tags_and_respondent_level_ones_are_marked_sensitive():
    from orchestration.assets.catalog import PRIVACY_TAG, RESPONDENT_LEVEL
    from orchestration.definitions import defs

    graph = defs.get_repository_def().asset_graph
    nodes = {key.to_user_string(): graph.get(key) for key in graph.get_all_asset_keys()}
    assert len(nodes) > 50
    for name, node in nodes.items():
        assert node.owners, f"{name} has no owner"
        assert {"layer", PRIVACY_TAG} <= set(node.tags), f"{name} lacks its tags: {node.tags}"
    sensitive = {name for name, node in nodes.items() if node.tags[PRIVACY_TAG] == RESPONDENT_LEVEL}
    # The KoBo submissions as landed (API and export files alike), and every dbt model reading them.
    assert sensitive == {"raw_kobo_restricted/submissions", "restricted/stg_kobo__submissions",
                         "restricted/int_kobo_respondents_derived"}
    # Nothing downstream that is published holds a respondent's row.
    assert not {name for name in sensitive if name.startswith("marts/") or name == "published_marts"}


def test_secrets_are_read_at_run_time_and_never_reach_the_ui(monkeypatch):
    """With KOBO_TOKEN and PII_SALT set, the code location knows their names only: the resources' repr and the
    repository snapshot the UI reads (resource config included) hold neither value."""
    from dagster._core.remote_representation.external_data import RepositorySnap
    from dagster_shared.serdes import serialize_value

    from ingestion.config import load_settings
    from orchestration.definitions import build_defs

    token, salt = "tok-never-shown-4242", "salt-never-shown-9191"
    monkeypatch.setenv("KOBO_TOKEN", token)
    monkeypatch.setenv("PII_SALT", salt)
    monkeypatch.setenv("KOBO_SERVER_URL", "https://kobo.example.org")
    defs = build_defs(load_settings())
    snapshot = serialize_value(RepositorySnap.from_def(defs.get_repository_def()))
    assert "KOBO_TOKEN" in snapshot and "PII_SALT" in snapshot  # by name...
    assert token not in snapshot and salt not in snapshot  # ...never by value
    resources = defs.resources
    assert resources["kobo_api"].token == "KOBO_TOKEN"  # a dg.EnvVar: the variable's name, resolved in the run
    for resource in resources.values():
        assert token not in repr(resource) and salt not in repr(resource)
    monkeypatch.delenv("KOBO_TOKEN")
    monkeypatch.delenv("PII_SALT")
    unset = build_defs(load_settings()).resources
    assert unset["kobo_api"].token is None and unset["partner_inbox"].pii_salt is None  # off, not a run-time error


def test_published_marts_is_fresh_only_after_tonight_and_runs_retry_only_after_a_crash():
    import yaml

    from orchestration.definitions import defs
    from orchestration.resources import PUBLISHED_KEY

    policy = defs.get_assets_def(PUBLISHED_KEY).get_asset_spec(PUBLISHED_KEY).freshness_policy
    assert policy is not None and policy.deadline_cron == "0 8 * * *" and policy.timezone == "UTC"
    instance = yaml.safe_load((REPO / "orchestration" / "dagster.yaml").read_text())
    assert instance["concurrency"]["pools"]["granularity"] == "run"  # the warehouse pool, held for a whole run
    assert instance["run_retries"] == {"enabled": True, "max_retries": 1, "retry_on_asset_or_op_failure": False}


def test_the_schedules_make_the_runs_night_run_requests_plans(tmp_path):
    """The nightly schedules and `make run` (orchestration/run.py) share night_run_requests."""
    import datetime as dt

    import dagster as dg

    from orchestration.assets.partners import partner_partitions
    from orchestration.definitions import defs
    from ingestion.config import load_settings
    from orchestration.jobs import NIGHTLY_TAG, night_run_requests

    series = defs.resolve_job_def("sdg_series_job").partitions_def.get_partition_keys()
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        instance.add_dynamic_partitions(partner_partitions.name, ["a_partner"])
        with dg.build_schedule_context(instance=instance, repository_def=defs.get_repository_def(),
                                       scheduled_execution_time=dt.datetime(2026, 11, 21, 2, tzinfo=dt.timezone.utc)
                                       ) as context:
            made = [*defs.resolve_schedule_def("nightly_schedule").evaluate_tick(context).run_requests,
                    *defs.resolve_schedule_def("nightly_partners_schedule").evaluate_tick(context).run_requests]
    per_run = load_settings().sdg_series_per_run  # as the code location read it
    planned = night_run_requests(series, per_run, ["a_partner"], night="2026-11-21")
    def plain(request):  # Dagster adds the schedule and the partition to the tags of what it requests
        tags = {k: v for k, v in request.tags.items() if k not in ("dagster/schedule_name", "dagster/partition",
                                                                  "dagster/partition_set")}
        return request.job_name, request.run_key, request.partition_key, tags

    assert list(map(plain, made)) == list(map(plain, planned))
    assert len(made) == len(planned) >= 2 and all(r.tags[NIGHTLY_TAG] == "2026-11-21" for r in made)
    # `make run` plans the same runs without the night's tag and keys (a daemon must not take them for a night's).
    assert all(NIGHTLY_TAG not in r.tags and r.run_key is None for r in night_run_requests(series, 10, ["p"]))
