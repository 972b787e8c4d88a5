"""Test that /metrics exposes counters that move with the work done."""

import re

import httpx

from tests.support.jobs import create, wait_status


def _value(text: str, name: str, labels: str = "") -> float:
    pattern = rf"^{re.escape(name)}{re.escape(labels)} (\S+)$"
    match = re.search(pattern, text, re.M)
    return float(match.group(1)) if match else 0.0


async def test_metrics_count_jobs_calls_and_tokens(client: httpx.AsyncClient) -> None:
    before = (await client.get("/metrics/")).text
    job = await create(client, themes=2, topics=2)
    await wait_status(client, job, {"completed"})
    after = (await client.get("/metrics/")).text

    def delta(name: str, labels: str = "") -> float:
        return _value(after, name, labels) - _value(before, name, labels)

    assert delta("coursegen_jobs_created_total") == 1
    assert delta("coursegen_jobs_finished_total", '{status="completed"}') == 1
    assert delta("coursegen_llm_calls_total", '{stage="content"}') == 4
    assert delta("coursegen_llm_calls_total", '{stage="outline"}') == 1
    assert delta("coursegen_llm_tokens_total", '{kind="completion",stage="polish"}') > 0
    assert delta("coursegen_llm_call_seconds_count", '{stage="topics"}') == 2
    assert delta("coursegen_events_stored_total") > 10
    assert "coursegen_sse_subscribers" in after and "coursegen_jobs_running" in after


async def test_metrics_answer_at_the_bare_path_and_count_langserve_runs(
    client: httpx.AsyncClient,
) -> None:
    bare = await client.get("/metrics")
    assert bare.status_code == 200 and "coursegen_jobs_created_total" in bare.text
    assert bare.headers["content-type"].startswith("text/plain")
    body = {"input": {"course_name": "Python", "options": {"themes": 1, "topics_per_theme": 2}}}
    assert (await client.post("/course/invoke", json=body)).status_code == 200
    after = (await client.get("/metrics")).text

    def delta(labels: str) -> float:
        return _value(after, "coursegen_llm_calls_total", labels) - _value(
            bare.text, "coursegen_llm_calls_total", labels
        )

    assert delta('{stage="outline"}') == 1 and delta('{stage="content"}') == 2
    assert delta('{stage="polish"}') == 2
    # A stage chain's run counts too.
    outline = {"input": {"course_name": "Rust", "options": {"themes": 2}}}
    assert (await client.post("/chains/outline/invoke", json=outline)).status_code == 200
    last = (await client.get("/metrics")).text
    name, labels = "coursegen_llm_calls_total", '{stage="outline"}'
    assert _value(last, name, labels) == _value(after, name, labels) + 1
    assert _value(last, "coursegen_llm_call_seconds_count", labels) == (
        _value(after, "coursegen_llm_call_seconds_count", labels) + 1
    )
