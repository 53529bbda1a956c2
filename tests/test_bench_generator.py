"""The benchmark's warehouse generator (scripts/generate_bench_warehouse.py) at a tiny size:
exact row counts, the same contents for the same seed, and a passing `dbt build` on its output."""

import re
import shutil

import duckdb
import pytest

from bench.generator import load_generator
from tests.conftest import run_dbt

OFFICIAL, CIVIL_SOCIETY = 2_000, 500
TABLES = ["raw_sdg.series_observations", "raw_sdg.series_code_lists", "raw_sdg.series_loads",
          "raw_sdg.series_hierarchy", "raw_sdg.geo_areas", "raw_sdg.geo_area_tree", "raw_partners.partners",
          "raw_partners.files", "raw_partners.file_observations"]


def _fingerprint(path) -> dict[str, tuple[int, str]]:
    """Row count and a hash of every row's text, independent of physical row order."""
    with duckdb.connect(str(path), read_only=True) as con:
        return {table: con.execute(
            f"select count(*), md5(coalesce(string_agg(h, ',' order by h), '')) "
            f"from (select md5(r::varchar) as h from {table} as r)").fetchone() for table in TABLES}


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    generator = load_generator()
    directory = tmp_path_factory.mktemp("bench_warehouse")
    paths = [directory / name / "warehouse.duckdb" for name in ("first", "second", "other_seed")]
    counts = generator.generate(paths[0], OFFICIAL, CIVIL_SOCIETY, seed=7)
    generator.generate(paths[1], OFFICIAL, CIVIL_SOCIETY, seed=7)
    generator.generate(paths[2], OFFICIAL, CIVIL_SOCIETY, seed=8)
    return paths, counts


def test_requested_row_counts(generated):
    (path, *_), counts = generated
    fingerprint = _fingerprint(path)
    assert fingerprint["raw_sdg.series_observations"][0] == OFFICIAL == counts["raw_sdg.series_observations"]
    assert fingerprint["raw_partners.file_observations"][0] == CIVIL_SOCIETY == counts["raw_partners.file_observations"]
    assert all(rows > 0 for rows, _ in fingerprint.values()), fingerprint
    with duckdb.connect(str(path), read_only=True) as con:
        loads = con.execute("select sum(rows_landed) from raw_sdg.series_loads").fetchone()[0]
        files = con.execute("select sum(rows_read) from raw_partners.files").fetchone()[0]
        kinds = dict(con.execute("select source_type, count(*) filter (where sample_size < 5) "
                                 "from raw_partners.observations group by all").fetchall())
    assert loads == OFFICIAL and files == CIVIL_SOCIETY  # the bookkeeping tables agree with the rows
    assert kinds["citizen_generated"] > 0 and kinds["civil_society"] == 0  # small cells for suppression


def test_same_seed_same_contents(generated):
    (first, second, other_seed), _ = generated
    assert _fingerprint(first) == _fingerprint(second)
    assert _fingerprint(first)["raw_sdg.series_observations"] != _fingerprint(other_seed)["raw_sdg.series_observations"]


@pytest.mark.dbt
def test_dbt_build_passes_on_the_generated_warehouse(generated, tmp_path):
    (path, *_), _ = generated
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copyfile(path, warehouse)
    paths = ("--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs"))
    completed = run_dbt("build", "--exclude-resource-type", "test", *paths, warehouse=warehouse)
    assert completed.returncode == 0, completed.stdout[-4000:]
    # the generator's unknown API codes are the one finding of the gate on the marts; every other test passes
    tested = run_dbt("test", *paths, warehouse=warehouse)
    assert re.findall(r"Failure in test (\S+)", tested.stdout) == [
        "canonical_codes_fct_indicator_observations_reporting_type"], tested.stdout[-4000:]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        by_source = dict(con.execute("select source_type, count(*) from marts.fct_indicator_observations "
                                     "group by all").fetchall())
        unmapped = con.execute("select count(*) from marts.fct_indicator_observations "
                               "where unmapped_codes is not null").fetchone()[0]
    assert set(by_source) == {"official", "civil_society", "citizen_generated"}
    assert unmapped > 0  # the generator's unknown API codes flow through as 'unmapped'
