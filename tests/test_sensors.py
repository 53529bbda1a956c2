"""The inbox sensor and the nightly chain, evaluated for real against a Dagster instance."""

import datetime as dt
import os
import shutil

import dagster as dg

from orchestration.assets.partners import partner_partitions
from orchestration.jobs import main_after_nightly_runs, nightly_partners_schedule, partner_inbox_sensor
from orchestration.resources import PartnerInboxResource
from tests.conftest import REPO


def evaluate(instance, inbox, cursor=None):
    context = dg.build_sensor_context(
        instance=instance, cursor=cursor,
        resources={"partner_inbox": PartnerInboxResource(inbox=str(inbox), contracts="unused", reports="unused",
                                                         national_contracts=str(REPO / "contracts" / "national"))},
    )
    result = partner_inbox_sensor(context)
    for request in result.dynamic_partitions_requests:
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    return result


def test_one_run_per_new_or_changed_partner_file(tmp_path):
    inbox = tmp_path / "inbox"
    shutil.copytree(REPO / "data" / "inbox", inbox)
    with dg.DagsterInstance.ephemeral() as instance:
        first = evaluate(instance, inbox)
        partners = sorted(r.partition_key for r in first.run_requests)
        # one run per partner folder, and a first one per national platform contract
        platforms = sorted(f"national_{p.stem}" for p in (REPO / "contracts" / "national").glob("*.yml"))
        assert platforms == ["national_arm", "national_gha", "national_mda"]
        assert partners == sorted([*(p.name for p in inbox.iterdir() if p.is_dir()), *platforms])
        assert set(instance.get_dynamic_partitions(partner_partitions.name)) >= set(partners)

        unchanged = evaluate(instance, inbox, first.cursor)
        assert unchanged.run_requests == []  # nothing new: no run

        changed_file = next((inbox / "ability_forum").iterdir())
        stat = changed_file.stat()
        os.utime(changed_file, (stat.st_atime, stat.st_mtime + 60))
        changed = evaluate(instance, inbox, unchanged.cursor)
        assert [r.partition_key for r in changed.run_requests] == ["ability_forum"]

        (inbox / "new_partner").mkdir()
        (inbox / "new_partner" / "data.csv").write_text("Year,Value\n2020,1\n")
        arrived = evaluate(instance, inbox, changed.cursor)
        assert [r.partition_key for r in arrived.run_requests] == ["new_partner"]
        assert "new_partner" in instance.get_dynamic_partitions(partner_partitions.name)
        # The same change seen again (e.g. a sensor restart without cursor) has the same run key.
        again = evaluate(instance, inbox, changed.cursor)
        assert [r.run_key for r in again.run_requests] == [r.run_key for r in arrived.run_requests]
        # A file taken out of the inbox: a run for its partner, which withdraws its rows.
        kept = changed_file.read_bytes(), changed_file.stat()
        changed_file.unlink()
        removed = evaluate(instance, inbox, arrived.cursor)
        assert [r.partition_key for r in removed.run_requests] == ["ability_forum"]
        assert evaluate(instance, inbox, removed.cursor).run_requests == []
        # Moved back in with its old mtime, then out again: each is a new change with its own run key.
        changed_file.write_bytes(kept[0])
        os.utime(changed_file, (kept[1].st_atime, kept[1].st_mtime))
        back = evaluate(instance, inbox, removed.cursor)
        changed_file.unlink()
        again_removed = evaluate(instance, inbox, back.cursor)
        keys = [r.run_key for result in (changed, removed, back, again_removed) for r in result.run_requests]
        assert len(keys) == 4 and len(set(keys)) == 4


def test_nightly_schedule_covers_every_known_partner(tmp_path):
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        instance.add_dynamic_partitions(partner_partitions.name, ["a_partner", "b_partner"])
        # As a context manager: built on an instance_for_test, the context would otherwise leave that instance
        # set as the process's current defs-state storage, and a later test's Definitions would find it gone.
        with dg.build_schedule_context(instance=instance, scheduled_execution_time=dt.datetime(
                2026, 11, 21, 2, tzinfo=dt.timezone.utc)) as context:
            requests = list(nightly_partners_schedule(context))
        assert [(r.partition_key, r.run_key) for r in requests] == [
            ("a_partner", "2026-11-21:a_partner"), ("b_partner", "2026-11-21:b_partner")]


def test_main_job_waits_for_every_nightly_landing_run():
    night = dt.datetime.now(dt.timezone.utc).date().isoformat()

    @dg.op
    def land():
        return None

    @dg.job(name="partner_job")  # stands in for a night's landing run: same name, same tags
    def landing_run():
        land()

    with dg.DagsterInstance.ephemeral() as instance:
        context = dg.build_sensor_context(instance=instance)
        assert isinstance(main_after_nightly_runs(context), dg.SkipReason)  # nothing landed tonight yet
        pending = instance.create_run_for_job(landing_run, tags={"pipeline/nightly": night},
                                              status=dg.DagsterRunStatus.STARTED)
        assert isinstance(main_after_nightly_runs(context), dg.SkipReason)  # still running
        instance.report_run_failed(pending)
        landing_run.execute_in_process(instance=instance, tags={"pipeline/nightly": night})
        request = main_after_nightly_runs(context)
        assert isinstance(request, dg.RunRequest)
        assert request.run_key == f"{night}:main"
        assert request.tags["pipeline/failed_landing"].startswith("partner_job:")  # the failed one is named
