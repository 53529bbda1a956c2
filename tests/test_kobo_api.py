"""The real KoBo API v2 client and landing, against a local server speaking the API (no mocks)."""

import copy
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml

from ingestion.kobo import (
    KoboApiError,
    KoboAuthError,
    KoboClient,
    KoboFormMismatchError,
    ingest_kobo_api,
    kobo_client_from_settings,
    load_contract,
    parse_contract,
)
from ingestion.warehouse import connect
from tests.fixtures.servers import FAKE_API_TOKEN as TOKEN
from tests.kobo_api_server import (
    FORMPACK_UID,
    ROBOTOOLBOX_UID,
    FakeKoboApi,
)

REPO = Path(__file__).resolve().parent.parent
CONTRACTS = REPO / "tests" / "data" / "kobo" / "contracts"
SALT = "test-salt-not-a-secret-0123456789"
NOW = datetime(2025, 6, 2, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def api(kobo_api: FakeKoboApi) -> FakeKoboApi:
    return kobo_api


def client_for(api: FakeKoboApi, token: str = TOKEN, sleeps: list | None = None, **kwargs) -> KoboClient:
    return KoboClient(api.server_url, token, sleep=sleeps.append if sleeps is not None else (lambda _: None), **kwargs)


def robotoolbox_contract(**changes):
    data = yaml.safe_load((CONTRACTS / "robotoolbox_group_names.yml").read_text(encoding="utf-8"))
    data.update(changes)
    return parse_contract(data, origin="robotoolbox_group_names.yml", base_dir=REPO)


def pull(con, client, uid=ROBOTOOLBOX_UID, contract=None, **kwargs):
    options = {"pii_salt": SALT, "run_id": "run-1", "now": NOW, **kwargs}
    return ingest_kobo_api(con, client, uid, contract or robotoolbox_contract(), **options)


def landed(con):
    return con.execute("select form_version, fields from raw_kobo_restricted.submissions order by source_row").fetchall()


ROBOTOOLBOX_ROWS = [
    ("vMFnPjwHiASsf3u2fFYsaY", {"pet_type": "CAT CHICKEN", "sex": "M"}),   # v1/hh_sex
    ("vMFnPjwHiASsf3u2fFYsaY", {"pet_type": "DOG", "sex": "M"}),
    ("vMFnPjwHiASsf3u2fFYsaY", {"pet_type": "OTHER TURTLE", "sex": "F"}),
    ("vQMEt4Kdmnpm9ui24GKwKU", {"pet_type": "CAT DOG", "sex": "M"}),       # v2/hh_sex
    ("vQMEt4Kdmnpm9ui24GKwKU", {"pet_type": "CHICKEN", "sex": "F"}),
    ("vLRmZbNfdg3ccREn3GBrhz", {"pet_type": "DOG TURTLE", "sex": "M"}),    # v0/hh_sex
]


def test_pages_by_start_and_limit_and_maps_the_moved_question_to_one_field(api, tmp_path):
    with connect(tmp_path / "w.duckdb") as con:
        result = pull(con, client_for(api, page_size=2))
        assert landed(con) == ROBOTOOLBOX_ROWS
        load = con.execute("select source_kind, source, asset_uid, submissions_read, submissions_landed, api_pages, "
                           "api_retries, api_restarts from raw_kobo.loads").fetchall()
        lineage = con.execute("select count(*) from raw_kobo_restricted.submissions where fetched_at is null "
                              "or source_sha256 is null or source <> ?", [f"{api.server_url}/api/v2/assets/"
                                                                         f"{ROBOTOOLBOX_UID}/data/"]).fetchone()
    assert load == [("api", f"{api.server_url}/api/v2/assets/{ROBOTOOLBOX_UID}/data/", ROBOTOOLBOX_UID, 6, 6, 3, 0, 0)]
    assert lineage == (0,)
    assert [(params["start"], params["limit"]) for params in api.data_requests()] == [(["0"], ["2"]), (["2"], ["2"]),
                                                                                       (["4"], ["2"])]
    assert result.form_versions == ("vLRmZbNfdg3ccREn3GBrhz", "vMFnPjwHiASsf3u2fFYsaY", "vQMEt4Kdmnpm9ui24GKwKU")
    assert result.unmapped_columns == ("end", "start", "today")
    assert result.personal_columns_dropped == 5  # full_name, _attachments, _geolocation, _notes, _submitted_by
    assert api.unauthorised == 0


def test_formpack_repeat_group_lands_one_row_per_member(api, tmp_path):
    contract = load_contract(CONTRACTS / "formpack_grouped_repeatable.yml", base_dir=REPO)
    with connect(tmp_path / "w.duckdb") as con:
        result = pull(con, client_for(api, page_size=4), FORMPACK_UID, contract)
        members = con.execute("""select s.source_row, count(*), max(r.row_index)
            from raw_kobo_restricted.repeat_rows r join raw_kobo_restricted.submissions s using (submission_key)
            group by 1 order by 1""").fetchall()
        times = con.execute("select count(submission_time), count(distinct submission_key) "
                            "from raw_kobo_restricted.submissions").fetchone()
    # No _uuid or rootUuid in this fixture: meta/instanceID identifies each submission; no _submission_time.
    assert (result.submissions_read, result.submissions_landed, result.exclusions) == (6, 6, {})
    assert (result.repeat_rows_read, result.repeat_rows_landed) == (13, 13)
    assert members == [(1, 1, 1), (2, 2, 2), (3, 1, 1), (4, 2, 2), (5, 2, 2), (6, 5, 5)]
    assert times == (0, 6)
    assert result.form_versions == ("rgv1",)


def test_a_bad_token_is_a_clear_error_without_the_token_and_not_retried(api, tmp_path):
    wrong = "wrong-token-77c1e0d4"
    client = client_for(api, token=wrong)
    assert wrong not in repr(client)
    with connect(tmp_path / "w.duckdb") as con:
        pull(con, client_for(api))
        with pytest.raises(KoboAuthError) as caught:
            pull(con, client, run_id="run-2")
        assert con.execute("select count(*), list(distinct run_id) from raw_kobo_restricted.submissions").fetchall() == [
            (6, ["run-1"])]
    message = str(caught.value)
    assert f"asset {ROBOTOOLBOX_UID}: the KoBo server at {api.server_url} refused the token (HTTP 401)" in message
    assert "check KOBO_TOKEN" in message
    assert wrong not in message and TOKEN not in message
    assert client.retries == 0 and api.unauthorised == 1


def test_a_missing_token_or_server_is_a_clear_error():
    with pytest.raises(KoboAuthError, match="KOBO_TOKEN is not set"):
        kobo_client_from_settings("https://kf.kobotoolbox.org", None)
    with pytest.raises(KoboApiError, match="KOBO_SERVER_URL is not set"):
        kobo_client_from_settings(None, TOKEN)
    with pytest.raises(KoboApiError, match="plain http: the token would travel unencrypted"):
        kobo_client_from_settings("http://kobo.example.org", TOKEN)


def test_server_errors_are_retried_with_backoff(api, tmp_path):
    api.faults.extend([(500, {}, b"Internal Server Error"), (503, {}, b""), (502, {}, b"<html>bad gateway</html>"),
                       (200, {}, b'{"count": 6, "resu')])
    sleeps: list[float] = []
    client = client_for(api, sleeps=sleeps, page_size=3)
    with connect(tmp_path / "w.duckdb") as con:
        result = pull(con, client)
        assert landed(con) == ROBOTOOLBOX_ROWS
    assert (client.retries, result.api_retries) == (4, 4)
    assert [0.5 <= sleeps[0] <= 1, 1 <= sleeps[1] <= 2, 2 <= sleeps[2] <= 4, 4 <= sleeps[3] <= 8] == [True] * 4


def test_429_waits_as_long_as_the_server_asks(api, tmp_path):
    api.faults.append((429, {"Retry-After": "7"}, b'{"detail": "Request was throttled."}'))
    sleeps: list[float] = []
    with connect(tmp_path / "w.duckdb") as con:
        pull(con, client_for(api, sleeps=sleeps))
    assert sleeps == [7.0]


def test_giving_up_after_bounded_retries_leaves_the_previous_load(api, tmp_path):
    with connect(tmp_path / "w.duckdb") as con:
        pull(con, client_for(api, page_size=2))
        api.after_data_page = lambda server, uid, start: server.faults.extend([(503, {}, b"")] * 3) if start == 2 else None
        with pytest.raises(KoboApiError, match=rf"asset {ROBOTOOLBOX_UID} data start=4: gave up after 3 attempts; "
                                               r"last problem: HTTP 503"):
            pull(con, client_for(api, page_size=2, max_attempts=3), run_id="run-2")
        assert con.execute("select count(*), list(distinct run_id) from raw_kobo_restricted.submissions").fetchall() == [
            (6, ["run-1"])]


def test_an_unknown_asset_is_a_clear_error(api, tmp_path):
    with connect(tmp_path / "w.duckdb") as con, pytest.raises(KoboApiError, match="HTTP 404 .*no such asset .*or not "
                                                                                   "shared with this token"):
        pull(con, client_for(api), "aNoSuchAsset99", robotoolbox_contract(asset_uid="aNoSuchAsset99"))
    with pytest.raises(KoboApiError, match="is not a KoBo asset uid"):
        client_for(api).get_asset("../../etc")


def test_the_contract_must_be_for_this_asset(api, tmp_path):
    with connect(tmp_path / "w.duckdb") as con, pytest.raises(KoboApiError, match="declares asset_uid "
                                                                                   f"{ROBOTOOLBOX_UID}, not {FORMPACK_UID}"):
        pull(con, client_for(api), FORMPACK_UID, robotoolbox_contract())


# -- the form redeployed while we page --------------------------------------------------------------------------------
NEW_VERSION = "vNewDeployment2025xyz"


def redeploy(asset: dict, *, group: str = "v3", pet_type: str = "select_multiple") -> dict:
    """The asset after a redeploy: the sex question now sits in group v3, a new version is listed."""
    asset = copy.deepcopy(asset)
    for row in asset["content"]["survey"]:
        if row.get("$xpath") == "v0/hh_sex":
            row["$xpath"] = f"{group}/hh_sex"
        if row.get("$xpath") == "v0":
            row.update({"name": group, "$xpath": group})
        if row.get("name") == "pet_type":
            row["type"] = pet_type
    asset["deployed_version_id"] = asset["version_id"] = NEW_VERSION
    asset["deployed_versions"]["results"].insert(0, {"uid": NEW_VERSION})
    return asset


def test_redeploy_with_an_edited_submission_refetches_the_form(api, tmp_path):
    """An edit after a redeploy moves a submission to the new version without changing the count."""
    def hook(server, uid, start):
        if start == 0 and uid == ROBOTOOLBOX_UID:
            asset = server.assets[uid]
            asset.asset = redeploy(asset.asset)
            edited = asset.submissions[4]
            edited.pop("v2/hh_sex")
            edited.update({"v3/hh_sex": "1", "__version__": NEW_VERSION})

    api.after_data_page = hook
    contract = robotoolbox_contract(fields={"sex": {"source": ["v0/hh_sex", "v1/hh_sex", "v2/hh_sex", "v3/hh_sex"],
                                                    "type": "select_one", "codes": {"1": "M", "2": "F"}}})
    with connect(tmp_path / "w.duckdb") as con:
        result = pull(con, client_for(api, page_size=2), contract=contract)
        assert con.execute("select form_version, fields['sex'] from raw_kobo_restricted.submissions "
                           "where source_row = 5").fetchall() == [(NEW_VERSION, "M")]
    asset_requests = [path for path, _ in api.requests if not path.endswith("/data/")]
    assert len(asset_requests) == 2  # once at the start, once when the new version appeared on page 3
    assert (result.submissions_landed, result.api_restarts) == (6, 0)
    assert NEW_VERSION in result.form_versions


def test_new_submissions_mid_pull_restart_the_pull_as_one_snapshot(api, tmp_path):
    def hook(server, uid, start):
        asset = server.assets[uid]
        if start == 2 and len(asset.submissions) == 6:
            asset.asset = redeploy(asset.asset)
            asset.submissions.append({**asset.submissions[0], "_id": 29200000, "_uuid": "9d0c6f52-new",
                                      "meta/rootUuid": "uuid:9d0c6f52-new", "meta/instanceID": "uuid:9d0c6f52-new",
                                      "__version__": NEW_VERSION, "full_name": "Mariama"})

    api.after_data_page = hook
    with connect(tmp_path / "w.duckdb") as con:
        result = pull(con, client_for(api, page_size=2))
        assert con.execute("select count(*) from raw_kobo_restricted.submissions").fetchone() == (7,)
    assert (result.submissions_read, result.submissions_landed, result.api_restarts) == (7, 7, 1)
    assert [params["start"] for params in api.data_requests()] == [["0"], ["2"], ["4"], ["0"], ["2"], ["4"], ["6"]]


def test_an_asset_that_keeps_changing_is_refused_and_nothing_lands(api, tmp_path):
    def hook(server, uid, start):
        if start == 2:
            rows = server.assets[uid].submissions
            rows.append({**rows[0], "_id": 29300000 + len(rows), "_uuid": f"grow-{len(rows)}"})

    with connect(tmp_path / "w.duckdb") as con:
        pull(con, client_for(api, page_size=2))
        api.after_data_page = hook
        with pytest.raises(KoboApiError, match=r"submissions kept changing during the pull .*3 attempts\); nothing was "
                                               r"landed and the previous load is intact"):
            pull(con, client_for(api, page_size=2), run_id="run-2")
        assert con.execute("select count(*), list(distinct run_id) from raw_kobo_restricted.submissions").fetchall() == [
            (6, ["run-1"])]


def test_a_redeploy_that_makes_a_select_multiple_single_stops_the_pull(api, tmp_path):
    def hook(server, uid, start):
        if start == 0:
            asset = server.assets[uid]
            asset.asset = redeploy(asset.asset, pet_type="select_one")
            asset.submissions[4]["__version__"] = NEW_VERSION

    api.after_data_page = hook
    with connect(tmp_path / "w.duckdb") as con:
        with pytest.raises(KoboFormMismatchError, match=rf"asset {ROBOTOOLBOX_UID}: field pet_type is select_multiple in "
                                                        rf"the contract, but the form version {NEW_VERSION} defines "
                                                        r"pet_type as select_one"):
            pull(con, client_for(api, page_size=2))
        assert con.execute("select count(*) from raw_kobo_restricted.submissions").fetchone() == (0,)


def test_two_different_answers_for_one_field_exclude_the_submission(api, tmp_path):
    rows = api.assets[ROBOTOOLBOX_UID].submissions
    rows[0]["v2/hh_sex"] = "2"  # also answered under the other group, differently: which one is true?
    rows[1]["v2/hh_sex"] = rows[1]["v1/hh_sex"]  # the same answer twice is no conflict
    with connect(tmp_path / "w.duckdb") as con:
        result = pull(con, client_for(api))
        detail = con.execute("select reason, row_count, detail from raw_kobo.exclusions").fetchall()
    assert (result.submissions_read, result.submissions_landed, result.exclusions) == (6, 5, {"field_conflict": 1})
    assert detail == [("field_conflict", 1, "source rows 1")]


def test_an_answer_missing_from_codes_lands_as_unmapped_and_is_counted_with_the_form_choice(api, tmp_path):
    data = yaml.safe_load((CONTRACTS / "robotoolbox_group_names.yml").read_text(encoding="utf-8"))
    del data["fields"]["pet_type"]["codes"]["98"]
    with connect(tmp_path / "w.duckdb") as con:
        result = pull(con, client_for(api), contract=parse_contract(data, base_dir=REPO))
        pets = con.execute("select fields['pet_type'] from raw_kobo_restricted.submissions where source_row = 3").fetchone()
        issues = con.execute("select field, issue, row_count, examples from raw_kobo.field_issues").fetchall()
    assert pets == ("TURTLE unmapped",)
    assert result.field_issues == {"pet_type: unmapped_code": 1}
    assert issues == [("pet_type", "unmapped_code", 1, ["98"])]  # "98" is a choice of the form's list "pet"
