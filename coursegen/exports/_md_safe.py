"""Keep model-written Markdown from carrying raw HTML, script links or images to renderers."""

import re
from collections.abc import Iterable

from markdown_it import MarkdownIt
from markdown_it.token import Token

from coursegen.exports._markup import link_is_safe, md_escape

# Parsed as the most permissive renderer would: raw HTML on, images on, and every link
# destination taken (markdown-it would drop a bad one and leave its text for another renderer
# to link). Each link is then judged as the HTML export judges it.
_PERMISSIVE = MarkdownIt("commonmark")
_PERMISSIVE.validateLink = lambda url: True  # type: ignore[method-assign]
_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")
_CODE_SPAN = re.compile(r"(`+[^`]*?`+)")
# Link syntax not already escaped (an even run of backslashes before it).
_LINK_SYNTAX = re.compile(r"(?<!\\)((?:\\\\)*)([\[\]<])")
TAGS, LINKS = 1, 2


def neutralize_html(text: str) -> str:
    """The same Markdown with raw HTML tags, unsafe links and images shown as text.

    Only lines that hold them change; code blocks and code spans stay as written. What is
    unsafe is found by parsing (links, images, reference definitions, autolinks, entities in
    destinations), and the result is parsed again: a line still unsafe loses all its markup.
    """
    lines = text.splitlines()
    for line, found in _findings(text).items():
        lines[line] = _outside_code(lines[line], found)
    for line, found in _findings("\n".join(lines)).items():
        if found & LINKS:
            lines[line] = md_escape(lines[line])
    return "\n".join(lines)


def _findings(text: str) -> dict[int, int]:
    """Line number -> TAGS | LINKS for every line that holds raw HTML or an unsafe link."""
    env: dict[str, dict[str, dict[str, str]]] = {}
    found: dict[int, int] = {}
    for token in _PERMISSIVE.parse(text, env):
        if token.map and token.type in ("html_block", "inline"):
            kind = (TAGS if _holds_html(token) else 0) | (LINKS if _holds_bad_link(token) else 0)
            _mark(found, range(*token.map), kind)
    for ref in env.get("references", {}).values():
        if not link_is_safe(ref["href"]):
            _mark(found, range(*ref["map"]), LINKS)
    return found


def _mark(found: dict[int, int], lines: Iterable[int], kind: int) -> None:
    if kind:
        for line in lines:
            found[line] = found.get(line, 0) | kind


def _holds_html(token: Token) -> bool:
    if token.type == "html_block":
        return True
    return any(c.type == "html_inline" for c in token.children or [])


def _holds_bad_link(token: Token) -> bool:
    """An image (the HTML export drops them) or a link to a script-running scheme."""
    for child in token.children or []:
        if child.type == "image":
            return True
        if child.type == "link_open" and not link_is_safe(str(child.attrs.get("href", ""))):
            return True
    return False


def _outside_code(line: str, found: int) -> str:
    parts = _CODE_SPAN.split(line)
    return "".join(p if p.startswith("`") else _neutralize(p, found) for p in parts)


def _neutralize(text: str, found: int) -> str:
    if found & TAGS:
        text = _TAG_START.sub("&lt;", text)
    if found & LINKS:
        text = _LINK_SYNTAX.sub(lambda m: f"{m.group(1)}\\{m.group(2)}", text)
    return text
