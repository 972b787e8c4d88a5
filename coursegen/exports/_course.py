"""Read a course and pick each topic's material: the polished text first, else the draft."""

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from coursegen.domain import Course, CourseTopic, SelfCheckQuestion, WorkedExample

CourseInput = Course | Mapping[str, Any]


@dataclass(frozen=True)
class Material:
    """What an export shows of one written topic."""

    summary: str
    body_markdown: str
    key_points: list[str]
    examples: list[WorkedExample]
    self_check: list[SelfCheckQuestion]


def load_course(course: CourseInput) -> Course:
    """Accept a `Course` or its JSON dict (as the API returns it)."""
    return Course.model_validate(course)


def material_of(topic: CourseTopic) -> Material | None:
    """The topic's material, polished text preferred; None when it was never written."""
    content, polished = topic.content, topic.polished
    examples = content.examples if content else []
    self_check = content.self_check if content else []
    if polished is not None:
        return Material(
            polished.summary, polished.body_markdown, polished.key_points, examples, self_check
        )
    if content is not None:
        return Material("", content.body_markdown, content.key_points, examples, self_check)
    return None


def questions_of(topics: list[CourseTopic]) -> list[tuple[CourseTopic, SelfCheckQuestion]]:
    """Every self-check question of these topics, in order, with its topic."""
    found = []
    for topic in topics:
        material = material_of(topic)
        found += [(topic, q) for q in (material.self_check if material else [])]
    return found


def theme_key(theme_no: int) -> str:
    """Stable name of a theme (1-based) for anchors, file names and identifiers."""
    return f"theme-{theme_no:02d}"


def topic_key(theme_no: int, topic_no: int) -> str:
    """Stable name of a topic (both 1-based) for anchors, file names and identifiers."""
    return f"{theme_key(theme_no)}-topic-{topic_no:02d}"


def course_id(course: Course) -> str:
    """A stable identifier (an XML NCName) derived from the course's content."""
    digest = hashlib.sha256(course.model_dump_json().encode()).hexdigest()
    return f"coursegen-{digest[:16]}"
