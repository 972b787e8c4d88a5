"""Attach source documents to a new course on the web page (headless Chromium)."""

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.documents import MARKDOWN, make_pdf
from tests.support.page import job_of, snapshot, wait_caught_up, wait_status
from tests.support.scripted_llm import ScriptedLLM, default_answer

pytestmark = [pytest.mark.browser, pytest.mark.timeout(30)]


async def test_files_attached_to_the_form_ground_the_course(
    page: Any, client: httpx.AsyncClient, scripted_llm: ScriptedLLM, tmp_path: Path
) -> None:
    notes = tmp_path / "ocean.md"
    notes.write_text(MARKDOWN, encoding="utf-8")
    await page.goto("/")
    await page.get_by_label("Course name").fill("Ocean currents and plankton")
    await page.get_by_label("Language").select_option("en")
    await page.get_by_label("Themes").fill("1")
    await page.get_by_label("Topics per theme").fill("1")
    await page.get_by_label("Source documents").set_input_files(str(notes))
    await page.get_by_label("Write only what the documents support").check()
    await page.get_by_role("button", name="Generate course").click()
    await page.wait_for_url(re.compile(r"/\?job=[0-9a-f]+$"))
    await wait_status(page, "completed")
    course = (await snapshot(client, job_of(page)))["course"]
    [citation] = course["themes"][0]["topics"][0]["citations"]
    assert citation["title"] == "Ocean currents"
    [content] = scripted_llm.calls_for("TopicContent")
    assert content.data["passages"] and "Write only what the passages support" in content.system
    assert [s["title"] for s in (await client.get("/sources")).json()["items"]] == [
        "Ocean currents"
    ]
    await assert_references_shown(page, course)


async def references_of(page: Any) -> dict[str, Any]:
    """Each topic's references list and the inline markers of its lesson, as shown."""
    return dict(
        await page.evaluate(
            """() => Object.fromEntries([...document.querySelectorAll("li.topic")].map((li) => [
                 `${li.dataset.theme}/${li.dataset.topic}`,
                 {markers: [...li.querySelectorAll(".body a.cite")].map((a) =>
                    [a.textContent, a.getAttribute("href")]),
                  refs: [...li.querySelectorAll(".references li")].map((r) =>
                    ({id: r.id, text: r.textContent,
                      title: r.querySelector("cite")?.textContent || null,
                      quote: r.querySelector("q")?.textContent}))}]))"""
        )
    )


async def assert_references_shown(page: Any, course: dict[str, Any]) -> None:
    """Every topic lists its checked citations (title, page, quote) under the lesson, and each
    [n] marker of the lesson links to the n-th of them."""
    await page.locator(".references cite").first.wait_for()
    shown = await references_of(page)
    cited = 0
    for i, theme in enumerate(course["themes"]):
        for j, topic in enumerate(theme["topics"]):
            got = shown[f"{i}/{j}"]
            citations = topic["citations"]
            cited += len(citations)
            assert [(r["title"], r["quote"]) for r in got["refs"]] == [
                (c["title"], c["quote"]) for c in citations
            ]
            for ref, c in zip(got["refs"], citations, strict=True):
                page_note = f", p. {c['page']}" if c["page"] else ""
                assert ref["text"] == f"{c['title']}{page_note}: {c['quote']}"
            body = topic["polished"]["body_markdown"]
            markers = [f"[{n}]" for n in range(1, len(citations) + 1) if f"[{n}]" in body]
            assert [m for m, _ in got["markers"]] == markers
            ids = {r["id"] for r in got["refs"]}
            assert all(href.removeprefix("#") in ids for _, href in got["markers"])
    assert cited, "the scripted model cites a passage in every grounded lesson"


async def test_an_unreadable_file_is_reported_and_no_course_starts(
    page: Any, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    empty = tmp_path / "empty.md"
    empty.write_text("", encoding="utf-8")
    await page.goto("/")
    await page.get_by_label("Course name").fill("Nothing to read")
    await page.get_by_label("Source documents").set_input_files(str(empty))
    await page.get_by_role("button", name="Generate course").click()
    error = page.locator("#form-error")
    await error.wait_for()
    assert "empty.md" in await error.inner_text() and "empty" in await error.inner_text()
    assert (await client.get("/courses")).json()["items"] == []


async def test_a_lessons_markers_link_to_its_references_with_pages(
    page: Any, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    pdf = tmp_path / "biology.pdf"
    pdf.write_bytes(make_pdf(title="Cell biology"))
    await page.goto("/")
    await page.get_by_label("Course name").fill("Photosynthesis and respiration")
    await page.get_by_label("Language").select_option("en")
    await page.get_by_label("Themes").fill("1")
    await page.get_by_label("Topics per theme").fill("2")
    await page.get_by_label("Source documents").set_input_files(str(pdf))
    await page.get_by_role("button", name="Generate course").click()
    await page.wait_for_url(re.compile(r"/\?job=[0-9a-f]+$"))
    await wait_status(page, "completed")
    job = job_of(page)
    course = (await snapshot(client, job))["course"]
    pages = [c["page"] for t in course["themes"][0]["topics"] for c in t["citations"]]
    assert pages and all(isinstance(p, int) for p in pages)  # a PDF's passages have pages
    await assert_references_shown(page, course)

    # A marker is a link to its reference, not a navigation: the address still names the course.
    marker = page.locator(".body a.cite").last
    await marker.click()
    target = (await marker.get_attribute("href") or "").removeprefix("#")
    assert await page.evaluate("() => document.activeElement.id") == target
    assert page.url.endswith(f"/?job={job}")
    assert await page.locator("li.topic").count() == 2

    # Reloaded, the finished course shows the same references (rebuilt from the log and
    # GET /courses/{id}).
    await page.reload()
    await wait_caught_up(page, client, job)
    await assert_references_shown(page, course)


async def test_a_course_without_sources_shows_no_references(
    page: Any, client: httpx.AsyncClient, scripted_llm: ScriptedLLM
) -> None:
    def bracketed(call: Any) -> dict[str, Any] | None:
        if call.schema != "TopicContent":
            return None
        answer = default_answer(call)
        answer["body_markdown"] = "A list item [1] and `items[2]` stay as written."
        return answer

    scripted_llm.script = bracketed
    await page.goto("/")
    await page.get_by_label("Course name").fill("No sources")
    await page.get_by_label("Themes").fill("1")
    await page.get_by_label("Topics per theme").fill("1")
    await page.get_by_role("button", name="Generate course").click()
    await wait_status(page, "completed")
    job = job_of(page)
    await wait_caught_up(page, client, job)
    assert await page.locator(".references").count() == 0
    assert await page.locator("a.cite").count() == 0
    [topic] = (await snapshot(client, job))["course"]["themes"][0]["topics"]
    assert topic["content"]["body_markdown"].startswith("A list item [1] and `items[2]`")
    body = await page.locator("li.topic .body").first.inner_text()
    # The polish keeps no marker past the topic's (zero) citations; the rest reads as written.
    assert body.split() == topic["polished"]["body_markdown"].replace("`", "").split()
