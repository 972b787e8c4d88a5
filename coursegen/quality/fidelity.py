"""Find key terms and numbers of a lesson's draft that its polished text left out."""

import re

from coursegen.domain import Course
from coursegen.quality._lessons import Lesson, written
from coursegen.quality.model import FidelitySection, LessonFidelity

_NUMBER = re.compile(r"(?<![\w.,])\d+(?:[.,]\d+)*")
_BOLD = re.compile(r"\*\*([^*\n]{2,60})\*\*|__([^_\n]{2,60})__")


def draft_terms(lesson: Lesson) -> list[str]:
    """The lesson's declared key terms and the phrases its draft sets in bold."""
    terms = list(lesson.item.key_terms)
    if lesson.item.content:
        body = lesson.item.content.body_markdown
        terms += [a or b for a, b in _BOLD.findall(body)]
    unique: dict[str, str] = {}
    for term in terms:
        unique.setdefault(term.strip().casefold(), term.strip())
    return [term for key, term in unique.items() if key]


def _numbers(text: str) -> list[str]:
    return list(dict.fromkeys(n.replace(",", ".") for n in _NUMBER.findall(text)))


def lesson_fidelity(lesson: Lesson) -> LessonFidelity:
    """Terms in the draft but not the polished text (case-insensitive), and likewise numbers."""
    draft, polished = lesson.draft.casefold(), lesson.polished.casefold()
    if lesson.item.polished:
        polished += "\n" + lesson.item.polished.summary.casefold()
    terms = [
        term
        for term in draft_terms(lesson)
        if term.casefold() in draft and term.casefold() not in polished
    ]
    kept = set(_numbers(polished))
    numbers = [n for n in _numbers(draft) if n not in kept]
    return LessonFidelity(place=lesson.place, dropped_terms=terms, dropped_numbers=numbers)


def fidelity_section(course: Course) -> FidelitySection:
    """Every polished lesson checked against its draft."""
    checked = [
        lesson_fidelity(lesson)
        for lesson in written(course)
        if lesson.item.content and lesson.item.polished
    ]
    dropped = [f for f in checked if f.dropped_terms or f.dropped_numbers]
    return FidelitySection(
        lessons_checked=len(checked),
        dropped_terms=sum(len(f.dropped_terms) for f in checked),
        dropped_numbers=sum(len(f.dropped_numbers) for f in checked),
        lessons=dropped,
    )
