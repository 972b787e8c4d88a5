"""Read a PDF with pypdf: text per page, headings from its outline (bookmarks)."""

import io
from typing import Any

from pypdf import PdfReader
from pypdf.errors import PdfReadError, PyPdfError

from coursegen.sources.models import ParsedSource, Section, SourceError


def read_pdf(data: bytes, fallback_title: str) -> ParsedSource:
    """Parse a PDF; an encrypted one (other than with an empty password) is refused."""
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise SourceError("the PDF is encrypted with a password: upload an unlocked copy")
        texts = [(page.extract_text() or "").strip() for page in reader.pages]
        headings = _outline_pages(reader)
        title = str((reader.metadata.title if reader.metadata else None) or "").strip()
    except SourceError:
        raise
    except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError) as exc:
        raise SourceError(f"the PDF cannot be read: {exc}") from exc
    sections = [
        Section(text=text, page=number, heading=_heading_at(headings, number))
        for number, text in enumerate(texts, 1)
        if text
    ]
    return ParsedSource(
        title=title or fallback_title, kind="pdf", pages=len(texts), sections=sections
    )


def _outline_pages(reader: PdfReader) -> list[tuple[int, str]]:
    """(1-based page, title) of every bookmark, in page order; none if the outline is broken."""
    found: list[tuple[int, str]] = []

    def walk(items: list[Any]) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item)
                continue
            page = reader.get_destination_page_number(item)
            if page is not None and page >= 0:
                found.append((page + 1, str(item.title).strip()))

    try:
        walk(reader.outline)
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError):
        return []
    return sorted(found, key=lambda pair: pair[0])


def _heading_at(headings: list[tuple[int, str]], page: int) -> str:
    """The last bookmark that starts on or before a page."""
    current = ""
    for start, title in headings:
        if start > page:
            break
        current = title
    return current
