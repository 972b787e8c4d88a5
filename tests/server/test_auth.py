"""Test API keys: every route refuses strangers and hides other owners' courses."""

from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager

from coursegen.server.app import create_app
from coursegen.server.settings import Settings
from tests.server.conftest import wait_status
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
    ("POST", "/course/invoke", {"input": BODY}),
    ("POST", "/course/stream", {"input": BODY}),
    ("POST", "/chains/outline/invoke", {"input": BODY}),
]


async def _keys(live: LiveApp) -> tuple[str, str]:
    keys = live.app.state.jobs.keys
    _, alice = await keys.create("alice", "test")
    _, bob = await keys.create("bob", "test")
    return alice, bob


def _auth(key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"} if key else {}


async def test_auth_matrix(live_app: LiveApp) -> None:
    alice, bob = await _keys(live_app)
    async with httpx.AsyncClient(base_url=live_app.url, timeout=30) as client:
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
    record, secret = await keys.create("carol")
    async with httpx.AsyncClient(base_url=live_app.url) as client:
        assert (await client.get("/courses", headers=_auth(secret))).status_code == 200
        assert await keys.revoke(record.id)
        assert (await client.get("/courses", headers=_auth(secret))).status_code == 401


async def test_keys_are_stored_hashed(live_app: LiveApp) -> None:
    _, secret = await live_app.app.state.jobs.keys.create("dave")
    async with live_app.app.state.jobs.store.transaction() as tx:
        rows = await tx.fetch("SELECT * FROM coursegen_api_keys")
    assert rows and all(secret not in str(value) for row in rows for value in row.values())


async def test_network_bind_without_keys_is_refused(tmp_path: Path, settings: Settings) -> None:
    exposed = settings.model_copy(update={"host": "0.0.0.0", "data_dir": tmp_path / "exposed"})
    with pytest.raises(RuntimeError, match="without API keys"):
        async with LifespanManager(create_app(exposed)):
            pass
