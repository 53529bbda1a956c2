"""Every asset materialized for real (Dagster, dbt, GX, DuckDB) from the replay snapshot to the published file."""

import hashlib
import json

import dagster as dg
import duckdb
import pytest

from ingestion.config import load_settings
from tests.conftest import SAMPLE_PAGE, copy_snapshot

PUBLISHED_COLUMNS = "period_label, sex, age_group, location, income_quantile, other_disaggregation, value"


def materialize_all(settings, instance=None):
    from orchestration.definitions import ASSET_CHECKS, build_assets, build_resources

    return dg.materialize(
        assets=[*build_assets(settings), *ASSET_CHECKS],
        resources=build_resources(settings),
        instance=instance or dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )


def published_rows(settings, columns="*"):
    with duckdb.connect(str(settings.published_path), read_only=True) as con:
        return con.execute(f"select {columns} from marts.fct_indicator_observations order by all").fetchall()


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


def published_published_marts(result) -> bool:
    return dg.AssetKey(["published_marts"]) in {
        event.event_specific_data.materialization.asset_key for event in result.get_asset_materialization_events()
    }


def test_sample_page_flows_to_the_published_file(pipeline_env):
    result = materialize_all(pipeline_env)
    assert result.success
    rows = published_rows(pipeline_env, PUBLISHED_COLUMNS)
    assert len(rows) == 62
    key = lambda row: tuple("" if v is None else str(v) for v in row)  # noqa: E731
    assert sorted(rows, key=key) == expected_rows_from_sample_page()
    with duckdb.connect(str(pipeline_env.published_path), read_only=True) as con:
        urban_2007 = con.execute(
            "select value, unit, nature, iso3, geo_area_name, indicator_code, source_type, reporting_type "
            "from marts.fct_indicator_observations where period_label = '2007' and location = 'U'"
        ).fetchall()
        assert urban_2007 == [(5.52, "PT", "G", "AFG", "Afghanistan", "3.8.2", "official", "G")]
        schemas = con.execute("select distinct schema_name from duckdb_tables()").fetchall()
        assert sorted(schemas) == [("marts",), ("meta",)]
        log = con.execute("select run_id, row_counts from meta.publication_log").fetchall()
        assert log == [(result.run_id, '{"marts.fct_indicator_observations": 62}')]
    evaluations = result.get_asset_check_evaluations()
    assert evaluations and all(e.passed for e in evaluations)


def test_running_twice_publishes_the_same_rows(pipeline_env):
    assert materialize_all(pipeline_env).success
    first = published_rows(pipeline_env)
    assert materialize_all(pipeline_env).success
    assert published_rows(pipeline_env) == first
    with duckdb.connect(str(pipeline_env.warehouse_path), read_only=True) as con:
        assert con.execute("select count(*) from raw_sdg.series_observations").fetchone()[0] == 62


@pytest.mark.parametrize(
    "bad_value, failing",
    [("150.5", "expect_column_values_to_be_between(value) where unit == \"PT\""),
     ("-2", "expect_column_values_to_be_between(value) where unit == \"PT\"")],
    ids=["percent-over-100", "negative-percent"],
)
def test_blocking_check_stops_publication_of_a_bad_row(pipeline_env, tmp_path, monkeypatch, bad_value, failing):
    assert materialize_all(pipeline_env).success
    before = hashlib.sha256(pipeline_env.published_path.read_bytes()).hexdigest()

    snapshot = copy_snapshot(tmp_path / "bad_snapshot")
    page_file = snapshot / "series_data" / SAMPLE_PAGE.name
    page = json.loads(page_file.read_text())
    page["data"][10]["value"] = bad_value
    page_file.write_text(json.dumps(page))
    monkeypatch.setenv("SDG_API_REPLAY_DIR", str(snapshot))

    result = materialize_all(load_settings())
    assert not result.success
    assert not published_published_marts(result)
    failed = [e for e in result.get_asset_check_evaluations() if not e.passed]
    assert [e.asset_check_key.name for e in failed] == ["fct_indicator_observations_suite"]
    assert failed[0].severity == dg.AssetCheckSeverity.ERROR
    details = failed[0].metadata["failing_expectations"].value
    assert details[0]["expectation"] == failing and details[0]["unexpected_count"] == 1
    assert details[0]["sample"] == [float(bad_value)]
    assert hashlib.sha256(pipeline_env.published_path.read_bytes()).hexdigest() == before
