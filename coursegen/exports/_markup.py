"""Render LLM Markdown to safe HTML and escape plain text for HTML and Markdown."""

import html
import re

from markdown_it import MarkdownIt
from markdown_it.token import Token

# Raw HTML is shown as text, unsafe link schemes (javascript:, vbscript:, file:) are refused by
# markdown-it, and images are off: an LLM's image URLs are invented and would load from outside.
_MD = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"]).disable("image")

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>&#|~])")
_ATX = re.compile(r"^([\s>]*)(#{1,6})(?=\s|$)")
_LIST_START = re.compile(r"^(\d{1,9})([.)])|^([-+=])")
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def link_is_safe(url: str) -> bool:
    """Whether the HTML export would keep a link to `url` (its scheme cannot run code)."""
    return bool(_MD.validateLink(url))


def esc(text: str) -> str:
    """Escape text for HTML content and attribute values (control characters dropped)."""
    return html.escape(_CONTROL.sub("", text), quote=True)


def md_to_html(text: str, under: int = 0) -> str:
    """Block Markdown as HTML; with `under`, its headings nest below an `h{under}`."""
    tokens = _MD.parse(text)
    shift = _nesting_shift(tokens, under)
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(6, int(token.tag[1]) + shift)}"
    return _MD.renderer.render(tokens, _MD.options, {})


def _nesting_shift(tokens: list[Token], under: int) -> int:
    """How far to move headings so the text's top one sits one level below `h{under}`.

    A fixed shift sent a lesson's `##` under an h3 topic to h5, smaller than the body text:
    the lesson's own top level, whatever it is, becomes the next level down.
    """
    levels = [int(t.tag[1]) for t in tokens if t.type == "heading_open"]
    return under + 1 - min(levels) if under and levels else 0


def md_inline(text: str) -> str:
    """One line of Markdown (a key point) as inline HTML."""
    return _MD.renderInline(text)


def paragraphs(text: str) -> list[str]:
    """The non-empty paragraphs of plain text, each on one line."""
    return [" ".join(p.split()) for p in _PARAGRAPH_BREAK.split(text) if p.strip()]


def plain_html(text: str, css_class: str) -> str:
    """Plain text as escaped `<p>` paragraphs of one class."""
    return "".join(f'<p class="{css_class}">{esc(p)}</p>' for p in paragraphs(text))


def md_escape(text: str) -> str:
    """Plain text that Markdown shows as written: no markup, no raw HTML, one line."""
    line = _MD_SPECIAL.sub(r"\\\1", " ".join(_CONTROL.sub("", text).split()))
    return _LIST_START.sub(lambda m: m.group(0)[:-1] + "\\" + m.group(0)[-1], line, count=1)


def shift_md_headings(text: str, under: int) -> str:
    """Move the headings of a Markdown text to nest below a heading of level `under`."""
    lines = text.splitlines()
    tokens = _MD.parse(text)
    shift = _nesting_shift(tokens, under)
    for token in reversed(tokens):
        if token.type == "heading_open" and token.map:
            _rewrite_heading(lines, token, shift)
    return "\n".join(lines)


def _rewrite_heading(lines: list[str], token: Token, shift: int) -> None:
    """Rewrite one heading in place as an ATX heading of the shifted level."""
    start, end = token.map or (0, 0)
    hashes = "#" * min(6, int(token.tag[1]) + shift)
    if token.markup.startswith("#"):
        lines[start] = _ATX.sub(lambda m: m.group(1) + hashes, lines[start], count=1)
    else:  # setext: text lines, then a === or --- underline
        text = " ".join(line.strip() for line in lines[start : end - 1])
        lines[start:end] = [f"{hashes} {text}"]
