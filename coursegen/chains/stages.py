"""Build the stage chains: inputs -> prompt (in the course language) -> structured output."""
# ~380 lines on purpose: one builder per stage (outline, topics, content, polish, follow-ups),
# side by side, so a reader compares how each stage fills its prompt and shapes its answer.

from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.prompt_values import PromptValue
from langchain_core.runnables import Runnable, RunnableBinding, RunnableConfig, RunnableLambda
from pydantic import BaseModel, Field

from coursegen.chains.language import course_language
from coursegen.chains.plan import topic_number
from coursegen.chains.shape import FollowUpNote, ListShape, ShapedOutput
from coursegen.chains.structured import StageResult, structured_output
from coursegen.domain import (
    CourseRequest,
    CoverageMap,
    Outline,
    Passage,
    PolishedTopic,
    SourceDigest,
    ThemeOutline,
    ThemeTopics,
    TopicContent,
    TopicOutline,
    UncitedContent,
)
from coursegen.names import StructuredMode
from coursegen.prompts import (
    CONTENT,
    COVERAGE,
    MISSING_ITEMS,
    OUTLINE,
    POLISH,
    TOPICS,
    PromptSpec,
    data_block,
)
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
    must_cover: list[str] = Field(
        default_factory=list,
        description="Requirement items the theme's topics must cover (a coverage revision).",
    )
    source_digest: list[SourceDigest] = Field(
        default_factory=list, description="Titles and headings of the course's sources."
    )


class ContentInput(BaseModel):
    """Input of the content stage: the course, the theme with its topics, and the topic.

    Optional context (the course map; more may follow) has defaults, so a caller that has
    none still builds a valid input.
    """

    request: CourseRequest = Field(description="The course request.")
    theme: ThemeOutline = Field(description="The theme the topic belongs to.")
    topics: ThemeTopics = Field(description="All topics of that theme, for context.")
    topic_index: int = Field(ge=0, description="Zero-based index of the topic to write.")
    theme_index: int = Field(default=0, ge=0, description="Zero-based index of the theme.")
    course_map: list[str] = Field(
        default_factory=list, description="The whole course by number (`plan.course_map`)."
    )
    passages: list[Passage] = Field(
        default_factory=list, description="Source passages retrieved for this topic."
    )


class CoverageInput(BaseModel):
    """Input of the coverage stage: the course, its requirement items and its course map."""

    request: CourseRequest = Field(description="The course request.")
    items: list[str] = Field(min_length=1, description="The requirement items, in order.")
    course_map: list[str] = Field(description="The planned course by number.")


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
    # `format_prompt`, not `invoke`: a run of its own per prompt cost callback set-up and a
    # serialised template per LLM call; the model's run still records the messages it got.
    return spec.template(lang).format_prompt(
        course_data=data_block(data), language_name=name, **extra
    )


THEME_RANGE = (4, 8)  # themes when the request sets no count (the outline prompt says so)
TOPIC_RANGE = (3, 6)  # topics per theme when the request sets no count


def outline_shape(request: CourseRequest) -> ListShape:
    """How many themes the outline must have."""
    return ListShape.of("themes", request.options.themes, THEME_RANGE)


def topics_shape(request: CourseRequest) -> ListShape:
    """How many topics each theme must have."""
    return ListShape.of("topics", request.options.topics_per_theme, TOPIC_RANGE)


def missing_items_note(request: CourseRequest, field: str) -> FollowUpNote:
    """The follow-up text, in the course's template language, for a list that came up short."""
    text = MISSING_ITEMS[prompt_language(course_language(request))]
    return lambda given, wanted, missing: text.format(
        given=given, wanted=wanted, missing=missing, field=field
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
    if inp.must_cover:
        data["must_cover"] = inp.must_cover
    lang = prompt_language(course_language(request))
    count = TOPICS.count_instruction(lang, request.options.topics_per_theme)
    return _render(TOPICS, request, data, theme_number=inp.theme_index + 1, topic_count=count)


def content_prompt(inp: ContentInput) -> PromptValue:
    """Render the content prompt for one topic."""
    topic = inp.topics.topics[inp.topic_index]
    data: dict[str, Any] = {**_course_fields(inp.request)}
    if inp.course_map:
        data["course_map"] = inp.course_map
        data["theme"] = {"title": inp.theme.title}
    else:  # no map (a caller outside the graph): the theme's own topics are the context
        data["theme"] = {"title": inp.theme.title, "topics": [t.title for t in inp.topics.topics]}
    data["topic"] = {
        "number": topic_number(inp.theme_index, inp.topic_index),
        "title": topic.title,
        "description": topic.description,
        "key_terms": topic.key_terms,
    }
    data.update(_passages(inp.passages))
    lang = prompt_language(course_language(inp.request))
    rules = grounding_rules(lang, inp.request.options.grounding, bool(inp.passages))
    return _render(CONTENT, inp.request, data, grounding=rules)


def coverage_prompt(inp: CoverageInput) -> PromptValue:
    """Render the coverage prompt: requirement items against the course map."""
    data = {
        "course_name": inp.request.course_name,
        "description": inp.request.description,
        "requirements": [f"{n}. {item}" for n, item in enumerate(inp.items, 1)],
        "course_map": inp.course_map,
    }
    return _render(COVERAGE, inp.request, data)


def polish_prompt(inp: PolishInput) -> PromptValue:
    """Render the polish prompt for one topic's draft."""
    data = {
        "course_name": inp.request.course_name,
        "theme": inp.theme.title,
        "topic": inp.topic.title,
        "draft": inp.content.model_dump(),
    }
    return _render(POLISH, inp.request, data)


def _named(
    chain: Runnable, input_type: type[BaseModel], schema: type[BaseModel], name: str
) -> Runnable:
    """The stage's chain with its input and output types and its run name."""
    output_type = StageResult[schema]  # type: ignore[valid-type]
    # One binding for the types and the name: each layer merges the call's config again.
    return RunnableBinding(
        bound=chain,
        config={"run_name": name},
        custom_input_type=input_type,
        custom_output_type=output_type,
    )


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

    return _named(structured_output(model, schema, mode, render=prompt), input_type, schema, name)


def _shaped_chain(
    render: Any,
    request_of: Any,
    shape_of: Any,
    model: BaseChatModel,
    schema: type[BaseModel],
    input_type: type[BaseModel],
    mode: StructuredMode,
    name: str,
) -> Runnable:
    """A chain whose answer list has the request's count (see `shape.ShapedOutput`)."""
    shaped = ShapedOutput(model, schema, mode)

    def parts(value: Any) -> tuple[PromptValue, ListShape, FollowUpNote]:
        inp = input_type.model_validate(value)
        request = request_of(inp)
        shape = shape_of(request)
        return render(inp), shape, missing_items_note(request, shape.field)

    def run(value: Any, config: RunnableConfig) -> StageResult[Any]:
        return shaped.invoke(*parts(value), config)

    async def arun(value: Any, config: RunnableConfig) -> StageResult[Any]:
        return await shaped.ainvoke(*parts(value), config)

    return _named(RunnableLambda(run, afunc=arun), input_type, schema, name)


def build_outline_chain(
    model: BaseChatModel, mode: StructuredMode = "json_schema"
) -> Runnable[CourseRequest, StageResult[Outline]]:
    """Chain: CourseRequest -> StageResult[Outline] with exactly the themes asked for."""
    return _shaped_chain(
        outline_prompt, lambda r: r, outline_shape, model, Outline, CourseRequest, mode, "outline"
    )


def build_topics_chain(
    model: BaseChatModel, mode: StructuredMode = "json_schema"
) -> Runnable[TopicsInput, StageResult[ThemeTopics]]:
    """Chain: TopicsInput -> StageResult[ThemeTopics] with exactly the topics asked for."""
    return _shaped_chain(
        topics_prompt,
        lambda inp: inp.request,
        topics_shape,
        model,
        ThemeTopics,
        TopicsInput,
        mode,
        "topics",
    )


def build_coverage_chain(
    model: BaseChatModel, mode: StructuredMode = "json_schema"
) -> Runnable[CoverageInput, StageResult[CoverageMap]]:
    """Chain: CoverageInput -> StageResult[CoverageMap]."""
    return _chain(coverage_prompt, model, CoverageMap, CoverageInput, mode, "coverage")


def build_content_chain(
    model: BaseChatModel, mode: StructuredMode = "json_schema"
) -> Runnable[ContentInput, StageResult[TopicContent]]:
    """Chain: ContentInput -> StageResult[TopicContent]; only a call with source passages is
    offered the `citations` field."""
    cited = _chain(content_prompt, model, TopicContent, ContentInput, mode, "content")
    uncited = _chain(content_prompt, model, UncitedContent, ContentInput, mode, "content")
    return _ContentBySources(cited, uncited)


class _ContentBySources(Runnable[ContentInput, StageResult[TopicContent]]):
    """The content chain: the cited or the uncited one, by whether the call has passages.

    It hands the call on without a LangChain run of its own, so tracers and
    `astream_events` see one `content` run, as for every other stage, not two nested ones.
    """

    name = "content"

    def __init__(self, cited: Runnable, uncited: Runnable) -> None:
        self.cited, self.uncited = cited, uncited

    @property
    def InputType(self) -> type[ContentInput]:
        return ContentInput

    @property
    def OutputType(self) -> Any:
        return StageResult[TopicContent]

    def invoke(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> StageResult[TopicContent]:
        chain, has_citations = self._pick(input)
        result = chain.invoke(input, config, **kwargs)
        return result if has_citations else _typed(result)

    async def ainvoke(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> StageResult[TopicContent]:
        chain, has_citations = self._pick(input)
        result = await chain.ainvoke(input, config, **kwargs)
        return result if has_citations else _typed(result)

    def _pick(self, value: Any) -> tuple[Runnable, bool]:
        if ContentInput.model_validate(value).passages:
            return self.cited, True
        return self.uncited, False


def _typed(result: StageResult[Any]) -> StageResult[TopicContent]:
    output = TopicContent.model_validate(result.output.model_dump())
    return StageResult[TopicContent](output=output, usage=result.usage)


def build_polish_chain(
    model: BaseChatModel, mode: StructuredMode = "json_schema"
) -> Runnable[PolishInput, StageResult[PolishedTopic]]:
    """Chain: PolishInput -> StageResult[PolishedTopic]."""
    return _chain(polish_prompt, model, PolishedTopic, PolishInput, mode, "polish")


@dataclass(frozen=True)
class CourseChains:
    """The stage chains built on one model."""

    outline: Runnable[Any, StageResult[Outline]]
    topics: Runnable[Any, StageResult[ThemeTopics]]
    coverage: Runnable[Any, StageResult[CoverageMap]]
    content: Runnable[Any, StageResult[TopicContent]]
    polish: Runnable[Any, StageResult[PolishedTopic]]


def build_course_chains(model: BaseChatModel, mode: StructuredMode = "json_schema") -> CourseChains:
    """Build all stage chains on one model."""
    return CourseChains(
        outline=build_outline_chain(model, mode),
        topics=build_topics_chain(model, mode),
        coverage=build_coverage_chain(model, mode),
        content=build_content_chain(model, mode),
        polish=build_polish_chain(model, mode),
    )
