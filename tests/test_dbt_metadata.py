"""Row counts and column schemas attached to dbt's materializations after dbt exits (orchestration/assets/dbt.py),
without dbt: the events and the manifest as dagster-dbt gives them, a small warehouse."""

import dagster as dg
import duckdb

from orchestration.assets.dbt import with_table_metadata
from orchestration.resources import WarehouseResource

MANIFEST = {"nodes": {
    "model.p.dim_x": {"schema": "marts", "name": "dim_x", "alias": "dim_x",
                      "columns": {"code": {"description": "The code."}}},
    "model.p.stg_x": {"schema": "staging", "name": "stg_x", "alias": "stg_x", "columns": {}},
}}


def events():
    return [
        dg.AssetMaterialization(dg.AssetKey(["marts", "dim_x"]), metadata={"unique_id": "model.p.dim_x"}),
        dg.AssetObservation(dg.AssetKey(["marts", "dim_x"]), metadata={"unique_id": "test.p.unique_code"}),
        dg.Output(None, output_name="staging_stg_x", metadata={"unique_id": "model.p.stg_x"}),
    ]


def test_tables_and_views_get_their_row_count_and_columns_in_order(tmp_path):
    path = tmp_path / "w.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts; create schema staging; "
                    "create table marts.dim_x (code varchar, n integer); insert into marts.dim_x values ('a', 1), ('b', 2);"
                    "create view staging.stg_x as select code from marts.dim_x where n > 1")
    out = list(with_table_metadata(events(), MANIFEST, WarehouseResource(path=str(path), published_path="unused")))
    assert [type(e) for e in out] == [type(e) for e in events()]  # same events, same order
    table, observation, view = out
    assert table.metadata["dagster/row_count"].value == 2
    assert [(c.name, c.type, c.description) for c in table.metadata["dagster/column_schema"].value.columns] == [
        ("code", "VARCHAR", "The code."), ("n", "INTEGER", None)]
    assert "dagster/row_count" not in observation.metadata  # a test's result is left as it is
    assert view.metadata["dagster/row_count"].value == 1  # views are counted too
    assert [c.name for c in view.metadata["dagster/column_schema"].value.columns] == ["code"]


def test_a_warehouse_that_cannot_be_read_leaves_the_materializations_without_metadata(tmp_path):
    warnings = []

    class Log:
        def warning(self, message):
            warnings.append(message)

    warehouse = WarehouseResource(path=str(tmp_path / "missing" / "w.duckdb"), published_path="unused")
    out = list(with_table_metadata(events(), MANIFEST, warehouse, Log()))
    assert len(out) == 3 and all("dagster/row_count" not in e.metadata for e in out)
    assert warnings and "not read" in warnings[0]
