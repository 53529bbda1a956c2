"""Landing of the SDG API's reference data: the goal/target/indicator/series hierarchy and geo areas.

Each is small, so it is fetched whole and replaced in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from ingestion.sdg_api.client import FetchedJson, SdgApiClient
from ingestion.sdg_api.parse import parse_geo_tree, parse_goal_hierarchy, parse_m49
from ingestion.warehouse import ensure_tables, transaction

DDL = """
create schema if not exists raw_sdg;
create table if not exists raw_sdg.series_hierarchy (
    goal_code varchar,
    goal_title varchar,
    goal_description varchar,
    target_code varchar,
    target_title varchar,
    target_description varchar,
    indicator_code varchar,
    indicator_description varchar,
    tier varchar,
    series_code varchar,
    series_description varchar,
    release varchar,
    request_url varchar not null,
    fetched_at timestamptz not null,
    response_sha256 varchar not null,
    run_id varchar not null
);
create table if not exists raw_sdg.geo_areas (
    geo_area_code_raw varchar not null,
    geo_area_m49 integer not null,
    geo_area_name varchar,
    request_url varchar not null,
    fetched_at timestamptz not null,
    response_sha256 varchar not null,
    run_id varchar not null
);
create table if not exists raw_sdg.geo_area_tree (
    root_m49 integer,
    parent_m49 integer,
    geo_area_m49 integer,
    geo_area_name varchar,
    geo_area_type varchar,
    depth integer not null,
    request_url varchar not null,
    fetched_at timestamptz not null,
    response_sha256 varchar not null,
    run_id varchar not null
);
"""


@dataclass(frozen=True)
class ReferenceLoad:
    table: str
    rows: int
    response_sha256: str
    unchanged: bool = False  # the API answered with the very bytes already landed: nothing was rewritten


def _replace(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict], fetched: FetchedJson, run_id: str) -> ReferenceLoad:
    lineage = {"request_url": fetched.url, "fetched_at": fetched.fetched_at,
               "response_sha256": fetched.sha256, "run_id": run_id}
    landed = con.execute(f"select list(distinct response_sha256), count(*) from raw_sdg.{table}").fetchone()
    if landed[0] == [fetched.sha256] and landed[1] == len(rows):
        return ReferenceLoad(table=f"raw_sdg.{table}", rows=len(rows), response_sha256=fetched.sha256, unchanged=True)
    frame = pd.DataFrame([{**row, **lineage} for row in rows])  # noqa: F841 -- scanned by name below
    with transaction(con):
        con.execute(f"delete from raw_sdg.{table}")
        if rows:
            con.execute(f"insert into raw_sdg.{table} by name select * from frame")
    return ReferenceLoad(table=f"raw_sdg.{table}", rows=len(rows), response_sha256=fetched.sha256)


def land_series_hierarchy(con: duckdb.DuckDBPyConnection, client: SdgApiClient, run_id: str) -> ReferenceLoad:
    ensure_tables(con, DDL)
    fetched = client.goal_hierarchy()
    return _replace(con, "series_hierarchy", parse_goal_hierarchy(fetched.data), fetched, run_id)


def land_geo_areas(con: duckdb.DuckDBPyConnection, client: SdgApiClient, run_id: str) -> list[ReferenceLoad]:
    ensure_tables(con, DDL)
    listed = client.get_list("GeoArea/List")
    areas = [{"geo_area_code_raw": str(item["geoAreaCode"]), "geo_area_m49": parse_m49(item["geoAreaCode"]),
              "geo_area_name": item.get("geoAreaName")} for item in listed.data]
    tree = client.geo_area_tree()
    return [_replace(con, "geo_areas", areas, listed, run_id),
            _replace(con, "geo_area_tree", parse_geo_tree(tree.data), tree, run_id)]
