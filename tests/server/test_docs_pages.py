"""Test that /docs and /redoc work offline: their scripts and styles come from the app."""

import re

import httpx
import pytest


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_docs_pages_load_only_local_assets(client: httpx.AsyncClient, page: str) -> None:
    html = (await client.get(page)).text
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
    assert any(a.endswith(".js") for a in assets), html
    assert not [a for a in assets if re.match(r"(https?:)?//", a)], assets  # no CDN
    assert "cdn.jsdelivr" not in html and "fonts.googleapis" not in html
    for asset in assets:
        answer = await client.get(asset)
        assert answer.status_code == 200, asset
        assert len(answer.content) > 1000, asset
