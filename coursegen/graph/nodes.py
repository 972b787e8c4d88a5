"""Implement the graph's nodes: outline, review, per-theme writing and assembly."""

import asyncio
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

from langgraph.config import get_stream_writer
from langgraph.errors import GraphBubbleUp
from langgraph.runtime import Runtime
from langgraph.types import Send, interrupt
from pydantic import BaseModel

from coursegen.chains.language import course_language
from coursegen.chains.schemas import (
    Course,
    CourseRequest,
    CourseTheme,
    CourseTopic,
    CourseUsage,
    Outline,
    Stage,
    ThemeOutline,
    ThemeTopics,
)
from coursegen.chains.stages import ContentInput, CourseChains, PolishInput, TopicsInput
from coursegen.chains.structured import StructuredOutputError
from coursegen.graph.context import Context
from coursegen.graph.events import TokenRelay
from coursegen.graph.grounding import (
    ground,
    keep_citations,
    source_digest,
    topic_passages,
    with_digest,
)
from coursegen.graph.state import RegenerateState, State, ThemeResult, ThemeTask, TopicResult
from coursegen.graph.tasks import llm_call, topic_task

ChainsResolver = Callable[[Runtime[Context] | None], CourseChains]


ModelT = TypeVar("ModelT", bound=BaseModel)


def _dump(value: Any) -> Any:
    return value.model_dump(mode="json") if hasattr(value, "model_dump") else value


def _model(cls: type[ModelT], value: Any) -> ModelT:
    """Accept a model or its JSON form: `langgraph dev` and the HTTP API pass plain JSON."""
    return value if isinstance(value, cls) else cls.model_validate(value)


def _at_most(value: ModelT, field: str, count: int | None) -> ModelT:
    """Keep the first `count` items a model proposed when the request fixed the count.

    Small models ignore "exactly N"; a course must still have the shape that was asked for.
    """
    items = getattr(value, field)
    if count is None or len(items) <= count:
        return value
    return value.model_copy(update={field: items[:count]})


def _spent(stage: Stage, exc: Exception) -> CourseUsage:
    """What a failed call still cost (an answer that failed validation was paid for)."""
    if isinstance(exc, StructuredOutputError):
        return CourseUsage().add(stage, exc.usage)
    return CourseUsage()


def _course_theme(theme: ThemeOutline, result: ThemeResult | None) -> CourseTheme:
    if result is None or result.topics is None:
        error = result.error if result else None
        return CourseTheme(title=theme.title, description=theme.description, error=error)
    topics = [
        CourseTopic(
            title=t.title,
            description=t.description,
            content=r.content,
            polished=r.polished,
            error=r.error,
            citations=r.citations,
            citations_dropped=r.citations_dropped,
        )
        for t, r in zip(result.topics.topics, result.results, strict=True)
    ]
    return CourseTheme(title=theme.title, description=theme.description, topics=topics)


class CourseNodes:
    """The nodes of the course graph, bound to a way of getting the stage chains."""

    def __init__(self, resolve_chains: ChainsResolver) -> None:
        self.resolve_chains = resolve_chains

    async def plan_outline(self, state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        """Write the course outline (stage 1)."""
        request = _model(CourseRequest, state["request"])
        language = course_language(request)
        chains = self.resolve_chains(runtime)
        done = await llm_call("outline", chains.outline, await with_digest(request))
        outline = _at_most(_model(Outline, done["output"]), "themes", request.options.themes)
        get_stream_writer()({"type": "outline", "outline": _dump(outline), "language": language})
        return {
            "request": request,
            "outline": outline,
            "language": language,
            "usage": CourseUsage().add("outline", done["usage"]),
        }

    async def review_outline(self, state: State) -> dict[str, Any]:
        """Pause for a person to approve or edit the outline, when the request asks for it."""
        if not _model(CourseRequest, state["request"]).options.review_outline:
            return {}
        answer = interrupt({"type": "review", "outline": _dump(state["outline"])})
        if isinstance(answer, dict) and answer.get("outline"):
            edited = Outline.model_validate(answer["outline"])
            get_stream_writer()({"type": "outline", "outline": _dump(edited), "edited": True})
            return {"outline": edited}
        return {}

    def fan_out_themes(self, state: State) -> list[Send]:
        """Send every theme to its own `write_theme` branch."""
        outline = _model(Outline, state["outline"])
        return [
            Send(
                "write_theme",
                ThemeTask(
                    request=_model(CourseRequest, state["request"]),
                    language=state["language"],
                    outline=outline,
                    theme_index=i,
                ),
            )
            for i in range(len(outline.themes))
        ]

    async def write_theme(self, task: ThemeTask, runtime: Runtime[Context]) -> dict[str, Any]:
        """Plan one theme's topics, then write every topic concurrently (stages 2–4).

        Topics of one theme start as soon as that theme's topic list is ready, without
        waiting for other themes, and each topic's polish follows its own content.
        """
        chains = self.resolve_chains(runtime)
        index = task["theme_index"]
        task = ThemeTask(
            request=_model(CourseRequest, task["request"]),
            language=task["language"],
            outline=_model(Outline, task["outline"]),
            theme_index=index,
        )
        inputs = TopicsInput(
            request=task["request"],
            outline=task["outline"],
            theme_index=index,
            source_digest=await source_digest(task["request"]),
        )
        try:
            done = await llm_call("topics", chains.topics, inputs)
        except GraphBubbleUp:
            raise
        except Exception as exc:  # one theme's failure must not lose the other themes
            message = f"{type(exc).__name__}: {exc}"
            get_stream_writer()(
                {
                    "type": "error",
                    "theme": index,
                    "code": "theme_failed",
                    "message": message,
                    "retryable": True,
                }
            )
            failed = ThemeResult(topics=None, results=[], error=message)
            return {"themes": {index: failed}, "usage": _spent("topics", exc)}
        wanted = task["request"].options.topics_per_theme
        topics = _at_most(_model(ThemeTopics, done["output"]), "topics", wanted)
        get_stream_writer()({"type": "topics", "theme": index, "topics": _dump(topics)})
        usage = CourseUsage().add("topics", done["usage"])
        written = await asyncio.gather(
            *(
                topic_task(partial(self._write_topic, chains, task, topics, j))
                for j in range(len(topics.topics))
            )
        )
        results = [result for result, _ in written]
        for _, topic_usage in written:
            usage = usage + topic_usage
        return {"themes": {index: ThemeResult(topics=topics, results=results)}, "usage": usage}

    async def _write_topic(
        self, chains: CourseChains, task: ThemeTask, topics: ThemeTopics, j: int
    ) -> tuple[TopicResult, CourseUsage]:
        theme_index = task["theme_index"]
        theme = task["outline"].themes[theme_index]
        writer = get_stream_writer()
        where = {"theme": theme_index, "topic": j}
        usage = CourseUsage()
        content = None
        try:
            passages = await topic_passages(task["request"], theme, topics.topics[j])
            inputs = ContentInput(
                request=task["request"],
                theme=theme,
                topics=topics,
                topic_index=j,
                passages=passages,
            )
            done = await llm_call(
                "content", chains.content, inputs, TokenRelay(writer, "content", theme_index, j)
            )
            content, citations, dropped = ground(done["output"], passages)
            usage = usage.add("content", done["usage"])
            writer({"type": "content", **where, "content": _dump(content)})
            polish_in = PolishInput(
                request=task["request"], theme=theme, topic=topics.topics[j], content=content
            )
            done = await llm_call(
                "polish", chains.polish, polish_in, TokenRelay(writer, "polish", theme_index, j)
            )
            usage = usage.add("polish", done["usage"])
            polished = keep_citations(done["output"], citations)
            writer({"type": "polished", **where, "polished": _dump(polished)})
            result = TopicResult(
                content=content,
                polished=polished,
                citations=citations,
                citations_dropped=dropped,
            )
            return result, usage
        except GraphBubbleUp:
            raise
        except Exception as exc:  # one topic's failure must not lose the rest of the course
            message = f"{type(exc).__name__}: {exc}"
            writer(
                {
                    "type": "error",
                    **where,
                    "code": "topic_failed",
                    "message": message,
                    "retryable": True,
                }
            )
            stage: Stage = "content" if content is None else "polish"
            return TopicResult(content=content, error=message), usage + _spent(stage, exc)

    async def regenerate(self, state: RegenerateState, runtime: Runtime[Context]) -> dict[str, Any]:
        """Rewrite one theme (its topics and their material) or one topic of a course."""
        course, i, j = state["course"], state["theme_index"], state.get("topic_index")
        request = state["request"]
        if state.get("instructions"):
            requirements = f"{request.requirements}\n\nRevision request: {state['instructions']}"
            request = request.model_copy(update={"requirements": requirements.strip()})
        outline = Outline.model_validate({"themes": course["themes"]})
        task = ThemeTask(
            request=request, language=course["language"], outline=outline, theme_index=i
        )
        if j is None:
            return await self.write_theme(task, runtime)
        topics = ThemeTopics.model_validate({"topics": course["themes"][i]["topics"]})
        _, usage = await self._write_topic(self.resolve_chains(runtime), task, topics, j)
        return {"usage": usage}

    async def assemble(self, state: State) -> dict[str, Any]:
        """Assemble the course in outline order from the per-theme results."""
        request = _model(CourseRequest, state["request"])
        outline = _model(Outline, state["outline"])
        results = {int(i): _model(ThemeResult, r) for i, r in (state.get("themes") or {}).items()}
        themes = [_course_theme(theme, results.get(i)) for i, theme in enumerate(outline.themes)]
        course = Course(
            course_name=request.course_name,
            description=request.description,
            requirements=request.requirements,
            language=state["language"],
            themes=themes,
            usage=_model(CourseUsage, state.get("usage") or {}),
        )
        return {"course": course}
