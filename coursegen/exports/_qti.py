"""Write a theme's self-check as a QTI 1.2 assessment in the Common Cartridge 1.3 profile."""

import xml.etree.ElementTree as ET

from coursegen.domain import CourseTopic, SelfCheckQuestion
from coursegen.exports._markup import md_to_html
from coursegen.exports._xml import XSI, child, root, schema_locations, to_xml

QTI = "http://www.imsglobal.org/xsd/ims_qtiasiv1p2"
QTI_XSD = "http://www.imsglobal.org/profile/cc/ccv1p3/ccv1p3_qtiasiv1p2p1_v1p0.xsd"
FEEDBACK = "general_fb"


def assessment_xml(
    ident: str, title: str, questions: list[tuple[CourseTopic, SelfCheckQuestion]]
) -> str:
    """One assessment: an essay item per question, the expected answer as general feedback."""
    document = root(
        "questestinterop",
        {"": QTI, "xsi": XSI},
        **{"xsi:schemaLocation": schema_locations([(QTI, QTI_XSD)])},
    )
    assessment = child(document, "assessment", ident=ident, title=title)
    _metadata(
        assessment,
        cc_profile="cc.exam.v0p1",
        qmd_assessmenttype="Examination",
        qmd_scoretype="Percentage",
        cc_maxattempts="unlimited",
    )
    section = child(assessment, "section", ident=f"{ident}-section")
    for n, (topic, question) in enumerate(questions, 1):
        _essay(section, f"{ident}-q{n:02d}", f"{topic.title} · {n}", question)
    return to_xml(document)


def _essay(section: ET.Element, ident: str, title: str, question: SelfCheckQuestion) -> None:
    item = child(section, "item", ident=ident, title=title)
    _metadata(
        child(item, "itemmetadata"),
        cc_profile="cc.essay.v0p1",
        qmd_computerscored="No",
    )
    presentation = child(item, "presentation")
    _html_material(presentation, md_to_html(question.question))
    response = child(presentation, "response_str", ident=f"{ident}-response", rcardinality="Single")
    child(child(response, "render_fib"), "response_label", ident=f"{ident}-answer", rshuffle="No")
    processing = child(item, "resprocessing")
    outcomes = child(processing, "outcomes")
    child(outcomes, "decvar", maxvalue="100", minvalue="0", varname="SCORE", vartype="Decimal")
    condition = child(processing, "respcondition", **{"continue": "No"})
    child(child(condition, "conditionvar"), "other")
    child(condition, "displayfeedback", feedbacktype="Response", linkrefid=FEEDBACK)
    feedback = child(child(item, "itemfeedback", ident=FEEDBACK), "flow_mat")
    _html_material(feedback, md_to_html(question.answer))


def _html_material(parent: ET.Element, html: str) -> None:
    child(child(parent, "material"), "mattext", html, texttype="text/html")


def _metadata(parent: ET.Element, **fields: str) -> None:
    metadata = child(parent, "qtimetadata")
    for label, entry in fields.items():
        field = child(metadata, "qtimetadatafield")
        child(field, "fieldlabel", label)
        child(field, "fieldentry", entry)
