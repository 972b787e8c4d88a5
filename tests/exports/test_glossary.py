"""The glossary (term, definition, introducing topic) in every export."""

import pytest

from coursegen.domain import Course, GlossaryEntry
from coursegen.exports import to_html, to_imscc, to_markdown, to_scorm12
from tests.exports.helpers import Page, html_text, local_files, manifest, members

CP = "{http://www.imsproject.org/xsd/imscp_rootv1p1p2}"
ADLCP = "{http://www.adlnet.org/xsd/adlcp_rootv1p2}"
CC = "{http://www.imsglobal.org/xsd/imsccv1p3/imscp_v1p1}"


@pytest.fixture
def glossary_course(course: Course) -> Course:
    return course.model_copy(
        update={
            "glossary": [
                GlossaryEntry(
                    term="переменная <x>",
                    definition="Имя для значения & его место.",
                    theme=1,
                    topic=2,
                ),
                GlossaryEntry(
                    term="ветвление", definition="Выбор пути по условию.", theme=2, topic=1
                ),
            ]
        }
    )


def test_html_page_ends_with_a_glossary_linking_the_topics(glossary_course):
    page = to_html(glossary_course)
    section = page[page.index('<section class="glossary"') :]
    assert "<h2>Глоссарий</h2>" in section
    assert "<dt>переменная &lt;x&gt;</dt>" in section
    assert 'href="#theme-01-topic-02">1.2</a>' in section
    assert 'href="#theme-02-topic-01">2.1</a>' in section
    assert 'id="theme-01-topic-02"' in page  # the link has somewhere to go


def test_markdown_book_has_the_glossary(glossary_course):
    book = to_markdown(glossary_course)
    tail = book[book.index("## Глоссарий") :]
    assert (
        "- **переменная \\<x\\>** — Имя для значения & его место. ([1.2](#theme-01-topic-02))"
        in tail
    )
    assert '<a id="theme-01-topic-02"></a>' in book


def test_no_glossary_no_section(course):
    assert 'class="glossary"' not in to_html(course)
    assert "Глоссарий" not in to_markdown(course)
    assert "glossary.html" not in members(to_scorm12(course))
    assert "glossary.html" not in members(to_imscc(course))


def test_scorm_package_lists_a_glossary_page_as_an_asset(glossary_course):
    package = to_scorm12(glossary_course)
    files = members(package)
    root = manifest(package)
    resource = next(r for r in root.iter(f"{CP}resource") if r.get("href") == "glossary.html")
    assert resource.get(f"{ADLCP}scormtype") == "asset"
    listed = {f.get("href") for r in root.iter(f"{CP}resource") for f in r.findall(f"{CP}file")}
    assert set(files) - listed == {"imsmanifest.xml"}
    page = Page(files["glossary.html"].decode())
    assert local_files("glossary.html", page) - {"glossary.html"} <= set(files)
    assert "переменная <x>" in page.all_text()
    hrefs = [a["href"] for a in page.find("a")]
    assert hrefs == ["theme-01.html#theme-01-topic-02", "theme-02.html#theme-02-topic-01"]
    titles = [i.findtext(f"{CP}title") for i in root.iter(f"{CP}item")]
    assert titles[-1] == "Глоссарий"


def test_common_cartridge_has_a_glossary_page(glossary_course):
    package = to_imscc(glossary_course)
    files = members(package)
    root = manifest(package)
    listed = {f.get("href") for r in root.iter(f"{CC}resource") for f in r.findall(f"{CC}file")}
    assert "glossary.html" in listed and set(files) - listed == {"imsmanifest.xml"}
    page = Page(files["glossary.html"].decode())
    assert [a["href"] for a in page.find("a")] == [
        "theme-01/topic-02.html",
        "theme-02/topic-01.html",
    ]
    assert all(href in files for href in ("theme-01/topic-02.html", "theme-02/topic-01.html"))
    assert "Выбор пути по условию." in html_text(files["glossary.html"].decode())
