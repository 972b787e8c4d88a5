"""A bounded load test: 20 small jobs followed by 200 SSE subscribers over real HTTP.

Every subscriber must receive the whole log through `end`, the same for all subscribers of a
job (and the same as a later replay); memory growth stays under a generous bound. No timing
is asserted, only a deadline so a stuck stream fails instead of hanging.
"""

import asyncio
import gc
from collections.abc import Iterator
from typing import Any

import httpx
import psutil
import pytest

from coursegen.server.app import create_app
from coursegen.settings import Settings
from tests.server.conftest import wait_status
from tests.support.live_app import LiveApp
from tests.support.scripted_llm import ScriptedLLM
from tests.support.sse import SSE, read_events

JOBS = 20
SUBSCRIBERS_PER_JOB = 10
MAX_RSS_GROWTH = 300 * 1024 * 1024


@pytest.fixture
def loaded_app(settings: Settings, scripted_llm: ScriptedLLM) -> Iterator[LiveApp]:
    scripted_llm.token_s = 0.003  # jobs take a moment: most subscribers follow them live
    settings = settings.model_copy(update={"max_jobs_per_owner": JOBS})
    with LiveApp(create_app(settings)) as live:
        yield live


def _rss() -> int:
    gc.collect()
    return int(psutil.Process().memory_info().rss)


def _sequence(events: list[SSE]) -> list[tuple[int, str, Any]]:
    return [(e.id, e.event, e.data) for e in events]


async def test_200_subscribers_of_20_jobs_see_identical_complete_logs(
    loaded_app: LiveApp,
) -> None:
    limits = httpx.Limits(max_connections=JOBS * SUBSCRIBERS_PER_JOB + 20)
    async with httpx.AsyncClient(base_url=loaded_app.url, timeout=60, limits=limits) as client:
        await client.get("/healthz")
        # The first finished course loads what its quality report needs, once per process
        # (~180 MB: scikit-learn and scipy, textstat's pronouncing dictionary, lingua).
        warm_up = await client.post("/courses", json={"course_name": "Warm-up"})
        await wait_status(client, warm_up.json()["id"], {"completed"}, timeout=30)
        before = _rss()
        ids = []
        for n in range(JOBS):
            body = {"course_name": f"Load {n}", "options": {"themes": 1, "topics_per_theme": 2}}
            response = await client.post("/courses", json=body)
            assert response.status_code == 202, response.text
            ids.append(response.json()["id"])
        readers = [
            read_events(client, f"/courses/{job}/events")
            for job in ids
            for _ in range(SUBSCRIBERS_PER_JOB)
        ]
        received = await asyncio.wait_for(asyncio.gather(*readers), timeout=35)
        snapshots = [await wait_status(client, job, {"completed"}, timeout=10) for job in ids]
        replays = [await read_events(client, f"/courses/{job}/events") for job in ids]
        after = _rss()
        broker = loaded_app.app.state.jobs.broker
        for _ in range(100):  # the server notices closed streams shortly after the client
            if broker.subscriber_count() == 0:
                break
            await asyncio.sleep(0.05)
        assert broker.subscriber_count() == 0, "subscriptions leaked"

    for n, (snapshot, replay) in enumerate(zip(snapshots, replays, strict=True)):
        streams = received[n * SUBSCRIBERS_PER_JOB : (n + 1) * SUBSCRIBERS_PER_JOB]
        expected = _sequence(replay)
        assert [e.id for e in replay] == list(range(1, snapshot["last_event_id"] + 1))
        assert replay[-1].event == "end" and replay[-1].data == {"status": "completed"}
        kinds = {e.event for e in replay}
        assert {"outline", "topics", "token", "content", "polished"} <= kinds
        for stream in streams:
            assert _sequence(stream) == expected, f"job {n}: a subscriber saw another log"
    growth = after - before
    assert growth < MAX_RSS_GROWTH, f"RSS grew by {growth / 2**20:.0f} MiB"
