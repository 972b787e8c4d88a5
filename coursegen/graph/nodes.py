"""Implement the graph nodes: outline, review, topics per theme, plan, lessons, assembly."""
# ~350 lines on purpose: one class holds every node, so the graph builder wires methods of one
# object that shares its chain resolver; each method is one node and reads on its own.

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from langgraph.config import get_stream_writer
from langgraph.errors import GraphBubbleUp
from langgraph.runtime import Runtime
from langgraph.types import Send, interrupt
from pydantic import BaseModel

from coursegen.chains.language import course_language
from coursegen.chains.plan import course_map, glossary
from coursegen.chains.shape import ShortAnswerError
from coursegen.chains.stages import ContentInput, CourseChains, PolishInput, TopicsInput
from coursegen.chains.structured import StructuredOutputError, TruncatedAnswer
from coursegen.domain import (
    Course,
    CourseRequest,
    CourseTheme,
    CourseTopic,
    CourseUsage,
    EditedOutline,
    Outline,
    ThemeOutline,
    ThemeTopics,
)
from coursegen.graph.context import Context
from coursegen.graph.coverage import check_coverage
from coursegen.graph.events import TokenRelay
from coursegen.graph.grounding import (
    ground,
    keep_citations,
    source_digest,
    topic_passages,
    with_digest,
)
from coursegen.graph.state import (
    State,
    ThemeResult,
    ThemeTask,
    TopicResult,
    TopicTask,
)
from coursegen.graph.tasks import llm_call
from coursegen.names import Stage

ChainsResolver = Callable[[Runtime[Context] | None], CourseChains]


ModelT = TypeVar("ModelT", bound=BaseModel)


def _dump(value: Any) -> Any:
    return value.model_dump(mode="json") if hasattr(value, "model_dump") else value


def _model(cls: type[ModelT], value: Any) -> ModelT:
    """Accept a model or its JSON form: `langgraph dev` and the HTTP API pass plain JSON."""
    return value if isinstance(value, cls) else cls.model_validate(value)


def _spent(stage: Stage, exc: Exception) -> CourseUsage:
    """What a failed call still cost (an answer that failed validation was paid for)."""
    if isinstance(exc, StructuredOutputError | ShortAnswerError | TruncatedAnswer):
        return CourseUsage().add(stage, exc.usage)
    return CourseUsage()


def _failure(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"


def lesson_key(theme_index: int, topic_index: int) -> str:
    """The `lessons` key of a topic (zero-based indexes)."""
    return f"{theme_index}.{topic_index}"


def _plans(state: State) -> list[ThemeTopics | None]:
    """Each theme's planned topics in outline order (None where planning failed)."""
    outline = _model(Outline, state["outline"])
    results = {int(i): _model(ThemeResult, r) for i, r in (state.get("themes") or {}).items()}
    return [results[i].topics if i in results else None for i in range(len(outline.themes))]


def _course_theme(
    theme: ThemeOutline, result: ThemeResult | None, lessons: Sequence[TopicResult | None]
) -> CourseTheme:
    if result is None or result.topics is None:
        error = result.error if result else None
        return CourseTheme(title=theme.title, description=theme.description, error=error)
    topics = [
        CourseTopic(
            title=t.title,
            description=t.description,
            key_terms=t.key_terms,
            content=r.content if r else None,
            polished=r.polished if r else None,
            error=r.error if r else None,
            citations=r.citations if r else [],
            citations_dropped=r.citations_dropped if r else 0,
        )
        for t, r in zip(result.topics.topics, lessons, strict=True)
    ]
    return CourseTheme(title=theme.title, description=theme.description, topics=topics)


class CourseNodes:
    """The nodes of the course graph, bound to a way of getting the stage chains."""

    def __init__(self, resolve_chains: ChainsResolver) -> None:
        self.resolve_chains = resolve_chains

    async def plan_outline(self, state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        """Write the course outline (stage 1), with exactly the themes asked for."""
        request = _model(CourseRequest, state["request"])
        language = course_language(request)
        chains = self.resolve_chains(runtime)
        relay = TokenRelay(get_stream_writer(), "outline")
        done = await llm_call("outline", chains.outline, await with_digest(request), relay)
        outline = _model(Outline, done["output"])
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
            # Held to a request's limits here too, not only by the jobs API: a resume from
            # elsewhere (`langgraph dev`) must not fan out more themes than a request may.
            edited = Outline.model_validate(
                EditedOutline.model_validate(answer["outline"]).model_dump()
            )
            get_stream_writer()({"type": "outline", "outline": _dump(edited), "edited": True})
            return {"outline": edited}
        return {}

    def fan_out_themes(self, state: State) -> list[Send]:
        """Send every theme to its own `plan_topics` branch."""
        outline = _model(Outline, state["outline"])
        request = _model(CourseRequest, state["request"])
        return [
            Send(
                "plan_topics",
                ThemeTask(
                    request=request, language=state["language"], outline=outline, theme_index=i
                ),
            )
            for i in range(len(outline.themes))
        ]

    async def plan_topics(self, task: ThemeTask, runtime: Runtime[Context]) -> dict[str, Any]:
        """Plan one theme's topics (stage 2), each with the key terms it introduces."""
        index, revision = task["theme_index"], bool(task.get("must_cover"))
        result, usage = await self.plan_theme(self.resolve_chains(runtime), task)
        if result.topics is None and revision:  # a failed revision keeps the plan it had
            return {"usage": usage}
        return {"themes": {index: result}, "usage": usage}

    async def plan_theme(
        self, chains: CourseChains, task: ThemeTask
    ) -> tuple[ThemeResult, CourseUsage]:
        """Plan one theme's topics; a failure is reported and returned, not raised."""
        index, writer = task["theme_index"], get_stream_writer()
        inputs = TopicsInput(
            request=_model(CourseRequest, task["request"]),
            outline=_model(Outline, task["outline"]),
            theme_index=index,
            must_cover=task.get("must_cover") or [],
            source_digest=await source_digest(_model(CourseRequest, task["request"])),
        )
        try:
            relay = TokenRelay(get_stream_writer(), "topics", index)
            done = await llm_call("topics", chains.topics, inputs, relay)
        except GraphBubbleUp:
            raise
        except Exception as exc:  # one theme's failure must not lose the other themes
            message = _failure(exc)
            where: dict[str, Any]
            if inputs.must_cover:  # the theme keeps its topics: not an error of the theme
                where = {"code": "revision_failed", "message": f"theme {index + 1}: {message}"}
            else:
                where = {"theme": index, "code": "theme_failed", "message": message}
            writer({"type": "error", **where, "retryable": True})
            return ThemeResult(topics=None, results=[], error=message), _spent("topics", exc)
        topics = _model(ThemeTopics, done["output"])
        writer({"type": "topics", "theme": index, "topics": _dump(topics)})
        result = ThemeResult(topics=topics, results=[])
        return result, CourseUsage().add("topics", done["usage"])

    async def plan_course(self, state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        """After every topic list: the course map, and the requirements coverage check.

        Uncovered items are announced in a `review` event before any lesson is written;
        with `cover_requirements`, the themes named for them are re-planned once.
        """
        outline, plans = _model(Outline, state["outline"]), _plans(state)
        cmap = course_map(outline, plans)
        check = await check_coverage(
            self.resolve_chains(runtime),
            _model(CourseRequest, state["request"]),
            cmap,
            plans,
            may_revise=not state.get("revised"),
        )
        return {
            "course_map": cmap,
            "coverage": check.coverage,
            "revise": check.revise,
            "revised": bool(state.get("revised") or check.revise),
            "usage": check.usage,
        }

    def route_plan(self, state: State) -> list[Send] | str:
        """Re-plan the themes a coverage revision names, else write every planned topic."""
        request = _model(CourseRequest, state["request"])
        outline = _model(Outline, state["outline"])
        if state.get("revise"):
            return [
                Send(
                    "plan_topics",
                    ThemeTask(
                        request=request,
                        language=state["language"],
                        outline=outline,
                        theme_index=int(i),
                        must_cover=items,
                    ),
                )
                for i, items in sorted(state["revise"].items())
            ]
        sends = [
            Send(
                "write_topic",
                TopicTask(
                    request=request,
                    theme=outline.themes[i],
                    theme_index=i,
                    topics=plan,
                    topic_index=j,
                    course_map=state.get("course_map") or [],
                ),
            )
            for i, plan in enumerate(_plans(state))
            if plan is not None
            for j in range(len(plan.topics))
        ]
        return sends or "assemble"

    async def write_topic(self, task: TopicTask, runtime: Runtime[Context]) -> dict[str, Any]:
        """Write one topic: content, then its polish (stages 3–4), in one branch.

        One branch holds both calls, so a topic's polish follows its own content without
        waiting for other topics (a superstep would wait for all of them).
        """
        result, usage = await self.write_lesson(self.resolve_chains(runtime), task)
        key = lesson_key(task["theme_index"], task["topic_index"])
        return {"lessons": {key: result}, "usage": usage}

    async def write_lesson(
        self, chains: CourseChains, task: TopicTask
    ) -> tuple[TopicResult, CourseUsage]:
        """Write one topic's content and polish; a failure is reported and returned."""
        i, j = task["theme_index"], task["topic_index"]
        request = _model(CourseRequest, task["request"])
        theme = _model(ThemeOutline, task["theme"])
        topics = _model(ThemeTopics, task["topics"])
        writer = get_stream_writer()
        where = {"theme": i, "topic": j}
        usage = CourseUsage()
        content = None
        try:
            passages = await topic_passages(request, theme, topics.topics[j])
            inputs = ContentInput(
                request=request,
                theme=theme,
                topics=topics,
                topic_index=j,
                theme_index=i,
                course_map=task["course_map"],
                passages=passages,
            )
            done = await llm_call(
                "content", chains.content, inputs, TokenRelay(writer, "content", i, j)
            )
            content, citations, dropped = ground(done["output"], passages)
            usage = usage.add("content", done["usage"])
            cited = [_dump(c) for c in citations]  # checked: titles and pages as they stream
            writer({"type": "content", **where, "content": _dump(content), "citations": cited})
            polish_in = PolishInput(
                request=request, theme=theme, topic=topics.topics[j], content=content
            )
            done = await llm_call(
                "polish", chains.polish, polish_in, TokenRelay(writer, "polish", i, j)
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
            message = _failure(exc)
            writer(
                {"type": "error", **where, "code": "topic_failed", "message": message}
                | {"retryable": True}
            )
            stage: Stage = "content" if content is None else "polish"
            return TopicResult(content=content, error=message), usage + _spent(stage, exc)

    async def assemble(self, state: State) -> dict[str, Any]:
        """Assemble the course in outline order, with its glossary and requirements coverage."""
        request = _model(CourseRequest, state["request"])
        outline = _model(Outline, state["outline"])
        results = {int(i): _model(ThemeResult, r) for i, r in (state.get("themes") or {}).items()}
        lessons = {k: _model(TopicResult, r) for k, r in (state.get("lessons") or {}).items()}
        themes = []
        for i, theme in enumerate(outline.themes):
            result = results.get(i)
            count = len(result.topics.topics) if result and result.topics else 0
            written = [lessons.get(lesson_key(i, j)) for j in range(count)]
            themes.append(_course_theme(theme, result, written))
        course = Course(
            course_name=request.course_name,
            description=request.description,
            requirements=request.requirements,
            language=state["language"],
            themes=themes,
            usage=_model(CourseUsage, state.get("usage") or {}),
            glossary=glossary(themes),
            coverage=state.get("coverage") or [],
        )
        return {"course": course}
