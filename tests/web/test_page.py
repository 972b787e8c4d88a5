"""Check the page and its files over HTTP (no browser): headers, CSP, languages, safe script."""

import re
from html.parser import HTMLParser

import httpx

from coursegen.prompts import LANGUAGE_NAMES
from coursegen.server.routes.web import STATIC_DIR


class Tags(HTMLParser):
    """Collect every start tag with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.script_text: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.script_text.append(data)


async def test_page_has_a_strict_csp_and_no_inline_code(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    csp = dict(
        part.strip().split(" ", 1)
        for part in response.headers["content-security-policy"].split(";")
    )
    assert csp["default-src"] == "'none'"
    assert csp["script-src"] == "'self'" and csp["style-src"] == "'self'"
    assert csp["connect-src"] == "'self'" and csp["frame-ancestors"] == "'none'"
    assert "unsafe" not in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"

    page = Tags()
    page.feed(response.text)
    assert not page.script_text, "inline script would be blocked by the CSP"
    scripts = [attrs["src"] for tag, attrs in page.tags if tag == "script"]
    assert scripts == ["/static/app.js"]
    for tag, attrs in page.tags:
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        assert "style" not in attrs, (tag, attrs)  # style-src 'self' blocks inline styles
        for name in ("src", "href"):
            value = attrs.get(name) or ""
            assert not re.match(r"(https?:)?//", value), f"external asset {value}"
    # Every form control has a label.
    ids = {attrs.get("for") for tag, attrs in page.tags if tag == "label"}
    controls = [attrs for tag, attrs in page.tags if tag in ("input", "textarea", "select")]
    assert controls and all(c.get("id") in ids for c in controls)


async def test_language_choices_come_from_the_api(client: httpx.AsyncClient) -> None:
    text = (await client.get("/")).text
    options = re.findall(r'<option value="([^"]*)"', text)
    assert options[0] == ""  # auto
    assert sorted(options[1:]) == sorted(LANGUAGE_NAMES)
    assert '<option value="ru">Russian (ru)</option>' in text
    assert "<!-- languages -->" not in text


async def test_static_files(client: httpx.AsyncClient) -> None:
    script = await client.get("/static/app.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith(("text/javascript", "application/javascript"))
    assert script.headers["cache-control"] == "no-cache"
    style = await client.get("/static/app.css")
    assert style.headers["content-type"].startswith("text/css")
    assert (await client.get("/static/nope.js")).status_code == 404
    assert (await client.get("/static/../routes/web.py")).status_code == 404
    assert "/" not in (await client.get("/openapi.json")).json()["paths"]


def test_script_never_writes_html() -> None:
    """Model text reaches the page only as text nodes: no HTML sinks in the script at all."""
    source = (STATIC_DIR / "app.js").read_text(encoding="utf-8")
    for sink in (
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
        "new Function",
        "createContextualFragment",
        "DOMParser",
    ):
        assert sink not in source, sink
