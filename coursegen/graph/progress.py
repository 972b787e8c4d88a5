"""Fold the graph's custom-stream events into stage and done/total progress."""

from dataclasses import dataclass, field
from typing import Any

STAGE_OF_EVENT = {
    "outline": "outline",
    "topics": "topics",
    "content": "content",
    "polished": "polish",
}
STAGE_ORDER = ("outline", "topics", "content", "polish")


@dataclass
class ProgressTracker:
    """Count planned and finished LLM calls per stage as events arrive.

    Totals grow as the plan unfolds: the outline fixes the number of topic calls, each
    theme's topic list fixes its content and polish calls.
    """

    total: dict[str, int] = field(
        default_factory=lambda: {"outline": 1, "topics": 0, "content": 0, "polish": 0}
    )
    done: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STAGE_ORDER, 0))
    stage: str = "outline"

    def update(self, event: dict[str, Any]) -> dict[str, Any] | None:
        """Account for one event; return a `progress` event when it finished a call."""
        kind = event.get("type")
        if kind == "outline" and not event.get("edited"):
            self.total["topics"] = len(event["outline"]["themes"])
        elif kind == "topics":
            count = len(event["topics"]["topics"])
            self.total["content"] += count
            self.total["polish"] += count
        elif kind == "topic_error":
            self._fail_topic(event)
            return self.snapshot("content")
        if kind not in STAGE_OF_EVENT or event.get("edited"):
            return None
        stage = STAGE_OF_EVENT[str(kind)]
        self.done[stage] += 1
        return self.snapshot(stage)

    def _fail_topic(self, event: dict[str, Any]) -> None:
        # A failed topic will write no content (if it failed there) and no polish.
        if not event.get("content_done"):
            self.done["content"] += 1
        self.done["polish"] += 1

    def snapshot(self, stage: str) -> dict[str, Any]:
        """Return the current progress as a `progress` event."""
        if STAGE_ORDER.index(stage) > STAGE_ORDER.index(self.stage):
            self.stage = stage
        return {
            "type": "progress",
            "stage": self.stage,
            "done": sum(self.done.values()),
            "total": sum(self.total.values()),
            "stages": {s: {"done": self.done[s], "total": self.total[s]} for s in STAGE_ORDER},
        }
