"""Project a job's events onto its course: the snapshot, the furthest stage, the progress."""

from dataclasses import dataclass, field
from typing import Any

from coursegen.domain import CourseRequest
from coursegen.graph.progress import CourseSnapshot

EventItem = tuple[str, dict[str, Any]]


def initial_course(request: CourseRequest) -> dict[str, Any]:
    """The course of a job no call has answered yet: its request's name, no themes."""
    return {
        "course_name": request.course_name,
        "description": request.description,
        "requirements": request.requirements,
        "language": request.language,
        "themes": [],
    }


@dataclass
class Derived:
    """What one event adds besides itself: `stage` and `progress` events, job-row fields."""

    events: list[EventItem] = field(default_factory=list)
    fields: dict[str, Any] = field(default_factory=dict)
    stage: str | None = None  # the stage entered, when the course moved on


class CourseProjection:
    """The course as a job's events have built it so far, and what they imply.

    Progress is derived from the snapshot, so an event seen twice (a resumed run re-emits the
    results of calls it did not repeat) never counts twice.
    """

    def __init__(self, course: dict[str, Any], *, keep_known_topics: bool = False) -> None:
        self.snapshot = CourseSnapshot(course)
        self.stage: str | None = self.snapshot.progress()["stage"] if course.get("themes") else None
        # Set for a (resumed) generation: a theme's topic list announced again is a replay.
        self.keep_known_topics = keep_known_topics

    @property
    def course(self) -> dict[str, Any]:
        return self.snapshot.course

    def is_replay(self, kind: str, data: dict[str, Any]) -> bool:
        """Whether an event only repeats what the course holds and must not be applied.

        A resumed run re-runs an unfinished theme and announces its (checkpointed) topics
        again; applying that would wipe the material already written for them.
        """
        if kind != "topics" or not self.keep_known_topics:
            return False
        themes = self.course.get("themes", [])
        if data["theme"] >= len(themes) or not themes[data["theme"]].get("topics"):
            return False
        known = [(t.get("title"), t.get("description")) for t in themes[data["theme"]]["topics"]]
        return known == [(t.get("title"), t.get("description")) for t in data["topics"]["topics"]]

    def fold(self, kind: str, data: dict[str, Any]) -> Derived | None:
        """Apply one course event; what it derives, or None when the course did not change."""
        if kind == "token" or not self.snapshot.apply(kind, data):
            return None
        progress = self.snapshot.progress()
        derived = self.enter(progress["stage"]) or Derived()
        derived.events.append(("progress", progress))
        derived.fields.update(course=self.course, progress=progress)
        return derived

    def enter(self, stage: str) -> Derived | None:
        """Move the course on to `stage`: a `stage` event, unless it is there already."""
        if stage == self.stage:
            return None
        self.stage = stage
        return Derived(events=[("stage", {"stage": stage})], fields={"stage": stage}, stage=stage)

    def missing(self, course: dict[str, Any]) -> list[EventItem]:
        """The `content` and `polished` events the log lacks of a finished course."""
        have = self.course.get("themes", [])
        out: list[EventItem] = []
        for i, theme in enumerate(course["themes"]):
            for j, topic in enumerate(theme["topics"]):
                seen = (
                    have[i]["topics"][j]
                    if i < len(have) and j < len(have[i].get("topics", []))
                    else {}
                )
                for kind in ("content", "polished"):
                    if topic.get(kind) is not None and seen.get(kind) != topic[kind]:
                        out.append((kind, {"theme": i, "topic": j, kind: topic[kind]}))
        return out

    def replace(self, course: dict[str, Any]) -> None:
        """Make a finished course authoritative (the checkpoint's, not the events')."""
        self.snapshot.apply("course", {"course": course})
