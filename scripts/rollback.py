"""`make rollback`: put the previous published file back in place of PUBLISHED_PATH.

Publication keeps the files it replaced in ``<PUBLISHED_PATH>.history/`` (the newest 7). This renames
the newest of them over ``PUBLISHED_PATH`` atomically (analysts holding the file open keep reading
what they had), and keeps the file it replaced as ``<PUBLISHED_PATH>.history/rolled_back.duckdb``.
Run it again to go one publication further back.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import duckdb  # noqa: E402
from dotenv import load_dotenv  # noqa: E402

from ingestion.config import PROJECT_ROOT, load_settings  # noqa: E402
from ingestion.publish import PublicationError, history_dir, previous_files, rollback  # noqa: E402


def _describe(path: Path) -> str:
    try:
        with duckdb.connect(str(path), read_only=True) as con:
            row = con.execute(
                "select published_at, run_id from meta.publication_log order by published_at desc limit 1"
            ).fetchone()
    except duckdb.Error as exc:
        return f"unreadable ({exc})"
    return f"published {row[0]:%Y-%m-%d %H:%M:%S %Z} by run {row[1]}" if row else "no publication log"


def main(argv: Sequence[str] | None = None) -> int:
    load_dotenv(PROJECT_ROOT / ".env", override=False)
    published = load_settings().published_path
    kept = previous_files(published)
    if not kept:
        print(f"Nothing to roll back to: {history_dir(published)} holds no previous file.", file=sys.stderr)
        return 1
    current = _describe(published) if published.exists() else "missing"
    try:
        rollback(published)
    except PublicationError as exc:
        print(f"Rollback refused: {exc}", file=sys.stderr)
        return 1
    print(f"Rolled back {published}")
    print(f"  now:      {_describe(published)}")
    print(f"  replaced: {current} (kept as {history_dir(published) / 'rolled_back.duckdb'})")
    print(f"  {len(kept) - 1} older file(s) left for further rollbacks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
