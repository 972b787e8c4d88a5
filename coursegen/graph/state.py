"""Declare the graph's input, working state and output, with reducers for parallel writes."""

from typing import Annotated, Any

from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from coursegen.domain import (
    Citation,
    Course,
    CourseRequest,
    CourseUsage,
    Outline,
    PolishedTopic,
    RequirementCoverage,
    ThemeOutline,
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


def merge_lessons(
    left: dict[str, TopicResult], right: dict[str, TopicResult]
) -> dict[str, TopicResult]:
    """Merge per-topic results (keyed "i.j", zero-based) written by parallel branches."""
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
    """Per theme index: its planned topics (`results` stay empty: see `lessons`)."""
    course_map: list[str]
    """The planned course by number, with the key terms each topic introduces."""
    coverage: list[RequirementCoverage]
    """Requirement items and the planned topics that satisfy them."""
    revise: dict[int, list[str]]
    """Themes to re-plan (zero-based index -> uncovered items), empty when none."""
    revised: bool
    """Whether the plan was already revised for coverage (it is revised at most once)."""
    lessons: Annotated[dict[str, TopicResult], merge_lessons]
    """Per topic ("i.j", zero-based): its material."""
    usage: Annotated[CourseUsage, add_usage]
    """Tokens spent so far, per stage."""
    course: Course
    """The assembled course."""


class OutputState(TypedDict):
    """What a run returns."""

    course: Course
    """The assembled course."""


class ThemeTask(TypedDict, total=False):
    """Payload of one `plan_topics` branch (sent with `Send`)."""

    request: CourseRequest
    language: str
    outline: Outline
    theme_index: int
    must_cover: list[str]
    """Requirement items the theme's topics must cover (a coverage revision)."""


class TopicTask(TypedDict):
    """Payload of one `write_topic` branch: content then polish of one topic."""

    request: CourseRequest
    theme: ThemeOutline
    theme_index: int
    topics: ThemeTopics
    topic_index: int
    course_map: list[str]


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
