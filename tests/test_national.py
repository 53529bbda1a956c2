"""National Open SDG platforms (ingestion/national): the bundled platforms land with every value
accounted for, a platform read over HTTP gives the same rows as its folder, and bad input is reported
without stopping the platform or losing what landed before."""

import datetime as dt
import functools
import shutil
from http.server import SimpleHTTPRequestHandler
from pathlib import Path

import duckdb
import pytest

from ingestion.http_retry import RetryPolicy
from ingestion.national import ingest_platform, list_platforms, load_platform
from ingestion.national.fetch import SiteFetcher
from ingestion.national.vocabulary import age_code, indicator_of
from ingestion.partners.contract import ContractError
from tests.conftest import REPO
from tests.fake_http import LocalServer

CONTRACTS = REPO / "contracts" / "national"
NOW = dt.datetime(2026, 12, 4, tzinfo=dt.timezone.utc)
OBSERVATION = ("series_code, indicator_code, geo_area_m49, period_label, sex, age_group, disability_status, location, "
               "income_quantile, migratory_status, extra_dimensions::varchar, value, value_is_missing, unit, nature, "
               "source_file, source_row")


@pytest.fixture
def con():
    connection = duckdb.connect()
    yield connection
    connection.close()


def land(con, contract: Path, tmp_path: Path, **options):
    return ingest_platform(con, contract, tmp_path / "reports", tmp_path / "cache", "run-1", NOW, **options)


def accounted(con, result) -> dict[str, tuple]:
    """Per file: rows read, landed with canonical codes only, landed with a breakdown of the platform's own,
    of those landed without a value (blank in the file), set aside by reason."""
    out = {}
    for file in result.files:
        canonical_only, own, missing = con.execute(
            "select count(*) filter (where extra_dimensions is null), count(*) filter (where extra_dimensions is not null), "
            "count(*) filter (where value_is_missing) from raw_partners.observations where partner_id = ? and source_file = ?",
            [result.partner_id, file.file_name]).fetchone()
        assert file.rows_read == canonical_only + own + file.observations_quarantined  # nothing dropped silently
        out[file.file_name] = (file.rows_read, canonical_only, own, missing, file.rejected_by_reason)
    return out


def test_file_names_and_age_labels():
    assert [indicator_of(name) and indicator_of(name).national_id for name in
            ["indicator_8-5-2.csv", "Indicator_16.9.1.csv", "Indicator_12-3-1.csv", "indicator_16-2-1-1.csv",
             "indicator_11-1-1-a.csv", "indicator_16-b-1.CSV", "notes.csv", "indicator_8-5.csv"]] == [
        "8.5.2", "16.9.1", "12.3.1", "16.2.1.1", "11.1.1.a", "16.b.1", None, None]
    assert indicator_of("indicator_16-2-1-1.csv").code == "16.2.1"  # a national proxy of a global indicator
    assert [age_code(label) for label in ["15-24", "aged 0-17 years", "aged 65 and older", "60+", "0-2 years old",
                                          "under 15", "Total", "15 to 24 years"]] == [
        "Y15T24", "Y0T17", "Y_GE65", "Y_GE60", "Y0T2", "Y0T14", None, "Y15T24"]


def test_the_bundled_platforms_land_every_value_accounted_for(con, tmp_path):
    assert list_platforms(CONTRACTS) == ["national_arm", "national_gha", "national_mda"]
    results = {path.stem: land(con, path, tmp_path) for path in sorted(CONTRACTS.glob("*.yml"))}
    assert all(not result.errors and not result.failed_files for result in results.values())
    # Counted by hand from the files (data/national/README.md): blank breakdowns are totals, all-blank rows
    # the headline, a blank value lands as missing; columns no crosswalk names are the platform's own.
    assert accounted(con, results["mda"]) == {
        "indicator_10-2-1.csv": (143, 143, 0, 44, {}),
        "indicator_10-3-1.csv": (390, 117, 273, 328, {}),  # 'Discrimination criteria' 143 rows, 'Entities ...' 130
        "indicator_11-1-1-a.csv": (234, 234, 0, 72, {}),
        "indicator_16-2-1-1.csv": (260, 260, 0, 160, {}),  # two subjects, 130 rows each
    }
    assert accounted(con, results["gha"]) == {
        "Indicator_12-3-1.csv": (40, 0, 40, 0, {}),  # 'Units' names the crop: the platform's own 'Commodity'
        "Indicator_16.9.1.csv": (19, 5, 14, 0, {}),  # 'Geography' 10 rows, 'Education' 4
        "indicator_8-5-2.csv": (391, 90, 301, 0, {}),  # regions 180, education 81, disability type 40
    }
    assert accounted(con, results["arm"]) == {
        "indicator_1-1-1.csv": (170, 80, 90, 0, {}),  # 'Employment status' 90 rows
        "indicator_1-2-1.csv": (140, 140, 0, 0, {}),
        # 'Yerevan' and 'other urban' are no canonical location (6 rows); the value 318 % (row 18); 2023 by
        # age given twice with other values (rows 29-31 and 43-45), and 2022 'disabled' twice alike (row 42).
        "indicator_11-1-1.csv": (44, 21, 9, 7, {"unknown_code": 6, "value_out_of_range": 1,
                                               "conflicting_duplicate": 6, "duplicate_row": 1}),
        "indicator_8-5-2.csv": (105, 105, 0, 0, {}),
    }
    series = dict(con.execute("select series_code, count(*) from raw_partners.observations "
                              "where partner_id = 'national_mda' group by 1").fetchall())
    assert series == {"MDA_10_2_1": 143, "MDA_10_3_1": 390, "MDA_11_1_1_A": 234,
                      "MDA_16_2_1_1_SUBJECTED_TO_VIOLENCE": 130, "MDA_16_2_1_1_NEGLECTED": 130}
    # labels in words, mapped once for every platform; units from the file, the contract or the configuration
    assert con.execute(f"select {OBSERVATION} from raw_partners.observations where partner_id = 'national_mda' "
                       "and source_file = 'indicator_16-2-1-1.csv' and source_row in (212, 225, 227) order by source_row"
                       ).fetchall() == [
        # line 212: '2020,,,,,Total,,,,,8065': the marker column makes it the neglected children's headline
        ("MDA_16_2_1_1_NEGLECTED", "16.2.1", 498, "2020", "_T", "_T", "_T", "_T", "_T", "_T", None, 8065.0, False,
         "NUMBER", "C", "indicator_16-2-1-1.csv", 212),
        # line 225: '2021,,Girls,,,,,,,,385'
        ("MDA_16_2_1_1_SUBJECTED_TO_VIOLENCE", "16.2.1", 498, "2021", "F", "_T", "_T", "_T", "_T", "_T", None, 385.0,
         False, "NUMBER", "C", "indicator_16-2-1-1.csv", 225),
        # line 227: '2021,,,0-2 years,,,,,,,42'
        ("MDA_16_2_1_1_SUBJECTED_TO_VIOLENCE", "16.2.1", 498, "2021", "_T", "Y0T2", "_T", "_T", "_T", "_T", None,
         42.0, False, "NUMBER", "C", "indicator_16-2-1-1.csv", 227),
    ]
    kinds = con.execute("select partner_id, source_type, licence from raw_partners.partners order by 1").fetchall()
    assert kinds == [("national_arm", "national_official", "MIT"), ("national_gha", "national_official", "OGL-UK-3.0"),
                     ("national_mda", "national_official", "MIT")]
    report = (tmp_path / "reports" / "national_arm" / "index.md").read_text(encoding="utf-8")
    assert "indicator_11-1-1.csv" in report and "Yerevan" in (
        tmp_path / "reports" / "national_arm" / "files" / "indicator_11-1-1.csv.md").read_text(encoding="utf-8")


def test_landing_again_changes_nothing(con, tmp_path):
    first = land(con, CONTRACTS / "gha.yml", tmp_path)
    before = con.execute(f"select {OBSERVATION}, batch_id from raw_partners.observations order by all").fetchall()
    second = land(con, CONTRACTS / "gha.yml", tmp_path)
    assert [f.status for f in second.files] == ["unchanged"] * len(first.files)
    assert con.execute(f"select {OBSERVATION}, batch_id from raw_partners.observations order by all").fetchall() == before


def _site(tmp_path: Path, port: int | None = None) -> tuple[Path, Path]:
    """Moldova's files laid out as its data repository publishes them, and a contract reading them over HTTP."""
    site = tmp_path / "site"
    shutil.copytree(REPO / "data" / "national" / "mda" / "indicator-config", site / "indicator-config", dirs_exist_ok=True)
    (site / "data").mkdir(exist_ok=True)
    for path in (REPO / "data" / "national" / "mda").glob("*.csv"):
        shutil.copy(path, site / "data" / path.name)
    contracts = tmp_path / "contracts"
    contracts.mkdir(exist_ok=True)
    text = (CONTRACTS / "mda.yml").read_text(encoding="utf-8").replace(
        "  folder: data/national/mda",
        f"  site: http://127.0.0.1:{port or 9}\n  indicators: [10-2-1, 10-3-1, 11-1-1-a, 16-2-1-1]")
    (contracts / "mda.yml").write_text(text, encoding="utf-8")
    return site, contracts / "mda.yml"


def _server(site: Path) -> LocalServer:
    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass
    return LocalServer(functools.partial(Quiet, directory=str(site)))


def test_a_platform_over_http_gives_the_rows_of_its_folder(tmp_path):
    from_folder, over_http = duckdb.connect(), duckdb.connect()
    land(from_folder, CONTRACTS / "mda.yml", tmp_path / "a")
    with _server(tmp_path / "site") as server:
        _, contract = _site(tmp_path, server.port)
        result = land(over_http, contract, tmp_path / "b")
    assert not result.errors and [f.status for f in result.files] == ["loaded"] * 4
    query = f"select {OBSERVATION} from raw_partners.observations order by all"
    assert over_http.execute(query).fetchall() == from_folder.execute(query).fetchall()
    assert len(from_folder.execute(query).fetchall()) == 1027


def test_a_repository_clone_gives_the_rows_of_the_folder(tmp_path):
    from_folder, from_clone = duckdb.connect(), duckdb.connect()
    land(from_folder, CONTRACTS / "mda.yml", tmp_path / "a")
    site, _ = _site(tmp_path)  # the data repository's layout: data/ and indicator-config/
    contract = tmp_path / "mda.yml"
    contract.write_text((CONTRACTS / "mda.yml").read_text(encoding="utf-8").replace(
        "  folder: data/national/mda", f"  repository: {site}"), encoding="utf-8")
    result = land(from_clone, contract, tmp_path / "b")
    assert not result.errors and len(result.files) == 4
    query = f"select {OBSERVATION} from raw_partners.observations order by all"
    assert from_clone.execute(query).fetchall() == from_folder.execute(query).fetchall()


def test_an_unreachable_platform_is_reported_and_keeps_what_landed(con, tmp_path):
    fetcher = SiteFetcher(policy=RetryPolicy(max_attempts=2, backoff_base=0.0), sleep=lambda seconds: None)
    with _server(tmp_path / "site") as server:
        _, contract = _site(tmp_path, server.port)
        land(con, contract, tmp_path, fetcher=fetcher)
    before = con.execute(f"select {OBSERVATION} from raw_partners.observations order by all").fetchall()
    # the server is gone: nothing listens on its port any more
    result = land(con, contract, tmp_path, fetcher=fetcher)
    assert [problem.code for problem in result.errors] == ["platform_unreachable"]
    assert fetcher.retries >= 4  # each of the four files was tried again before giving up
    # the copies fetched before are read again (unchanged), and nothing is withdrawn
    assert [f.status for f in result.files] == ["unchanged"] * 4
    assert con.execute(f"select {OBSERVATION} from raw_partners.observations order by all").fetchall() == before
    assert "could not be reached" in (tmp_path / "reports" / "national_mda" / "index.md").read_text(encoding="utf-8")


def test_bad_files_are_reported_and_the_rest_of_the_platform_lands(con, tmp_path):
    folder = tmp_path / "platform"
    folder.mkdir()
    (folder / "notes.csv").write_text("Year,Value\n2020,1\n", encoding="utf-8")
    (folder / "indicator_1-1-1.csv").write_text("Year,Sex,Value\n2020,,4.2\n", encoding="utf-8")  # no unit anywhere
    (folder / "indicator_8-5-2.csv").write_text(
        "Year,Units,Sex,Value\n2020,Percent,,10\n2020,Percent,Intersex,5\n2020,Percent,Female,abc\n"
        "2021,Percent,Male,7.5\n2021,Percent,Female,\n", encoding="utf-8")
    original = {path.name: path.read_bytes() for path in folder.iterdir()}
    contract = tmp_path / "gha.yml"
    contract.write_text(
        "contract_version: 1\nplatform: {country: GHA, name: Test platform}\nlicence: MIT\nattribution: test\n"
        f"source: {{folder: {folder}}}\n", encoding="utf-8")
    result = land(con, contract, tmp_path)
    outcome = {f.file_name: (f.status, [e.code for e in f.errors], f.observations_landed, f.rejected_by_reason)
               for f in result.files}
    assert outcome == {
        "notes.csv": ("rejected", ["no_indicator_code"], 0, {}),
        "indicator_1-1-1.csv": ("rejected", ["no_unit"], 0, {}),
        "indicator_8-5-2.csv": ("loaded_with_rejections", [], 3, {"unknown_code": 1, "unparseable_value": 1}),
    }
    assert {path.name: path.read_bytes() for path in folder.iterdir()} == original  # never modified
    assert con.execute("select reason_column, reason_value from raw_partners.quarantine order by source_row").fetchall() == [
        ("Sex", "Intersex"), ("Value", "abc")]
    report = (tmp_path / "reports" / "national_gha" / "index.md").read_text(encoding="utf-8")
    assert "notes.csv" in report and "indicator_1-1-1.csv" in report


def test_a_platform_contract_is_checked(tmp_path):
    bad = tmp_path / "xx.yml"
    bad.write_text("contract_version: 1\nplatform: {country: XXX, name: n}\nlicence: MIT\nattribution: a\n"
                   "source: {folder: a, site: 'http://b'}\nvocabularies: {sex: {Femme: W}}\n", encoding="utf-8")
    with pytest.raises(ContractError) as raised:
        load_platform(bad)
    problems = "\n".join(raised.value.problems)
    assert "'XXX' is not an ISO 3166-1 alpha-3 code" in problems
    assert "exactly one of folder, repository or site" in problems
    assert "'W' is not a canonical sex code" in problems
