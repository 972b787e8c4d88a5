"""Implement the regeneration node: rewrite one theme or one topic of a finished course."""

import asyncio
from functools import partial
from typing import Any

from langgraph.runtime import Runtime

from coursegen.chains.plan import course_map
from coursegen.chains.stages import CourseChains
from coursegen.domain import CourseRequest, CourseUsage, Outline, ThemeTopics
from coursegen.graph.context import Context
from coursegen.graph.nodes import CourseNodes
from coursegen.graph.state import RegenerateState, ThemeTask, TopicResult, TopicTask
from coursegen.graph.tasks import topic_task


class RegenerateNodes:
    """The regeneration graph's node, reusing the course graph's planning and writing."""

    def __init__(self, nodes: CourseNodes) -> None:
        self.nodes = nodes

    async def regenerate(self, state: RegenerateState, runtime: Runtime[Context]) -> dict[str, Any]:
        """Rewrite one theme (its topics and their material) or one topic of a course.

        The lessons see the course map of the course as it stands (with the theme's new
        topics when the theme is rewritten).
        """
        course, i, j = state["course"], state["theme_index"], state.get("topic_index")
        request = state["request"]
        if state.get("instructions"):
            requirements = f"{request.requirements}\n\nRevision request: {state['instructions']}"
            request = request.model_copy(update={"requirements": requirements.strip()})
        outline = Outline.model_validate({"themes": course["themes"]})
        plans = [
            ThemeTopics.model_validate({"topics": t["topics"]}) if t.get("topics") else None
            for t in course["themes"]
        ]
        chains = self.nodes.resolve_chains(runtime)
        if j is None:
            task = ThemeTask(
                request=request, language=course["language"], outline=outline, theme_index=i
            )
            result, usage = await self.nodes.plan_theme(chains, task)
            if result.topics is None:
                return {"themes": {i: result}, "usage": usage}
            plans[i] = result.topics
            written = await self._write_theme(chains, request, outline, plans, i)
            for _, topic_usage in written:
                usage = usage + topic_usage
            result = result.model_copy(update={"results": [r for r, _ in written]})
            return {"themes": {i: result}, "usage": usage}
        topic = self._topic_task(request, outline, plans, i, j)
        _, usage = await self.nodes.write_lesson(chains, topic)
        return {"usage": usage}

    def _topic_task(
        self,
        request: CourseRequest,
        outline: Outline,
        plans: list[ThemeTopics | None],
        i: int,
        j: int,
    ) -> TopicTask:
        topics = plans[i]
        assert topics is not None
        return TopicTask(
            request=request,
            theme=outline.themes[i],
            theme_index=i,
            topics=topics,
            topic_index=j,
            course_map=course_map(outline, plans),
        )

    async def _write_theme(
        self,
        chains: CourseChains,
        request: CourseRequest,
        outline: Outline,
        plans: list[ThemeTopics | None],
        i: int,
    ) -> list[tuple[TopicResult, CourseUsage]]:
        topics = plans[i]
        assert topics is not None
        return list(
            await asyncio.gather(
                *(
                    topic_task(
                        partial(
                            self.nodes.write_lesson,
                            chains,
                            self._topic_task(request, outline, plans, i, j),
                        )
                    )
                    for j in range(len(topics.topics))
                )
            )
        )
