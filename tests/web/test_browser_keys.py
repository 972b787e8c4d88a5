"""The page on a server that requires API keys: the key is asked for, sent, and kept per tab."""

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from coursegen.server import apikeys
from coursegen.server.app import create_app
from coursegen.settings import Settings
from tests.support.live_app import LiveApp
from tests.support.page import (
    assert_course_rendered,
    rendered_topics,
    snapshot,
    topics_of,
    wait_caught_up,
    wait_status,
)
from tests.support.scripted_llm import ScriptedLLM

pytestmark = [pytest.mark.browser, pytest.mark.timeout(30)]


@pytest.fixture
async def api_key(settings: Settings) -> str:
    """A key in the app's database, made before the app starts (so keys are required)."""
    from coursegen.server.wiring import job_store

    store = job_store(settings)
    await store.setup()
    try:
        keys = apikeys.ApiKeyStore(store)
        await keys.setup()
        _, secret = await keys.create("alice", "web test")
    finally:
        await store.close()
    return str(secret)


@pytest.fixture
def live_app(settings: Settings, api_key: str) -> Iterator[LiveApp]:
    with LiveApp(create_app(settings)) as live:
        yield live


async def test_page_asks_for_the_key_and_uses_it(
    page: Any, live_app: LiveApp, api_key: str, scripted_llm: ScriptedLLM
) -> None:
    scripted_llm.token_s = 0.01
    headers: dict[str, str] = {}

    def on_request(request: Any) -> None:
        if "/events" in request.url:
            headers.update(request.headers)

    page.on("request", on_request)
    await page.goto("/")
    # The recent list got 401: the key panel opens and says why.
    await page.locator("#key-panel[open]").wait_for()
    assert await page.locator("#key-state").inner_text() == "This server needs an API key."
    await page.get_by_label("API key").fill(api_key)
    await page.get_by_role("button", name="Use this key").click()
    await page.locator("#recent-empty").wait_for()

    await page.get_by_label("Course name").fill("Ключи Keys")
    await page.get_by_label("Themes").fill("1")
    await page.get_by_label("Topics per theme").fill("2")
    await page.get_by_role("button", name="Generate course").click()
    await page.locator(".writing:visible").first.wait_for()
    await wait_status(page, "completed")
    # EventSource cannot send the key: the page read the stream with fetch and the header.
    assert headers.get("authorization") == f"Bearer {api_key}"
    job = page.url.rsplit("=", 1)[1]
    auth = {"Authorization": f"Bearer {api_key}"}
    async with httpx.AsyncClient(base_url=live_app.url, headers=auth, timeout=10) as client:
        course = (await snapshot(client, job))["course"]
    assert len(topics_of(course)) == 2
    await assert_course_rendered(page, course)

    # The key stays for this tab: a reload rebuilds the course.
    shown = await rendered_topics(page)
    await page.reload()
    await wait_status(page, "completed")
    # The status comes with GET /courses/{id}, before the log's replay has drawn the topics.
    async with httpx.AsyncClient(base_url=live_app.url, headers=auth, timeout=10) as client:
        await wait_caught_up(page, client, job)
    assert await rendered_topics(page) == shown

    # Downloads carry the key too.
    async with page.expect_download() as download_info:
        await page.locator('#exports a[data-format="md"]').click()
    download = await download_info.value
    assert download.suggested_filename == "ключи-keys.md"  # from filename*, not "keys.md"
    assert "Ключи Keys" in (await download.path()).read_text(encoding="utf-8")

    # Forgetting the key locks the page again.
    await page.locator("#key-panel > summary").click()
    assert await page.locator("#key-state").inner_text() == "A key is set for this tab."
    await page.get_by_role("button", name="Forget").click()
    await page.locator("#key-panel[open]").wait_for()
    await page.locator("#key-state.error").wait_for()
