"""Attach source documents to a new course on the web page (headless Chromium)."""

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.documents import MARKDOWN
from tests.support.page import job_of, snapshot, wait_status
from tests.support.scripted_llm import ScriptedLLM

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
