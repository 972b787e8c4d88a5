"""The Common Cartridge 1.3: manifest, a page per topic, QTI self-checks per theme."""

import xml.etree.ElementTree as ET

import pytest

from coursegen.exports import to_imscc
from tests.support.hostile_course import HOSTILE_TITLE
from tests.support.packages import Page, html_text, local_files, manifest, members

CC = "{http://www.imsglobal.org/xsd/imsccv1p3/imscp_v1p1}"
LOM = "{http://ltsc.ieee.org/xsd/imsccv1p3/LOM/manifest}"
QTI = "{http://www.imsglobal.org/xsd/ims_qtiasiv1p2}"
ASSESSMENT = "imsqti_xmlv1p2/imscc_xmlv1p3/assessment"


@pytest.fixture
def package(course):
    return to_imscc(course)


def _resources(root: ET.Element) -> dict[str, ET.Element]:
    return {r.get("identifier"): r for r in root.iter(f"{CC}resource")}


def test_manifest_declares_common_cartridge_13(course, package):
    root = manifest(package)
    assert root.tag == f"{CC}manifest"
    assert root.findtext(f"{CC}metadata/{CC}schema") == "IMS Common Cartridge"
    assert root.findtext(f"{CC}metadata/{CC}schemaversion") == "1.3.0"
    general = root.find(f"{CC}metadata/{LOM}lom/{LOM}general")
    assert general.findtext(f"{LOM}title/{LOM}string") == course.course_name
    assert general.findtext(f"{LOM}language") == "ru"


def test_organization_is_theme_then_topics_then_self_check(course, package):
    root = manifest(package)
    resources = _resources(root)
    (organization,) = root.iter(f"{CC}organization")
    assert organization.get("structure") == "rootcollection"
    (top,) = organization.findall(f"{CC}item")
    themes = top.findall(f"{CC}item")
    assert len(themes) == len(course.themes)
    for theme, item in zip(course.themes, themes, strict=True):
        children = item.findall(f"{CC}item")
        assert [c.findtext(f"{CC}title") for c in children[:-1]] == [t.title for t in theme.topics]
        kinds = [resources[c.get("identifierref")].get("type") for c in children]
        assert kinds == ["webcontent"] * len(theme.topics) + [ASSESSMENT]


def test_every_referenced_file_exists_and_every_file_is_listed(package):
    files = members(package)
    listed = set()
    for resource in _resources(manifest(package)).values():
        hrefs = [f.get("href") for f in resource.findall(f"{CC}file")]
        assert hrefs, resource.get("identifier")
        if resource.get("type") == "webcontent":
            assert resource.get("href") in hrefs
        else:
            assert resource.get("href") is None
        listed.update(hrefs)
    assert listed <= set(files)
    assert set(files) - listed == {"imsmanifest.xml"}


def test_topic_pages_parse_stand_alone_and_escape(course, package):
    files = members(package)
    pages = [p for p in files if p.endswith(".html")]
    assert len(pages) == sum(len(t.topics) for t in course.themes)
    for path in pages:
        source = files[path].decode()
        page = Page(source)
        assert page.find("html")[0]["lang"] == "ru"
        assert local_files(path, page) <= {path}
        assert not page.find("script")
        assert HOSTILE_TITLE not in source
    assert "Этот урок ещё не написан." in Page(files["theme-02/topic-02.html"].decode()).all_text()
    assert HOSTILE_TITLE in Page(files["theme-01/topic-01.html"].decode()).all_text()


def test_self_checks_are_qti_essays_with_the_answer_as_feedback(course, package):
    files = members(package)
    resources = _resources(manifest(package))
    quizzes = [r for r in resources.values() if r.get("type") == ASSESSMENT]
    assert len(quizzes) == len(course.themes)
    for theme, quiz in zip(course.themes, quizzes, strict=True):
        qti = ET.fromstring(files[quiz.find(f"{CC}file").get("href")])
        assert qti.tag == f"{QTI}questestinterop"
        items = list(qti.iter(f"{QTI}item"))
        expected = [q for t in theme.topics if t.content for q in t.content.self_check]
        assert len(items) == len(expected)
        for item, question in zip(items, expected, strict=True):
            assert _profile(item) == "cc.essay.v0p1"
            mattext = item.find(f"{QTI}presentation/{QTI}material/{QTI}mattext")
            assert mattext.get("texttype") == "text/html"
            assert html_text(mattext.text) == question.question
            assert item.find(f"{QTI}presentation/{QTI}response_str/{QTI}render_fib") is not None
            feedback = item.find(f"{QTI}itemfeedback/{QTI}flow_mat/{QTI}material/{QTI}mattext")
            assert html_text(feedback.text) == question.answer
            link = item.find(f".//{QTI}displayfeedback")
            assert link.get("linkrefid") == item.find(f"{QTI}itemfeedback").get("ident")


def test_theme_without_questions_gets_no_quiz(course):
    for topic in course.themes[1].topics:
        topic.content = topic.polished = None
    resources = _resources(manifest(to_imscc(course)))
    assert sum(r.get("type") == ASSESSMENT for r in resources.values()) == 1


def _profile(item: ET.Element) -> str | None:
    for field in item.iter(f"{QTI}qtimetadatafield"):
        if field.findtext(f"{QTI}fieldlabel") == "cc_profile":
            return field.findtext(f"{QTI}fieldentry")
    return None
