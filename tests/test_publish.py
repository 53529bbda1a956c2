"""Publication: a new file, validated, swapped in atomically; failures and kills leave the old file
byte-identical; previous files are kept for rollback."""

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from ingestion.publish import (
    KEEP_PREVIOUS,
    PublicationError,
    _validate,
    history_dir,
    previous_files,
    publish,
    rollback,
)
from tests.conftest import REPO


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


def run_publish(warehouse: Path, published: Path, run_id: str, **options):
    return publish(warehouse, published, ["marts.fct_demo"], run_id=run_id, checks={"passed": ["x"]},
                   input_snapshot={"demo": 1}, **options)


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.glob(".*.tmp*"))


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
    assert leftovers(published.parent) == []


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
    assert leftovers(tmp_path) == []
    assert previous_files(published) == [], "nothing was replaced, so nothing was kept"


def test_unknown_table_is_refused(tmp_path):
    warehouse, published = tmp_path / "w.duckdb", tmp_path / "p.duckdb"
    make_warehouse(warehouse, [1.0])
    with pytest.raises(PublicationError, match="only marts are published"):
        publish(warehouse, published, ["raw_sdg.secret"], run_id="r", checks={}, input_snapshot={})
    assert not published.exists()


def test_validation_compares_the_new_file_with_the_warehouse(tmp_path):
    warehouse, published = tmp_path / "w.duckdb", tmp_path / "p.duckdb"
    make_warehouse(warehouse, [1.0, 2.0])
    run_publish(warehouse, published, "run-1")
    _validate(published, warehouse, {"marts.fct_demo": 2})  # what was written is what the warehouse holds
    make_warehouse(warehouse, [1.0, 2.5])  # same row count, one value differs
    with pytest.raises(PublicationError, match="rows differ"):
        _validate(published, warehouse, {"marts.fct_demo": 2})
    with pytest.raises(PublicationError, match="3 written"):
        _validate(published, warehouse, {"marts.fct_demo": 3})


def test_leftover_from_a_killed_publication_is_cleaned(tmp_path):
    warehouse, published = tmp_path / "w.duckdb", tmp_path / "p.duckdb"
    make_warehouse(warehouse, [1.0])
    leftover = tmp_path / ".p.duckdb.killed-run.tmp"
    leftover.write_bytes(b"half a file")
    (tmp_path / ".p.duckdb.killed-run.tmp.wal").write_bytes(b"half a wal")
    run_publish(warehouse, published, "run-1")
    assert leftovers(tmp_path) == []


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
        rollback(published)  # a rollback is a swap too
        assert reader.execute("select count(*), sum(value) from marts.fct_demo").fetchone() == (2, 3.0)
    finally:
        reader.close()
    with duckdb.connect(str(published), read_only=True) as fresh:
        assert fresh.execute("select sum(value) from marts.fct_demo").fetchone() == (3.0,)


# -- previous files and rollback -------------------------------------------------------------------


def test_previous_files_are_kept_newest_first_and_pruned(tmp_path):
    warehouse, published = tmp_path / "w.duckdb", tmp_path / "p.duckdb"
    digests = []
    for run in range(KEEP_PREVIOUS + 3):
        make_warehouse(warehouse, [float(run)] * (run + 1))
        result = run_publish(warehouse, published, f"run{run}")
        digests.append(digest(published))
    kept = previous_files(published)
    assert result.history == kept and len(kept) == KEEP_PREVIOUS
    # newest first: the file replaced last is the one published just before the current one
    assert [digest(p) for p in kept] == digests[-2::-1][:KEEP_PREVIOUS]
    assert all(p.parent == history_dir(published) for p in kept)
    assert kept[0].name.endswith(".run8.duckdb"), kept[0].name  # named by its own publication
    with duckdb.connect(str(kept[-1]), read_only=True) as con:
        assert con.execute("select count(*) from marts.fct_demo").fetchone() == (3,)


def test_rollback_restores_the_previous_file_byte_identical(tmp_path):
    warehouse, published = tmp_path / "w.duckdb", tmp_path / "p.duckdb"
    digests = []
    for run, values in enumerate([[1.0], [1.0, 2.0], [1.0, 2.0, 3.0]]):
        make_warehouse(warehouse, values)
        run_publish(warehouse, published, f"run-{run}")
        digests.append(digest(published))
    rollback(published)
    assert digest(published) == digests[1]
    assert digest(history_dir(published) / "rolled_back.duckdb") == digests[2]
    rollback(published)  # and once more, one publication further back
    assert digest(published) == digests[0]
    with pytest.raises(PublicationError, match="no previous file"):
        rollback(published)
    assert digest(published) == digests[0]
    # publishing after a rollback works and keeps the rolled-back-to file
    make_warehouse(warehouse, [7.0])
    run_publish(warehouse, published, "run-after")
    assert [digest(p) for p in previous_files(published)] == [digests[0]]


def test_make_rollback_script(tmp_path):
    warehouse, published = tmp_path / "w.duckdb", tmp_path / "p.duckdb"
    env = {**os.environ, "PUBLISHED_PATH": str(published), "PYTHONPATH": str(REPO)}
    script = [sys.executable, str(REPO / "scripts" / "rollback.py")]
    make_warehouse(warehouse, [1.0])
    run_publish(warehouse, published, "run-1")
    nothing = subprocess.run(script, env=env, capture_output=True, text=True, cwd=tmp_path)
    assert nothing.returncode == 1 and "Nothing to roll back to" in nothing.stderr
    first = digest(published)
    make_warehouse(warehouse, [2.0])
    run_publish(warehouse, published, "run-2")
    done = subprocess.run(script, env=env, capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Rolled back" in done.stdout and "run-1" in done.stdout
    assert digest(published) == first


# -- a publication killed between writing and swapping ------------------------------------------

KILLABLE = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from ingestion.publish import publish

    warehouse, published, marker = map(Path, sys.argv[1:4])

    def pause(new_file):
        marker.write_text(str(new_file))  # written and validated; the swap comes next
        time.sleep(600)

    publish(warehouse, published, ["marts.fct_demo"], run_id="killed-run", checks={}, input_snapshot={},
            before_swap=pause)
    """
)


def test_publication_killed_before_its_swap_leaves_the_old_file_and_the_next_one_succeeds(tmp_path):
    warehouse, published, marker = tmp_path / "w.duckdb", tmp_path / "p.duckdb", tmp_path / "ready"
    make_warehouse(warehouse, [1.0, 2.0])
    run_publish(warehouse, published, "run-1")
    before = digest(published)
    make_warehouse(warehouse, [10.0, 20.0, 30.0])
    process = subprocess.Popen([sys.executable, "-c", KILLABLE, str(warehouse), str(published), str(marker)],
                               env={**os.environ, "PYTHONPATH": str(REPO)}, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert process.poll() is None, "the publication ended before reaching its swap"
            assert time.monotonic() < deadline, "the publication never reached its swap"
            time.sleep(0.05)
        new_file = Path(marker.read_text())
        assert new_file.exists() and new_file.stat().st_size > 0  # the new file is fully written
        os.kill(process.pid, signal.SIGKILL)
        assert process.wait(timeout=30) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
    assert digest(published) == before
    with duckdb.connect(str(published), read_only=True) as con:
        assert con.execute("select count(*), sum(value) from marts.fct_demo").fetchone() == (2, 3.0)
    assert leftovers(tmp_path) == [new_file.name]
    result = run_publish(warehouse, published, "run-3")
    assert result.row_counts == {"marts.fct_demo": 3}
    assert leftovers(tmp_path) == []
    assert [digest(p) for p in previous_files(published)] == [before]
    with duckdb.connect(str(published), read_only=True) as con:
        assert con.execute("select run_id from meta.publication_log order by published_at").fetchall() == [
            ("run-1",), ("run-3",)]
