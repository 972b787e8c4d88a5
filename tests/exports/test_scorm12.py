"""The SCORM 1.2 package: manifest, one SCO per theme, pages, and the LMS runtime script."""

import pytest

from coursegen.exports import to_scorm12
from tests.support.hostile_course import HOSTILE_TITLE
from tests.support.packages import Page, local_files, manifest, members

CP = "{http://www.imsproject.org/xsd/imscp_rootv1p1p2}"
ADLCP = "{http://www.adlnet.org/xsd/adlcp_rootv1p2}"


@pytest.fixture
def package(course):
    return to_scorm12(course)


def test_manifest_declares_scorm_12(package):
    root = manifest(package)
    assert root.tag == f"{CP}manifest"
    assert root.findtext(f"{CP}metadata/{CP}schema") == "ADL SCORM"
    assert root.findtext(f"{CP}metadata/{CP}schemaversion") == "1.2"
    source = members(package)["imsmanifest.xml"].decode()
    assert 'xmlns:adlcp="http://www.adlnet.org/xsd/adlcp_rootv1p2"' in source


def test_one_sco_per_theme_in_order(course, package):
    root = manifest(package)
    organizations = root.find(f"{CP}organizations")
    organization = organizations.find(f"{CP}organization")
    assert organizations.get("default") == organization.get("identifier")
    assert organization.findtext(f"{CP}title") == course.course_name
    resources = {r.get("identifier"): r for r in root.iter(f"{CP}resource")}
    items = organization.findall(f"{CP}item")
    assert [i.findtext(f"{CP}title") for i in items] == [
        "Тема <1> & «начало»",
        *[t.title for t in course.themes[1:]],
    ]
    scos = [resources[i.get("identifierref")] for i in items]
    assert all(r.get(f"{ADLCP}scormtype") == "sco" for r in scos)
    assert all(r.get("type") == "webcontent" for r in scos)
    assert len(scos) == len(course.themes) == len(resources)


def test_every_referenced_file_exists_and_every_file_is_listed(package):
    files = members(package)
    root = manifest(package)
    listed = set()
    for resource in root.iter(f"{CP}resource"):
        hrefs = [f.get("href") for f in resource.findall(f"{CP}file")]
        assert resource.get("href") in hrefs
        listed.update(hrefs)
    assert listed <= set(files)
    assert set(files) - listed == {"imsmanifest.xml"}


def test_pages_parse_and_load_only_what_their_sco_lists(package):
    files = members(package)
    for resource in manifest(package).iter(f"{CP}resource"):
        own = {f.get("href") for f in resource.findall(f"{CP}file")}
        path = resource.get("href")
        page = Page(files[path].decode())
        assert page.find("html")[0]["lang"] == "ru"
        needed = local_files(path, page) - {path}
        assert needed == {"course.css", "quiz.js", "scorm.js"}
        assert needed <= own and needed <= set(files)


def test_each_theme_page_holds_its_topics_and_questions(course, package):
    files = members(package)
    for t, theme in enumerate(course.themes, 1):
        source = files[f"theme-0{t}.html"].decode()
        page = Page(source)
        text = page.all_text()
        classes = {attrs.get("class") for _tag, attrs in page.tags}
        assert {"question", "marks", "score", "lms-note"} <= classes  # what the scripts look for
        assert HOSTILE_TITLE not in source
        for topic in theme.topics:
            assert topic.title in text
            for item in topic.content.self_check if topic.content else []:
                assert item.question in text and item.answer in text
    assert "Этот урок ещё не написан." in Page(files["theme-02.html"].decode()).all_text()


def test_runtime_talks_scorm_12(package):
    script = members(package)["scorm.js"].decode()
    for call in (
        "win.parent",
        "window.opener",
        'LMSInitialize("")',
        'LMSSetValue("cmi.core.score.raw"',
        'LMSSetValue("cmi.core.score.min", "0")',
        'LMSSetValue("cmi.core.score.max", "100")',
        'LMSSetValue("cmi.core.lesson_status"',
        'LMSCommit("")',
        'LMSFinish("")',
    ):
        assert call in script, call


def test_package_is_reproducible(course, package):
    assert to_scorm12(course) == package
    assert next(iter(members(package))) == "imsmanifest.xml"  # LMSes look for it first
