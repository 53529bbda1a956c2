"""Landing tables whose layout changed with an upgrade keep their rows where they can."""

import duckdb
import pytest

from ingestion.sdg_api.land import DDL as SDG_DDL
from ingestion.warehouse import connect, ensure_tables

OLD = """
create schema if not exists raw_demo;
create table if not exists raw_demo.loads (code varchar primary key, rows_landed bigint not null, note varchar);
create table if not exists raw_demo.pages (code varchar, page integer);
"""


def _rows(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple]:
    return con.execute(f"select * from {table} order by all").fetchall()


def test_an_added_column_keeps_the_rows(tmp_path):
    new = OLD.replace("note varchar)", "note varchar, fetched_from varchar)")
    with connect(tmp_path / "w.duckdb") as con:
        ensure_tables(con, OLD)
        con.execute("insert into raw_demo.loads values ('A', 10, 'x'), ('B', 20, null)")
        con.execute("insert into raw_demo.pages values ('A', 1)")
        assert ensure_tables(con, new) == []
        assert _rows(con, "raw_demo.loads") == [("A", 10, "x", None), ("B", 20, None, None)]
        assert _rows(con, "raw_demo.pages") == [("A", 1)]
        con.execute("insert into raw_demo.loads values ('C', 1, null, 'u')")
        assert ensure_tables(con, new) == []  # the same layout again: nothing to do
        assert len(_rows(con, "raw_demo.loads")) == 3
        # The primary key survived the rebuild.
        with pytest.raises(duckdb.ConstraintException):
            con.execute("insert into raw_demo.loads values ('A', 1, null, null)")


def test_a_dropped_column_keeps_the_other_columns(tmp_path):
    with connect(tmp_path / "w.duckdb") as con:
        ensure_tables(con, OLD)
        con.execute("insert into raw_demo.loads values ('A', 10, 'x')")
        assert ensure_tables(con, OLD.replace(", note varchar)", ")")) == ["raw_demo.loads"]  # lost its notes
        assert _rows(con, "raw_demo.loads") == [("A", 10)]


def test_a_new_required_column_recreates_the_table_empty_and_says_so(tmp_path):
    with connect(tmp_path / "w.duckdb") as con:
        ensure_tables(con, OLD)
        con.execute("insert into raw_demo.loads values ('A', 10, 'x')")
        con.execute("insert into raw_demo.pages values ('A', 1)")
        new = OLD.replace("note varchar)", "note varchar, run_id varchar not null)")
        assert ensure_tables(con, new) == ["raw_demo.loads"]
        assert _rows(con, "raw_demo.loads") == []
        assert _rows(con, "raw_demo.pages") == [("A", 1)]  # an unchanged table is left alone
        assert [name for name, in con.execute("select table_name from duckdb_tables() where schema_name = 'raw_demo' "
                                               "order by 1").fetchall()] == ["loads", "pages"]


def test_the_sdg_landing_tables_are_created_once(tmp_path):
    with connect(tmp_path / "w.duckdb") as con:
        assert ensure_tables(con, SDG_DDL) == []
        assert ensure_tables(con, SDG_DDL) == []


def test_a_retyped_column_is_not_carried_over_and_the_table_is_named(tmp_path):
    with connect(tmp_path / "w.duckdb") as con:
        ensure_tables(con, OLD)
        con.execute("insert into raw_demo.loads values ('A', 10, '007')")
        assert ensure_tables(con, OLD.replace("note varchar)", "note integer)")) == ["raw_demo.loads"]
        assert _rows(con, "raw_demo.loads") == [("A", 10, None)]  # never '007' read as 7


def test_a_failure_other_than_the_rows_themselves_changes_nothing(tmp_path):
    with connect(tmp_path / "w.duckdb") as con:
        ensure_tables(con, OLD)
        con.execute("insert into raw_demo.loads values ('A', 10, 'x')")
        con.execute("create index pages_by_code on raw_demo.pages (code)")  # DuckDB cannot rename it
        new = OLD.replace("page integer)", "page integer, size bigint)")
        with pytest.raises(duckdb.Error):
            ensure_tables(con, new)
        assert _rows(con, "raw_demo.loads") == [("A", 10, "x")]
        assert [column for column, in con.execute(
            "select column_name from duckdb_columns() where table_name = 'pages' order by column_index").fetchall()] == [
            "code", "page"]
