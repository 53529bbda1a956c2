"""Every asset materialized for real (Dagster, dbt, GX, DuckDB) from the replay snapshot to the published file.

The whole pipeline runs once (the session's ``baseline``, tests/fixtures/pipeline.py); the tests that read
use it as it is, and each test that changes something runs again on its own copy (``from_baseline``).
"""

import csv
import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from ingestion.config import PROJECT_ROOT, load_settings
from ingestion.sdg_api import ddf
from ingestion.sdg_api.replay import read_body
from tests.conftest import SAMPLE_PAGE, SNAPSHOT, TEST_DATA, copy_snapshot, edit_series_page
from tests.fixtures.pipeline import TEST_SERIES, digest

pytestmark = pytest.mark.e2e

PUBLISHED_COLUMNS = "period_label, sex, age_group, location, income_quantile, other_disaggregation, value"
FCT_KEY = dg.AssetKey(["marts", "fct_indicator_observations"])


def materialize_all(settings):
    """Every asset, as `make run` and the nightly schedule do: each series partition, then the main job."""
    from orchestration.run import run_pipeline

    return run_pipeline(settings, dg.DagsterInstance.ephemeral(), log_level="ERROR")


def published_rows(settings, columns="*", where="true"):
    with duckdb.connect(str(settings.published_path), read_only=True) as con:
        return con.execute(f"select {columns} from marts.fct_indicator_observations where {where} order by all").fetchall()


def expected_rows_from_sample_page():
    """What the published table must hold, derived straight from the API page and its own code lists."""
    page = json.loads(SAMPLE_PAGE.read_text())
    sdmx = {(c["id"], code["code"]): code["sdmx"] for c in page["dimensions"] for code in c["codes"]}
    rows = []
    for record in page["data"]:
        dims = record["dimensions"]
        household = sdmx[("Type_of_household", dims["Type_of_household"])]
        rows.append((
            str(int(record["timePeriodStart"])),
            sdmx[("Sex", dims["Sex"])],
            sdmx[("Age", dims["Age"])],
            sdmx[("Location", dims["Location"])],
            sdmx[("Quantile", dims["Quantile"])],
            None if household == "_T" else f"Type_of_household={household}",
            float(record["value"]),
        ))
    return sorted(rows, key=lambda row: tuple("" if v is None else str(v) for v in row))


def published_marts_materialized(result) -> bool:
    return dg.AssetKey(["published_marts"]) in {
        event.event_specific_data.materialization.asset_key for event in result.get_asset_materialization_events()
    }


def test_sample_page_flows_to_the_published_file(baseline):
    pipeline_env, pipeline = baseline.settings, baseline.pipeline
    assert pipeline.success
    result = pipeline.main
    rows = published_rows(pipeline_env, PUBLISHED_COLUMNS, "series_code = 'SH_OOP_XPD_EARNNET40' and source_type = 'official'")
    assert len(rows) == 62
    key = lambda row: tuple("" if v is None else str(v) for v in row)  # noqa: E731
    assert sorted(rows, key=key) == expected_rows_from_sample_page()
    with duckdb.connect(str(pipeline_env.published_path), read_only=True) as con:
        urban_2007 = con.execute(
            "select value, unit, nature, iso3, geo_area_name, indicator_code, source_type, reporting_type "
            "from marts.fct_indicator_observations where series_code = 'SH_OOP_XPD_EARNNET40' "
            "and period_label = '2007' and location = 'U'"
        ).fetchall()
        assert urban_2007 == [(5.52, "PT", "G", "AFG", "Afghanistan", "3.8.2", "official", "G")]
        schemas = con.execute("select distinct schema_name from duckdb_tables()").fetchall()
        assert sorted(schemas) == [("marts",), ("meta",)]
        log = con.execute("select run_id, row_counts from meta.publication_log").fetchall()
        published_count = con.execute("select count(*) from marts.fct_indicator_observations").fetchone()[0]
        assert [run_id for run_id, _ in log] == [result.run_id]
        assert json.loads(log[0][1])["marts.fct_indicator_observations"] == published_count
        # Every default series is published, from the 2020 extract (which its source names) but the real recording.
        by_series = dict(con.execute(
            "select series_code, count(*) from marts.fct_indicator_observations where source_type = 'official' "
            "group by all").fetchall())
        assert set(by_series) == set(pipeline.series)
        not_from_extract = con.execute(
            "select count(*) from marts.fct_indicator_observations where source_type = 'official' "
            "and series_code <> 'SH_OOP_XPD_EARNNET40' and data_source is distinct from ?", [ddf.SOURCE]).fetchone()[0]
        assert not_from_extract == 0
        # Real values of the extract, with their codes: the disability and migrant gaps of two real countries.
        for series, column, code, expected_code, coded_as in (
                ("sl_tlf_uemdis", "disability_status", "pd", "PD", "disability_status"),
                ("sl_emp_ftlinjur", "migratory_status", "migper", "MS_MIGRANT", "migratory_status")):
            (path,) = (TEST_DATA / "sdg_database_2020").glob(f"ddf--datapoints--{series}--by--*.csv")
            row = next(r for r in csv.DictReader(path.open(encoding="utf-8")) if r[column] == code and r["sex"] == "female")
            published = con.execute(
                f"select value, sex, {coded_as}, nature from marts.fct_indicator_observations "
                f"where source_type = 'official' and series_code = ? and geo_area_m49 = ? and period_label = ? "
                f"and {coded_as} = ? and sex = 'F' and age_group = '_T'",
                [series.upper(), int(row["geo_area"]), row["year"], expected_code]).fetchall()
            assert published == [(float(row[series]), "F", expected_code, row["nature"].upper())], (series, row)
        # Every partner of the sample inbox is published beside the official data, labelled fictional.
        partners = dict(con.execute(
            "select source_id, count(*) from marts.fct_indicator_observations "
            "where source_type in ('civil_society', 'citizen_generated') and source_file is not null "
            "group by all").fetchall())
        # (the KoBo survey partner publishes under its survey id, without a source file)
        assert {"ability_forum", "idp_monitoring_network", "older_voices", "disability_rights_armenia",
                "armenia_community_monitors"} == set(partners) and all(partners.values())
        unlabelled = con.execute(
            "select count(*) from marts.fct_indicator_observations where source_file is not null "
            "and source_type in ('civil_society', 'citizen_generated') "
            "and data_source not like '%(fictional)%'").fetchone()[0]
        assert unlabelled == 0
        # The KoBo survey's cells under MIN_CELL_SIZE (5) respondents (counted in the warehouse: the published
        # file does not say) are published flagged, with no value and no respondent count.
        with duckdb.connect(str(pipeline_env.warehouse_path), read_only=True) as warehouse:
            small = [row[0] for row in warehouse.execute(
                "select observation_id from intermediate.int_observations_unioned "
                "where source_id = 'demo_wg_household_2025' and sample_size < 5").fetchall()]
        published_small = con.execute(
            "select count(*), count(value), count(sample_size), count(*) filter (where is_suppressed) "
            "from marts.fct_indicator_observations where observation_id in (select unnest($ids))", {"ids": small}
        ).fetchone()
        assert small and published_small == (len(small), 0, 0, len(small))
        # Nothing respondent-level or personal is a column of the published file.
        columns = [row[0] for row in con.execute("select distinct column_name from duckdb_columns() where not internal").fetchall()]
        personal = [c for c in columns if any(word in c.lower() for word in (
            "submission", "respondent", "uuid", "latitude", "longitude", "gps", "phone", "device", "submitted_by"))]
        assert personal == []
    evaluations = result.get_asset_check_evaluations()
    assert evaluations and all(e.passed for e in evaluations)


BAD_PERCENTAGES = {10: "150.5", 20: "-2"}  # record index in the real page: a value over 100 and a negative one


def test_official_values_outside_their_unit_range_are_set_aside_and_the_rest_publishes(from_baseline, tmp_path,
                                                                                        monkeypatch):
    """An upstream error (a percentage over 100, a negative one) stays in raw_sdg, is listed by a warning
    with its values, and is not published; it blocks nothing (the partners' figures sit beside this series)."""
    snapshot = copy_snapshot(tmp_path / "bad_snapshot")

    def spoil(page: dict) -> None:
        for index, bad_value in BAD_PERCENTAGES.items():
            page["data"][index]["value"] = bad_value

    page = edit_series_page(snapshot, "SH_OOP_XPD_EARNNET40", spoil, area=4)
    monkeypatch.setenv("SDG_API_REPLAY_DIR", str(snapshot))

    result = materialize_all(load_settings()).main
    assert result.success and published_marts_materialized(result)
    evaluations = {e.asset_check_key.name: e for e in result.get_asset_check_evaluations()}
    set_aside = evaluations["assert_official_values_outside_their_unit_range"]
    assert not set_aside.passed and set_aside.severity == dg.AssetCheckSeverity.WARN
    assert set_aside.metadata["dagster_dbt/failed_row_count"].value == len(BAD_PERCENTAGES)
    assert all(e.passed for name, e in evaluations.items() if name != "assert_official_values_outside_their_unit_range")
    published = [value for (value,) in published_rows(from_baseline, "value", "series_code = 'SH_OOP_XPD_EARNNET40' "
                                                      "and source_type = 'official'")]
    assert len(published) == len(page["data"]) - len(BAD_PERCENTAGES)
    assert not {float(v) for v in BAD_PERCENTAGES.values()} & set(published)
    with duckdb.connect(str(from_baseline.warehouse_path), read_only=True) as con:
        kept = con.execute("select value_raw from raw_sdg.series_observations where series_code = 'SH_OOP_XPD_EARNNET40' "
                           "and value_raw in ('150.5', '-2')").fetchall()
    assert sorted(kept) == [("-2",), ("150.5",)]


def make_run() -> subprocess.CompletedProcess:
    """What `make run` runs, in the test's environment."""
    return subprocess.run([sys.executable, "-m", "orchestration.run"], capture_output=True, text=True, timeout=900,
                          cwd=PROJECT_ROOT)


def test_a_night_with_nothing_new_rewrites_nothing_and_make_run_says_the_file_is_current(baseline, from_baseline):
    """`make run` again on the baseline's warehouse, nothing changed upstream: no series fetched or rewritten,
    no dbt build, no validation of unchanged tables, the published file untouched; exit 0."""
    before = digest(from_baseline.published_path)
    with duckdb.connect(str(from_baseline.warehouse_path), read_only=True) as con:
        loads = con.execute("select * from raw_sdg.series_loads order by series_code").fetchall()
        raw = con.execute("select count(*), count(distinct record_id) from raw_sdg.series_observations").fetchone()
    good = make_run()
    assert good.returncode == 0, good.stdout + good.stderr
    out = good.stdout
    assert f"0 landed (0 rows), {len(TEST_SERIES)} unchanged upstream (not fetched again), 0 failed" in out, out
    assert f"Current: {from_baseline.published_path} (published by run {baseline.pipeline.main.run_id}" in out, out
    assert "Published:" not in out
    assert digest(from_baseline.published_path) == before
    assert published_rows(from_baseline) == published_rows(baseline.settings)
    # For published_marts' freshness policy, the night reported the file current as a materialization (outside
    # its run: the summary above says "Current", not "Published").
    with dg.DagsterInstance.from_config(str(from_baseline.dagster_home)) as instance:
        confirmed = instance.get_latest_materialization_event(dg.AssetKey(["published_marts"]))
    assert confirmed.asset_materialization.metadata["status"].value == "current"
    assert confirmed.asset_materialization.metadata["published_run_id"].value == baseline.pipeline.main.run_id
    with duckdb.connect(str(from_baseline.warehouse_path), read_only=True) as con:
        assert con.execute("select * from raw_sdg.series_loads order by series_code").fetchall() == loads  # same runs
        assert con.execute("select count(*), count(distinct record_id) from raw_sdg.series_observations"
                           ).fetchone() == raw
    manifest = json.loads((SNAPSHOT / "manifest.json").read_text())["recordings"]
    announced = sum(json.loads(read_body(SNAPSHOT / r["file"]))["totalElements"] for r in manifest
                    if r["path"] == "v1/sdg/Series/Data" and r["params"]["page"] == ["1"]
                    and r["params"]["seriesCode"][0] in TEST_SERIES)
    assert raw[0] == raw[1] == announced


def test_a_true_duplicate_from_the_api_is_resolved_at_landing_counted_and_published(
        from_baseline, tmp_path, monkeypatch):
    """The API sends one cell twice with two values: the later record wins, both stay in raw_sdg, the count
    is in the series' metadata and the run summary, and the night publishes."""
    from orchestration.run import summarize

    where = "series_code = 'SH_OOP_XPD_EARNNET40' and source_type = 'official'"
    before = Counter(value for (value,) in published_rows(from_baseline, "value", where))
    snapshot = copy_snapshot(tmp_path / "duplicate_snapshot")

    def duplicate(page: dict) -> None:
        page["data"].append({**page["data"][3], "value": "25.5"})
        page["totalElements"] += 1

    page = edit_series_page(snapshot, "SH_OOP_XPD_EARNNET40", duplicate, area=4)
    monkeypatch.setenv("SDG_API_REPLAY_DIR", str(snapshot))
    settings = load_settings()
    pipeline = materialize_all(settings)
    assert pipeline.success and published_marts_materialized(pipeline.main)
    status = pipeline.series["SH_OOP_XPD_EARNNET40"]
    assert (status.status, status.duplicates_superseded) == ("landed", 1)
    assert {code: s.status for code, s in pipeline.series.items() if code != "SH_OOP_XPD_EARNNET40"} == dict.fromkeys(
        set(TEST_SERIES) - {"SH_OOP_XPD_EARNNET40"}, "current")
    lines, up_to_date = summarize(pipeline, settings)
    assert up_to_date and any("duplicates resolved" in line and "SH_OOP_XPD_EARNNET40 (1)" in line for line in lines)
    original = page["data"][3]
    with duckdb.connect(str(from_baseline.warehouse_path), read_only=True) as con:
        raw = con.execute(
            "select value_raw, superseded_by is null, record_index from raw_sdg.series_observations "
            "where series_code = 'SH_OOP_XPD_EARNNET40' and geo_area_m49 = 4 and time_period = ? "
            "and dimensions = ? order by record_index",
            [int(original["timePeriodStart"]), original["dimensions"]]).fetchall()
    assert raw == [(original["value"], False, 3), ("25.5", True, len(page["data"]) - 1)]
    # Published: the same cells as before, that one with the later value.
    after = Counter(value for (value,) in published_rows(from_baseline, "value", where))
    assert after == before - Counter([float(original["value"])]) + Counter([25.5])


def test_make_run_exits_non_zero_and_prints_why_when_the_gate_blocks(from_baseline, tmp_path, monkeypatch):
    pipeline_env = from_baseline
    before = digest(pipeline_env.published_path)

    snapshot = copy_snapshot(tmp_path / "bad_snapshot")

    def duplicate(page: dict) -> None:
        # A second record for the same series, area and year whose breakdown differs only in a code that means
        # the same (sex NOTSPEC, coded as the total like BOTHSEX): not a duplicate the lander resolves, but two
        # figures for one cell of the mart, which the grain's uniqueness test refuses.
        record = page["data"][3]
        assert record["dimensions"]["Sex"] == "BOTHSEX"
        page["data"].append({**record, "value": "25.5", "dimensions": {**record["dimensions"], "Sex": "NOTSPEC"}})
        page["totalElements"] += 1

    edit_series_page(snapshot, "SH_OOP_XPD_EARNNET40", duplicate, area=4)
    monkeypatch.setenv("SDG_API_REPLAY_DIR", str(snapshot))
    bad = make_run()

    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert digest(pipeline_env.published_path) == before
    out = bad.stdout
    assert f"NOT published: {pipeline_env.published_path} was left as it was" in out
    failed = [line for line in out.splitlines() if line.strip().startswith("FAILED ")]
    assert failed and all("marts/fct_indicator_observations:" in line for line in failed), out
    assert "1 failing row(s); e.g." in out or "1 unexpected" in out, out  # the count, then examples
    assert '"occurrences": 2' in out.split("NOT published")[0].split("Checks:")[1], out  # the offending cell itself
    alert_line = next(line for line in out.splitlines() if line.startswith("Alert: "))
    alert = Path(alert_line.removeprefix("Alert: "))
    assert alert.parent == pipeline_env.reports_dir / "alerts"
    checks = out[out.index("Checks:"):out.index("NOT published")]
    assert checks in alert.read_text()


def test_a_failing_series_and_reference_data_keep_their_previous_versions_and_block_nothing_else(
        from_baseline, tmp_path, monkeypatch):
    """One night, two upstream failures: a series page short of what the API announced, and the goal
    hierarchy the API will not give. Each keeps its previous version; the rest (here a revised value of
    another series) is published."""
    from orchestration.run import PipelineResult, reference_failures, summarize

    pipeline_env = from_baseline
    before = published_rows(pipeline_env, where="series_code = 'SI_COV_DISAB'")
    assert before
    with duckdb.connect(str(pipeline_env.warehouse_path), read_only=True) as con:
        hierarchy = con.execute("select * from raw_sdg.series_hierarchy order by all").fetchall()

    snapshot = copy_snapshot(tmp_path / "faulty_snapshot")

    def short(page: dict) -> None:
        page["data"] = page["data"][:-2]  # the API announces totalElements but sends two fewer

    def revise(page: dict) -> None:
        page["data"][0]["value"] = "42.4242"

    edit_series_page(snapshot, "SI_COV_DISAB", short)
    edit_series_page(snapshot, "SL_TLF_UEMDIS", revise)
    manifest = json.loads((snapshot / "manifest.json").read_text())
    manifest["recordings"] = [r for r in manifest["recordings"] if r["path"] != "v1/sdg/Goal/List"]  # now a 404
    (snapshot / "manifest.json").write_text(json.dumps(manifest))
    monkeypatch.setenv("SDG_API_REPLAY_DIR", str(snapshot))

    settings = load_settings()
    pipeline = materialize_all(settings)
    assert not pipeline.success  # `make run` exits non-zero...
    assert pipeline.main.success and published_marts_materialized(pipeline.main)  # ...but publishes the rest
    # the series fails alone and keeps its previous rows
    assert [code for code, series in pipeline.series.items() if series.status == "failed"] == ["SI_COV_DISAB"]
    assert "totalElements" in pipeline.series["SI_COV_DISAB"].message
    assert pipeline.series["SL_TLF_UEMDIS"].status == "landed"
    assert published_rows(pipeline_env, "value", "series_code = 'SL_TLF_UEMDIS' and value = 42.4242") == [(42.4242,)]
    assert published_rows(pipeline_env, where="series_code = 'SI_COV_DISAB'") == before
    # the reference table keeps its previous version, and its failure alone would fail the night
    failures = reference_failures(pipeline.main)
    assert list(failures) == ["raw_sdg.series_hierarchy"] and "Goal/List" in failures["raw_sdg.series_hierarchy"]
    assert not PipelineResult(series_runs=[], partners=pipeline.partners, main=pipeline.main).success
    with duckdb.connect(str(pipeline_env.warehouse_path), read_only=True) as con:
        assert con.execute("select * from raw_sdg.series_hierarchy order by all").fetchall() == hierarchy
    lines, published = summarize(pipeline, settings)
    assert published and any("raw_sdg.series_hierarchy: FAILED, previous version kept" in line for line in lines)
    assert any(line.strip().startswith("SI_COV_DISAB: FAILED, previous version kept") for line in lines), lines


def test_readme_questions_run_against_the_published_file(baseline):
    """The README's analyst queries work on the published file and find data in the bundled sample."""
    from tests.conftest import REPO

    assert baseline.pipeline.success
    queries = re.findall(r"```sql\n(.*?)```", (REPO / "README.md").read_text(), re.S)
    assert len(queries) >= 5
    with duckdb.connect(str(baseline.settings.published_path), read_only=True) as con:
        for query in queries:
            assert con.execute(query).fetchall(), query


def test_nothing_personal_reaches_the_published_file_reports_or_logs(baseline):
    """Names, phones, device ids, household codes and exact coordinates of the sample survey appear
    nowhere an analyst, a partner or a data engineer can read them."""
    import csv

    from tests.conftest import REPO

    export = REPO / "data" / "inbox" / "community_wg_survey" / "demo_wg_household_2025.csv"
    with export.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))
    secrets = set()
    for row in rows:
        for column in ("respondent/resp_name", "respondent/resp_phone", "deviceid", "respondent/hh_code",
                       "_location/gps_latitude", "_location/gps_longitude", "_uuid"):
            if row.get(column) and len(row[column]) >= 5:
                secrets.add(row[column])
    assert len(secrets) > 500  # the scan has something to find

    reports = baseline.settings.reports_dir
    pipeline = baseline.pipeline
    assert pipeline.main.success

    texts = []
    with duckdb.connect(str(baseline.settings.published_path), read_only=True) as con:
        for schema, table in con.execute("select schema_name, table_name from duckdb_tables()").fetchall():
            texts.append(" ".join(map(str, con.execute(f"select * from {schema}.{table}").fetchall())))
    texts += [path.read_text(encoding="utf-8", errors="replace") for path in reports.rglob("*") if path.is_file()]
    for result in [pipeline.main, *pipeline.series_runs, *pipeline.partners.values()]:
        texts += [str(event) for event in result.all_events]
    haystack = "\n".join(texts)
    # A coordinate must appear as that number, not inside another one (a value 60.0270971 holds 0.027097);
    # the plain substring search first, as only a secret found that way can match the number's pattern.
    leaked = sorted(secret for secret in secrets if secret in haystack and (
        not re.fullmatch(r"-?[0-9.]+", secret) or re.search(rf"(?<![0-9]){re.escape(secret)}(?![0-9])", haystack)))
    assert leaked == []


def test_every_dbt_model_materialization_carries_its_row_count_and_column_schema(baseline):
    """What the UI shows on each dbt model: its row count and its columns with their types, as built, read
    back through the Dagster instance; the counts are the warehouse's own."""
    from orchestration.assets.dbt import dbt_models

    def unique_id(key):
        entry = dbt_models.get_asset_spec(key).metadata["dagster_dbt/unique_id"]
        return getattr(entry, "value", entry)

    models = [key for key in dbt_models.keys if unique_id(key).startswith("model.")]
    assert len(models) >= 20 and FCT_KEY in models
    with duckdb.connect(str(baseline.settings.warehouse_path), read_only=True) as con:
        for key in models:
            event = baseline.instance.get_latest_materialization_event(key)
            assert event is not None and event.run_id == baseline.main.run_id, key
            metadata = event.asset_materialization.metadata
            schema = metadata["dagster/column_schema"].value
            assert isinstance(schema, dg.TableSchema) and schema.columns, key
            schema_name, table = key.path
            expected = con.execute(f'select count(*) from {schema_name}."{table}"').fetchone()[0]
            assert metadata["dagster/row_count"].value == expected, key
            columns = con.execute("select column_name, data_type from duckdb_columns() where schema_name = ? "
                                  "and table_name = ? order by column_index", [schema_name, table]).fetchall()
            assert [(c.name, c.type) for c in schema.columns] == columns, key
    fct = baseline.instance.get_latest_materialization_event(FCT_KEY).asset_materialization.metadata
    columns = {c.name: c for c in fct["dagster/column_schema"].value.columns}
    assert columns["value"].type == "DOUBLE" and columns["value"].description  # dbt's column docs come along
