"""The partner inbox: ``<inbox>/<partner_id>/<files>``. Only read, never written.

Partner ids become folder names, report paths and Dagster partition keys, so they are
validated before any path is built from them; symbolic links are never followed.
"""

from __future__ import annotations

import re
import stat
from pathlib import Path
from typing import NamedTuple

from ingestion.partners.i18n import Msg

PARTNER_ID_PATTERN = re.compile(r"[a-z0-9](?:[a-z0-9_-]{0,62}[a-z0-9])?")

# Files the operating system or a spreadsheet program leaves beside real ones.
_IGNORED_PREFIXES = (".", "~$")
_IGNORED_NAMES = frozenset({"thumbs.db", "desktop.ini"})


class InvalidPartnerIdError(ValueError):
    """A partner id that is not a plain folder name (e.g. ``../x``)."""


class InboxFile(NamedTuple):
    partner_id: str
    path: Path
    size: int
    mtime: float


def validate_partner_id(partner_id: str) -> str:
    """Return ``partner_id`` if it is a safe folder name; raise ``InvalidPartnerIdError`` otherwise."""
    if not isinstance(partner_id, str) or not PARTNER_ID_PATTERN.fullmatch(partner_id):
        raise InvalidPartnerIdError(
            f"invalid partner id {partner_id!r}: use 1 to 64 lower-case letters, digits, '_' or '-', "
            "starting and ending with a letter or digit (no '/', '..' or spaces)"
        )
    return partner_id


def is_ignored_name(name: str) -> bool:
    return name.startswith(_IGNORED_PREFIXES) or name.lower() in _IGNORED_NAMES


def real_dir(path: Path) -> bool:
    try:
        return stat.S_ISDIR(path.lstat().st_mode)
    except OSError:
        return False


def list_partners(inbox: Path) -> list[str]:
    """Partner ids with a folder in the inbox (sorted); folders with unsafe names are left out."""
    inbox = Path(inbox)
    if not real_dir(inbox):
        return []
    return sorted(
        entry.name for entry in inbox.iterdir()
        if PARTNER_ID_PATTERN.fullmatch(entry.name) and real_dir(entry)
    )


def inbox_problems(inbox: Path) -> list[str]:
    """What ``list_partners`` left out, and why, so an operator can tell a partner."""
    inbox = Path(inbox)
    if not real_dir(inbox):
        return [f"the inbox {inbox} does not exist or is not a folder"]
    problems = []
    for entry in sorted(inbox.iterdir()):
        if is_ignored_name(entry.name) or entry.name.lower().startswith("readme"):
            continue
        if not real_dir(entry):
            problems.append(f"{entry.name}: not a partner folder (files go in <inbox>/<partner_id>/); ignored")
        elif not PARTNER_ID_PATTERN.fullmatch(entry.name):
            problems.append(f"{entry.name}: folder name is not a valid partner id (lower-case letters, digits, _ and -); ignored")
    return problems


def partner_dir(inbox: Path, partner_id: str) -> Path:
    return Path(inbox) / validate_partner_id(partner_id)


def partner_entries(inbox: Path, partner_id: str) -> tuple[list[Path], list[tuple[str, str]]]:
    """The partner's files to ingest (sorted by name) and the entries skipped, with why.

    Ignored names (hidden files, Excel lock files ``~$...``) are skipped silently; sub-folders
    and symbolic links are reported."""
    folder = partner_dir(inbox, partner_id)
    files: list[Path] = []
    skipped: list[tuple[str, str]] = []
    if not real_dir(folder):
        return files, skipped
    for entry in sorted(folder.iterdir(), key=lambda path: path.name):
        if is_ignored_name(entry.name):
            continue
        try:
            mode = entry.lstat().st_mode
        except OSError:  # removed between listing and looking
            continue
        if stat.S_ISREG(mode):
            files.append(entry)
        elif stat.S_ISLNK(mode):
            skipped.append((entry.name, Msg("symbolic links are not followed; put the file itself in the folder")))
        elif stat.S_ISDIR(mode):
            skipped.append((entry.name, Msg("sub-folders are not read; put files directly in the partner folder")))
        else:
            skipped.append((entry.name, Msg("not a regular file")))
    return files, skipped


def scan_inbox(inbox: Path) -> list[InboxFile]:
    """Every partner file in the inbox as (partner_id, path, size, mtime), for a sensor's cursor."""
    found = []
    for partner_id in list_partners(inbox):
        files, _ = partner_entries(inbox, partner_id)
        for path in files:
            info = path.lstat()
            found.append(InboxFile(partner_id, path, info.st_size, info.st_mtime))
    return found
