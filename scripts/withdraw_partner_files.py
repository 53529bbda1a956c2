"""Withdraw partner files by hand: their rows leave the warehouse at once (published at the next run).

    .venv/bin/python scripts/withdraw_partner_files.py <partner_id> <file name> [<file name> ...]

A file taken out of the partner's inbox folder is withdrawn by the next run on its own; this is for a
partner's last file(s), since an empty or missing folder withdraws nothing (see README). It never
touches the inbox. Stop `make dev` materializations first: DuckDB allows one writer.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dotenv import load_dotenv  # noqa: E402

from ingestion.config import PROJECT_ROOT, load_settings  # noqa: E402
from ingestion.partners.ingest import withdraw_files  # noqa: E402
from ingestion.partners.inbox import validate_partner_id  # noqa: E402
from ingestion.partners.schema import ensure_schema  # noqa: E402
from ingestion.warehouse import connect  # noqa: E402


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    partner_id, names = validate_partner_id(args[0]), args[1:]
    load_dotenv(PROJECT_ROOT / ".env", override=False)
    settings = load_settings()
    with connect(settings.warehouse_path) as con:
        ensure_schema(con)
        withdrawn = withdraw_files(con, partner_id, names, f"manual-{uuid.uuid4().hex[:8]}", datetime.now(timezone.utc))
    done = {item.file_name for item in withdrawn}
    for name in names:
        print(f"{partner_id}/{name}: {'withdrawn' if name in done else 'not found among the landed files'}")
    return 0 if done == set(names) else 1


if __name__ == "__main__":
    sys.exit(main())
