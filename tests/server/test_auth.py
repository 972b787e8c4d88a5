"""Test API keys: every route refuses strangers and hides other owners' courses.

Keys are made before the app starts (`make_key`) or on the app's own event loop
(`LiveApp.call`): the app runs in another thread, and its store's lock would hang a test
that awaited it from the test's loop.
"""

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager

from coursegen.server.app import create_app
from coursegen.settings import Settings
from tests.server.conftest import wait_status
from tests.support.keys import make_key
from tests.support.live_app import LiveApp

BODY = {"course_name": "Security basics", "options": {"themes": 1, "topics_per_theme": 1}}
JOB_ROUTES = [
    ("GET", "/courses/{id}", None),
    ("GET", "/courses/{id}/events", None),
    ("GET", "/courses/{id}/export?format=md", None),
    ("POST", "/courses/{id}/review", {"approve": True}),
    ("POST", "/courses/{id}/regenerate", {"theme": 0}),
    ("POST", "/courses/{id}/cancel", None),
    ("DELETE", "/courses/{id}", None),
]
OPEN_ROUTES = [
    ("POST", "/courses", BODY),
    ("GET", "/courses", None),
    ("POST", "/courses/estimate", BODY),
    ("POST", "/course/invoke", {"input": BODY}),
    ("POST", "/course/batch", {"inputs": [BODY]}),
    ("POST", "/course/stream", {"input": BODY}),
    ("POST", "/course/stream_events", {"input": BODY}),
    ("GET", "/course/input_schema", None),
    ("POST", "/chains/outline/invoke", {"input": BODY}),
]


@pytest.fixture
def keys(settings: Settings) -> tuple[str, str]:
    """Alice's and Bob's keys, made before the app starts."""
    return make_key(settings, "alice"), make_key(settings, "bob")


@pytest.fixture
def keyed_app(keys: tuple[str, str], settings: Settings) -> Iterator[LiveApp]:
    with LiveApp(create_app(settings)) as live:
        yield live


def _auth(key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"} if key else {}


async def test_auth_matrix(keyed_app: LiveApp, keys: tuple[str, str]) -> None:
    alice, bob = keys
    async with httpx.AsyncClient(base_url=keyed_app.url, timeout=30) as client:
        created = await client.post("/courses", json=BODY, headers=_auth(alice))
        assert created.status_code == 202
        job = created.json()["id"]
        await wait_status_with(client, job, alice)
        for method, path, body in OPEN_ROUTES + JOB_ROUTES:
            url = path.format(id=job)
            for key in (None, "cgk_not-a-key"):
                response = await client.request(method, url, json=body, headers=_auth(key))
                assert response.status_code == 401, (method, url, key, response.text)
                assert response.headers["www-authenticate"] == "Bearer"
        for method, path, body in JOB_ROUTES:
            response = await client.request(
                method, path.format(id=job), json=body, headers=_auth(bob)
            )
            assert response.status_code == 404, (method, path, response.text)
        assert (await client.get("/courses", headers=_auth(bob))).json()["items"] == []
        mine = (await client.get("/courses", headers=_auth(alice))).json()["items"]
        assert [item["id"] for item in mine] == [job]
        expected = {
            "GET /courses/{id}": 200,
            "GET /courses/{id}/events": 200,
            "GET /courses/{id}/export?format=md": 200,
            "POST /courses/{id}/review": 409,
            "POST /courses/{id}/regenerate": 202,
        }
        for method, path, body in JOB_ROUTES[:5]:
            response = await client.request(
                method, path.format(id=job), json=body, headers=_auth(alice)
            )
            assert response.status_code == expected[f"{method} {path}"], (
                method,
                path,
                response.text,
            )
        invoke = await client.post("/course/invoke", json={"input": BODY}, headers=_auth(bob))
        assert invoke.status_code == 200
        await wait_status_with(client, job, alice)
        assert (await client.delete(f"/courses/{job}", headers=_auth(alice))).status_code == 204


async def wait_status_with(client: httpx.AsyncClient, job: str, key: str) -> None:
    client.headers["Authorization"] = f"Bearer {key}"
    try:
        await wait_status(client, job, {"completed"})
    finally:
        del client.headers["Authorization"]


async def test_revoked_key_is_refused(live_app: LiveApp) -> None:
    keys = live_app.app.state.jobs.keys
    record, secret = await live_app.call(lambda: keys.create("carol"))
    async with httpx.AsyncClient(base_url=live_app.url) as client:
        assert (await client.get("/courses", headers=_auth(secret))).status_code == 200
        assert await live_app.call(lambda: keys.revoke(record.id))
        assert (await client.get("/courses", headers=_auth(secret))).status_code == 401


async def test_keys_are_stored_hashed(settings: Settings) -> None:
    secret = await asyncio.to_thread(make_key, settings, "dave")
    with sqlite3.connect(settings.sqlite_path) as db:
        rows = db.execute("SELECT * FROM coursegen_api_keys").fetchall()
    assert rows and all(secret not in str(value) for row in rows for value in row)


async def test_network_bind_without_keys_is_refused(tmp_path: Path, settings: Settings) -> None:
    exposed = settings.model_copy(update={"host": "0.0.0.0", "data_dir": tmp_path / "exposed"})
    with pytest.raises(RuntimeError, match="without API keys"):
        async with LifespanManager(create_app(exposed)):
            pass
