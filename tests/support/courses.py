"""Build small hand-made courses for tests that measure or render them."""

from typing import Any

from coursegen.domain import (
    Course,
    CourseRequest,
    CourseTheme,
    CourseTopic,
    CourseUsage,
    PolishedTopic,
    SelfCheckQuestion,
    TopicContent,
)


def lesson(
    title: str,
    body: str,
    polished: str | None = None,
    *,
    questions: list[tuple[str, str]] | None = None,
    **fields: Any,
) -> CourseTopic:
    """A written topic: `body` is the draft, `polished` the polished body (same by default)."""
    qa = questions or [(f"{title}: question {i}?", f"Answer {i}.") for i in range(1, 4)]
    return CourseTopic(
        title=title,
        description=f"About {title}.",
        content=TopicContent(
            body_markdown=body,
            key_points=[f"{title} matters."],
            examples=[],
            self_check=[SelfCheckQuestion(question=q, answer=a) for q, a in qa],
        ),
        polished=PolishedTopic(
            summary=f"{title}.", body_markdown=polished or body, key_points=[f"{title} matters."]
        ),
        **fields,
    )


def course(*themes: list[CourseTopic], language: str = "en", **fields: Any) -> Course:
    """A course of these themes (lists of topics), titled Theme 1, Theme 2, …"""
    return Course(
        course_name="Course",
        description="",
        requirements="",
        language=language,
        usage=fields.pop("usage", CourseUsage()),
        themes=[
            CourseTheme(title=f"Theme {i}", description=f"Theme {i}.", topics=topics)
            for i, topics in enumerate(themes, 1)
        ],
        **fields,
    )


def request(themes: int | None = None, topics: int | None = None) -> CourseRequest:
    return CourseRequest(
        course_name="Course", options={"themes": themes, "topics_per_theme": topics}
    )
