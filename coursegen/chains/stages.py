"""Build the four stage chains: inputs -> prompt (in the course language) -> structured output."""

from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.prompt_values import PromptValue
from langchain_core.runnables import Runnable, RunnableLambda
from pydantic import BaseModel, Field

from coursegen.chains.language import course_language
from coursegen.chains.schemas import (
    CourseRequest,
    Outline,
    Passage,
    PolishedTopic,
    SourceDigest,
    ThemeOutline,
    ThemeTopics,
    TopicContent,
    TopicOutline,
)
from coursegen.chains.structured import StageResult, StructuredMode, structured_output
from coursegen.prompts import CONTENT, OUTLINE, POLISH, TOPICS, PromptSpec, data_block
from coursegen.prompts.content import grounding_rules
from coursegen.prompts.languages import LANGUAGE_NAMES_RU, language_name, prompt_language


class SourcedRequest(CourseRequest):
    """A course request with the digest of its sources, as the outline stage receives it."""

    source_digest: list[SourceDigest] = Field(
        default_factory=list, description="Titles and headings of the course's sources."
    )


class TopicsInput(BaseModel):
    """Input of the topics stage: the course, its outline and which theme to split."""

    request: CourseRequest = Field(description="The course request.")
    outline: Outline = Field(description="The course outline.")
    theme_index: int = Field(ge=0, description="Zero-based index of the theme in the outline.")
    source_digest: list[SourceDigest] = Field(
        default_factory=list, description="Titles and headings of the course's sources."
    )


class ContentInput(BaseModel):
    """Input of the content stage: the course, the theme with its topics, and the topic."""

    request: CourseRequest = Field(description="The course request.")
    theme: ThemeOutline = Field(description="The theme the topic belongs to.")
    topics: ThemeTopics = Field(description="All topics of that theme, for context.")
    topic_index: int = Field(ge=0, description="Zero-based index of the topic to write.")
    passages: list[Passage] = Field(
        default_factory=list, description="Source passages retrieved for this topic."
    )


class PolishInput(BaseModel):
    """Input of the polish stage: the course, the topic and its draft material."""

    request: CourseRequest = Field(description="The course request.")
    theme: ThemeOutline = Field(description="The theme the topic belongs to.")
    topic: TopicOutline = Field(description="The topic.")
    content: TopicContent = Field(description="The draft material from the content stage.")


def _course_fields(request: CourseRequest) -> dict[str, Any]:
    return {
        "course_name": request.course_name,
        "description": request.description,
        "requirements": request.requirements,
    }


def _digest(digest: list[SourceDigest]) -> dict[str, Any]:
    """The sources as data: titles and headings (a few dozen of each at most)."""
    if not digest:
        return {}
    return {"sources": [{"title": d.title, "headings": d.headings[:40]} for d in digest[:20]]}


def _passages(passages: list[Passage]) -> dict[str, Any]:
    """Numbered passages as data; the numbers are what the lesson's [n] markers cite."""
    if not passages:
        return {}
    return {
        "passages": [
            {"n": n, "source": p.title, "page": p.page, "heading": p.heading, "text": p.text}
            for n, p in enumerate(passages, 1)
        ]
    }


def _render(
    spec: PromptSpec, request: CourseRequest, data: dict[str, Any], **extra: Any
) -> PromptValue:
    code = course_language(request)
    lang = prompt_language(code)
    name = LANGUAGE_NAMES_RU[code] if lang == "ru" else language_name(code)
    return spec.template(lang).invoke(
        {"course_data": data_block(data), "language_name": name, **extra}
    )


def outline_prompt(request: CourseRequest) -> PromptValue:
    """Render the outline prompt for a course request."""
    lang = prompt_language(course_language(request))
    count = OUTLINE.count_instruction(lang, request.options.themes)
    digest = _digest(getattr(request, "source_digest", []))
    return _render(OUTLINE, request, {**_course_fields(request), **digest}, theme_count=count)


def topics_prompt(inp: TopicsInput) -> PromptValue:
    """Render the topics prompt for one theme."""
    request, themes = inp.request, inp.outline.themes
    theme = themes[inp.theme_index]
    data = {
        **_course_fields(request),
        "outline": [f"{i}. {t.title}" for i, t in enumerate(themes, 1)],
        "theme": {"title": theme.title, "description": theme.description},
        **_digest(inp.source_digest),
    }
    lang = prompt_language(course_language(request))
    count = TOPICS.count_instruction(lang, request.options.topics_per_theme)
    return _render(TOPICS, request, data, theme_number=inp.theme_index + 1, topic_count=count)


def content_prompt(inp: ContentInput) -> PromptValue:
    """Render the content prompt for one topic."""
    topic = inp.topics.topics[inp.topic_index]
    data = {
        **_course_fields(inp.request),
        "theme": {"title": inp.theme.title, "topics": [t.title for t in inp.topics.topics]},
        "topic": {"title": topic.title, "description": topic.description},
        **_passages(inp.passages),
    }
    lang = prompt_language(course_language(inp.request))
    rules = grounding_rules(lang, inp.request.options.grounding, bool(inp.passages))
    return _render(CONTENT, inp.request, data, grounding=rules)


def polish_prompt(inp: PolishInput) -> PromptValue:
    """Render the polish prompt for one topic's draft."""
    data = {
        "course_name": inp.request.course_name,
        "theme": inp.theme.title,
        "topic": inp.topic.title,
        "draft": inp.content.model_dump(),
    }
    return _render(POLISH, inp.request, data)


def _chain(
    render: Any,
    model: BaseChatModel,
    schema: type[BaseModel],
    input_type: type[BaseModel],
    mode: StructuredMode,
    name: str,
) -> Runnable:
    def prompt(value: Any) -> PromptValue:
        return render(input_type.model_validate(value))

    async def aprompt(value: Any) -> PromptValue:
        # Rendering is a little CPU, no I/O: without an async version LangChain would send
        # every call's rendering to a thread pool.
        return prompt(value)

    return (
        (RunnableLambda(prompt, afunc=aprompt) | structured_output(model, schema, mode))
        .with_types(
            input_type=input_type,
            output_type=StageResult[schema],  # type: ignore[valid-type]
        )
        .with_config(run_name=name)
    )


def build_outline_chain(
    model: BaseChatModel, mode: StructuredMode = "json_schema"
) -> Runnable[CourseRequest, StageResult[Outline]]:
    """Chain: CourseRequest -> StageResult[Outline]."""
    return _chain(outline_prompt, model, Outline, CourseRequest, mode, "outline")


def build_topics_chain(
    model: BaseChatModel, mode: StructuredMode = "json_schema"
) -> Runnable[TopicsInput, StageResult[ThemeTopics]]:
    """Chain: TopicsInput -> StageResult[ThemeTopics]."""
    return _chain(topics_prompt, model, ThemeTopics, TopicsInput, mode, "topics")


def build_content_chain(
    model: BaseChatModel, mode: StructuredMode = "json_schema"
) -> Runnable[ContentInput, StageResult[TopicContent]]:
    """Chain: ContentInput -> StageResult[TopicContent]."""
    return _chain(content_prompt, model, TopicContent, ContentInput, mode, "content")


def build_polish_chain(
    model: BaseChatModel, mode: StructuredMode = "json_schema"
) -> Runnable[PolishInput, StageResult[PolishedTopic]]:
    """Chain: PolishInput -> StageResult[PolishedTopic]."""
    return _chain(polish_prompt, model, PolishedTopic, PolishInput, mode, "polish")


@dataclass(frozen=True)
class CourseChains:
    """The four stage chains built on one model."""

    outline: Runnable[Any, StageResult[Outline]]
    topics: Runnable[Any, StageResult[ThemeTopics]]
    content: Runnable[Any, StageResult[TopicContent]]
    polish: Runnable[Any, StageResult[PolishedTopic]]


def build_course_chains(model: BaseChatModel, mode: StructuredMode = "json_schema") -> CourseChains:
    """Build all four stage chains on one model."""
    return CourseChains(
        outline=build_outline_chain(model, mode),
        topics=build_topics_chain(model, mode),
        content=build_content_chain(model, mode),
        polish=build_polish_chain(model, mode),
    )
