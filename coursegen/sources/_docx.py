"""Read a DOCX with python-docx: paragraphs grouped under their Heading-styled paragraphs."""

import io
import zipfile

import docx
from docx.opc.exceptions import PackageNotFoundError

from coursegen.sources._sections import SectionBuilder
from coursegen.sources.models import ParsedSource, SourceError


def read_docx(data: bytes, fallback_title: str) -> ParsedSource:
    """Parse a Word document; heading levels come from the paragraph styles."""
    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise SourceError(f"the DOCX cannot be read: {exc}") from exc
    builder = SectionBuilder()
    for paragraph in document.paragraphs:
        level = _heading_level(paragraph.style.name if paragraph.style else "")
        if level:
            builder.heading(level, paragraph.text)
        else:
            builder.text(paragraph.text)
    for table in document.tables:
        for row in table.rows:
            builder.text(" | ".join(cell.text.strip() for cell in row.cells))
    title = (document.core_properties.title or "").strip()
    return ParsedSource(title=title or fallback_title, kind="docx", sections=builder.sections)


def _heading_level(style: str) -> int:
    """1 for Title/Heading 1, N for Heading N, 0 for body text."""
    if style == "Title":
        return 1
    name, _, number = style.partition(" ")
    return int(number) if name == "Heading" and number.isdigit() else 0
