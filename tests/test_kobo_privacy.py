"""Privacy at landing: no salt no landing, keyed hashes, and nothing personal in any table, log or message."""

import csv
import hashlib
import hmac
import json
import logging
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml

from ingestion.kobo import (
    PUBLIC_TEST_SALT,
    KoboClient,
    KoboError,
    PiiSaltMissingError,
    ingest_kobo_api,
    ingest_kobo_export,
    load_contract,
    parse_contract,
)
from ingestion.warehouse import connect
from tests.kobo_api_server import FORMPACK_UID, ROBOTOOLBOX_UID, FakeKoboApi, formpack_asset, robotoolbox_asset

REPO = Path(__file__).resolve().parent.parent
KOBO = REPO / "tests" / "data" / "kobo"
CONTRACTS = KOBO / "contracts"
GC_CSV = KOBO / "kobo_csv_export_labels_semicolon__gc-scripts-hub.csv"
SAMPLE_CSV = REPO / "data" / "inbox" / "community_wg_survey" / "demo_wg_household_2025.csv"
DEMO = REPO / "contracts" / "kobo" / "demo_wg_household_2025.yml"
NOW = datetime(2025, 6, 2, 12, 0, tzinfo=timezone.utc)
SALT = "privacy-test-salt-4b1d9e2f7a"
TOKEN = "kobo-secret-token-9e8d7c6b"


def contract(name: str):
    return load_contract(CONTRACTS / f"{name}.yml", base_dir=REPO)


def test_real_data_without_a_salt_is_refused_before_anything_lands(tmp_path):
    with connect(tmp_path / "w.duckdb") as con:
        with pytest.raises(PiiSaltMissingError) as caught:
            ingest_kobo_export(con, GC_CSV, contract("gc_biocultural_monitoring"), pii_salt=None, run_id="r", now=NOW)
        assert con.execute("select count(*) from information_schema.tables where table_schema like 'raw_kobo%'"
                           ).fetchone() == (0,)
    message = str(caught.value)
    assert message.startswith("survey gc_biocultural_monitoring (tests/data/kobo/contracts/gc_biocultural_monitoring.yml): "
                              "PII_SALT is not set, so respondent identifiers cannot be hashed and nothing was landed")
    assert "Only contracts with synthetic: true (fictional data) may land without it" in message


def test_the_api_refuses_too_without_a_salt(tmp_path):
    with FakeKoboApi(TOKEN) as api, connect(tmp_path / "w.duckdb") as con:
        api.assets[ROBOTOOLBOX_UID] = robotoolbox_asset()
        with pytest.raises(PiiSaltMissingError):
            ingest_kobo_api(con, KoboClient(api.server_url, TOKEN), ROBOTOOLBOX_UID, contract("robotoolbox_group_names"),
                            pii_salt=None, run_id="r", now=NOW)
        assert api.requests == []  # refused before the first request


def test_a_short_salt_is_refused_without_showing_it(tmp_path):
    with connect(tmp_path / "w.duckdb") as con, pytest.raises(PiiSaltMissingError) as caught:
        ingest_kobo_export(con, GC_CSV, contract("gc_biocultural_monitoring"), pii_salt="short-salt", run_id="r", now=NOW)
    assert "PII_SALT is too short (10 characters)" in str(caught.value)
    assert "short-salt" not in str(caught.value)


def test_synthetic_data_uses_the_public_salt_and_a_configured_salt_wins(tmp_path):
    uuid = b"61f705cc-bac6-40c9-85f4-5edef1666579"  # the first robotoolbox submission's meta/rootUuid
    data = yaml.safe_load((CONTRACTS / "robotoolbox_group_names.yml").read_text(encoding="utf-8"))
    synthetic = parse_contract({**data, "synthetic": True}, base_dir=REPO)
    keys = {}
    with FakeKoboApi(TOKEN) as api:
        api.assets[ROBOTOOLBOX_UID] = robotoolbox_asset()
        for label, salt in (("public", None), ("configured", SALT)):
            with connect(tmp_path / f"{label}.duckdb") as con:
                result = ingest_kobo_api(con, KoboClient(api.server_url, TOKEN), ROBOTOOLBOX_UID, synthetic,
                                         pii_salt=salt, run_id="r", now=NOW)
                keys[label] = con.execute("select submission_key from raw_kobo_restricted.submissions "
                                          "where source_row = 1").fetchone()[0]
                assert con.execute("select salt_kind from raw_kobo.loads").fetchone()[0] == result.salt_kind
    assert keys["public"] == hmac.new(PUBLIC_TEST_SALT.encode(), uuid, hashlib.sha256).hexdigest()
    assert keys["configured"] == hmac.new(SALT.encode(), uuid, hashlib.sha256).hexdigest()


# -- the scan --------------------------------------------------------------------------------------------------------
def personal_values() -> set[str]:
    """Names, usernames, phones, ids, free text, media and exact coordinates from every fixture and the sample."""
    values: set[str] = set()
    with GC_CSV.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter=";"):
            values.update(row[key] for key in (
                "_submitted_by", "_uuid", "_Please record the location of your local ecosystem._latitude",
                "_Please record the location of your local ecosystem._longitude",
                "Which traditional plants and animals are important to your community?",
                "What kind of support or resources would be helpful for your community in preserving and managing "
                "the biocultural heritage?", "Please take a representative photo of your local ecosystem.",
                "Please take a representative photo of your local ecosystem._URL"))
    robot = json.loads((KOBO / "kobo_api_v2_data__group_renamed_across_versions__robotoolbox.json").read_text())
    for row in robot["results"]:
        values.update([row["full_name"], row["_uuid"]])
    formpack = json.loads((KOBO / "formpack_grouped_repeatable_v1__submissions_with_repeat.json").read_text())
    for row in formpack["submissions"]:
        values.add(row["household_visit/household_location"])
        values.add(row["meta/instanceID"].removeprefix("uuid:"))
        values.update(member["household_visit/houshold_member_repeat/household_member_name"]
                      for member in row["household_visit/houshold_member_repeat"])
    with SAMPLE_CSV.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter=";"):
            values.update(row[key] for key in (
                "respondent/resp_name", "respondent/resp_phone", "respondent/hh_code", "comments", "deviceid",
                "_submitted_by", "_uuid", "_location/gps_latitude", "_location/gps_longitude"))
    values.update([TOKEN, SALT, PUBLIC_TEST_SALT])
    return {value for value in values if value and value.strip()}


def leaks(text: str, values: set[str]) -> list[str]:
    """Every value found in ``text`` as a whole word (so "mary" does not match "summary")."""
    alternatives = "|".join(re.escape(value) for value in sorted(values, key=len, reverse=True))
    return sorted(set(re.findall(rf"(?<![\w.])(?:{alternatives})(?!\w)", text)))


def dump_database(con) -> dict[str, str]:
    tables = con.execute("select table_schema, table_name from information_schema.tables "
                         "where table_schema like 'raw_kobo%' order by 1, 2").fetchall()
    return {f"{schema}.{table}": repr(con.execute(f'select * from "{schema}"."{table}"').fetchall())
            for schema, table in tables}


def test_nothing_personal_in_any_table_log_message_or_metadata(tmp_path, caplog):
    values = personal_values()
    assert {"Ahmadou", "Coco Laye", "rudo_cmi", "phillip", "-199.058787", "38.7790289", TOKEN} <= values
    assert leaks(GC_CSV.read_text(encoding="utf-8"), values)  # the scan does find them where they are
    assert len([v for v in values if v.startswith("+223 00 ")]) > 300

    caplog.set_level(logging.DEBUG)
    reports: list[str] = []
    errors: list[str] = []
    with FakeKoboApi(TOKEN) as api, connect(tmp_path / "w.duckdb") as con:
        api.assets[ROBOTOOLBOX_UID] = robotoolbox_asset()
        api.assets[FORMPACK_UID] = formpack_asset()
        client = KoboClient(api.server_url, TOKEN, page_size=2, sleep=lambda _: None)
        demo = load_contract(DEMO, base_dir=REPO)
        results = [
            ingest_kobo_export(con, GC_CSV, contract("gc_biocultural_monitoring"), pii_salt=SALT, run_id="r", now=NOW),
            ingest_kobo_export(con, SAMPLE_CSV, demo, pii_salt=SALT, run_id="r", now=NOW),
            ingest_kobo_api(con, client, ROBOTOOLBOX_UID, contract("robotoolbox_group_names"), pii_salt=SALT,
                            run_id="r", now=NOW),
            ingest_kobo_api(con, client, FORMPACK_UID, contract("formpack_grouped_repeatable"), pii_salt=SALT,
                            run_id="r", now=NOW),
        ]
        reports += [repr(result) + json.dumps(result.metadata(), default=str) for result in results]
        reports.append(repr(client))
        # Failures: a refused token, a server error body, a missing salt, a malformed file.
        api.faults.append((400, {}, f"Bad request: token {TOKEN} rejected".encode()))
        failing = [
            lambda: ingest_kobo_api(con, KoboClient(api.server_url, "not-" + TOKEN), ROBOTOOLBOX_UID,
                                    contract("robotoolbox_group_names"), pii_salt=SALT, run_id="r", now=NOW),
            lambda: ingest_kobo_api(con, KoboClient(api.server_url, TOKEN, max_attempts=1), ROBOTOOLBOX_UID,
                                    contract("robotoolbox_group_names"), pii_salt=SALT, run_id="r", now=NOW),
            lambda: ingest_kobo_export(con, SAMPLE_CSV, contract("gc_biocultural_monitoring"), pii_salt=None,
                                       run_id="r", now=NOW),
            lambda: ingest_kobo_export(con, GC_CSV, demo, pii_salt=SALT, run_id="r", now=NOW),
        ]
        for attempt in failing:
            with pytest.raises(KoboError) as caught:
                attempt()
            errors.append(str(caught.value))
        tables = dump_database(con)

    assert {"raw_kobo.loads", "raw_kobo.exclusions", "raw_kobo.field_issues", "raw_kobo.indicator_definitions",
            "raw_kobo_restricted.submissions", "raw_kobo_restricted.repeat_rows"} <= set(tables)
    assert [result.submissions_landed for result in results] == [3, 323, 6, 6]
    for name, text in tables.items():
        assert leaks(text, values) == [], name
    log_text = caplog.text + "\n".join(record.getMessage() for record in caplog.records)
    assert "landed" in log_text  # logging was captured
    assert leaks(log_text, values) == []
    for text in errors + reports:
        assert leaks(text, values) == [], text
    assert "[token]" in errors[1]  # the server echoed the token: scrubbed from the message


def test_the_scan_catches_a_name_a_contract_forgot_to_mark_personal(tmp_path):
    """The scan is not vacuous: map the fixture's names as a field, and it finds them in the landed table."""
    data = yaml.safe_load((CONTRACTS / "robotoolbox_group_names.yml").read_text(encoding="utf-8"))
    data["personal"] = ["other_pet_type"]
    data["fields"]["respondent"] = {"source": "full_name", "type": "text"}
    with FakeKoboApi(TOKEN) as api, connect(tmp_path / "w.duckdb") as con:
        api.assets[ROBOTOOLBOX_UID] = robotoolbox_asset()
        ingest_kobo_api(con, KoboClient(api.server_url, TOKEN), ROBOTOOLBOX_UID, parse_contract(data, base_dir=REPO),
                        pii_salt=SALT, run_id="r", now=NOW)
        found = leaks(dump_database(con)["raw_kobo_restricted.submissions"], personal_values())
    assert found == ["Ahmadou", "Ali", "Coco Laye", "Fatma", "Jeanne", "Lebron"]
