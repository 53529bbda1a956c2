"""Runs launched the way the UI's daemon launches them never collide on the warehouse.

`make dev` starts the daemon; within seconds the inbox sensor asks for one partner run per partner folder,
and the queued run coordinator launches each run in a process of its own. DuckDB lets one process hold
the warehouse, so the `duckdb_warehouse` pool must keep every run that touches it (asset steps and check
steps alike) from starting while another is in progress: `granularity: run` in orchestration/dagster.yaml.
Here the real daemon, the real sensor and the real run launcher do exactly that.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from tests.conftest import REPO, SNAPSHOT

PARTNERS = ("ability_forum", "idp_monitoring_network", "older_voices")  # three runs at once: enough to collide
TIMEOUT_S = 240


def daemon_env(root: Path) -> dict[str, str]:
    inbox = root / "inbox"
    inbox.mkdir(parents=True)
    for partner in PARTNERS:
        shutil.copytree(REPO / "data" / "inbox" / partner, inbox / partner)
    national = root / "national"  # no platforms: their runs belong to tests/test_national.py
    national.mkdir()
    home = root / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "orchestration" / "dagster.yaml", home / "dagster.yaml")
    return {**os.environ, "DAGSTER_HOME": str(home), "PARTNER_INBOX": str(inbox),
            "NATIONAL_CONTRACTS": str(national),
            "WAREHOUSE_PATH": str(root / "warehouse" / "warehouse.duckdb"),
            "PUBLISHED_PATH": str(root / "warehouse" / "published.duckdb"), "REPORTS_DIR": str(root / "reports"),
            "SDG_API_MODE": "replay", "SDG_API_REPLAY_DIR": str(SNAPSHOT)}


def dagster_cli(*args: str, env: dict[str, str]) -> None:
    completed = subprocess.run([str(Path(sys.executable).parent / "dagster"), *args, "-w", "workspace.yaml"],
                               cwd=REPO, env=env, capture_output=True, text=True)
    assert completed.returncode == 0, completed.stdout + completed.stderr


@pytest.mark.e2e
def test_partner_runs_launched_by_the_daemon_at_once_take_the_warehouse_in_turn(tmp_path):
    env = daemon_env(tmp_path)
    # Only the inbox sensor's runs: the republication that follows each of them is another test's business.
    dagster_cli("sensor", "stop", "main_after_partner_update", env=env)
    daemon = subprocess.Popen([str(Path(sys.executable).parent / "dagster-daemon"), "run", "-w", "workspace.yaml"],
                              cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                              start_new_session=True)
    try:
        with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
            deadline = time.monotonic() + TIMEOUT_S
            while time.monotonic() < deadline:
                records = instance.get_run_records(dg.RunsFilter(job_name="partner_job"))
                if len(records) == len(PARTNERS) and all(r.dagster_run.is_finished for r in records):
                    break
                assert daemon.poll() is None, daemon.stderr.read()
                time.sleep(1)
            else:
                pytest.fail(f"{len(records)} partner run(s) after {TIMEOUT_S} s: "
                            f"{[(r.dagster_run.run_id, r.dagster_run.status) for r in records]}")
            failures = {r.dagster_run.tags.get("dagster/partition"): _failure(instance, r.dagster_run.run_id)
                        for r in records if r.dagster_run.status != dg.DagsterRunStatus.SUCCESS}
            windows = sorted(_steps_window(instance, r.dagster_run.run_id) for r in records)
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        daemon.wait(timeout=60)
    assert failures == {}
    assert sorted(r.dagster_run.tags.get("dagster/partition") for r in records) == sorted(PARTNERS)
    # One after another: no run's steps (each one opens the warehouse) began before the previous run's had ended.
    # (Not the runs' own start and end times: a run's record is closed a moment after its last step freed the
    # pool, so the next run may start before it, with nothing of the two running at once.)
    assert all(end <= next_start for (_, end), (next_start, _) in zip(windows, windows[1:])), windows
    assert not list((tmp_path / "reports").glob("alerts/*.md"))  # no failure alert either


def _steps_window(instance: dg.DagsterInstance, run_id: str) -> tuple[float, float]:
    """When a run's first step started and its last step ended."""
    events = instance.all_logs(run_id, of_type={dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS,
                                                dg.DagsterEventType.STEP_FAILURE})
    times = [event.timestamp for event in events]
    assert times, f"run {run_id} ran no step"
    return min(times), max(times)


def _failure(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    """What went wrong in a run, from its event log: each failed step's error."""
    events = instance.all_logs(run_id, of_type={dg.DagsterEventType.STEP_FAILURE, dg.DagsterEventType.RUN_FAILURE})
    return [str(event.dagster_event.event_specific_data)[:500] for event in events]
