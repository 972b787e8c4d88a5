"""LangServe course runs refuse source ids the caller does not have, as POST /courses does."""

import asyncio
from typing import Any

import httpx

from coursegen.server.app import create_app
from coursegen.settings import Settings
from tests.support.documents import MARKDOWN
from tests.support.keys import make_key
from tests.support.live_app import LiveApp
from tests.support.scripted_llm import ScriptedLLM


def _course(sources: list[str]) -> dict[str, Any]:
    return {"course_name": "Oceans", "sources": sources, "options": {"themes": 1}}


async def test_course_runs_with_an_unknown_or_foreign_source_get_422_and_never_run(
    settings: Settings, scripted_llm: ScriptedLLM
) -> None:
    keys = {o: await asyncio.to_thread(make_key, settings, o) for o in ("alice", "bob")}
    with LiveApp(create_app(settings)) as live:
        alice, bob = (
            httpx.AsyncClient(
                base_url=live.url, timeout=30, headers={"Authorization": f"Bearer {keys[o]}"}
            )
            for o in ("alice", "bob")
        )
        async with alice, bob:
            uploaded = await alice.post(
                "/sources", files={"file": ("ocean.md", MARKDOWN.encode(), "text/markdown")}
            )
            assert uploaded.status_code == 201, uploaded.text
            mine = uploaded.json()["id"]
            for path in ("/course/invoke", "/course/stream"):
                # Bob names Alice's source (second) after a made-up one (first).
                answer = await bob.post(path, json={"input": _course(["nope", mine])})
                assert answer.status_code == 422, (path, answer.text)
                assert [(e["loc"], e["msg"]) for e in answer.json()["detail"]] == [
                    (["body", "input", "sources", 0], "no source nope among the caller's"),
                    (["body", "input", "sources", 1], f"no source {mine} among the caller's"),
                ]
            batch = await bob.post("/course/batch", json={"inputs": [_course([]), _course([mine])]})
            assert batch.status_code == 422, batch.text
            assert batch.json()["detail"][0]["loc"] == ["body", "inputs", 1, "sources", 0]
            # The jobs API answers the same id with the same message.
            job = await bob.post("/courses", json=_course([mine]))
            assert job.status_code == 422
            assert job.json()["detail"][0]["msg"] == f"no source {mine} among the caller's"
            assert scripted_llm.calls == []  # nothing was run for any of them
            # The owner's own run goes through.
            own = await alice.post("/course/invoke", json={"input": _course([mine])})
            assert own.status_code == 200, own.text
            assert scripted_llm.calls_for("TopicContent")
