"""KoBo validation statuses as the survey contract's policy (``published_validation_statuses``).

An API answer in the shape of the real sample (tests/data/kobo: robotoolbox's six submissions across three
form versions), given the four validation statuses KoBo sends (``Approved``, ``On Hold``, ``Not Approved`` as
objects, and the empty ``{}``), is served by the local KoBo API to the real client and the real Dagster asset;
the real dbt then builds ``int_kobo_respondents_derived``. Under each policy exactly the submissions with a
published status reach it, and the asset's metadata counts each status. The partner report of an export
through the inbox says the same per status, in the partner's language.
"""

from __future__ import annotations

import copy
import html
import json
import shutil
from datetime import datetime, timezone
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import yaml

from ingestion.config import load_settings
from ingestion.kobo.contract import SCHEMA_PATH
from ingestion.kobo.validation import DEFAULT_POLICY, POLICIES
from ingestion.partners import ingest_partner
from tests.conftest import REPO, run_dbt
from tests.fixtures.servers import FAKE_API_TOKEN as TOKEN
from tests.kobo_api_server import ROBOTOOLBOX_UID, FakeAsset, FakeKoboApi, robotoolbox_asset
from tests.partners_corpus.support import SAMPLE_CONTRACTS, SAMPLE_INBOX

SALT = "validation-status-test-salt-3f81"
SURVEY = "robotoolbox_group_names"


def kobo_status(uid: str, label: str) -> dict:
    """A validation status as KoBo's API v2 sends it on a submission (``_validation_status``)."""
    return {"timestamp": 1_700_000_000, "uid": f"validation_status_{uid}", "by_whom": "supervisor",
            "color": "#000000", "label": label}


# One status per submission of the sample, in order; {} is KoBo's "no status".
SENT = [kobo_status("approved", "Approved"), kobo_status("on_hold", "On Hold"),
        kobo_status("not_approved", "Not Approved"), {}, kobo_status("approved", "Approved"),
        kobo_status("on_hold", "On Hold")]
LANDED = {"approved": 2, "on_hold": 2, "not_approved": 1, "none": 1}


def expected_counts(policy: str) -> dict[str, dict[str, int]]:
    published = {"all_but_not_approved": {"approved", "on_hold", "none"}, "approved_only": {"approved"}}[policy]
    return {status: {"landed": n, "published": n if status in published else 0,
                     "set_aside": 0 if status in published else n} for status, n in LANDED.items()}


def test_the_policies_in_the_schema_are_the_policies_applied():
    schema = json.loads(SCHEMA_PATH.read_text())["properties"]["published_validation_statuses"]
    assert schema["enum"] == list(POLICIES) and schema["default"] == DEFAULT_POLICY


@pytest.fixture
def statuses_api(kobo_api: FakeKoboApi) -> FakeKoboApi:
    sample = robotoolbox_asset()
    assert len(sample.submissions) == len(SENT) and all(row["_validation_status"] == {} for row in sample.submissions)
    submissions = [{**copy.deepcopy(row), "_validation_status": status} for row, status in zip(sample.submissions, SENT)]
    kobo_api.assets[ROBOTOOLBOX_UID] = FakeAsset(sample.asset, submissions)
    return kobo_api


@pytest.mark.dbt
@pytest.mark.parametrize("policy", [None, "all_but_not_approved", "approved_only"])
def test_the_api_survey_publishes_the_statuses_its_policy_names(statuses_api, policy, tmp_path, monkeypatch):
    contracts = tmp_path / "contracts"
    shutil.copytree(REPO / "tests" / "data" / "kobo" / "contracts", contracts)
    if policy:
        path = contracts / f"{SURVEY}.yml"
        path.write_text(path.read_text() + f"published_validation_statuses: {policy}\n")
    warehouse = tmp_path / "w.duckdb"
    for name, value in {"WAREHOUSE_PATH": str(warehouse), "KOBO_CONTRACTS": str(contracts), "PII_SALT": SALT,
                        "KOBO_SERVER_URL": statuses_api.server_url, "KOBO_TOKEN": TOKEN,
                        "KOBO_ASSET_UIDS": ROBOTOOLBOX_UID}.items():
        monkeypatch.setenv(name, value)
    from orchestration.assets.kobo import raw_kobo_api
    from orchestration.definitions import build_resources

    result = dg.materialize([raw_kobo_api], resources=build_resources(load_settings()),
                            instance=dg.DagsterInstance.ephemeral())
    expected = expected_counts(policy or DEFAULT_POLICY)
    metadata = result.asset_materializations_for_node("raw_kobo_api")[0].metadata
    assert metadata["surveys"].value[ROBOTOOLBOX_UID]["validation_statuses"] == expected
    assert metadata["validation_statuses"].value == expected
    assert metadata["submissions_published"].value == sum(item["published"] for item in expected.values())

    completed = run_dbt("run", "--select", "+int_kobo_respondents_derived", "--target-path",
                        str(tmp_path / "target"), warehouse=warehouse)
    assert completed.returncode == 0, completed.stdout[-4000:]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        # Every status landed; the published respondents are exactly the submissions of a published status.
        landed = dict(con.execute("select coalesce(validation_status, 'none'), count(*) "
                                  "from raw_kobo_restricted.submissions group by all").fetchall())
        published = dict(con.execute(
            "select coalesce(s.validation_status, 'none'), count(*) from restricted.int_kobo_respondents_derived d "
            "join raw_kobo_restricted.submissions s using (survey_id, submission_key) group by all").fetchall())
    assert landed == LANDED
    assert published == {status: item["published"] for status, item in expected.items() if item["published"]}


def test_the_partner_report_counts_each_status_under_approved_only(tmp_path):
    """The bundled KoBo partner, its survey switched to approved_only and its reports to Spanish."""
    survey = yaml.safe_load((REPO / "contracts" / "kobo" / "demo_wg_household_2025.yml").read_text())
    survey["published_validation_statuses"] = "approved_only"
    survey_path = tmp_path / "demo_wg_household_2025.yml"
    survey_path.write_text(yaml.safe_dump(survey, allow_unicode=True))
    contracts = tmp_path / "contracts"
    contracts.mkdir()
    partner = yaml.safe_load((SAMPLE_CONTRACTS / "community_wg_survey.yml").read_text())
    for entry in partner["files"]:
        if entry.get("format") == "kobo":
            entry["kobo_contract"] = str(survey_path)
    partner.setdefault("partner", {})["language"] = "es"
    (contracts / "community_wg_survey.yml").write_text(yaml.safe_dump(partner, allow_unicode=True))
    reports = tmp_path / "reports"
    with duckdb.connect() as con:
        result = ingest_partner(con, "community_wg_survey", SAMPLE_INBOX, contracts, reports, "run-1",
                                datetime(2025, 6, 2, 12, 0, tzinfo=timezone.utc))
        (item,) = result.files
        assert item.status == "loaded_with_rejections", item.errors
        statuses = result.metadata()["per_file"]["demo_wg_household_2025.csv"]["validation_statuses"]
        assert statuses == {"approved": {"landed": 266, "published": 266, "set_aside": 0},
                            "on_hold": {"landed": 2, "published": 0, "set_aside": 2},
                            "not_approved": {"landed": 3, "published": 0, "set_aside": 3},
                            "none": {"landed": 52, "published": 0, "set_aside": 52}}
        # 323 landed after the other exclusions; approved_only publishes the 266 approved.
        assert con.execute("select count(*) from raw_kobo_restricted.submissions").fetchone()[0] == 323
        assert con.execute("select published_statuses from raw_kobo.surveys").fetchone()[0] == ["approved"]
    page = html.unescape(Path(item.report_html).read_text(encoding="utf-8"))
    assert "Por estado de validación" in page and "solo las entrevistas que un supervisor marcó" in page
    for label, landed, used, set_aside in (("Aprobado", 266, 266, 0), ("En espera", 2, 0, 2),
                                            ("No aprobado", 3, 0, 3), ("sin estado (no validada)", 52, 0, 52)):
        assert f"<td>{label}</td><td>{landed}</td><td>{used}</td><td>{set_aside}</td>" in page.replace("\n", "")
    assert "52 entrevistas aún no validadas" in page and "2 entrevistas en espera" in page
