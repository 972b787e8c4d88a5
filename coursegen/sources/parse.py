"""Tell an upload's format from its name and first bytes, and read it into sections."""

import codecs
from pathlib import PurePath

from coursegen.sources.models import ParsedSource, Section, SourceError, SourceKind

EXTENSIONS: dict[str, SourceKind] = {
    ".pdf": "pdf",
    ".docx": "docx",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".txt": "text",
    ".text": "text",
}
MEDIA_TYPES: dict[str, SourceKind] = {
    "application/pdf": "pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "text/markdown": "markdown",
    "text/html": "html",
    "text/plain": "text",
}
SUPPORTED = "PDF, DOCX, Markdown (.md), HTML or plain text (.txt)"


def source_kind(filename: str, media_type: str | None, data: bytes) -> SourceKind:
    """The format of an upload: its first bytes decide for PDF and DOCX, else its name."""
    if data.startswith(b"%PDF-"):
        return "pdf"
    suffix = PurePath(filename).suffix.lower()
    kind = EXTENSIONS.get(suffix) or MEDIA_TYPES.get((media_type or "").split(";")[0].strip())
    if kind is None or (kind == "docx" and not data.startswith(b"PK\x03\x04")):
        shown = suffix or media_type or "without an extension"
        raise SourceError(f"unsupported file type ({shown}): upload {SUPPORTED}", status=415)
    if kind == "pdf":
        raise SourceError("the file is named .pdf but is not a PDF")
    return kind


def parse_source(filename: str, media_type: str | None, data: bytes) -> ParsedSource:
    """Read an upload; SourceError (4xx) when it is empty, unreadable or unsupported."""
    if not data.strip():
        raise SourceError("the file is empty")
    kind = source_kind(filename, media_type, data)
    parsed = _read(kind, data, PurePath(filename).stem or "Untitled")
    if not any(s.text.strip() for s in parsed.sections):
        hint = " (a scanned PDF needs OCR first)" if kind == "pdf" else ""
        raise SourceError(f"no text found in the {kind} file{hint}")
    return parsed


def _read(kind: SourceKind, data: bytes, title: str) -> ParsedSource:
    # Imported here: the PDF, DOCX and HTML libraries cost the server 0.7 s of start-up,
    # and only an upload needs them.
    if kind == "pdf":
        from coursegen.sources._pdf import read_pdf

        return read_pdf(data, title)
    if kind == "docx":
        from coursegen.sources._docx import read_docx

        return read_docx(data, title)
    if kind == "text":
        return _read_text(decode_text(data), title)
    from coursegen.sources._html import read_html, read_markdown

    return (read_markdown if kind == "markdown" else read_html)(decode_text(data), title)


def decode_text(data: bytes) -> str:
    """UTF-8 (or UTF-16 with a byte-order mark) text; anything else is refused."""
    for bom, encoding in ((codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            return data.decode(encoding)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceError("the text file is not UTF-8: save it as UTF-8 and upload again") from exc


def _read_text(text: str, fallback_title: str) -> ParsedSource:
    if "\x00" in text:
        raise SourceError("the file is binary, not text")
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    title = first[:120] if 0 < len(first) <= 120 else fallback_title
    return ParsedSource(title=title, kind="text", sections=[Section(text=text)])
