"""The course has the shape that was asked for, whatever list lengths the model picks."""

from collections import Counter

import httpx

from tests.support.jobs import create, wait_status
from tests.support.scripted_llm import ScriptedLLM
from tests.support.sse import read_events


async def test_8x5_from_a_model_that_ignores_counts(
    client: httpx.AsyncClient, scripted_llm: ScriptedLLM
) -> None:
    scripted_llm.list_count = lambda asked: 4  # 4 themes, 4 topics, whatever is asked
    job = await create(client, themes=8, topics=5)
    done = await wait_status(client, job, {"completed", "failed"}, timeout=120)
    assert done["status"] == "completed", done.get("error")

    course = done["course"]
    assert [len(theme["topics"]) for theme in course["themes"]] == [5] * 8
    assert all(t["polished"] and not t["error"] for th in course["themes"] for t in th["topics"])
    assert course["themes"][0]["title"] == "Theme 1"  # the introduction stays first
    follow_ups = 1 + 8  # the outline's 4 missing themes, and each theme's missing topic
    assert len(scripted_llm.calls) == 89 + follow_ups
    assert Counter(c.schema for c in scripted_llm.calls) == {
        "Outline": 2,
        "ThemeTopics": 16,
        "TopicContent": 40,
        "PolishedTopic": 40,
    }
    assert done["usage"]["total"]["calls"] == 89 + follow_ups
    report = (await client.get(f"/courses/{job}/report")).json()
    assert report["shape"] == {
        "requested": {"themes": 8, "topics_per_theme": 5},
        "delivered": {"themes": 8, "topics_per_theme": [5] * 8, "lessons_failed": 0},
        "ok": True,
    }
    assert report["usage"]["total"]["calls"] == 89 + follow_ups


async def test_a_list_still_short_after_the_follow_up_is_a_clear_error(
    client: httpx.AsyncClient, scripted_llm: ScriptedLLM
) -> None:
    scripted_llm.list_count = lambda asked: 1
    job = await create(client, themes=3, topics=2)
    events = await read_events(client, f"/courses/{job}/events")
    (error,) = [e.data for e in events if e.event == "error"]
    assert error["code"] == "short_output"
    assert "gave 2 themes where exactly 3 were asked for" in error["message"]
    assert events[-1].data == {"status": "failed"}
    assert len(scripted_llm.calls) == 2  # the outline and its one follow-up, nothing more
