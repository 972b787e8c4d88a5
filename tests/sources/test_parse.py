"""Parse real documents (made with fpdf2 and python-docx) and refuse what cannot be read."""

import pytest

from coursegen.sources.chunk import chunk_source
from coursegen.sources.models import SourceError
from coursegen.sources.parse import parse_source
from tests.support.documents import DOCX_SECTIONS, MARKDOWN, PDF_PAGES, make_docx, make_pdf


def test_pdf_keeps_pages_bookmark_headings_and_title() -> None:
    parsed = parse_source("biology.pdf", "application/pdf", make_pdf(title="Cell biology"))
    assert (parsed.title, parsed.kind, parsed.pages) == ("Cell biology", "pdf", 2)
    chunks = chunk_source(parsed)
    assert [(c.page, c.heading) for c in chunks] == [(1, "Photosynthesis"), (2, "Respiration")]
    assert PDF_PAGES[1][1].split(";")[0] in " ".join(chunks[1].text.split())


def test_docx_groups_paragraphs_under_heading_styles() -> None:
    parsed = parse_source("geo.docx", None, make_docx(title="Geology"))
    assert (parsed.title, parsed.kind, parsed.pages) == ("Geology", "docx", None)
    assert [(s.heading, s.text) for s in parsed.sections] == DOCX_SECTIONS


def test_markdown_nests_headings_and_drops_markup() -> None:
    parsed = parse_source("ocean.md", "text/markdown", MARKDOWN.encode())
    assert parsed.title == "Ocean currents"
    assert parsed.headings == ["Ocean currents / Gulf Stream", "Ocean currents / Upwelling"]
    assert "#" not in parsed.sections[0].text


def test_html_reads_title_headings_and_blocks_not_scripts() -> None:
    html = (
        "<html><head><title>Page</title><script>alert(1)</script></head><body>"
        "<h1>Top</h1><p>First <b>para</b>.</p><ul><li><p>Item one</p></li></ul>"
        "<h2>Sub</h2><p>Second.</p></body></html>"
    )
    parsed = parse_source("page.html", None, html.encode())
    assert parsed.title == "Page"
    assert [(s.heading, s.text) for s in parsed.sections] == [
        ("Top", "First para .\n\nItem one"),
        ("Top / Sub", "Second."),
    ]


def test_long_text_is_chunked_with_overlap_bounded_size() -> None:
    text = ("Sentence number {} about rivers and lakes. " * 400).format(*range(400))
    parsed = parse_source("notes.txt", "text/plain", text.encode())
    chunks = chunk_source(parsed, size=500, overlap=50)
    assert len(chunks) > 10
    assert all(len(c.text) <= 500 for c in chunks)
    assert [c.index for c in chunks] == list(range(len(chunks)))


@pytest.mark.parametrize(
    ("name", "data", "status", "words"),
    [
        ("empty.txt", b"  \n", 422, "empty"),
        ("locked.pdf", make_pdf(password="secret"), 422, "encrypted"),
        ("broken.pdf", b"%PDF-1.4 this is not really a pdf", 422, "cannot be read"),
        ("fake.pdf", b"plain words", 422, "not a PDF"),
        ("fake.docx", b"plain words", 415, "unsupported"),
        ("sheet.xlsx", b"PK\x03\x04...", 415, "unsupported"),
        ("latin1.txt", "café".encode("latin-1"), 422, "UTF-8"),
        ("blank.pdf", make_pdf([("", "")]), 422, "no text"),
    ],
)
def test_unusable_files_are_refused_with_a_clear_status(
    name: str, data: bytes, status: int, words: str
) -> None:
    with pytest.raises(SourceError) as caught:
        parse_source(name, None, data)
    assert caught.value.status == status
    assert words in str(caught.value)
