"""A tiny document model rendered twice, as Markdown and as HTML, for the partners' feedback reports.
Every text is escaped in both renderings: a partner's cell such as ``=cmd|...`` or ``<script>`` is
shown, never interpreted.
"""

from __future__ import annotations

import hashlib
import html
import os
import re
from dataclasses import dataclass
from pathlib import Path

EXAMPLE_CHARS = 80


@dataclass(frozen=True)
class Code:
    text: str


@dataclass(frozen=True)
class Strong:
    text: str


@dataclass(frozen=True)
class Link:
    text: str
    href: str


Inline = str | Code | Strong | Link
Text = Inline | list[Inline]


def short(text: str | None) -> str:
    text = "" if text is None else str(text)
    text = text.replace("\r\n", "\n").replace("\n", " ⏎ ")
    return text if len(text) <= EXAMPLE_CHARS else text[: EXAMPLE_CHARS - 1] + "…"


def _md_inline(part: Text, in_table: bool = False, empty: str = "(empty)") -> str:
    if isinstance(part, list):
        return "".join(_md_inline(item, in_table, empty) for item in part)
    if isinstance(part, Code):
        text = part.text
        fence = "``" if "`" in text else "`"
        pad = " " if text.startswith("`") or text.endswith("`") or not text else ""
        out = f"{fence}{pad}{text}{pad}{fence}" if text else empty
    elif isinstance(part, Strong):
        out = f"**{_md_escape(part.text)}**"
    elif isinstance(part, Link):
        out = f"[{_md_escape(part.text)}]({part.href})"
    else:
        out = _md_escape(part)
    return out.replace("|", "\\|") if in_table else out


def rich(text: str) -> list[Inline]:
    """Our own texts (codes.REASONS) mark code with backticks: `12.5`."""
    parts: list[Inline] = []
    for index, piece in enumerate(text.split("`")):
        if piece:
            parts.append(Code(piece) if index % 2 else piece)
    return parts


def compose(template: str, **parts: Text) -> list[Inline]:
    """A (translated) sentence whose ``{name}`` placeholders are inline parts, so that a translation can
    move a code or a bold name to where its language puts it."""
    out: list[Inline] = []
    for index, piece in enumerate(re.split(r"\{(\w+)\}", template)):
        if index % 2:
            part = parts[piece]
            out.extend(part if isinstance(part, list) else [part])
        elif piece:
            out.append(piece)
    return out


def _md_escape(text: str) -> str:
    return re.sub(r"([\\`*\[\]<>#|])", r"\\\1", text)


def _html_inline(part: Text, empty: str = "(empty)") -> str:
    if isinstance(part, list):
        return "".join(_html_inline(item, empty) for item in part)
    if isinstance(part, Code):
        return f"<code>{html.escape(part.text)}</code>" if part.text else f"<em>{html.escape(empty)}</em>"
    if isinstance(part, Strong):
        return f"<strong>{html.escape(part.text)}</strong>"
    if isinstance(part, Link):
        href = re.sub(r"\.md$", ".html", part.href)  # the HTML pages link to each other
        return f'<a href="{html.escape(href, quote=True)}">{html.escape(part.text)}</a>'
    return html.escape(part)


class Document:
    def __init__(self, title: str, lang: str = "en", empty: str = "(empty)"):
        self.title = title
        self.lang = lang  # the HTML page's language (a BCP 47 tag)
        self.empty = empty  # how an empty cell quoted from the file is shown
        self.blocks: list[tuple] = []

    def heading(self, level: int, text: Text) -> None:
        self.blocks.append(("h", level, text))

    def para(self, text: Text) -> None:
        self.blocks.append(("p", text))

    def items(self, items: list[Text]) -> None:
        if items:
            self.blocks.append(("ul", items))

    def table(self, header: list[str], rows: list[list[Text]]) -> None:
        self.blocks.append(("table", header, rows))

    def markdown(self) -> str:
        out = [f"# {_md_escape(self.title)}", ""]
        for block in self.blocks:
            if block[0] == "h":
                out += [f"{'#' * block[1]} {_md_inline(block[2], empty=self.empty)}", ""]
            elif block[0] == "p":
                out += [_md_inline(block[1], empty=self.empty), ""]
            elif block[0] == "ul":
                out += [f"- {_md_inline(item, empty=self.empty)}" for item in block[1]] + [""]
            else:
                out.append("| " + " | ".join(_md_escape(cell) for cell in block[1]) + " |")
                out.append("|" + "---|" * len(block[1]))
                out += ["| " + " | ".join(_md_inline(cell, True, self.empty) for cell in row) + " |" for row in block[2]]
                out.append("")
        return "\n".join(out).rstrip() + "\n"

    def html(self) -> str:
        body = [f"<h1>{html.escape(self.title)}</h1>"]
        for block in self.blocks:
            if block[0] == "h":
                body.append(f"<h{block[1]}>{_html_inline(block[2], self.empty)}</h{block[1]}>")
            elif block[0] == "p":
                body.append(f"<p>{_html_inline(block[1], self.empty)}</p>")
            elif block[0] == "ul":
                body.append("<ul>" + "".join(f"<li>{_html_inline(item, self.empty)}</li>" for item in block[1]) + "</ul>")
            else:
                head = "".join(f"<th>{html.escape(cell)}</th>" for cell in block[1])
                rows = "".join("<tr>" + "".join(f"<td>{_html_inline(cell, self.empty)}</td>" for cell in row) + "</tr>"
                               for row in block[2])
                body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
        style = ("body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.5}"
                 "table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left}"
                 "code{background:#f3f3f3;padding:0 .2rem}")
        return (f'<!DOCTYPE html>\n<html lang="{html.escape(self.lang, quote=True)}"><head><meta charset="utf-8"><title>{html.escape(self.title)}</title>'
                f"<style>{style}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")


def write_page(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def file_slug(file_name: str) -> str:
    """A safe, stable report name for a partner's file name (which may hold any character)."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", file_name).strip("._") or "file"
    if slug != file_name:
        slug += "-" + hashlib.sha256(file_name.encode()).hexdigest()[:8]
    return slug[:120]

