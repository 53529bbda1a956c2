"""One measured approach of bench_sdg_api_ingest, run in its own process: prints {wall_s, rows, ...}.

Memory and CPU time are measured from outside by the bench (bench/memory.py). ``ru_maxrss`` read here
would start at the high-water mark of the process that started this one, and the pipeline's forked
fetch process starts at this one's: neither would be the approach's own figure.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import duckdb  # noqa: E402
import pandas as pd  # noqa: E402
import requests  # noqa: E402


def pipeline(base_url: str, directory: Path, series: str) -> dict:
    from ingestion.sdg_api.client import SdgApiClient, make_session
    from ingestion.sdg_api.land import land_series
    from ingestion.config import load_settings
    from ingestion.warehouse import connect

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        with connect(Path(tmp) / "bench.duckdb", memory_limit=load_settings().duckdb_memory_limit) as con:
            load = land_series(con, SdgApiClient(base_url, make_session("live", base_url)), series, None, "bench")
        return {"wall_s": time.perf_counter() - start, "rows": load.rows_landed}


def _download(base_url: str, series: str) -> list[bytes]:
    session = requests.Session()
    bodies, page, pages = [], 1, 1
    while page <= pages:
        response = session.get(f"{base_url}/v1/sdg/Series/Data",
                               params={"seriesCode": series, "pageSize": 1000, "page": page}, timeout=60)
        response.raise_for_status()
        bodies.append(response.content)
        if page == 1:
            pages = json.loads(response.content)["totalPages"]
        page += 1
    return bodies


def reference(base_url: str, directory: Path, series: str) -> dict:
    start = time.perf_counter()
    bodies = _download(base_url, series)
    downloaded = time.perf_counter()
    del bodies
    with tempfile.TemporaryDirectory() as tmp, duckdb.connect(str(Path(tmp) / "ref.duckdb")) as con:
        con.execute(
            f"create table observations as select unnest(data, recursive := true) "
            f"from read_json('{directory}/page_*.json', maximum_object_size = 100000000)"
        )
        rows = con.execute("select count(*) from observations").fetchone()[0]
    end = time.perf_counter()
    return {"wall_s": end - start, "download_s": downloaded - start, "read_json_s": end - downloaded, "rows": rows}


def landing_sql(base_url: str, directory: Path, series: str) -> dict:
    """The lander's own DuckDB statements alone, over the same pages already on disk: no download, no
    fetch process, DuckDB on every core. No lander that runs these statements can be faster than this,
    so ``naive / landing_sql`` bounds the speed-up any such lander can reach on this machine."""
    from datetime import datetime, timezone

    from ingestion.sdg_api.fetch import SpooledPage
    from ingestion.sdg_api.land import _LINEAGE_DDL, DDL, _insert_lineage, _PageSpool
    from ingestion.sdg_api.parse import MACROS_SQL, spooled_pages_sql

    files = sorted(directory.glob("page_*.json"), key=lambda path: int(path.stem.split("_")[1]))
    pages = [SpooledPage(series_code=series, area_batch=None, page_number=number, total_elements=0, records=0,
                         unknown_fields=frozenset(), dimension_names=frozenset(), url=f"{base_url}#{number}",
                         sha256="-", fetched_at=datetime.now(timezone.utc), file=str(path),
                         size=path.stat().st_size, ordinal=number, client_retries=0)
             for number, path in enumerate(files, start=1)]
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        with duckdb.connect(str(Path(tmp) / "floor.duckdb")) as con:
            con.execute(DDL)
            con.execute(MACROS_SQL)
            con.execute(_LINEAGE_DDL)
            con.execute("begin")
            for first in range(0, len(pages), _PageSpool.FLUSH_PAGES):
                batch = pages[first:first + _PageSpool.FLUSH_PAGES]
                con.execute("delete from sdg_page_lineage")
                _insert_lineage(con, batch, "bench")
                con.execute("insert into raw_sdg.series_observations by name "
                            + spooled_pages_sql([p.file for p in batch], [], series, max(p.size for p in batch)))
            con.execute("commit")
            rows = con.execute("select count(*) from raw_sdg.series_observations").fetchone()[0]
        return {"wall_s": time.perf_counter() - start, "rows": rows}


def naive(base_url: str, directory: Path, series: str) -> dict:
    start = time.perf_counter()
    records = [record for body in _download(base_url, series) for record in json.loads(body)["data"]]
    frame = pd.json_normalize(records)
    frame = frame.astype({column: "str" for column in frame.columns if frame[column].dtype == object})
    with tempfile.TemporaryDirectory() as tmp, duckdb.connect(str(Path(tmp) / "naive.duckdb")) as con:
        con.execute("create table observations as select * from frame")
        rows = con.execute("select count(*) from observations").fetchone()[0]
    return {"wall_s": time.perf_counter() - start, "rows": rows}


if __name__ == "__main__":
    approach, base_url, directory, series = sys.argv[1], sys.argv[2], Path(sys.argv[3]), sys.argv[4]
    measured = {"pipeline": pipeline, "reference": reference, "naive": naive, "landing_sql": landing_sql}[approach](base_url, directory, series)
    print(json.dumps(measured))
