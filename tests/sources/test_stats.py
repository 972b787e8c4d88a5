"""Grounding figures of a course: lessons that cite, citations checked, kept and dropped."""

from coursegen.chains.schemas import Citation, CourseTopic
from coursegen.sources.stats import grounding_stats
from tests.exports.conftest import build_course

CITATION = Citation(source_id="a" * 32, title="Doc", page=1, chunk=0, quote="q")


def test_grounding_stats_count_written_lessons_and_their_citations() -> None:
    course = build_course()  # four topics, three of them written
    first: CourseTopic = course.themes[0].topics[0]
    course.themes[0].topics[0] = first.model_copy(
        update={"citations": [CITATION, CITATION], "citations_dropped": 1}
    )
    second = course.themes[0].topics[1]
    course.themes[0].topics[1] = second.model_copy(update={"citations_dropped": 2})
    stats = grounding_stats(course)
    assert (stats.lessons, stats.lessons_with_citations) == (3, 1)
    assert stats.share_with_citations == 0.3333
    assert (stats.citations_checked, stats.citations_kept, stats.citations_dropped) == (5, 2, 3)
