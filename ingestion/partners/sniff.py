"""One read-only pass over a partner file: its sha256, what kind of file it really is (whatever
its name says), whether it is valid UTF-8, and whether it has empty lines.

The pass streams in 1 MiB blocks, so memory does not grow with the file.
"""

from __future__ import annotations

import codecs
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

BLOCK = 1 << 20
HEAD = 64 << 10  # what delimiter and header detection look at

_MAGIC = (
    (b"PK\x03\x04", "zip"),
    (b"PK\x05\x06", "zip"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "ole"),  # legacy .xls / .doc
    (b"%PDF", "pdf"),
    (b"\x1f\x8b", "gzip"),
)
_CONTROL = frozenset(range(0x00, 0x09)) | frozenset(range(0x0E, 0x20)) | {0x7F}


@dataclass(frozen=True)
class Sniff:
    sha256: str
    size: int
    mtime_ns: int
    head: bytes
    kind: str  # empty | zip | ole | pdf | gzip | binary | text
    bom: str | None  # utf-8-sig | utf-16 | None
    valid_utf8: bool
    has_blank_lines: bool


def _kind(head: bytes, bom: str | None) -> str:
    if not head:
        return "empty"
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if bom == "utf-16":
        return "text"
    if b"\x00" in head:
        return "binary"
    controls = sum(1 for byte in head[:4096] if byte in _CONTROL)
    return "binary" if controls > max(2, len(head[:4096]) // 100) else "text"


def _bom(head: bytes) -> str | None:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return None


def sniff_file(path: Path) -> Sniff:
    """Hash and inspect ``path`` (opened read-only; the file is never changed)."""
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    valid_utf8 = True
    blank_lines = False
    blank: bytes | None = None
    head = b""
    tail = b""
    size = 0
    with open(path, "rb") as handle:
        mtime_ns = os.fstat(handle.fileno()).st_mtime_ns
        while block := handle.read(BLOCK):
            digest.update(block)
            size += len(block)
            if len(head) < HEAD:
                head += block[: HEAD - len(head)]
            if valid_utf8 and (not block.isascii() or decoder.getstate()[0]):  # ASCII is valid UTF-8
                try:
                    decoder.decode(block)
                except UnicodeDecodeError:
                    valid_utf8 = False
            if blank is None:  # the file's line ending decides what an empty line looks like
                blank = b"\n\r\n" if b"\r\n" in block else b"\n\n" if b"\n" in block else b"\r\r"
            if not blank_lines:
                blank_lines = blank in tail + block
                tail = block[-2:]
        if valid_utf8:
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                valid_utf8 = False
    bom = _bom(head)
    # DuckDB skips empty lines, which would shift row numbers: such files take the Python reader.
    blank_lines = blank_lines or head.removeprefix(codecs.BOM_UTF8)[:1] in (b"\n", b"\r")
    return Sniff(
        sha256=digest.hexdigest(),
        size=size,
        mtime_ns=mtime_ns,
        head=head,
        kind=_kind(head, bom),
        bom=bom,
        valid_utf8=valid_utf8 and bom != "utf-16",
        has_blank_lines=blank_lines,
    )


def decodes_as(path: Path, encoding: str) -> tuple[bool, str | None]:
    """Whether the whole file decodes in ``encoding``; if not, where and why (for the message)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = 0
    with open(path, "rb") as handle:
        while block := handle.read(BLOCK):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                return False, f"byte {offset + exc.start} (0x{block[exc.start]:02x}) is not valid {encoding}"
            offset += len(block)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False, f"the file ends in the middle of a {encoding} character"
    return True, None


def choose_encoding(path: Path, sniff: Sniff, requested: str) -> tuple[str | None, str | None]:
    """The encoding to read the file with, or (None, why) when the requested one does not fit.

    ``auto``: a byte-order mark wins; then UTF-8 if the whole file is valid UTF-8; then cp1252
    (Windows Western European, what Excel writes for French or Spanish text); then latin-1,
    which can decode any byte (cp1252 leaves five bytes undefined)."""
    if requested == "auto":
        if sniff.bom:
            return sniff.bom, None
        if sniff.valid_utf8:
            return "utf-8", None
        if decodes_as(path, "cp1252")[0]:
            return "cp1252", None
        return "latin-1", None
    if requested == "utf-8":
        if sniff.valid_utf8 or sniff.bom == "utf-8-sig":
            return ("utf-8-sig" if sniff.bom == "utf-8-sig" else "utf-8"), None
        return None, decodes_as(path, "utf-8")[1]
    if requested == "utf-16":
        ok, why = decodes_as(path, "utf-16")
        return ("utf-16", None) if ok else (None, why)
    ok, why = decodes_as(path, requested)
    return (requested, None) if ok else (None, why)
