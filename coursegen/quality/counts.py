"""Count what needs no language model: shape, self-check, length, coverage and grounding."""

import re
import statistics

from coursegen.domain import Course, CourseRequest
from coursegen.quality._lessons import lessons, written
from coursegen.quality.model import (
    CoverageSection,
    DeliveredShape,
    GroundingSection,
    LengthSection,
    QuestionPlace,
    SelfCheckSection,
    ShapeCounts,
    ShapeSection,
)

# The bounds CourseOptions documents for counts the request leaves to the model.
THEME_BOUNDS, TOPIC_BOUNDS = (4, 8), (3, 6)
_WORD = re.compile(r"\w+")


def _fits(count: int, wanted: int | None, bounds: tuple[int, int]) -> bool:
    return count == wanted if wanted is not None else bounds[0] <= count <= bounds[1]


def shape_section(request: CourseRequest, course: Course) -> ShapeSection:
    """Requested and delivered counts; ok when they agree and every lesson was polished."""
    options = request.options
    topics = [len(theme.topics) for theme in course.themes]
    failed = sum(1 for lesson in lessons(course) if lesson.item.polished is None)
    failed += sum(1 for theme in course.themes if theme.error and not theme.topics)
    ok = (
        _fits(len(topics), options.themes, THEME_BOUNDS)
        and all(_fits(n, options.topics_per_theme, TOPIC_BOUNDS) for n in topics)
        and failed == 0
    )
    return ShapeSection(
        requested=ShapeCounts(themes=options.themes, topics_per_theme=options.topics_per_theme),
        delivered=DeliveredShape(
            themes=len(topics), topics_per_theme=topics, lessons_failed=failed
        ),
        ok=ok,
    )


def _key(text: str) -> str:
    return " ".join(_WORD.findall(text.casefold()))


def self_check_section(course: Course) -> SelfCheckSection:
    """Questions per written lesson, questions asked before, answers without a word."""
    counts: list[int] = []
    seen: set[str] = set()
    duplicates, empty = [], []
    for lesson in written(course):
        questions = lesson.item.content.self_check if lesson.item.content else []
        counts.append(len(questions))
        for q in questions:
            entry = QuestionPlace(place=lesson.place, question=q.question)
            key = _key(q.question)
            if key in seen:
                duplicates.append(entry)
            seen.add(key)
            if not _key(q.answer):
                empty.append(entry)
    return SelfCheckSection(
        questions_per_topic=counts,
        min=min(counts, default=None),
        max=max(counts, default=None),
        duplicates=duplicates,
        empty_answers=empty,
    )


def length_section(course: Course) -> LengthSection:
    """Words of what the learner reads in each written lesson."""
    words = [len(_WORD.findall(lesson.text)) for lesson in written(course)]
    return LengthSection(
        lessons=len(words),
        min=min(words, default=None),
        median=statistics.median(words) if words else None,
        max=max(words, default=None),
    )


def coverage_section(course: Course) -> CoverageSection:
    """The pipeline's requirement coverage, with the count of uncovered items."""
    items = course.coverage
    return CoverageSection(requirements=items, uncovered=sum(1 for i in items if not i.covered))


def grounding_section(course: Course, sources: int = 0) -> GroundingSection:
    """The share of written lessons that cite sources, the citations kept and those dropped."""
    done = written(course)
    cited = sum(1 for lesson in done if lesson.item.citations)
    return GroundingSection(
        sources=sources,
        lessons_with_citations=round(cited / len(done), 3) if done else None,
        citations=sum(len(lesson.item.citations) for lesson in done),
        citations_dropped=sum(lesson.item.citations_dropped for lesson in done),
    )
