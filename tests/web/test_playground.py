"""Open LangServe's playground and the API docs in headless Chromium: they render, offline."""

from typing import Any

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.timeout(60)]


async def test_the_course_playground_draws_its_form(page: Any) -> None:
    offsite: list[str] = []
    page.on("request", lambda r: None if "127.0.0.1" in r.url else offsite.append(r.url))
    await page.goto("/course/playground/")
    # The form has a field per input property; with a null member in the schema it had none.
    await page.get_by_text("course_name", exact=False).first.wait_for()
    text = await page.locator("body").inner_text()
    assert "Unknown type" not in text
    assert "options" in text.lower()
    assert not offsite, offsite


# Swagger UI and ReDoc lay out the whole OpenAPI document in the page: over 10 s (the step
# timeout) of a CI run on a slow host with four test workers.
DOCS_RENDER_MS = 45_000


@pytest.mark.parametrize(("path", "marker"), [("/docs", ".swagger-ui"), ("/redoc", "redoc-wrap")])
async def test_api_docs_render_without_a_cdn(page: Any, path: str, marker: str) -> None:
    # ReDoc's "powered by" badge is an image from its site; everything it runs is local.
    offsite: list[str] = []
    page.on(
        "request",
        lambda r: (
            None
            if "127.0.0.1" in r.url or r.resource_type == "image"
            else offsite.append(f"{r.resource_type} {r.url}")
        ),
    )
    await page.goto(path)
    selector = marker if marker.startswith(".") else f".{marker}"
    await page.wait_for_selector(selector, timeout=DOCS_RENDER_MS)
    await page.get_by_text("/courses", exact=False).first.wait_for(timeout=DOCS_RENDER_MS)
    assert not offsite, offsite
