"""Keep model-written Markdown from carrying raw HTML into renderers that allow it."""

import re

from markdown_it import MarkdownIt
from markdown_it.token import Token

# Parsed with raw HTML on, as a permissive renderer would: what it takes for HTML is escaped.
_PERMISSIVE = MarkdownIt("commonmark")
_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")
_CODE_SPAN = re.compile(r"(`+[^`]*?`+)")
# A link to a script-running scheme: `[text](javascript:…)` turns into plain text.
_BAD_LINK = re.compile(r"\]\((?=\s*<?\s*(?:javascript|vbscript|data|file):)", re.IGNORECASE)


def neutralize_html(text: str) -> str:
    """The same Markdown with raw HTML tags and `javascript:`-like links shown as text.

    Only lines that hold them change; code blocks and code spans stay as written.
    """
    lines = text.splitlines()
    for token in _PERMISSIVE.parse(text):
        if token.map and token.type in ("html_block", "inline"):
            start, end = token.map
            tags = _holds_html(token)
            lines[start:end] = [_outside_code(line, tags) for line in lines[start:end]]
    return "\n".join(lines)


def _holds_html(token: Token) -> bool:
    if token.type == "html_block":
        return True
    return any(c.type == "html_inline" for c in token.children or [])


def _outside_code(line: str, tags: bool) -> str:
    parts = _CODE_SPAN.split(line)
    return "".join(p if p.startswith("`") else _neutralize(p, tags) for p in parts)


def _neutralize(text: str, tags: bool) -> str:
    text = _BAD_LINK.sub("]\\(", text)
    return _TAG_START.sub("&lt;", text) if tags else text
