"""Hold outline and topics lists to the requested counts over every structured-output method."""

import pytest

from coursegen.chains.shape import ShortAnswerError
from coursegen.chains.stages import TopicsInput, build_outline_chain, build_topics_chain
from coursegen.domain import CourseOptions, CourseRequest, Outline, ThemeOutline
from fakes.openai_requests import sent_schema
from tests.support.scripted_llm import Call, Reply, ScriptedLLM

MODES = ["json_schema", "json_mode", "function_calling"]


def _request(themes: int | None = None, topics: int | None = None) -> CourseRequest:
    return CourseRequest(
        course_name="Soil science",
        language="en",
        options=CourseOptions(themes=themes, topics_per_theme=topics),
    )


def _bounds(llm: ScriptedLLM, call: int, field: str) -> tuple[int, int]:
    sent = sent_schema(llm.calls[call].body)["properties"][field]
    return sent["minItems"], sent["maxItems"]


@pytest.mark.parametrize("mode", MODES)
async def test_the_count_travels_in_the_schema(model, scripted_llm, mode):
    result = await build_outline_chain(model, mode).ainvoke(_request(themes=6))
    assert len(result.output.themes) == 6
    assert _bounds(scripted_llm, 0, "themes") == (6, 6)
    assert len(scripted_llm.calls) == 1


@pytest.mark.parametrize("mode", MODES)
async def test_too_few_themes_get_one_follow_up_for_the_missing_ones(model, scripted_llm, mode):
    scripted_llm.list_count = lambda asked: asked - 3 if asked > 3 else asked
    result = await build_outline_chain(model, mode).ainvoke(_request(themes=8))

    assert [t.title for t in result.output.themes] == [f"Theme {i}" for i in range(1, 9)]
    first, follow_up = scripted_llm.calls
    assert _bounds(scripted_llm, 1, "themes") == (3, 3)  # just the missing ones
    note = str(follow_up.messages[-1]["content"])
    assert "5 of the 8 items" in note and "exactly 3" in note
    # the follow-up shows the themes given so far, the introduction first among them
    assert "Theme 1" in str(follow_up.messages[-2]["content"])
    assert result.usage.calls == 2
    assert first.data == follow_up.data


@pytest.mark.parametrize("mode", MODES)
async def test_a_follow_up_that_repeats_the_given_items_is_still_short(model, scripted_llm, mode):
    # a model that repeats itself: the follow-up gives the first four themes again
    def script(call: Call) -> Reply:
        themes = [{"title": f"Theme {i}", "description": "d"} for i in (1, 2, 3, 4)]
        return {"themes": themes} if call.schema == "Outline" else None

    scripted_llm.script = script
    with pytest.raises(ShortAnswerError, match="gave 4 themes where exactly 8") as err:
        await build_outline_chain(model, mode).ainvoke(_request(themes=8))
    assert "(the follow-up repeated 4 themes given before)" in str(err.value)
    assert len(scripted_llm.calls) == 2


@pytest.mark.parametrize("mode", MODES)
async def test_a_follow_up_keeps_its_new_items_and_drops_the_repeated(model, scripted_llm, mode):
    def script(call: Call) -> Reply:
        if call.schema != "Outline":
            return None
        first = len(scripted_llm.calls_for("Outline")) == 1
        numbers = (1, 2, 3) if first else (2, 4)  # " theme 2 " repeats "Theme 2"
        return {
            "themes": [
                {
                    "title": f"{' theme' if n == 2 and not first else 'Theme'} {n} ",
                    "description": "d",
                }
                for n in numbers
            ]
        }

    scripted_llm.script = script
    with pytest.raises(ShortAnswerError, match="gave 4 themes where exactly 5"):
        await build_outline_chain(model, mode).ainvoke(_request(themes=5))
    scripted_llm.reset()
    result = await build_outline_chain(model, mode).ainvoke(_request(themes=4))
    assert [t.title.strip() for t in result.output.themes] == [
        "Theme 1",
        "Theme 2",
        "Theme 3",
        "Theme 4",
    ]


@pytest.mark.parametrize("mode", MODES)
async def test_repeats_within_the_first_answer_are_dropped_and_followed_up(
    model, scripted_llm, mode
):
    # a model that repeats itself within one list: 8 themes, the last four the first four again
    def script(call: Call) -> Reply:
        if call.schema != "Outline":
            return None
        first = len(scripted_llm.calls_for("Outline")) == 1
        numbers = (1, 2, 3, 4, 1, 2, 3, 4) if first else (5, 6, 7, 8)
        return {"themes": [{"title": f"Theme {n}", "description": "d"} for n in numbers]}

    scripted_llm.script = script
    result = await build_outline_chain(model, mode).ainvoke(_request(themes=8))
    assert [t.title for t in result.output.themes] == [f"Theme {n}" for n in range(1, 9)]
    assert len(scripted_llm.calls) == 2  # the first answer and one follow-up for 4


@pytest.mark.parametrize("mode", MODES)
async def test_repeats_within_the_follow_up_count_once(model, scripted_llm, mode):
    def script(call: Call) -> Reply:
        if call.schema != "Outline":
            return None
        first = len(scripted_llm.calls_for("Outline")) == 1
        numbers = (1, 2, 3) if first else (4, 4)  # the follow-up gives one new theme, twice
        return {"themes": [{"title": f"Theme {n}", "description": "d"} for n in numbers]}

    scripted_llm.script = script
    with pytest.raises(ShortAnswerError, match="gave 4 themes where exactly 5"):
        await build_outline_chain(model, mode).ainvoke(_request(themes=5))


@pytest.mark.parametrize("mode", MODES)
async def test_too_many_topics_are_cut(model, scripted_llm, mode):
    scripted_llm.list_count = lambda asked: asked + 4
    outline = Outline(themes=[ThemeOutline(title="Basics", description="d")])
    inp = TopicsInput(request=_request(topics=3), outline=outline, theme_index=0)
    result = await build_topics_chain(model, mode).ainvoke(inp)

    assert [t.title for t in result.output.topics] == [f"Basics / Topic {i}" for i in (1, 2, 3)]
    assert len(scripted_llm.calls) == 1 and _bounds(scripted_llm, 0, "topics") == (3, 3)


@pytest.mark.parametrize("mode", MODES)
async def test_still_short_after_the_follow_up_is_an_error(model, scripted_llm, mode):
    scripted_llm.list_count = lambda asked: 1
    outline = Outline(themes=[ThemeOutline(title="Basics", description="d")])
    inp = TopicsInput(request=_request(topics=4), outline=outline, theme_index=0)
    with pytest.raises(ShortAnswerError, match="gave 2 topics where exactly 4 were asked") as err:
        await build_topics_chain(model, mode).ainvoke(inp)
    assert len(scripted_llm.calls) == 2
    assert err.value.usage.calls == 2


async def test_unset_counts_stay_within_the_documented_bounds(model, scripted_llm):
    scripted_llm.list_count = lambda asked: 12
    many = await build_outline_chain(model).ainvoke(_request())
    assert len(many.output.themes) == 8
    assert _bounds(scripted_llm, 0, "themes") == (4, 8)

    scripted_llm.reset()
    scripted_llm.list_count = lambda asked: 2 if asked == 4 else asked
    few = await build_outline_chain(model).ainvoke(_request())
    assert len(few.output.themes) == 4
    assert _bounds(scripted_llm, 1, "themes") == (2, 2)


def test_sync_invoke_follows_up_too(model, scripted_llm):
    scripted_llm.list_count = lambda asked: asked - 1 if asked > 1 else asked
    result = build_outline_chain(model).invoke(_request(themes=5))
    assert [t.title for t in result.output.themes] == [f"Theme {i}" for i in range(1, 6)]
    assert len(scripted_llm.calls) == 2
