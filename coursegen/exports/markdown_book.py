"""Export a course as one Markdown book with a table of contents and self-check answers."""

from coursegen.domain import Course, CourseTheme, CourseTopic, WorkedExample
from coursegen.exports._course import (
    CourseInput,
    Material,
    load_course,
    material_of,
    theme_key,
    topic_key,
)
from coursegen.exports._glossary import glossary_markdown
from coursegen.exports._labels import Labels, labels_for
from coursegen.exports._markup import esc, md_escape, paragraphs, shift_md_headings
from coursegen.exports._md_safe import neutralize_html
from coursegen.exports._sections import page_note

TOPIC_LEVEL = 3  # course #, theme ##, topic ###, its parts ####, an example #####


def to_markdown(course: CourseInput) -> str:
    """The whole course as Markdown; titles and descriptions are escaped plain text.

    Lesson bodies, key points, examples and self-checks are the model's own Markdown, kept as
    written except that raw HTML in them shows as text and headings move below the topic's.
    """
    course = load_course(course)
    labels = labels_for(course.language)
    blocks = [f"# {md_escape(course.course_name)}", *_plain(course.description)]
    blocks += [f"## {md_escape(labels.contents)}", _toc(course)]
    for t, theme in enumerate(course.themes, 1):
        blocks += _theme(theme, t, labels)
    blocks += glossary_markdown(course, labels)
    return "\n\n".join(blocks) + "\n"


def _plain(text: str) -> list[str]:
    return [md_escape(p) for p in paragraphs(text)]


def _toc(course: Course) -> str:
    lines = []
    for t, theme in enumerate(course.themes, 1):
        lines.append(f"{t}. [{md_escape(theme.title)}](#{theme_key(t)})")
        lines += [
            f"   {n}. [{md_escape(topic.title)}](#{topic_key(t, n)})"
            for n, topic in enumerate(theme.topics, 1)
        ]
    return "\n".join(lines)


def _theme(theme: CourseTheme, t: int, labels: Labels) -> list[str]:
    blocks = [f'<a id="{theme_key(t)}"></a>', f"## {t}. {md_escape(theme.title)}"]
    blocks += _plain(theme.description)
    for n, topic in enumerate(theme.topics, 1):
        blocks += [f'<a id="{topic_key(t, n)}"></a>', f"### {t}.{n}. {md_escape(topic.title)}"]
        blocks += _topic(topic, labels)
    return blocks


def _topic(topic: CourseTopic, labels: Labels) -> list[str]:
    material = material_of(topic)
    if material is None:
        note = labels.failed if topic.error else labels.not_written
        return [*_plain(topic.description), f"> **{md_escape(note)}**"]
    lead = [_quote(_safe(material.summary))] if material.summary else _plain(topic.description)
    body = shift_md_headings(_safe(material.body_markdown), TOPIC_LEVEL)
    parts = _key_points(material, labels) + _examples(material.examples, labels)
    return [*lead, body, *parts, *_self_check(material, labels), *_references(topic, labels)]


def _safe(text: str) -> str:
    return neutralize_html(text.strip())


def _quote(text: str) -> str:
    return "\n".join(f"> {line}".rstrip() for line in text.splitlines())


def _key_points(material: Material, labels: Labels) -> list[str]:
    blocks = []
    if material.key_points:
        points = "\n".join(f"- {_safe(' '.join(p.split()))}" for p in material.key_points)
        blocks += [f"#### {md_escape(labels.key_points)}", points]
    return blocks


def _examples(examples: list[WorkedExample], labels: Labels) -> list[str]:
    if not examples:
        return []
    blocks = [f"#### {md_escape(labels.examples)}"]
    for example in examples:
        blocks += [
            f"##### {md_escape(example.title)}",
            f"**{md_escape(labels.problem)}.**",
            shift_md_headings(_safe(example.problem), 5),
            f"**{md_escape(labels.solution)}.**",
            shift_md_headings(_safe(example.solution), 5),
        ]
    return blocks


def _self_check(material: Material, labels: Labels) -> list[str]:
    if not material.self_check:
        return []
    blocks = [f"#### {md_escape(labels.self_check)}"]
    for i, item in enumerate(material.self_check, 1):
        blocks += [
            f"**{i}.** {_safe(item.question)}",
            f"<details>\n<summary>{esc(labels.answer)}</summary>\n\n"
            f"{_safe(item.answer)}\n\n</details>",
        ]
    return blocks


def _references(topic: CourseTopic, labels: Labels) -> list[str]:
    """The topic's sources, numbered as the lesson's [n] markers cite them."""
    if not topic.citations:
        return []
    lines = [
        f"{n}. *{md_escape(c.title)}*{md_escape(page_note(c, labels))}: “{md_escape(c.quote)}”"
        for n, c in enumerate(topic.citations, 1)
    ]
    return [f"#### {md_escape(labels.references)}", "\n".join(lines)]
