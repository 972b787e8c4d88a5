"""Make real source documents for tests: a PDF (fpdf2), a DOCX (python-docx), Markdown."""

import io

import docx
from fpdf import FPDF

# Distinct words per section, so a retrieval test knows which passage must come first.
PDF_PAGES = [
    ("Photosynthesis", "Chlorophyll absorbs sunlight and plants turn carbon dioxide into glucose."),
    ("Respiration", "Mitochondria release energy from glucose; the cell stores it as ATP."),
]
DOCX_SECTIONS = [
    ("Volcanoes", "Magma rises through the crust and erupts as lava from a volcanic vent."),
    ("Earthquakes", "Tectonic plates slip along a fault and seismic waves shake the ground."),
]
MARKDOWN = """# Ocean currents

## Gulf Stream

The Gulf Stream carries warm water from the Gulf of Mexico towards northern Europe.

## Upwelling

Cold upwelling water brings nutrients to the surface, so plankton thrive there.
"""


def make_pdf(
    pages: list[tuple[str, str]] = PDF_PAGES, *, password: str | None = None, title: str = ""
) -> bytes:
    """A PDF with one page per (heading, text), a bookmark per heading, optionally encrypted."""
    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    if title:
        pdf.set_title(title)
    for heading, text in pages:
        pdf.add_page()
        if heading:
            pdf.start_section(heading)
            pdf.cell(text=heading, new_x="LMARGIN", new_y="NEXT")
        if text:
            pdf.multi_cell(0, 8, text)
    if password:
        pdf.set_encryption(owner_password=password + "-owner", user_password=password)
    return bytes(pdf.output())


def make_docx(sections: list[tuple[str, str]] = DOCX_SECTIONS, title: str = "") -> bytes:
    """A Word document: a Heading 1 paragraph and a body paragraph per section."""
    document = docx.Document()
    if title:
        document.core_properties.title = title
    for heading, text in sections:
        document.add_heading(heading, level=1)
        document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
