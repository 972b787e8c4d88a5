"""Every export carries a references section per topic that cites sources."""

import io
import zipfile

import pytest

from coursegen.domain import Citation, Course
from coursegen.exports import export_course
from tests.exports.conftest import build_course

CITATIONS = [
    Citation(source_id="a" * 32, title="Учебник <физики>", page=3, chunk=4, quote="x < y & z"),
    Citation(source_id="b" * 32, title="Notes", page=None, chunk=0, quote="water boils"),
]


def _cited_course() -> Course:
    course = build_course()
    topic = course.themes[1].topics[0]
    course.themes[1].topics[0] = topic.model_copy(update={"citations": CITATIONS})
    return course


def _text(fmt: str, course: Course) -> str:
    data, _, _ = export_course(course, fmt)
    if fmt in ("md", "html"):
        return data.decode()
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        return "".join(
            package.read(name).decode() for name in package.namelist() if name.endswith(".html")
        )


@pytest.mark.parametrize("fmt", ["html", "scorm", "imscc"])
def test_html_exports_list_the_cited_passages_escaped(fmt: str) -> None:
    text = _text(fmt, _cited_course())
    assert text.count('<div class="references">') == 1
    assert ">Источники</h" in text
    assert "<cite>Учебник &lt;физики&gt;</cite>, с. 3: <q>x &lt; y &amp; z</q>" in text
    assert "<cite>Notes</cite>: <q>water boils</q>" in text
    assert 'id="theme-02-topic-01-ref-2"' in text
    assert '<div class="references">' not in _text(fmt, build_course())


def test_markdown_lists_the_cited_passages_under_the_topic() -> None:
    text = _text("md", _cited_course())
    section = text.split("### 2.1.")[1].split("### 2.2.")[0]
    assert "#### Источники" in section
    assert "1. *Учебник \\<физики\\>*, с. 3: “x \\< y \\& z”" in section
    assert "2. *Notes*: “water boils”" in section
    assert "Источники" not in _text("md", build_course())
