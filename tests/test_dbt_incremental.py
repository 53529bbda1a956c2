"""int_sdg_observations_coded is incremental by series: after any change an incremental build must
equal a full refresh, and a series whose batch did not change must not be recoded.

Runs the real `dbt build` on a copy of the dbt project (so a test can edit a seed) and a small
hand-made warehouse (the fixture of tests/test_marts.py, with three series).
"""

import shutil
from pathlib import Path

import duckdb
import pytest

from ingestion.warehouse import connect
from tests.conftest import REPO, run_dbt
from tests.test_marts import SERIES, _load_fixture

pytestmark = pytest.mark.dbt

RELANDED, REMOVED, UNCHANGED = SERIES, "SL_TLF_UEM_REMOVED", "SL_TLF_UEM_UNCHANGED"
MODEL = "intermediate.int_sdg_observations_coded"


def _copy_series(con: duckdb.DuckDBPyConnection, code: str, batch: str) -> None:
    """Another series with the fixture's rows, code lists and a load of its own."""
    con.execute(f"""insert into raw_sdg.series_observations
        select * replace (md5(record_id || '{code}') as record_id, '{code}' as series_code)
        from raw_sdg.series_observations where series_code = '{SERIES}'""")
    con.execute(f"""insert into raw_sdg.series_code_lists
        select * replace ('{code}' as series_code, '{batch}' as batch_id)
        from raw_sdg.series_code_lists where series_code = '{SERIES}'""")
    con.execute(f"""insert into raw_sdg.series_loads
        select * replace ('{code}' as series_code, '{batch}' as batch_id)
        from raw_sdg.series_loads where series_code = '{SERIES}'""")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    copy = tmp_path / "dbt_project"
    shutil.copytree(REPO / "dbt_project", copy, ignore=shutil.ignore_patterns("target", "logs"))
    return copy


def _build(project: Path, warehouse: Path, *args: str) -> str:
    # models only: the fixture's unknown age code fails a test on the marts by design (tests/test_marts.py)
    completed = run_dbt("build", "--exclude-resource-type", "test", *args, warehouse=warehouse, project=project)
    assert completed.returncode == 0, completed.stdout[-4000:]
    return completed.stdout


def _coded(warehouse: Path, where: str = "true") -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(f"select * from {MODEL} where {where} order by all").fetchall()


def _age_groups(warehouse: Path, series: str) -> set[str]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {row[0] for row in con.execute(f"select age_group from {MODEL} where series_code = ?", [series]).fetchall()}


def test_incremental_build_after_changes_equals_a_full_refresh(project, tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    with connect(warehouse) as con:
        _load_fixture(con)
        _copy_series(con, REMOVED, "r1")
        _copy_series(con, UNCHANGED, "u1")
    _build(project, warehouse)
    assert "unmapped" in _age_groups(warehouse, UNCHANGED)  # the API's "12-20" (Y12T20): no vocabulary has it

    with connect(warehouse) as con:
        # re-landed: a new batch with a changed value
        con.execute("update raw_sdg.series_observations set value = value + 1 where series_code = ?", [RELANDED])
        con.execute("update raw_sdg.series_loads set batch_id = 'b2' where series_code = ?", [RELANDED])
        # no longer configured: its landed rows are gone
        for table in ("series_observations", "series_code_lists", "series_loads"):
            con.execute(f"delete from raw_sdg.{table} where series_code = ?", [REMOVED])
    # the vocabulary learns Y12T20: every series must be recoded, unchanged batches included
    with (project / "seeds" / "age_groups.csv").open("a") as seed:
        seed.write("Y12T20,12 to 20 years,12,20\n")

    _build(project, warehouse)
    incremental = _coded(warehouse)
    assert {row[1] for row in incremental} == {RELANDED, UNCHANGED}
    assert "Y12T20" in _age_groups(warehouse, UNCHANGED) and "unmapped" not in _age_groups(warehouse, UNCHANGED)

    _build(project, warehouse, "--full-refresh")
    assert _coded(warehouse) == incremental


def test_a_series_whose_batch_did_not_change_is_not_recoded(project, tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    with connect(warehouse) as con:
        _load_fixture(con)
        _copy_series(con, UNCHANGED, "u1")
    _build(project, warehouse)
    before = _coded(warehouse, f"series_code = '{UNCHANGED}'")

    # Landing always writes a new batch_id with new rows or code lists; a change behind the same
    # batch_id is invisible to the incremental build (and so proves it skipped the series).
    with connect(warehouse) as con:
        con.execute("update raw_sdg.series_code_lists set sdmx_code = 'Y0T14' "
                    "where series_code = ? and code = '12-20'", [UNCHANGED])
    _build(project, warehouse)
    assert _coded(warehouse, f"series_code = '{UNCHANGED}'") == before

    _build(project, warehouse, "--full-refresh")
    assert "unmapped" not in _age_groups(warehouse, UNCHANGED) and "Y0T14" in _age_groups(warehouse, UNCHANGED)
