"""Export a course as an IMS Common Cartridge 1.3: a page per topic, a QTI self-check per theme."""

import xml.etree.ElementTree as ET

from coursegen.domain import Course, CourseTheme
from coursegen.exports._assets import asset
from coursegen.exports._course import (
    CourseInput,
    course_id,
    load_course,
    questions_of,
    theme_key,
    topic_key,
)
from coursegen.exports._document import html_page, inline_style
from coursegen.exports._glossary import GLOSSARY_KEY, glossary_html
from coursegen.exports._labels import Labels, labels_for
from coursegen.exports._package import zip_files
from coursegen.exports._qti import assessment_xml
from coursegen.exports._sections import topic_html
from coursegen.exports._xml import XSI, child, root, schema_locations, to_xml

CC = "http://www.imsglobal.org/xsd/imsccv1p3/imscp_v1p1"
LOM_MANIFEST = "http://ltsc.ieee.org/xsd/imsccv1p3/LOM/manifest"
LOM_RESOURCE = "http://ltsc.ieee.org/xsd/imsccv1p3/LOM/resource"
PROFILE = "http://www.imsglobal.org/profile/cc/ccv1p3"
SCHEMAS = [
    (CC, f"{PROFILE}/ccv1p3_imscp_v1p2_v1p0.xsd"),
    (LOM_MANIFEST, f"{PROFILE}/LOM/ccv1p3_lommanifest_v1p0.xsd"),
    (LOM_RESOURCE, f"{PROFILE}/LOM/ccv1p3_lomresource_v1p0.xsd"),
]
WEBCONTENT = "webcontent"
ASSESSMENT = "imsqti_xmlv1p2/imscc_xmlv1p3/assessment"


def to_imscc(course: CourseInput) -> bytes:
    """The cartridge zip: `imsmanifest.xml`, topic pages and one assessment per theme."""
    course = load_course(course)
    labels = labels_for(course.language)
    css = inline_style(asset("course.css"))
    manifest, organization, resources = _manifest(course)
    files: dict[str, str | bytes] = {}
    for t, theme in enumerate(course.themes, 1):
        folder = child(organization, "item", identifier=f"item-{theme_key(t)}")
        child(folder, "title", theme.title)
        for n, topic in enumerate(theme.topics, 1):
            path = _topic_path(t, n)
            body = (
                f"<main>{topic_html(topic, topic_key(t, n), 1, labels, interactive=False)}</main>"
            )
            files[path] = html_page(topic.title, course.language, body, css)
            _link(folder, resources, topic_key(t, n), topic.title, WEBCONTENT, path, href=True)
        files.update(_quiz(folder, resources, theme, t, labels))
    if course.glossary:
        path = f"{GLOSSARY_KEY}.html"
        body = f"<main>{glossary_html(course, 1, labels, _topic_path)}</main>"
        files[path] = html_page(labels.glossary, course.language, body, css)
        _link(organization, resources, GLOSSARY_KEY, labels.glossary, WEBCONTENT, path, href=True)
    files["imsmanifest.xml"] = to_xml(manifest)
    return zip_files(files)


def _topic_path(theme: int, topic: int) -> str:
    """A topic page's path inside the cartridge (relative to its root)."""
    return f"{theme_key(theme)}/topic-{topic:02d}.html"


def _quiz(
    folder: ET.Element, resources: ET.Element, theme: CourseTheme, t: int, labels: Labels
) -> dict[str, str | bytes]:
    """The theme's self-check assessment (none when no topic of it has questions)."""
    questions = questions_of(theme.topics)
    if not questions:
        return {}
    key, title = f"{theme_key(t)}-quiz", labels.quiz_title.format(theme=theme.title)
    path = f"{theme_key(t)}/quiz/assessment.xml"
    _link(folder, resources, key, title, ASSESSMENT, path, href=False)
    return {path: assessment_xml(f"assessment-{key}", title, questions)}


def _link(
    folder: ET.Element,
    resources: ET.Element,
    key: str,
    title: str,
    kind: str,
    path: str,
    *,
    href: bool,
) -> None:
    """An organization item pointing at a new resource that holds one file."""
    item = child(folder, "item", identifier=f"item-{key}", identifierref=f"res-{key}")
    child(item, "title", title)
    attrs = {"identifier": f"res-{key}", "type": kind} | ({"href": path} if href else {})
    child(child(resources, "resource", **attrs), "file", href=path)


def _manifest(course: Course) -> tuple[ET.Element, ET.Element, ET.Element]:
    """The manifest with its metadata; returns it, the root item and the resources element."""
    namespaces = {"": CC, "lomimscc": LOM_MANIFEST, "lom": LOM_RESOURCE, "xsi": XSI}
    manifest = root(
        "manifest",
        namespaces,
        identifier=course_id(course),
        **{"xsi:schemaLocation": schema_locations(SCHEMAS)},
    )
    metadata = child(manifest, "metadata")
    child(metadata, "schema", "IMS Common Cartridge")
    child(metadata, "schemaversion", "1.3.0")
    _lom(metadata, course)
    organizations = child(manifest, "organizations")
    organization = child(
        organizations, "organization", identifier="org", structure="rootcollection"
    )
    return manifest, child(organization, "item", identifier="root"), child(manifest, "resources")


def _lom(metadata: ET.Element, course: Course) -> None:
    general = child(child(metadata, "lomimscc:lom"), "lomimscc:general")
    title = child(general, "lomimscc:title")
    child(title, "lomimscc:string", course.course_name, language=course.language)
    child(general, "lomimscc:language", course.language)
    if course.description.strip():
        description = child(general, "lomimscc:description")
        child(description, "lomimscc:string", course.description, language=course.language)
