"""Fixtures for the web page: headless Chromium and a page that fails on script errors."""

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.live_app import LiveApp
from tests.support.page import STEP_MS

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
NO_CHROMIUM = (
    "browser tests need Debian's Chromium at /usr/bin/chromium: "
    "apt-get update && apt-get install -y chromium"
)
HAVE_CHROMIUM = CHROMIUM.exists()


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Any]:
    """One headless Chromium per test module (each test gets its own context)."""
    if not HAVE_CHROMIUM:
        pytest.skip(NO_CHROMIUM)
    playwright = pytest.importorskip("playwright.async_api")
    async with playwright.async_playwright() as p:
        chromium = await p.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, timeout=30_000
        )
        try:
            yield chromium
        finally:
            await chromium.close()


class PageErrors:
    """JavaScript errors and dialogs (alert() would mean injected script ran)."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.console: list[str] = []


@pytest.fixture
async def page(browser: Any, live_app: LiveApp) -> AsyncIterator[Any]:
    """A fresh browser context and page; fails the test on any script error or dialog."""
    context = await browser.new_context(
        base_url=live_app.url, viewport={"width": 1280, "height": 900}, locale="en-US"
    )
    context.set_default_timeout(STEP_MS)
    context.set_default_navigation_timeout(STEP_MS)
    tab = await context.new_page()
    problems = PageErrors()
    tab.on("pageerror", lambda exc: problems.errors.append(str(exc)))
    tab.on("console", lambda m: problems.console.append(f"{m.type}: {m.text}"))

    async def on_dialog(dialog: Any) -> None:
        problems.dialogs.append(dialog.message)
        await dialog.dismiss()

    tab.on("dialog", on_dialog)
    tab.problems = problems
    try:
        yield tab
    finally:
        await context.close()
    assert not problems.dialogs, f"a dialog opened (injected script ran?): {problems.dialogs}"
    assert not problems.errors, f"script errors on the page: {problems.errors}"
    csp = [c for c in problems.console if "Content Security Policy" in c]
    assert not csp, f"the page broke its own CSP: {csp}"
