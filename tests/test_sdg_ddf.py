"""The 2020 database rebuilt as API responses: every value, code and year of the copy lands where it should,
through the real client (replay), parser and lander; and the bundled snapshot is what the converter makes."""

import csv
import json
import subprocess
import sys

import pytest

from ingestion.sdg_api import ddf
from ingestion.sdg_api.client import SdgApiClient, make_session
from ingestion.sdg_api.land import land_series
from ingestion.sdg_api.replay import read_body
from ingestion.warehouse import connect
from tests.conftest import REPO, SNAPSHOT, TEST_DATA

COPY = TEST_DATA / "sdg_database_2020"
SCRIPT = REPO / "scripts" / "make_sdg_snapshot.py"
SERIES = ["SL_TLF_UEMDIS", "SL_EMP_FTLINJUR", "SI_COV_LMKT", "FB_BNK_ACCSS"]


def csv_rows(series: str) -> list[dict[str, str]]:
    (path,) = COPY.glob(f"ddf--datapoints--{series.lower()}--by--*.csv")
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def entity_codes(key: str) -> dict[str, str]:
    with (COPY / f"ddf--entities--{key}.csv").open(newline="", encoding="utf-8") as handle:
        return {row[key]: row["name"] for row in csv.DictReader(handle)}


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory):
    out = tmp_path_factory.mktemp("snapshot")
    completed = subprocess.run([sys.executable, str(SCRIPT), "--source", str(COPY), "--out", str(out),
                                "--series", ",".join(SERIES), "--fast"], capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr
    return out


@pytest.mark.parametrize(("concept", "code", "expected"), [
    ("Sex", "BOTHSEX", "_T"), ("Sex", "FEMALE", "F"), ("Location", "RURAL", "R"), ("Units", "PERCENT", "PT"),
    ("Age", "15-24", "Y15T24"), ("Age", "60+", "Y_GE60"), ("Age", "<15Y", "Y0T14"), ("Age", "ALLAGE", "_T"),
    ("Quantile", "Q1", "Q1"), ("Quantile", "NOTSPEC", None), ("Disability status", "PD", None),
    ("Migratory status", "_T", "_T"), ("Units", "PER_100000_EMP", None),
])
def test_sdmx_codes_follow_the_recordings_and_are_never_guessed(concept, code, expected):
    assert ddf.sdmx_code(concept, code) == expected


def test_every_csv_row_becomes_one_api_record_with_its_codes():
    copy = ddf.read_ddf(COPY)
    for series in SERIES:
        rows = csv_rows(series)
        records = ddf.series_records(copy, series)
        assert len(records) == len(rows)
        keys = [key for key in rows[0] if key not in ("geo_area", "year", series.lower())]
        codes = {key: entity_codes(key) for key in keys}
        expected = sorted((row["geo_area"], float(row["year"]), row[series.lower()],
                           tuple(sorted(codes[key][row[key]] for key in keys))) for row in rows)
        got = sorted((r["geoAreaCode"], r["timePeriodStart"], r["value"],
                      tuple(sorted([*r["attributes"].values(), *r["dimensions"].values()]))) for r in records)
        assert got == expected, series
        assert {r["source"] for r in records} == {ddf.SOURCE}  # reconstructed, and says from where


def test_the_real_client_lands_every_value_code_and_year(snapshot, tmp_path):
    client = SdgApiClient("https://unstats.un.org/sdgapi", make_session("replay", "https://unstats.un.org/sdgapi", snapshot))
    areas = client.geo_area_codes()
    with connect(tmp_path / "w.duckdb") as con:
        for series in SERIES:
            load = land_series(con, client, series, areas, "run-1")
            rows = csv_rows(series)
            assert load.rows_landed == load.total_elements == len(rows)
            keys = [key for key in rows[0] if key not in ("geo_area", "year", series.lower())]
            codes = {key: entity_codes(key) for key in keys}
            expected = sorted((int(row["geo_area"]), int(row["year"]), row[series.lower()], float(row[series.lower()]),
                               tuple(sorted(codes[key][row[key]] for key in keys))) for row in rows)
            landed = con.execute(
                "select geo_area_m49, time_period, value_raw, value, "
                "list_sort(list_concat(map_values(attributes), map_values(dimensions))) "
                "from raw_sdg.series_observations where series_code = ?", [series]).fetchall()
            assert sorted((a, y, raw, v, tuple(c)) for a, y, raw, v, c in landed) == expected, series
        names = con.execute("select distinct unnest(map_keys(dimensions)) from raw_sdg.series_observations").fetchall()
        assert {"Sex", "Disability status", "Migratory status", "Quantile", "Age"} <= {n for (n,) in names}


def test_the_bundled_snapshot_is_what_the_converter_makes(snapshot):
    """Same copy, same bytes: the committed responses for these series were made by this converter."""
    ours = {(r["path"], json.dumps(r["params"], sort_keys=True)): r
            for r in json.loads((SNAPSHOT / "manifest.json").read_text())["recordings"]}
    made = json.loads((snapshot / "manifest.json").read_text())["recordings"]
    compared = 0
    for recording in made:
        series = recording["params"].get("seriesCode", [None])[0] or recording["path"].split("/")[3]
        if recording["path"].startswith("v1/sdg/Series") and series in SERIES:
            bundled = ours[(recording["path"], json.dumps(recording["params"], sort_keys=True))]
            assert read_body(SNAPSHOT / bundled["file"]) == read_body(snapshot / recording["file"]), recording
            assert bundled["reconstructed"] and bundled["synthetic"] is False
            compared += 1
    assert compared >= len(SERIES) * 3


@pytest.mark.snapshot
def test_every_snapshot_response_is_served_and_nothing_is_synthetic():
    manifest = json.loads((SNAPSHOT / "manifest.json").read_text())
    assert not any(r["synthetic"] for r in manifest["recordings"])
    for recording in manifest["recordings"]:
        json.loads(read_body(SNAPSHOT / recording["file"]))  # every body is whole JSON
    size = sum(path.stat().st_size for path in SNAPSHOT.rglob("*") if path.is_file())
    assert size < 20_000_000
