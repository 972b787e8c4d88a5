"""Declare the graph's input, working state and output, with reducers for parallel writes."""

from typing import Annotated, Any

from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from coursegen.chains.schemas import (
    Citation,
    Course,
    CourseRequest,
    CourseUsage,
    Outline,
    PolishedTopic,
    ThemeTopics,
    TopicContent,
)


class TopicResult(BaseModel):
    """What the pipeline produced for one topic."""

    content: TopicContent | None = Field(default=None, description="Content stage output.")
    polished: PolishedTopic | None = Field(default=None, description="Polish stage output.")
    error: str | None = Field(default=None, description="Why the topic failed, if it did.")
    citations: list[Citation] = Field(default_factory=list, description="Checked citations.")
    citations_dropped: int = Field(default=0, description="Citations that failed the check.")


class ThemeResult(BaseModel):
    """What the pipeline produced for one theme: its topics and their material, in order."""

    topics: ThemeTopics | None = Field(description="The theme's topics (None if planning failed).")
    results: list[TopicResult] = Field(description="Per topic, in the order of `topics`.")
    error: str | None = Field(default=None, description="Why the theme's topics failed, if so.")


def merge_themes(
    left: dict[int, ThemeResult], right: dict[int, ThemeResult]
) -> dict[int, ThemeResult]:
    """Merge per-theme results written by parallel branches; a later write of a theme wins."""
    return {**left, **right}


def add_usage(left: CourseUsage | None, right: CourseUsage | None) -> CourseUsage:
    """Sum the usage reported by parallel branches (either may arrive as its JSON form)."""
    return CourseUsage.model_validate(left or {}) + CourseUsage.model_validate(right or {})


class InputState(TypedDict):
    """What a run starts from."""

    request: CourseRequest
    """The course request."""


class State(InputState, total=False):
    """The working state of one course."""

    language: str
    """ISO 639-1 code the course is written in (requested or detected)."""
    outline: Outline
    """Themes of the course (after review, if one was asked for)."""
    themes: Annotated[dict[int, ThemeResult], merge_themes]
    """Per theme index: its topics and their material."""
    usage: Annotated[CourseUsage, add_usage]
    """Tokens spent so far, per stage."""
    course: Course
    """The assembled course."""


class OutputState(TypedDict):
    """What a run returns."""

    course: Course
    """The assembled course."""


class ThemeTask(TypedDict):
    """Payload of one `write_theme` branch (sent with `Send`)."""

    request: CourseRequest
    language: str
    outline: Outline
    theme_index: int


def state_value(state: Any, key: str) -> Any:
    """Read a key of a state that may be a dict or an object."""
    return state[key] if isinstance(state, dict) else getattr(state, key)


class RegenerateState(TypedDict, total=False):
    """Input and working state of a regeneration of one theme or one topic."""

    course: dict[str, Any]
    """The course as it stands (JSON), whose theme or topic is rewritten."""
    request: CourseRequest
    """The original course request."""
    theme_index: int
    """Zero-based index of the theme to rewrite."""
    topic_index: int | None
    """Zero-based index of the topic to rewrite; the whole theme when None."""
    instructions: str
    """What the person wants changed."""
    themes: Annotated[dict[int, ThemeResult], merge_themes]
    """The rewritten theme's results."""
    usage: Annotated[CourseUsage, add_usage]
    """Tokens spent by the regeneration."""
