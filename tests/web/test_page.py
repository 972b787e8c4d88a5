"""Check the page and its files over HTTP (no browser): headers, CSP, languages, safe script."""

import re
from html.parser import HTMLParser
from pathlib import Path

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
    scripts = [attrs for tag, attrs in page.tags if tag == "script"]
    assert scripts == [{"type": "module", "src": "/static/main.js"}]
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


def modules() -> list[Path]:
    return sorted(STATIC_DIR.glob("*.js"))


async def test_static_files(client: httpx.AsyncClient) -> None:
    assert len(modules()) > 5
    for module in modules():
        script = await client.get(f"/static/{module.name}")
        assert script.status_code == 200
        # Browsers run a module script only when it is typed as JavaScript.
        assert script.headers["content-type"] == "text/javascript; charset=utf-8", module.name
        assert script.headers["cache-control"] == "no-cache"
        again = await client.get(
            f"/static/{module.name}", headers={"If-None-Match": script.headers["etag"]}
        )
        assert again.status_code == 304
    style = await client.get("/static/app.css")
    assert style.headers["content-type"].startswith("text/css")
    assert (await client.get("/static/nope.js")).status_code == 404
    assert (await client.get("/static/../routes/web.py")).status_code == 404
    assert "/" not in (await client.get("/openapi.json")).json()["paths"]


def test_script_never_writes_html() -> None:
    """Model text reaches the page only as text nodes: no HTML sinks in the script at all."""
    for module in modules():
        source = module.read_text(encoding="utf-8")
        for sink in (
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "eval(",
            "new Function",
            "createContextualFragment",
            "DOMParser",
            "import(",  # every module is named by a static import, from this server
        ):
            assert sink not in source, (module.name, sink)


IMPORT = re.compile(r'^import [^"]*"([^"]+)";$', re.MULTILINE)


def test_modules_are_small_named_and_import_one_way() -> None:
    """Each module says what it does in its first line, stays small, imports only its
    siblings (no build step resolves anything else), and no two import each other."""
    graph: dict[str, set[str]] = {}
    for module in modules():
        source = module.read_text(encoding="utf-8")
        first = source.splitlines()[0]
        assert first.startswith("// ") and len(first) > 20, module.name
        assert len(source.splitlines()) <= 300, module.name
        targets = IMPORT.findall(source)
        assert all(re.fullmatch(r"\./[a-z]+\.js", t) for t in targets), (module.name, targets)
        assert all((STATIC_DIR / t).exists() for t in targets), (module.name, targets)
        graph[module.name] = {t.removeprefix("./") for t in targets}
    assert "main.js" in graph and not any("main.js" in deps for deps in graph.values())

    def reach(name: str, path: tuple[str, ...]) -> None:
        for dep in graph[name]:
            assert dep not in path, f"import cycle: {' -> '.join((*path, dep))}"
            reach(dep, (*path, dep))

    reach("main.js", ("main.js",))
    unused = set(graph) - {"main.js"} - set().union(*graph.values())
    assert not unused, f"modules nothing imports: {unused}"
