"""Render the course glossary: each key term, its definition and the topic that introduces it."""

from collections.abc import Callable

from coursegen.domain import Course
from coursegen.exports._course import topic_key
from coursegen.exports._labels import Labels
from coursegen.exports._markup import esc, md_escape, md_inline
from coursegen.exports._md_safe import neutralize_html

GLOSSARY_KEY = "glossary"
"""Anchor and file name of the glossary."""

TopicLink = Callable[[int, int], str]
"""(theme, topic), 1-based -> the href of that topic from where the glossary is shown."""


def anchor_link(theme: int, topic: int) -> str:
    """The topic's anchor in a one-document export (HTML page, Markdown book)."""
    return f"#{topic_key(theme, topic)}"


def glossary_html(course: Course, level: int, labels: Labels, link: TopicLink) -> str:
    """A `<section>` with a definition list; empty when the course has no glossary."""
    if not course.glossary:
        return ""
    items = "".join(
        f"<dt>{esc(entry.term)}</dt><dd>{md_inline(entry.definition)} "
        f'<a class="glossary-topic" href="{esc(link(entry.theme, entry.topic))}">'
        f"{entry.theme}.{entry.topic}</a></dd>"
        for entry in course.glossary
    )
    heading = f"<h{level}>{esc(labels.glossary)}</h{level}>"
    return f'<section class="glossary" id="{GLOSSARY_KEY}">{heading}<dl>{items}</dl></section>'


def glossary_markdown(course: Course, labels: Labels) -> list[str]:
    """The glossary as Markdown blocks (a heading and a list); none when there is none."""
    if not course.glossary:
        return []
    lines = [
        f"- **{md_escape(entry.term)}** — {neutralize_html(' '.join(entry.definition.split()))} "
        f"([{entry.theme}.{entry.topic}]({anchor_link(entry.theme, entry.topic)}))"
        for entry in course.glossary
    ]
    return [f'<a id="{GLOSSARY_KEY}"></a>', f"## {md_escape(labels.glossary)}", "\n".join(lines)]
