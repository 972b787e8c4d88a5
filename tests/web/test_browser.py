"""Drive the web page in headless Chromium against the real app and the scripted model."""

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from coursegen.exports import to_html
from tests.support.hostile_course import build_course
from tests.support.page import (
    DONE_MS,
    assert_course_rendered,
    job_of,
    lesson_script,
    rendered_topics,
    save_docs_screenshot,
    snapshot,
    topics_of,
    wait_caught_up,
    wait_status,
)
from tests.support.scripted_llm import Call, Fault, Reply, ScriptedLLM, default_answer

pytestmark = [pytest.mark.browser, pytest.mark.timeout(30)]


async def test_create_through_the_form_and_watch_it_written(
    page: Any, client: httpx.AsyncClient, scripted_llm: ScriptedLLM, tmp_path: Path
) -> None:
    scripted_llm.script = lesson_script
    scripted_llm.token_s = 0.01
    await page.goto("/")
    assert await page.title() == "coursegen"
    await page.get_by_label("Course name").fill("Основы Python")
    await page.get_by_label("Description").fill("Первый курс программирования")
    await page.get_by_label("Requirements").fill("Для школьников 8–9 классов")
    await page.get_by_label("Language").select_option("ru")
    await page.get_by_label("Themes").fill("2")
    await page.get_by_label("Topics per theme").fill("2")
    await page.get_by_role("button", name="Generate course").click()

    await page.wait_for_url(re.compile(r"/\?job=[0-9a-f]+$"))
    job = job_of(page)
    # The outline arrives, then a topic is written live in the monospace box.
    await page.wait_for_selector("li.theme")
    writing = page.locator(".writing:visible .writing-text").first
    await writing.wait_for()
    await page.wait_for_function(
        """() => [...document.querySelectorAll(".writing:not([hidden]) .writing-text")]
                 .some((pre) => pre.textContent.includes('"body_markdown"'))"""
    )
    assert await page.locator("#status").get_attribute("data-status") == "running"
    assert await page.locator("#cancel").is_visible()
    assert not await page.locator("#exports").is_visible()  # nothing to download yet
    assert not await page.locator("#report").is_visible()  # the report comes at the end
    await page.screenshot(path=tmp_path / "writing.png")

    await wait_status(page, "completed")
    course = (await snapshot(client, job))["course"]
    await assert_course_rendered(page, course)
    assert await page.locator("#status").inner_text() == "Completed"
    assert not await page.locator("#cancel").is_visible()
    progress_text = await page.locator("#progress-text").inner_text()
    assert progress_text.startswith("11 of 11 model calls") and "stage" not in progress_text
    progress = page.locator("#progress")
    assert await progress.get_attribute("value") == await progress.get_attribute("max")
    # Russian text, the lesson's Markdown as elements (never as HTML from the model).
    first = page.locator('li.topic[data-theme="0"][data-topic="0"] .material')
    assert "самое главное" in await first.locator("strong").first.inner_text()
    assert await first.locator("pre.code code").inner_text() == "for i in range(3):\n    print(i)"
    assert await first.locator(".body ul > li").count() == 3
    # The lesson's `##` heading is an h5 below the h4 topic, no smaller than its text.
    sizes = await first.evaluate(
        """(m) => [m.querySelector(".body h5"), m.querySelector(".body p")].map(
             (e) => parseFloat(getComputedStyle(e).fontSize))"""
    )
    assert sizes[0] >= sizes[1], sizes
    assert await page.locator("#themes").get_attribute("lang") == "ru"
    # The course's glossary, in course order, each term with the topic that introduces it.
    glossary = course["glossary"]
    assert len(glossary) == 4 and await page.locator("#glossary").is_visible()
    assert await page.locator("#glossary-list dt").all_inner_texts() == [
        g["term"] for g in glossary
    ]
    first_entry = await page.locator("#glossary-list dd").first.inner_text()
    assert first_entry.startswith(glossary[0]["definition"]) and "(1.1 " in first_entry
    # The quality report panel, one row per section, as the report's summary has it.
    report = (await client.get(f"/courses/{job}/report")).json()
    rows = page.locator("#report-rows tr")
    assert await rows.count() == len(report["summary"]) == 10
    assert await rows.nth(0).inner_text() == "Shape\t" + report["summary"]["Shape"]
    assert report["summary"]["Shape"].startswith("ok: asked 2×2")
    # Exports, regenerate buttons (completed), the recent list.
    hrefs = await page.locator("#exports a").evaluate_all("(as) => as.map((a) => a.href)")
    assert [h.rsplit("=", 1)[1] for h in hrefs] == ["md", "html", "scorm", "imscc"]
    exported = await client.get(hrefs[0])
    assert exported.status_code == 200 and "Основы Python" in exported.text
    async with page.expect_download() as saved:
        await page.locator("#exports a", has_text="Markdown").click()
    assert (await saved.value).suggested_filename == "основы-python.md"  # RFC 6266 filename*
    assert await page.locator("li.theme .regen > summary").first.is_visible()
    recent = page.locator(f'#recent li[data-job="{job}"]')
    await recent.locator(".pill.completed").wait_for()
    assert await recent.locator("a").inner_text() == "Основы Python"
    await page.screenshot(path=tmp_path / "completed.png", full_page=True)
    assert (tmp_path / "completed.png").stat().st_size > 10_000


async def test_reload_midway_loses_no_text(
    page: Any, client: httpx.AsyncClient, scripted_llm: ScriptedLLM, tmp_path: Path
) -> None:
    scripted_llm.script = lesson_script
    scripted_llm.token_s = 0.03  # about 6 s: every topic's lesson, then its polish
    body = {
        "course_name": "Основы Python",
        "description": "Первый курс программирования",
        "options": {"themes": 2, "topics_per_theme": 3},
    }
    response = await client.post("/courses", json=body)
    job = response.json()["id"]
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if "/events" in r.url else None)
    await page.goto(f"/?job={job}")
    # Mid-way: the lessons are being written (early in their streams).
    await page.wait_for_function(
        """() => [...document.querySelectorAll(".writing:not([hidden])")].some((box) =>
                   box.querySelector(".writing-label").textContent === "Writing…" &&
                   box.querySelector(".writing-text").textContent.length > 40)"""
    )
    before = await rendered_topics(page)
    seen = int(await page.locator("#view").get_attribute("data-last-event-id"))
    await page.screenshot(path=tmp_path / "midway.png", full_page=True)

    await page.reload()
    await page.wait_for_function(
        f"() => Number(document.querySelector('#view').dataset.lastEventId) >= {seen}"
    )
    after = await rendered_topics(page)
    assert len(after) >= len(before)
    progressed = {"": 0, "draft": 1, "polished": 2}
    continued = 0
    for key, old in before.items():
        new = after[key]
        assert new["title"] == old["title"]
        assert progressed[new["kind"]] >= progressed[old["kind"]], key
        if new["kind"] == old["kind"]:
            assert new["material"] == old["material"], key
        if old["writing"] and new["label"] == old["label"]:
            # The same stream is still open: the replay rebuilt every delta seen before.
            assert new["writing"].startswith(old["writing"]), key
            continued += 1
    assert continued, "no stream was still being written after the reload: slow the model"

    # Later: drafts are rendered while their polished versions are written.
    await page.wait_for_function(
        """() => document.querySelector('#status').dataset.status === "completed" ||
                 [...document.querySelectorAll('li.topic[data-state="writing"]')].some((li) =>
                   li.querySelector(".material").childElementCount &&
                   li.querySelector(".writing-text").textContent.length > 150)"""
    )
    await page.screenshot(path=tmp_path / "polishing.png")
    save_docs_screenshot(tmp_path / "polishing.png", "web-screenshot.png")
    from_start = [url for url in requests if url.endswith(f"/courses/{job}/events?after=0")]
    assert len(from_start) == 2  # the first load and the reload both replay from the start

    await wait_status(page, "completed")
    course = (await snapshot(client, job))["course"]
    assert len(topics_of(course)) == 6
    await assert_course_rendered(page, course)

    # A reload of the finished course rebuilds exactly the same page.
    finished = await rendered_topics(page)
    await page.reload()
    await wait_caught_up(page, client, job)
    await wait_status(page, "completed")
    assert await rendered_topics(page) == finished


async def test_review_an_edited_outline(
    page: Any, client: httpx.AsyncClient, scripted_llm: ScriptedLLM
) -> None:
    await page.goto("/")
    await page.get_by_label("Course name").fill("Rust for beginners")
    await page.get_by_label("Themes").fill("3")
    await page.get_by_label("Topics per theme").fill("1")
    await page.get_by_role("checkbox", name="Let me review the outline").check()
    await page.get_by_role("button", name="Generate course").click()

    review = page.locator("#review")
    await review.wait_for()
    await wait_status(page, "awaiting_review")
    assert not await page.locator("#exports").is_visible()  # the course is not written yet
    titles = review.locator(".rv-title")
    assert [await titles.nth(i).input_value() for i in range(3)] == [
        "Theme 1",
        "Theme 2",
        "Theme 3",
    ]
    await titles.nth(0).fill("Введение <b>edited</b>")
    await review.locator(".rv-desc").nth(0).fill("Зачем нужен Rust")
    await review.get_by_role("button", name="Remove this theme").nth(2).click()
    await review.get_by_role("button", name="Add a theme").click()
    await titles.nth(2).fill("Ownership")
    await review.locator(".rv-desc").nth(2).fill("Borrowing and lifetimes")
    # An empty description is refused on the page, before anything is sent.
    await review.locator(".rv-desc").nth(1).fill(" ")
    await review.get_by_role("button", name="Approve and continue").click()
    await page.locator("#review-error").wait_for()
    await review.locator(".rv-desc").nth(1).fill("Theme 2 again")
    await review.get_by_role("button", name="Approve and continue").click()

    await wait_status(page, "completed")
    assert not await review.is_visible()
    job = job_of(page)
    course = (await snapshot(client, job))["course"]
    wanted = ["Введение <b>edited</b>", "Theme 2", "Ownership"]
    assert [t["title"] for t in course["themes"]] == wanted
    assert [t["description"] for t in course["themes"]][1:] == [
        "Theme 2 again",
        "Borrowing and lifetimes",
    ]
    await assert_course_rendered(page, course)
    assert await page.locator("li.theme b").count() == 0  # the title is text, not HTML
    prompts = [call.data["theme"]["title"] for call in scripted_llm.calls_for("ThemeTopics")]
    assert sorted(prompts) == sorted(wanted)


async def test_model_text_is_shown_as_text(
    page: Any, client: httpx.AsyncClient, scripted_llm: ScriptedLLM
) -> None:
    evil = "<img src=x onerror=alert(1)>"

    def script(call: Call) -> dict[str, Any] | None:
        answer = default_answer(call)
        if call.schema == "Outline":
            answer["themes"][0]["title"] = f"Theme {evil}"
        elif call.schema == "ThemeTopics":
            answer["topics"][0]["title"] = f"Topic {evil}"
        elif call.schema in ("TopicContent", "PolishedTopic"):
            answer["body_markdown"] = (
                f"# Title {evil}\n\nText {evil} and <script>alert(2)</script> "
                "**bold** *it* `<b>code</b>` [link](javascript:alert(3)) ![i](x)\n\n"
                f"- item {evil}\n"
            )
            answer["key_points"] = [f"point {evil}"]
        if call.schema == "PolishedTopic":
            answer["summary"] = f"Summary {evil}"
        return answer

    scripted_llm.script = script
    scripted_llm.token_s = 0.004
    response = await client.post(
        "/courses",
        json={"course_name": f"Course {evil}", "options": {"themes": 1, "topics_per_theme": 1}},
    )
    job = response.json()["id"]
    await page.goto(f"/?job={job}")
    # While it is written, the raw JSON (with the tag in it) is text in the box.
    await page.wait_for_function(
        """() => [...document.querySelectorAll(".writing-text")]
                 .some((pre) => pre.textContent.includes("onerror"))"""
    )
    assert await page.locator("#view img, #view script").count() == 0
    await wait_status(page, "completed")

    view = page.locator("#view")
    assert await view.locator("img, script, iframe, b, a[href^='javascript']").count() == 0
    text = await view.inner_text()
    assert f"Course {evil}" in text
    assert f"Theme {evil}" in text and f"Topic {evil}" in text
    assert f"Title {evil}" in text and f"Summary {evil}" in text and f"point {evil}" in text
    assert "<script>alert(2)</script>" in text and "[link](javascript:alert(3))" in text
    body = view.locator("li.topic .material .body")
    assert await body.locator("h5").inner_text() == f"Title {evil}"
    assert await body.locator("strong").inner_text() == "bold"
    assert await body.locator("em").inner_text() == "it"
    assert await body.locator("code").inner_text() == "<b>code</b>"
    assert await body.locator("ul > li").inner_text() == f"item {evil}"
    # The recent list shows the name as text too.
    await page.locator(f'#recent li[data-job="{job}"]').wait_for()
    assert await page.locator("#recent img").count() == 0
    assert page.problems.dialogs == []


async def test_regenerate_a_topic_with_instructions(
    page: Any, client: httpx.AsyncClient, scripted_llm: ScriptedLLM
) -> None:
    def script(call: Call) -> dict[str, Any] | None:
        answer = default_answer(call)
        if call.schema == "TopicContent" and "make it simpler" in call.prompt_text:
            answer["body_markdown"] = "A **simpler** lesson."
        if call.schema == "PolishedTopic" and "simpler" in call.prompt_text:
            answer["summary"] = "Regenerated summary"
        return answer

    scripted_llm.script = script
    response = await client.post(
        "/courses", json={"course_name": "SQL", "options": {"themes": 2, "topics_per_theme": 2}}
    )
    job = response.json()["id"]
    await page.goto(f"/?job={job}")
    await wait_status(page, "completed")
    before = await rendered_topics(page)

    topic = page.locator('li.topic[data-theme="1"][data-topic="0"]')
    await topic.locator(".regen > summary").click()
    await topic.get_by_label("Instructions (optional)").fill("make it simpler")
    scripted_llm.token_s = 0.005
    await topic.get_by_role("button", name="Regenerate topic").click()
    summary = topic.locator(".material .summary", has_text="Regenerated summary")
    await summary.wait_for(timeout=DONE_MS)
    await wait_status(page, "completed")
    after = await rendered_topics(page)
    assert "simpler" in after["1/0"]["material"]
    assert {k: v for k, v in after.items() if k != "1/0"} == {
        k: v for k, v in before.items() if k != "1/0"
    }
    course = (await snapshot(client, job))["course"]
    await assert_course_rendered(page, course)
    assert [c for c in scripted_llm.calls_for("TopicContent") if "make it simpler" in c.prompt_text]

    # A reload replays both runs (the stream of the first ends at its `end`) to the same page.
    await page.reload()
    await wait_caught_up(page, client, job)
    await wait_status(page, "completed")
    assert await rendered_topics(page) == after


async def test_cancel_from_the_page(
    page: Any, client: httpx.AsyncClient, scripted_llm: ScriptedLLM
) -> None:
    scripted_llm.token_s = 0.05
    await page.goto("/")
    await page.get_by_label("Course name").fill("Long course")
    await page.get_by_label("Themes").fill("3")
    await page.get_by_label("Topics per theme").fill("3")
    await page.get_by_role("button", name="Generate course").click()
    await page.locator(".writing:visible").first.wait_for()
    await page.get_by_role("button", name="Cancel").click()
    await wait_status(page, "cancelled")
    assert await page.locator(".writing:visible").count() == 0
    assert not await page.locator("#cancel").is_visible()
    assert (await snapshot(client, job_of(page)))["status"] == "cancelled"
    assert not await page.locator("li.theme .regen > summary").first.is_visible()


async def test_unknown_job_and_invalid_form(page: Any) -> None:
    await page.goto("/?job=0123456789abcdef")
    await page.wait_for_selector('#status[data-status="missing"]')
    assert await page.locator("#status").inner_text() == "There is no such course."
    # Nothing to follow or do: no progress, no "0 of 0 model calls", no Cancel, no downloads.
    for part in ("#progress", "#progress-text", "#cancel", "#exports", "#c-name", "#review"):
        assert not await page.locator(part).is_visible(), part
    await page.goto("/#fedcba9876543210")  # the id may also be the fragment
    await page.wait_for_selector('#status[data-status="missing"]')
    await page.goto("/")
    await page.get_by_role("button", name="Generate course").click()
    assert await page.locator("#form-error").inner_text() == "Give the course a name."
    await page.get_by_label("Course name").fill("x")
    await page.get_by_label("Themes").fill("40")
    await page.get_by_role("button", name="Generate course").click()
    error = page.locator("#form-error")
    await error.wait_for()
    assert "options.themes" in await error.inner_text()


async def test_failed_topic_and_theme_are_shown_and_can_be_regenerated(
    page: Any, client: httpx.AsyncClient, scripted_llm: ScriptedLLM
) -> None:
    broken = {"on": True}

    def script(call: Call) -> Reply:
        if not broken["on"]:
            return None
        if call.schema == "ThemeTopics" and call.data["theme"]["title"] == "Theme 3":
            return Fault("http", status=400)
        topic = call.data.get("topic") or {}
        if call.schema == "TopicContent" and topic.get("title") == "Theme 1 / Topic 2":
            return Fault("http", status=400)
        return None

    scripted_llm.script = script
    response = await client.post(
        "/courses", json={"course_name": "Errors", "options": {"themes": 3, "topics_per_theme": 2}}
    )
    job = response.json()["id"]
    await page.goto(f"/?job={job}")
    await wait_status(page, "completed")

    theme_error = page.locator('li.theme[data-theme="2"] .theme-error')
    assert "could not be written" in await theme_error.inner_text()
    assert await page.locator('li.theme[data-theme="2"] li.topic').count() == 0
    failed = page.locator('li.topic[data-theme="0"][data-topic="1"]')
    assert await failed.get_attribute("data-state") == "failed"
    assert "400" in await failed.locator(".topic-error").inner_text()
    assert await page.locator('li.topic[data-state="polished"]').count() == 3
    assert await page.locator(".theme-error:visible, .topic-error:visible").count() == 2

    broken["on"] = False
    await failed.locator(".regen > summary").click()
    await failed.get_by_role("button", name="Regenerate topic").click()
    await failed.locator('.material .badge:text("polished")').wait_for(
        state="attached", timeout=DONE_MS
    )
    await page.locator('li.theme[data-theme="2"] .regen > summary').click()
    await (
        page.locator('li.theme[data-theme="2"]')
        .get_by_role("button", name="Regenerate theme")
        .click()
    )
    await (
        page.locator('li.theme[data-theme="2"] li.topic[data-state="polished"]')
        .nth(1)
        .wait_for(timeout=DONE_MS)
    )
    await wait_caught_up(page, client, job)
    await wait_status(page, "completed")
    assert not await theme_error.is_visible()
    await assert_course_rendered(page, (await snapshot(client, job))["course"])


async def status_samples(page: Any, until: str) -> list[dict[str, Any]]:
    """What the page shows, sampled until the status is `until`: the status line and what
    is on screen of the course (themes, topics, lessons being written, written material)."""
    samples: list[dict[str, Any]] = []
    while not samples or samples[-1]["status"] != until:
        samples.append(
            await page.evaluate(
                """() => ({
                     status: document.querySelector("#status")?.dataset.status,
                     line: document.querySelector("#status").textContent,
                     themes: document.querySelectorAll("li.theme").length,
                     topics: document.querySelectorAll("li.topic").length,
                     writing: document.querySelectorAll('li.topic[data-state="writing"]').length,
                     written: document.querySelectorAll(".material .badge").length})"""
            )
        )
        await page.wait_for_timeout(20)
    return samples


async def test_the_status_names_the_stage_being_written(
    page: Any, scripted_llm: ScriptedLLM
) -> None:
    scripted_llm.token_s = 0.02  # the outline alone takes about a second
    await page.goto("/")
    await page.get_by_label("Course name").fill("Stages")
    await page.get_by_label("Themes").fill("2")
    await page.get_by_label("Topics per theme").fill("2")
    await page.get_by_role("button", name="Generate course").click()
    samples = await status_samples(page, "completed")
    running = [s for s in samples if s["status"] == "running"]
    for sample in running:
        if sample["themes"] and not sample["topics"]:  # the outline is there: topics next
            assert sample["line"] == "Writing the course: topic lists…", sample
        if sample["writing"] and not sample["written"]:  # the first lessons are being written
            assert sample["line"] == "Writing the course: lessons…", sample
    lines = {s["line"] for s in running}
    assert {"Writing the course: outline…", "Writing the course: lessons…"} <= lines, lines
    assert "stage" not in await page.locator("#progress-text").inner_text()


async def test_the_stage_words_come_from_the_server(
    page: Any, client: httpx.AsyncClient, scripted_llm: ScriptedLLM
) -> None:
    """The page names no stage itself: it says what GET /info's `stages` say."""
    info = (await client.get("/info")).json()
    info["stages"] = [{**s, "label": f"«{s['name']} step»"} for s in info["stages"]]
    await page.route("**/info", lambda route: route.fulfill(json=info))
    scripted_llm.token_s = 0.02  # the outline alone takes about a second
    await page.goto("/")
    await page.get_by_label("Course name").fill("Stages")
    await page.get_by_label("Themes").fill("1")
    await page.get_by_label("Topics per theme").fill("1")
    await page.get_by_role("button", name="Generate course").click()
    lines: list[str] = []
    while "Writing the course: «content step»…" not in lines:  # the lessons are written
        lines.append(await page.locator("#status").inner_text())
        await page.wait_for_timeout(20)
    assert "Writing the course: «outline step»…" in lines, lines


async def test_a_new_course_is_listed_by_its_name_at_once(
    page: Any, scripted_llm: ScriptedLLM
) -> None:
    scripted_llm.token_s = 0.05  # the outline takes seconds: the job has no outline yet
    await page.goto("/")
    await page.get_by_label("Course name").fill("Основы SQL")
    await page.get_by_label("Themes").fill("1")
    await page.get_by_label("Topics per theme").fill("1")
    await page.get_by_role("button", name="Generate course").click()
    await page.wait_for_url(re.compile(r"/\?job=[0-9a-f]+$"))
    link = page.locator(f'#recent li[data-job="{job_of(page)}"] a')
    await link.wait_for()
    assert await page.locator("li.theme").count() == 0
    assert await link.inner_text() == "Основы SQL"


async def test_on_a_phone_the_course_comes_before_the_form(
    page: Any, client: httpx.AsyncClient
) -> None:
    await page.set_viewport_size({"width": 390, "height": 844})
    await page.goto("/")
    form = await page.locator("#new-course").bounding_box()
    intro = await page.locator("#intro").bounding_box()
    assert form["y"] < intro["y"]  # nothing to show yet: the form first
    response = await client.post(
        "/courses", json={"course_name": "Phone", "options": {"themes": 1, "topics_per_theme": 1}}
    )
    await page.goto(f"/?job={response.json()['id']}")
    await wait_status(page, "completed")
    course = await page.locator("#course").bounding_box()
    form = await page.locator("#new-course").bounding_box()
    assert course["y"] < form["y"] and course["y"] < 844  # on the first screen
    width = await page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390  # no sideways scrolling


async def test_the_page_names_the_model_the_server_writes_with(
    page: Any, client: httpx.AsyncClient
) -> None:
    """The header says what GET /info's `model` says: the provider, the name, the server."""
    model = (await client.get("/info")).json()["model"]
    await page.goto("/")
    await page.locator("#model").wait_for()
    line = await page.locator("#model").inner_text()
    assert line == f"Model: {model['provider']} {model['name']} at {model['base_url']}", line
    # The embedded demo model says what it writes well.
    info = (await client.get("/info")).json()
    info["model"] = {**model, "kind": "embedded", "provider": "llamacpp", "name": "Demo.gguf"}
    info["model"].update(base_url=None, languages=["en"])
    await page.route("**/info", lambda route: route.fulfill(json=info))
    await page.reload()
    await page.locator("#model").wait_for()
    assert await page.locator("#model").inner_text() == "Model: llamacpp Demo.gguf (en only)"


async def test_export_headings_are_never_smaller_than_the_text(browser: Any) -> None:
    course = build_course()
    polished = course.themes[1].topics[0].polished
    assert polished is not None
    polished.body_markdown = "## A\n\nText.\n\n### B\n\n#### C\n\nMore."
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        tab = await context.new_page()
        await tab.set_content(to_html(course))
        text, headings = await tab.evaluate(
            """() => {
                 const size = (e) => parseFloat(getComputedStyle(e).fontSize);
                 const text = size(document.querySelector(".lesson p"));
                 return [text, [...document.querySelectorAll(".lesson :is(h4, h5, h6)")]
                   .map((h) => [h.tagName, h.textContent, size(h)])];
               }"""
        )
    finally:
        await context.close()
    assert {name for _tag, name, _size in headings} >= {"A", "B", "C"}
    assert all(size >= text for _tag, _name, size in headings), (text, headings)
