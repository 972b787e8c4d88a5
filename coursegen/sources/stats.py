"""Sum up how well a course is grounded in its sources, for the quality report."""

from pydantic import BaseModel, Field

from coursegen.chains.schemas import Course


class GroundingStats(BaseModel):
    """Citations of a course: how many lessons cite, how many citations held the check."""

    lessons: int = Field(description="Lessons written (topics with content).")
    lessons_with_citations: int = Field(description="Lessons with at least one kept citation.")
    share_with_citations: float = Field(description="lessons_with_citations / lessons (0–1).")
    citations_checked: int = Field(description="Citations the model wrote, all checked.")
    citations_kept: int = Field(description="Those whose quote occurs in the cited passage.")
    citations_dropped: int = Field(description="Those that failed the check and were dropped.")


def grounding_stats(course: Course) -> GroundingStats:
    """Count the written lessons, the ones that cite, and the citations kept and dropped."""
    topics = [t for theme in course.themes for t in theme.topics if t.content is not None]
    citing = sum(1 for t in topics if t.citations)
    kept = sum(len(t.citations) for t in topics)
    dropped = sum(t.citations_dropped for t in topics)
    return GroundingStats(
        lessons=len(topics),
        lessons_with_citations=citing,
        share_with_citations=round(citing / len(topics), 4) if topics else 0.0,
        citations_checked=kept + dropped,
        citations_kept=kept,
        citations_dropped=dropped,
    )
