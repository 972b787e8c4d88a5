"""Fold the graph's custom-stream events into the course so far and its progress."""

import itertools
from typing import Any

from coursegen.names import PROGRESS_STAGES


class CourseSnapshot:
    """The partial course built from outline, topics, content, polished and error events.

    Progress is derived from it, so an event seen twice (a resumed run re-emits the
    results of calls it did not repeat) never counts twice.
    """

    def __init__(self, course: dict[str, Any] | None = None) -> None:
        self.course: dict[str, Any] = course if course is not None else {"themes": []}

    def apply(self, kind: str, data: dict[str, Any]) -> bool:
        """Fold one event in; return whether the course changed.

        An event for a theme or topic the course lacks changes nothing: on resume, the event
        that announced it may have been lost with the replica that wrote it (the finished
        course, taken from the checkpoint, brings it back).
        """
        if kind == "outline":
            self._set_outline(data)
        elif kind == "topics":
            if (theme := self._theme(data["theme"])) is None:
                return False
            theme["error"] = None
            theme["topics"] = [
                {**t, "content": None, "polished": None, "error": None}
                for t in data["topics"]["topics"]
            ]
        elif kind in ("content", "polished"):
            if (topic := self._topic(data)) is None:
                return False
            topic[kind], topic["error"] = data[kind], None
            if "citations" in data:
                topic["citations"] = data["citations"]
        elif kind == "error" and data.get("topic") is not None:
            if (topic := self._topic(data)) is None:
                return False
            topic["error"] = data["message"]
        elif kind == "error" and data.get("theme") is not None:
            if (theme := self._theme(data["theme"])) is None:
                return False
            theme["error"] = data["message"]
        elif kind == "course":
            self.course = data["course"]
        else:
            return False
        return True

    def _set_outline(self, data: dict[str, Any]) -> None:
        old = self.course.get("themes", [])
        keep = not data.get("edited")
        self.course["language"] = data.get("language", self.course.get("language"))
        self.course["themes"] = [
            {**t, "topics": old[i].get("topics", []) if keep and i < len(old) else []}
            for i, t in enumerate(data["outline"]["themes"])
        ]

    def _theme(self, index: int) -> dict[str, Any] | None:
        themes = self.course.get("themes", [])
        return themes[index] if 0 <= index < len(themes) else None

    def _topic(self, data: dict[str, Any]) -> dict[str, Any] | None:
        topics = (self._theme(data["theme"]) or {}).get("topics", [])
        index = data["topic"]
        return topics[index] if 0 <= index < len(topics) else None

    def progress(self) -> dict[str, Any]:
        """Calls done and planned per stage, the furthest stage reached, and the totals.

        A stage is reached when its calls can start: the topics once the outline is done, a
        theme's lessons once its topic list is, a topic's polish once its lesson is. (Naming
        the furthest stage with a finished call put the page's status one stage behind.)
        """
        themes = self.course.get("themes", [])
        topics = [t for theme in themes for t in theme.get("topics", [])]
        stages = {
            "outline": (1 if themes else 0, 1),
            "topics": (sum(1 for t in themes if t.get("topics") or t.get("error")), len(themes)),
            "content": (sum(1 for t in topics if t.get("content") or t.get("error")), len(topics)),
            "polish": (sum(1 for t in topics if t.get("polished") or t.get("error")), len(topics)),
        }
        reached = ["outline"] + [
            stage
            for before, stage in itertools.pairwise(PROGRESS_STAGES)
            if stages[before][0] > 0 and stages[stage][1] > 0
        ]
        return {
            "stage": reached[-1],
            "done": sum(done for done, _ in stages.values()),
            "total": sum(total for _, total in stages.values()),
            "stages": {s: {"done": d, "total": t} for s, (d, t) in stages.items()},
        }


class ProgressTracker:
    """Turn a stream of graph events into `progress` events (for LangServe's /course/stream)."""

    def __init__(self) -> None:
        self.snapshot = CourseSnapshot()

    def update(self, event: dict[str, Any]) -> dict[str, Any] | None:
        """Account for one event; return a `progress` event when it changed the course."""
        if event.get("type") == "token" or not self.snapshot.apply(str(event.get("type")), event):
            return None
        return {"type": "progress", **self.snapshot.progress()}
