"""The KoBo API asset in Dagster, against a local server speaking the KoBo API v2."""

import shutil

import dagster as dg
import duckdb
import pytest

from ingestion.config import load_settings
from tests.conftest import REPO
from tests.fixtures.servers import FAKE_API_TOKEN as TOKEN
from tests.kobo_api_server import FORMPACK_UID, ROBOTOOLBOX_UID, FakeKoboApi
SALT = "asset-test-salt-not-a-secret-42"


def materialize_kobo(tmp_path):
    from orchestration.assets.kobo import raw_kobo_api
    from orchestration.definitions import build_resources

    return dg.materialize([raw_kobo_api], resources=build_resources(load_settings()),
                          instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)


@pytest.fixture
def kobo_env(kobo_api: FakeKoboApi, tmp_path, monkeypatch) -> FakeKoboApi:
    monkeypatch.setenv("WAREHOUSE_PATH", str(tmp_path / "w.duckdb"))
    monkeypatch.setenv("KOBO_CONTRACTS", str(REPO / "tests" / "data" / "kobo" / "contracts"))
    monkeypatch.setenv("PII_SALT", SALT)
    monkeypatch.setenv("KOBO_SERVER_URL", kobo_api.server_url)
    return kobo_api


def test_configured_surveys_are_pulled_and_land_restricted(kobo_env, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("KOBO_TOKEN", TOKEN)
    monkeypatch.setenv("KOBO_ASSET_UIDS", f"{ROBOTOOLBOX_UID},{FORMPACK_UID}")
    result = materialize_kobo(tmp_path)
    assert result.success
    metadata = result.asset_materializations_for_node("raw_kobo_api")[0].metadata
    surveys = metadata["surveys"].value
    assert surveys[ROBOTOOLBOX_UID]["submissions_landed"] == 6
    assert metadata["failed_assets"].value == {}
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from raw_kobo_restricted.submissions where survey_id in "
                           "(select survey_id from raw_kobo.surveys where asset_uid = ?)", [ROBOTOOLBOX_UID]
                           ).fetchone()[0] == 6
    assert TOKEN not in caplog.text and SALT not in caplog.text


def test_a_bad_token_fails_that_survey_clearly_without_printing_the_token(kobo_env, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("KOBO_TOKEN", "wrong-token-0000")
    monkeypatch.setenv("KOBO_ASSET_UIDS", ROBOTOOLBOX_UID)
    result = materialize_kobo(tmp_path)
    assert result.success  # the other sources still build and publish
    failures = result.asset_materializations_for_node("raw_kobo_api")[0].metadata["failed_assets"].value
    assert "401" in failures[ROBOTOOLBOX_UID] or "token" in failures[ROBOTOOLBOX_UID].lower()
    assert "wrong-token-0000" not in caplog.text and "wrong-token-0000" not in str(failures)


def test_nothing_configured_is_a_no_op(kobo_env, tmp_path, monkeypatch):
    monkeypatch.delenv("KOBO_ASSET_UIDS", raising=False)
    result = materialize_kobo(tmp_path)
    assert result.success
    metadata = result.asset_materializations_for_node("raw_kobo_api")[0].metadata
    assert metadata["configured_assets"].value == 0 and kobo_env.requests == []


def test_missing_settings_fail_each_survey_not_the_run(kobo_env, tmp_path, monkeypatch):
    monkeypatch.delenv("KOBO_TOKEN", raising=False)
    monkeypatch.setenv("KOBO_ASSET_UIDS", ROBOTOOLBOX_UID)
    result = materialize_kobo(tmp_path)
    assert result.success  # the other sources still build and publish
    failures = result.asset_materializations_for_node("raw_kobo_api")[0].metadata["failed_assets"].value
    assert set(failures) == {ROBOTOOLBOX_UID} and "KOBO_TOKEN" in failures[ROBOTOOLBOX_UID]
    assert kobo_env.requests == []


def test_a_broken_contract_fails_only_the_survey_it_might_declare(kobo_env, tmp_path, monkeypatch):
    contracts = tmp_path / "contracts"
    shutil.copytree(REPO / "tests" / "data" / "kobo" / "contracts", contracts)
    broken = sorted(path for path in contracts.glob("*.yml")
                    if f"asset_uid: {FORMPACK_UID}" in path.read_text())[0]
    broken.write_text("survey_id: [not, a, contract\n")
    monkeypatch.setenv("KOBO_CONTRACTS", str(contracts))
    monkeypatch.setenv("KOBO_TOKEN", TOKEN)
    monkeypatch.setenv("KOBO_ASSET_UIDS", f"{ROBOTOOLBOX_UID},{FORMPACK_UID}")
    result = materialize_kobo(tmp_path)
    assert result.success
    metadata = result.asset_materializations_for_node("raw_kobo_api")[0].metadata
    assert metadata["surveys"].value[ROBOTOOLBOX_UID]["submissions_landed"] == 6
    failure = metadata["failed_assets"].value[FORMPACK_UID]
    assert "could not be read" in failure and broken.name in failure


def test_a_server_url_the_client_refuses_fails_each_survey_not_the_run(kobo_env, tmp_path, monkeypatch):
    monkeypatch.setenv("KOBO_SERVER_URL", "http://kobo.example.org")  # not https: the token would travel in clear
    monkeypatch.setenv("KOBO_TOKEN", TOKEN)
    monkeypatch.setenv("KOBO_ASSET_UIDS", ROBOTOOLBOX_UID)
    result = materialize_kobo(tmp_path)
    assert result.success
    failures = result.asset_materializations_for_node("raw_kobo_api")[0].metadata["failed_assets"].value
    assert set(failures) == {ROBOTOOLBOX_UID} and "kobo.example.org" in failures[ROBOTOOLBOX_UID]
    assert TOKEN not in str(failures)
