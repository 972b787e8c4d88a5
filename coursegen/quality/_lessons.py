"""Walk a course's lessons and turn their Markdown into plain prose for measuring."""

import re
from collections.abc import Iterator
from dataclasses import dataclass

from coursegen.domain import Course, CourseTopic

_FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.S | re.M)
_INLINE_CODE = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_URL = re.compile(r"https?://\S+")
_MARKUP = re.compile(r"^\s{0,3}(?:#{1,6}\s+|>\s?|[-*+]\s+|\d{1,9}[.)]\s+)|[*_~|]+", re.M)


@dataclass(frozen=True, slots=True)
class Lesson:
    """A topic of the course with its 1-based place."""

    theme: int
    topic: int
    item: CourseTopic

    @property
    def place(self) -> list[int]:
        return [self.theme, self.topic]

    @property
    def draft(self) -> str:
        """The draft's prose: body and key points."""
        content = self.item.content
        return prose(content.body_markdown, *content.key_points) if content else ""

    @property
    def polished(self) -> str:
        """The polished prose: body and key points (the summary is new text, not a rewrite)."""
        polished = self.item.polished
        return prose(polished.body_markdown, *polished.key_points) if polished else ""

    @property
    def text(self) -> str:
        """What the learner reads: the polished body, else the draft's."""
        if self.item.polished:
            return prose(self.item.polished.body_markdown)
        return prose(self.item.content.body_markdown) if self.item.content else ""


def lessons(course: Course) -> Iterator[Lesson]:
    """Every topic of the course, in order."""
    for t, theme in enumerate(course.themes, 1):
        for n, topic in enumerate(theme.topics, 1):
            yield Lesson(t, n, topic)


def written(course: Course) -> list[Lesson]:
    """The topics that have material."""
    return [lesson for lesson in lessons(course) if lesson.item.content or lesson.item.polished]


def prose(*markdown: str) -> str:
    """Markdown as plain sentences: no code, links reduced to their text, no markup signs.

    Code is left out because it is in no natural language and has no reading ease. Each
    part becomes its own paragraph, and a part without final punctuation gets a full stop,
    so that headings and list items count as sentences of their own.
    """
    parts = []
    for text in markdown:
        text = _FENCE.sub(" ", text)
        text = _INLINE_CODE.sub(" ", text)
        text = _LINK.sub(r"\1", text)
        text = _URL.sub(" ", text)
        text = _MARKUP.sub("", text)
        for line in text.splitlines():
            line = " ".join(line.split())
            if line:
                parts.append(line if line[-1] in ".!?…:;" else line + ".")
    return "\n".join(parts)
