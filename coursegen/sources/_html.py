"""Read HTML with Beautiful Soup, and Markdown by rendering it with markdown-it first."""

from bs4 import BeautifulSoup, Tag
from markdown_it import MarkdownIt

from coursegen.sources._sections import SectionBuilder
from coursegen.sources.models import ParsedSource, SourceKind

HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
BLOCKS = ("p", "li", "pre", "blockquote", "td", "th", "dt", "dd", "figcaption")
NOISE = ("script", "style", "nav", "header", "footer", "noscript", "template")


def read_markdown(text: str, fallback_title: str) -> ParsedSource:
    """Parse Markdown: its headings and blocks as markdown-it renders them."""
    html = MarkdownIt("commonmark").enable("table").render(text)
    return _from_html(html, fallback_title, "markdown")


def read_html(text: str, fallback_title: str) -> ParsedSource:
    """Parse an HTML page: its <title> (or first h1), headings and text blocks."""
    return _from_html(text, fallback_title, "html")


def _from_html(html: str, fallback_title: str, kind: SourceKind) -> ParsedSource:
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(NOISE):
        tag.decompose()
    builder = SectionBuilder()
    first_h1 = ""
    for element in soup.find_all([*HEADINGS, *BLOCKS]):
        if not isinstance(element, Tag) or _inside_block(element):
            continue
        text = element.get_text(" " if element.name != "pre" else "", strip=element.name != "pre")
        if element.name in HEADINGS:
            first_h1 = first_h1 or (text if element.name == "h1" else "")
            builder.heading(int(element.name[1]), text)
        else:
            builder.text(text if element.name == "pre" else " ".join(text.split()))
    title_tag = soup.find("title")
    title = title_tag.get_text(strip=True) if title_tag else ""
    return ParsedSource(
        title=title or first_h1 or fallback_title, kind=kind, sections=builder.sections
    )


def _inside_block(element: Tag) -> bool:
    """A <p> inside an <li> is read with the <li>: skip it on its own."""
    return any(parent.name in BLOCKS for parent in element.parents)
