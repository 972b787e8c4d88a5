"""Read export packages back: zip members, manifests, and what HTML pages reference."""

import io
import posixpath
import xml.etree.ElementTree as ET
import zipfile
from html.parser import HTMLParser
from urllib.parse import urlsplit

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


def members(package: bytes) -> dict[str, bytes]:
    """Every file of a zip by its path."""
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        assert archive.testzip() is None
        return {name: archive.read(name) for name in archive.namelist()}


def manifest(package: bytes) -> ET.Element:
    """The parsed `imsmanifest.xml` at the root of a package."""
    return ET.fromstring(members(package)["imsmanifest.xml"])


class Page(HTMLParser):
    """A strict-enough reading of one page: balanced tags, references, scripts and text."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.refs: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(source)
        self.close()
        assert not self.stack, f"unclosed tags: {self.stack}"

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self.refs += [v for k, v in attrs if k in ("href", "src") and v is not None]
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self.refs += [v for k, v in attrs if k in ("href", "src") and v is not None]

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def all_text(self) -> str:
        return "".join(self.text)

    def find(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]


def local_files(page_path: str, page: Page) -> set[str]:
    """The package paths a page loads or links to (fragments are the page itself)."""
    paths = set()
    for ref in page.refs:
        parts = urlsplit(ref)
        assert not parts.scheme and not parts.netloc, f"{page_path} reaches outside: {ref}"
        if parts.path:
            paths.add(posixpath.normpath(posixpath.join(posixpath.dirname(page_path), parts.path)))
    return paths


def html_text(fragment: str) -> str:
    """The text of an HTML fragment (to compare rendered Markdown with the source text)."""
    page = Page(fragment)
    return " ".join(page.all_text().split())
