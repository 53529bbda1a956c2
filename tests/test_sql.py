"""ingestion/sql.py: values and names written into SQL text come back from DuckDB exactly as they were."""

import duckdb
import pytest

from ingestion.sql import identifier, literal

VALUES = ["plain", "it's", "''", "back\\slash", "new\nline", "😀 ünïcode", "", "--comment", "a'; drop table x; --",
          7, -1.25, True, False, None]


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_a_literal_is_read_back_as_the_value(value):
    assert duckdb.sql(f"select {literal(value)}").fetchone()[0] == value


@pytest.mark.parametrize("name", ['Sex', 'with "quotes"', "it's", "Année scolaire", "select"])
def test_an_identifier_names_exactly_that_column(name):
    con = duckdb.connect()
    con.execute(f"create table t ({identifier(name)} integer)")
    assert [row[0] for row in con.execute("select column_name from duckdb_columns() where table_name = 't'").fetchall()] == [name]
