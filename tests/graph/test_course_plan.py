"""A course that knows itself: course map, key terms and glossary, requirements coverage."""

import json
from collections.abc import Callable
from typing import Any

from coursegen.chains.estimate import estimate_course
from coursegen.domain import Course, CourseOptions, CourseRequest
from coursegen.graph import build_graph
from coursegen.graph.graph import make_regenerate_builder
from tests.support.scripted_llm import Call, Fault, Reply, ScriptedLLM


def request(requirements: str = "", **options: Any) -> CourseRequest:
    return CourseRequest(
        course_name="Data Engineering Basics",
        description="Pipelines and storage.",
        requirements=requirements,
        language="en",
        options=CourseOptions(themes=3, topics_per_theme=2, **options),
    )


async def run(llm: ScriptedLLM, model: Any, req: CourseRequest) -> tuple[Course, list[dict]]:
    events: list[dict[str, Any]] = []
    course = None
    async for mode, chunk in build_graph(model=model).astream(
        {"request": req}, stream_mode=["custom", "values"]
    ):
        if mode == "custom" and chunk["type"] != "token":
            events.append(chunk)
        elif mode == "values" and "course" in chunk:
            course = chunk["course"]
    assert isinstance(course, Course)
    return course, events


def uncovered_once(llm: ScriptedLLM) -> Callable[[Call], Reply]:
    """A coverage check that finds item 2 uncovered (fit for theme 3) the first time only."""

    def script(call: Call) -> Reply:
        if call.schema != "CoverageMap" or len(llm.calls_for("CoverageMap")) > 1:
            return None
        return {
            "items": [
                {"item": 1, "topics": ["1.1", "9.9"], "theme": 0},
                {"item": 2, "topics": [], "theme": 3},
            ]
        }

    return script


async def test_every_content_call_sees_the_course_map(scripted_llm: ScriptedLLM, model):
    course, _ = await run(scripted_llm, model, request())

    titles = [(i, j) for i in range(1, 4) for j in range(1, 3)]
    expected_map = []
    for i in range(1, 4):
        expected_map.append(f"{i}. Theme {i}")
        for j in range(1, 3):
            topic = f"Theme {i} / Topic {j}"
            expected_map.append(f"{i}.{j} {topic} — terms: {topic} term")
    contents = scripted_llm.calls_for("TopicContent")
    assert len(contents) == 6
    for call in contents:
        assert call.data["course_map"] == expected_map
    numbers = sorted(call.data["topic"]["number"] for call in contents)
    assert numbers == sorted(f"{i}.{j}" for i, j in titles)
    # one barrier: every topic list was written before the first lesson
    last_topics = max(c.ended or 0 for c in scripted_llm.calls_for("ThemeTopics"))
    assert min(c.started for c in contents) >= last_topics
    # no requirements: no coverage call
    assert not scripted_llm.calls_for("CoverageMap") and course.coverage == []


async def test_topics_declare_terms_and_the_course_carries_a_glossary(
    scripted_llm: ScriptedLLM, model
):
    course, _ = await run(scripted_llm, model, request())

    first = course.themes[1].topics[0]
    assert first.key_terms == ["Theme 2 / Topic 1 term"]
    assert first.content is not None and first.content.definitions[0].term == first.key_terms[0]
    glossary = {(g.term, g.theme, g.topic) for g in course.glossary}
    assert glossary == {
        (f"Theme {i} / Topic {j} term", i, j) for i in range(1, 4) for j in range(1, 3)
    }
    assert all(
        g.definition.endswith(f"defined in Theme {g.theme} / Topic {g.topic}")
        for g in course.glossary
    )


async def test_requirements_are_mapped_once_before_any_lesson(scripted_llm: ScriptedLLM, model):
    course, events = await run(scripted_llm, model, request("Beginner level; worked examples."))

    (coverage,) = scripted_llm.calls_for("CoverageMap")
    assert coverage.data["requirements"] == ["1. Beginner level", "2. worked examples"]
    assert all(c.started >= (coverage.ended or 0) for c in scripted_llm.calls_for("TopicContent"))
    assert [(c.requirement, c.covered_by, c.covered) for c in course.coverage] == [
        ("Beginner level", [[1, 1]], True),
        ("worked examples", [[1, 1]], True),
    ]
    (review,) = [e for e in events if e["type"] == "review"]
    assert review["uncovered"] == [] and review["revising"] == []
    first_content = next(k for k, e in enumerate(events) if e["type"] == "content")
    assert events.index(review) < first_content
    assert course.usage.by_stage["coverage"].calls == 1
    # the estimate predicts the calls exactly, the coverage check included
    assert estimate_course(request("Beginner level; worked examples.")).calls == len(
        scripted_llm.calls
    )


async def test_uncovered_items_revise_the_plan_once_keeping_the_counts(
    scripted_llm: ScriptedLLM, model
):
    scripted_llm.script = uncovered_once(scripted_llm)
    course, events = await run(scripted_llm, model, request("Beginner level; worked examples."))

    reviews = [e for e in events if e["type"] == "review"]
    assert [(r["uncovered"], r["revising"]) for r in reviews] == [
        (["worked examples"], [3]),
        ([], []),
    ]
    topics_calls = scripted_llm.calls_for("ThemeTopics")
    assert len(topics_calls) == 4  # 3 themes + theme 3 re-planned
    assert topics_calls[-1].data["must_cover"] == ["worked examples"]
    assert topics_calls[-1].data["theme"]["title"] == "Theme 3"
    assert len(scripted_llm.calls_for("CoverageMap")) == 2
    assert [len(t.topics) for t in course.themes] == [2, 2, 2]
    assert all(c.covered for c in course.coverage)
    # lessons come after the revision, and only for the final plan
    assert len(scripted_llm.calls_for("TopicContent")) == 6
    revised = max(c.ended or 0 for c in scripted_llm.calls_for("CoverageMap"))
    assert all(c.started >= revised for c in scripted_llm.calls_for("TopicContent"))


async def test_without_cover_requirements_uncovered_items_are_only_reported(
    scripted_llm: ScriptedLLM, model
):
    scripted_llm.script = uncovered_once(scripted_llm)
    req = request("Beginner level; worked examples.", cover_requirements=False)
    course, events = await run(scripted_llm, model, req)

    (review,) = [e for e in events if e["type"] == "review"]
    assert review["uncovered"] == ["worked examples"] and review["revising"] == []
    assert len(scripted_llm.calls_for("ThemeTopics")) == 3
    assert [(c.requirement, c.covered) for c in course.coverage] == [
        ("Beginner level", True),
        ("worked examples", False),
    ]
    # a topic number the plan does not have ("9.9") is dropped, not kept
    assert course.coverage[0].covered_by == [[1, 1]]
    assert json.loads(course.model_dump_json())["coverage"][1]["covered_by"] == []


async def test_regenerating_a_theme_keeps_its_count_and_shows_the_new_map(
    scripted_llm: ScriptedLLM, model
):
    course, _ = await run(scripted_llm, model, request())
    scripted_llm.reset()
    scripted_llm.list_count = lambda asked: asked + 2  # the cut holds here too
    regen = make_regenerate_builder(model).compile()
    inputs = {
        "course": course.model_dump(mode="json"),
        "request": request(),
        "theme_index": 1,
        "topic_index": None,
        "instructions": "more practice",
    }
    out = await regen.ainvoke(inputs)

    result = out["themes"][1]
    assert len(result.topics.topics) == 2 and len(result.results) == 2
    assert all(r.polished is not None for r in result.results)
    assert [c.schema for c in scripted_llm.calls].count("ThemeTopics") == 1
    for call in scripted_llm.calls_for("TopicContent"):
        assert len(call.data["course_map"]) == 3 + 6
        assert call.data["topic"]["number"].startswith("2.")


async def test_a_failed_revision_keeps_the_plan_it_had(scripted_llm: ScriptedLLM, model):
    uncovered = uncovered_once(scripted_llm)

    def script(call: Call) -> Reply:
        if call.schema == "ThemeTopics" and "must_cover" in call.data:
            return Fault("http", status=400)  # not transient: the re-plan fails at once
        return uncovered(call)

    scripted_llm.script = script
    course, events = await run(scripted_llm, model, request("Beginner level; worked examples."))

    errors = [e for e in events if e["type"] == "error"]
    assert [(e["code"], "theme" in e) for e in errors] == [("revision_failed", False)]
    assert errors[0]["message"].startswith("theme 3: ")
    assert [len(t.topics) for t in course.themes] == [2, 2, 2]
    assert all(t.polished is not None for theme in course.themes for t in theme.topics)
    assert course.themes[2].error is None
