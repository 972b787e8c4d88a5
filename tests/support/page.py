"""Drive and read the web page in tests: scripted lessons, waits, what the page shows."""

import os
import re
import shutil
from pathlib import Path
from typing import Any

import httpx

from tests.support.scripted_llm import Call, default_answer

STEP_MS = 10_000  # the longest any single page interaction may take
DONE_MS = 25_000  # a whole (slowed) course


def lesson_script(call: Call) -> dict[str, Any] | None:
    """Answers with real Markdown in the lessons (headings, lists, code), Russian or not."""
    answer = default_answer(call)
    if call.schema not in ("TopicContent", "PolishedTopic"):
        return None
    topic = call.data.get("topic", {})
    title = topic.get("title", "") if isinstance(topic, dict) else str(topic)
    ru = "Пиши на" in call.system
    if call.schema == "TopicContent":
        answer["body_markdown"] = f"## {title}\n\n" + (
            "В этом уроке — **главное** о теме и *немного* практики.\n\n"
            "- переменные и `print()`\n- условия `if`\n- циклы\n\n"
            "```python\nfor i in range(3):\n    print(i)\n```\n"
            if ru
            else "This lesson covers the **essentials** and a *little* practice.\n\n"
            "- variables and `print()`\n- `if` statements\n- loops\n\n"
            "```python\nfor i in range(3):\n    print(i)\n```\n"
        )
    else:
        draft = call.data.get("draft", {})
        answer["body_markdown"] = draft.get("body_markdown", "").replace("главное", "самое главное")
        answer["summary"] = (
            f"Кратко: что даёт урок «{title}»." if ru else f"In short: what «{title}» gives you."
        )
    return answer


async def snapshot(client: httpx.AsyncClient, job: str) -> dict[str, Any]:
    response = await client.get(f"/courses/{job}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def topics_of(course: dict[str, Any]) -> list[tuple[int, int, dict[str, Any]]]:
    return [
        (i, j, topic)
        for i, theme in enumerate(course["themes"])
        for j, topic in enumerate(theme["topics"])
    ]


def save_docs_screenshot(source: Path, name: str) -> None:
    """Copy a screenshot into docs/ when COURSEGEN_WEB_SCREENSHOTS=1 (to refresh docs/web.md)."""
    if os.environ.get("COURSEGEN_WEB_SCREENSHOTS") == "1":
        docs = Path(__file__).resolve().parents[2] / "docs"
        shutil.copyfile(source, docs / name)


async def wait_status(page: Any, status: str, timeout: int = DONE_MS) -> None:
    await page.wait_for_selector(f'#status[data-status="{status}"]', timeout=timeout)


async def wait_caught_up(page: Any, client: httpx.AsyncClient, job: str) -> None:
    """Wait until the page shows every event the server has stored for a finished job."""
    last = (await snapshot(client, job))["last_event_id"]
    await page.wait_for_function(
        f"() => Number(document.querySelector('#view').dataset.lastEventId) >= {last}"
    )


def job_of(page: Any) -> str:
    match = re.search(r"[?&]job=([0-9a-f]+)", page.url)
    assert match, page.url
    return match.group(1)


async def rendered_topics(page: Any) -> dict[str, dict[str, str]]:
    """Every topic on the page: its state, the writing box, the rendered material."""
    return dict(
        await page.evaluate(
            """() => Object.fromEntries([...document.querySelectorAll("li.topic")].map((li) => [
                 `${li.dataset.theme}/${li.dataset.topic}`,
                 {state: li.dataset.state,
                  title: li.querySelector(".topic-title").textContent,
                  label: li.querySelector(".writing").hidden ? "" :
                         li.querySelector(".writing-label").textContent,
                  writing: li.querySelector(".writing").hidden ? "" :
                           li.querySelector(".writing-text").textContent,
                  kind: li.querySelector(".material .badge")?.textContent || "",
                  material: li.querySelector(".material").innerText}]))"""
        )
    )


async def assert_course_rendered(page: Any, course: dict[str, Any]) -> None:
    """The page shows every theme and topic of `course`, each with its polished material."""
    topics = topics_of(course)
    titles = await page.locator("li.theme > h3").all_inner_texts()
    assert [t.split(" ", 1)[1] for t in titles] == [t["title"] for t in course["themes"]]
    shown = await rendered_topics(page)
    assert len(shown) == len(topics)
    assert await page.locator('li.topic[data-state="polished"]').count() == len(topics)
    assert await page.locator(".writing:visible").count() == 0
    for i, j, topic in topics:
        material = shown[f"{i}/{j}"]["material"]
        polished = topic["polished"]
        assert polished is not None, (i, j)
        assert polished["summary"] in material
        for point in polished["key_points"]:
            assert point.replace("`", "") in material
        for question in topic["content"]["self_check"]:
            assert question["question"] in material
