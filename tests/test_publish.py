"""Publication: a new file, validated, swapped in atomically; failures leave the old file byte-identical."""

import hashlib
from pathlib import Path

import duckdb
import pytest

from ingestion.publish import PublicationError, publish


def make_warehouse(path: Path, values: list[float]) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute("create schema if not exists marts; create schema if not exists raw_sdg")
        con.execute("create or replace table marts.fct_demo (id integer, value double)")
        con.executemany("insert into marts.fct_demo values (?, ?)", list(enumerate(values)))
        con.execute("comment on table marts.fct_demo is 'Demo mart'")
        con.execute("comment on column marts.fct_demo.value is 'The value, in percent'")
        con.execute("create or replace table raw_sdg.secret (respondent varchar)")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run_publish(warehouse: Path, published: Path, run_id: str):
    return publish(warehouse, published, ["marts.fct_demo"], run_id=run_id, checks={"passed": ["x"]},
                   input_snapshot={"demo": 1})


def test_publishes_marts_comments_and_log_only(tmp_path):
    warehouse, published = tmp_path / "w.duckdb", tmp_path / "out" / "p.duckdb"
    make_warehouse(warehouse, [1.0, 2.0])
    run_publish(warehouse, published, "run-1")
    make_warehouse(warehouse, [1.0, 2.0, 3.0])
    result = run_publish(warehouse, published, "run-2")
    assert result.row_counts == {"marts.fct_demo": 3}
    with duckdb.connect(str(published), read_only=True) as con:
        tables = con.execute("select schema_name || '.' || table_name from duckdb_tables() order by 1").fetchall()
        assert tables == [("marts.fct_demo",), ("meta.publication_log",)]  # no raw table
        assert con.execute("select comment from duckdb_tables() where table_name = 'fct_demo'").fetchone() == ("Demo mart",)
        assert con.execute(
            "select comment from duckdb_columns() where table_name = 'fct_demo' and column_name = 'value'"
        ).fetchone() == ("The value, in percent",)
        assert con.execute("select run_id from meta.publication_log order by published_at").fetchall() == [
            ("run-1",), ("run-2",)
        ]
    assert list(published.parent.glob("*.tmp")) == []


def test_file_is_readable_by_duckdb_1_0_storage(tmp_path):
    warehouse, published = tmp_path / "w.duckdb", tmp_path / "p.duckdb"
    make_warehouse(warehouse, [1.0])
    run_publish(warehouse, published, "run-1")
    with duckdb.connect() as con:
        con.execute(f"attach '{published}' as p (read_only)")
        tags = con.execute("select tags from duckdb_databases() where database_name = 'p'").fetchone()[0]
    assert tags["storage_version"].startswith("v1.0.0")


def test_failure_while_writing_leaves_the_published_file_byte_identical(tmp_path):
    warehouse, published = tmp_path / "w.duckdb", tmp_path / "p.duckdb"
    make_warehouse(warehouse, [1.0])
    run_publish(warehouse, published, "run-1")
    before = digest(published)
    make_warehouse(warehouse, [5.0, 6.0])
    with pytest.raises(duckdb.CatalogException, match="fct_missing"):
        publish(warehouse, published, ["marts.fct_demo", "marts.fct_missing"], run_id="run-2",
                checks={}, input_snapshot={})
    assert digest(published) == before
    assert list(tmp_path.glob(".p.duckdb.*")) == []


def test_unknown_table_is_refused(tmp_path):
    warehouse, published = tmp_path / "w.duckdb", tmp_path / "p.duckdb"
    make_warehouse(warehouse, [1.0])
    with pytest.raises(PublicationError, match="only marts are published"):
        publish(warehouse, published, ["raw_sdg.secret"], run_id="r", checks={}, input_snapshot={})
    assert not published.exists()


def test_leftover_from_a_killed_publication_is_cleaned(tmp_path):
    warehouse, published = tmp_path / "w.duckdb", tmp_path / "p.duckdb"
    make_warehouse(warehouse, [1.0])
    leftover = tmp_path / ".p.duckdb.killed-run.tmp"
    leftover.write_bytes(b"half a file")
    run_publish(warehouse, published, "run-1")
    assert not leftover.exists()


def test_reader_holding_the_old_file_keeps_consistent_data_across_a_swap(tmp_path):
    warehouse, published = tmp_path / "w.duckdb", tmp_path / "p.duckdb"
    make_warehouse(warehouse, [1.0, 2.0])
    run_publish(warehouse, published, "run-1")
    reader = duckdb.connect(str(published), read_only=True)
    try:
        assert reader.execute("select sum(value) from marts.fct_demo").fetchone() == (3.0,)
        make_warehouse(warehouse, [10.0, 20.0, 30.0])
        run_publish(warehouse, published, "run-2")
        assert reader.execute("select sum(value) from marts.fct_demo").fetchone() == (3.0,)
    finally:
        reader.close()
    with duckdb.connect(str(published), read_only=True) as fresh:
        assert fresh.execute("select sum(value) from marts.fct_demo").fetchone() == (60.0,)
