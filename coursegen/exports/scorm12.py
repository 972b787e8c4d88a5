"""Export a course as a SCORM 1.2 package: one SCO per theme with a self-check that is scored."""

import xml.etree.ElementTree as ET

from coursegen.domain import Course, CourseTheme
from coursegen.exports._assets import asset
from coursegen.exports._course import CourseInput, course_id, load_course, theme_key, topic_key
from coursegen.exports._document import html_page
from coursegen.exports._glossary import GLOSSARY_KEY, glossary_html
from coursegen.exports._labels import Labels, labels_for
from coursegen.exports._markup import esc, plain_html
from coursegen.exports._package import zip_files
from coursegen.exports._sections import score_board, topic_html
from coursegen.exports._xml import child, root, to_xml

IMSCP = "http://www.imsproject.org/xsd/imscp_rootv1p1p2"
ADLCP = "http://www.adlnet.org/xsd/adlcp_rootv1p2"
SHARED_FILES = ("course.css", "quiz.js", "scorm.js")


def to_scorm12(course: CourseInput) -> bytes:
    """The zip: `imsmanifest.xml`, `theme-NN.html` per theme, and the shared CSS and scripts."""
    course = load_course(course)
    labels = labels_for(course.language)
    files: dict[str, str | bytes] = {name: asset(name) for name in SHARED_FILES}
    for t, theme in enumerate(course.themes, 1):
        files[_page_name(t)] = _theme_page(theme, t, course.language, labels)
    if course.glossary:
        files[GLOSSARY_PAGE] = _glossary_page(course, labels)
    files["imsmanifest.xml"] = _manifest(course, labels)
    return zip_files(files)


GLOSSARY_PAGE = f"{GLOSSARY_KEY}.html"


def _glossary_page(course: Course, labels: Labels) -> str:
    def link(theme: int, topic: int) -> str:
        return f"{_page_name(theme)}#{topic_key(theme, topic)}"

    body = f"<main>{glossary_html(course, 1, labels, link)}</main>"
    return html_page(
        labels.glossary, course.language, body, '<link rel="stylesheet" href="course.css">'
    )


def _page_name(t: int) -> str:
    return f"{theme_key(t)}.html"


def _theme_page(theme: CourseTheme, t: int, language: str, labels: Labels) -> str:
    topics = "".join(
        topic_html(topic, topic_key(t, n), 2, labels, interactive=True)
        for n, topic in enumerate(theme.topics, 1)
    )
    body = "\n".join(
        [
            f'<main><h1 class="theme-title">{esc(theme.title)}</h1>'
            f"{plain_html(theme.description, 'theme-description')}{topics}</main>",
            score_board(labels),
            f'<p class="lms-note" hidden>{esc(labels.no_lms)}</p>',
            '<script src="quiz.js"></script>',
            '<script src="scorm.js"></script>',
        ]
    )
    head = '<link rel="stylesheet" href="course.css">'
    return html_page(theme.title, language, body, head)


def _manifest(course: Course, labels: Labels) -> str:
    manifest = root(
        "manifest", {"": IMSCP, "adlcp": ADLCP}, identifier=course_id(course), version="1.0"
    )
    metadata = child(manifest, "metadata")
    child(metadata, "schema", "ADL SCORM")
    child(metadata, "schemaversion", "1.2")
    organizations = child(manifest, "organizations", default="org")
    organization = child(organizations, "organization", identifier="org")
    child(organization, "title", course.course_name)
    resources = child(manifest, "resources")
    for t, theme in enumerate(course.themes, 1):
        _add_sco(organization, resources, theme, t)
    if course.glossary:  # a page to read, not scored: an asset, not a SCO
        item = child(organization, "item", identifier="item-glossary", identifierref="res-glossary")
        child(item, "title", labels.glossary)
        attrs = {"identifier": "res-glossary", "type": "webcontent", "adlcp:scormtype": "asset"}
        resource = child(resources, "resource", **attrs, href=GLOSSARY_PAGE)
        for name in (GLOSSARY_PAGE, "course.css"):
            child(resource, "file", href=name)
    return to_xml(manifest)


def _add_sco(organization: ET.Element, resources: ET.Element, theme: CourseTheme, t: int) -> None:
    key = theme_key(t)
    item = child(organization, "item", identifier=f"item-{key}", identifierref=f"res-{key}")
    child(item, "title", theme.title)
    attrs = {"identifier": f"res-{key}", "type": "webcontent", "adlcp:scormtype": "sco"}
    resource = child(resources, "resource", **attrs, href=_page_name(t))
    for name in (_page_name(t), *SHARED_FILES):
        child(resource, "file", href=name)
