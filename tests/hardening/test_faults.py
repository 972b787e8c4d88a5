"""Inject provider faults into concurrent jobs: every job still completes, with a sound log.

The scripted model answers 429s, 5xxs, truncated JSON, stalls past the call timeout and
connections dropped mid-stream. Which call gets which fault is decided by a seeded RNG per
call *identity* (course, stage, theme or topic, attempt), not per arrival order, so the same
faults hit the same calls however the jobs interleave. The graph's retry policy keeps its
attempts and its retry predicate; only its waits are shortened (`fast_retries`).
"""

import asyncio
import json
import random
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
from langgraph.types import RetryPolicy

from coursegen.server.app import create_app
from coursegen.settings import Settings
from tests.server.conftest import wait_status
from tests.support.live_app import LiveApp
from tests.support.scripted_llm import Call, Fault, Reply, ScriptedLLM
from tests.support.sse import SSE, read_events, token_text

SEED = 20240611
LLM_TIMEOUT_S = 1.5
JOBS = 4
THEMES, TOPICS = 2, 3
# Cumulative probabilities per call attempt.
FAULT_TABLE: list[tuple[float, str]] = [
    (0.10, "429"),
    (0.20, "5xx"),
    (0.30, "truncate"),
    (0.35, "stall"),
    (0.42, "drop"),
]
TRANSIENT = {"429", "5xx", "stall", "drop"}


def call_key(call: Call) -> tuple[str, str, str]:
    """What a call is about, the same on every retry and re-ask of it."""
    data = call.data
    if call.schema == "ThemeTopics":
        subject = data["theme"]["title"]
    elif call.schema == "TopicContent":
        subject = data["topic"]["title"]
    elif call.schema == "PolishedTopic":
        subject = data["topic"]
    else:
        subject = ""
    return str(data.get("course_name")), call.schema, str(subject)


@dataclass
class FaultPlan:
    """Decide each call's fault from (seed, call identity, attempt number)."""

    seed: int
    attempts: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    injected: dict[int, str] = field(default_factory=dict)  # call index -> fault kind
    keys: dict[int, tuple[str, str, str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, call: Call) -> Reply:
        key = call_key(call)
        with self.lock:
            attempt = self.attempts[key]
            self.attempts[key] += 1
            self.keys[call.index] = key
        # The outline is the one call whose failure fails the whole job (by design), so it
        # is faulted on its first attempt only: "every job completes" stays deterministic.
        if key[1] == "Outline" and attempt > 0:
            return None
        rng = random.Random(f"{self.seed}|{'|'.join(key)}|{attempt}")
        draw = rng.random()
        kind = next((kind for limit, kind in FAULT_TABLE if draw < limit), None)
        if kind is None:
            return None
        with self.lock:
            self.injected[call.index] = kind
        if kind == "429":
            return Fault("http", status=429, retry_after=0.05)
        if kind == "5xx":
            return Fault("http", status=rng.choice([500, 502, 503]))
        return Fault(kind)


def check_log(events: list[SSE], last_event_id: int) -> None:
    """Ids 1..N without gaps, ending with `end` (completed)."""
    assert [e.id for e in events] == list(range(1, len(events) + 1))
    assert events and events[-1].id == last_event_id
    assert events[-1].event == "end" and events[-1].data == {"status": "completed"}


def check_errors(events: list[SSE]) -> set[tuple[int, int | None]]:
    """Every error event is a per-theme or per-topic one and says whether to retry."""
    failed: set[tuple[int, int | None]] = set()
    for event in (e for e in events if e.event == "error"):
        data = event.data
        assert isinstance(data.get("retryable"), bool), data
        assert data["retryable"] is True and data["message"], data
        assert data["code"] in ("topic_failed", "theme_failed"), data
        assert "theme" in data, data  # never a job-level error: the job completed
        if data["code"] == "topic_failed":
            failed.add((data["theme"], data["topic"]))
        else:
            assert "topic" not in data, data
            failed.add((data["theme"], None))
    return failed


def last_event(events: list[SSE], kind: str, theme: int, topic: int) -> dict[str, Any]:
    matching = [
        e.data
        for e in events
        if e.event == kind and (e.data["theme"], e.data["topic"]) == (theme, topic)
    ]
    assert matching, (kind, theme, topic)
    return matching[-1][kind]


def check_course(name: str, snapshot: dict[str, Any], events: list[SSE]) -> int:
    """Topics without error are whole; failed ones are announced. Returns topics written."""
    failed = check_errors(events)
    course = snapshot["course"]
    assert course["course_name"] == name and len(course["themes"]) == THEMES
    written = 0
    for i, theme in enumerate(course["themes"]):
        assert name in theme["description"]  # no answer of another job leaked in
        if theme.get("error"):
            assert (i, None) in failed and theme["topics"] == []
            continue
        assert len(theme["topics"]) == TOPICS
        for j, topic in enumerate(theme["topics"]):
            if topic["error"]:
                assert (i, j) in failed, (i, j, topic["error"])
                assert topic["polished"] is None
                continue
            content, polished = topic["content"], topic["polished"]
            assert content and polished, (i, j)
            assert content["key_points"][0].startswith(topic["title"])
            assert polished["body_markdown"] == "✨ " + content["body_markdown"]
            # The deltas after the last `start` of each stream are exactly the kept answer,
            # however many truncated, dropped or stalled attempts came before it.
            for stage, kind in (("content", "content"), ("polish", "polished")):
                streamed = json.loads(token_text(events, stage, i, j))
                assert streamed == last_event(events, kind, i, j) == topic[kind]
            written += 1
    assert {key for key in failed if key[1] is not None} == {
        (i, j)
        for i, theme in enumerate(course["themes"])
        for j, topic in enumerate(theme["topics"])
        if topic["error"]
    }
    return written


async def test_concurrent_jobs_survive_injected_faults(
    settings: Settings, scripted_llm: ScriptedLLM, fast_retries: RetryPolicy
) -> None:
    plan = FaultPlan(SEED)
    scripted_llm.script = plan
    settings = settings.model_copy(update={"llm_timeout_s": LLM_TIMEOUT_S})
    names = [f"Fault tolerance {chr(65 + n)}" for n in range(JOBS)]
    with LiveApp(create_app(settings)) as live:
        async with httpx.AsyncClient(base_url=live.url, timeout=30) as client:
            ids = []
            for name in names:
                body = {
                    "course_name": name,
                    "options": {"themes": THEMES, "topics_per_theme": TOPICS},
                }
                response = await client.post("/courses", json=body)
                assert response.status_code == 202, response.text
                ids.append(response.json()["id"])
            # Bounded: a hung call or a lost retry shows up as a job that never finishes.
            snapshots = await asyncio.gather(
                *(wait_status(client, job, {"completed", "failed"}, timeout=35) for job in ids)
            )
            assert [s["status"] for s in snapshots] == ["completed"] * JOBS, [
                s["error"] for s in snapshots
            ]
            logs = await asyncio.wait_for(
                asyncio.gather(*(read_events(client, f"/courses/{job}/events") for job in ids)),
                timeout=20,
            )
    written = 0
    for name, snapshot, events in zip(names, snapshots, logs, strict=True):
        check_log(events, snapshot["last_event_id"])
        written += check_course(name, snapshot, events)

    kinds = Counter(plan.injected.values())
    assert set(kinds) == {"429", "5xx", "truncate", "stall", "drop"}, kinds
    assert sum(kinds.values()) >= 20, kinds  # a real share of the calls went wrong
    total = JOBS * THEMES * TOPICS
    assert written >= total * 3 // 4, (written, total)  # retries and re-asks recovered most
    # Calls that failed and were then answered in full: the retries really happened.
    calls = scripted_llm.calls
    faulted = {plan.keys[i] for i, kind in plan.injected.items() if kind in TRANSIENT}
    answered = {plan.keys[c.index] for c in calls if c.completed and c.index not in plan.injected}
    assert len(faulted & answered) >= 10, (faulted, answered)
    assert all(c.ended is not None for c in calls), "a provider call was left open"
    for call in (calls[i] for i, kind in plan.injected.items() if kind == "stall"):
        # The stalled stream was given up on at the call timeout, not left to hang.
        assert call.disconnected and call.ended is not None
        assert call.ended - call.started < LLM_TIMEOUT_S + 5


CUT_SEED = 6  # chosen so that an outline is cut on its first two requests
CUT_SHARE = 0.10  # of the answers the provider sends (errors aside)
ERROR_TABLE: list[tuple[float, int]] = [(0.15, 429), (0.20, 500)]  # cumulative, per request
CUT_COURSES = 6


def provider_errors(call: Call) -> Reply:
    """15 % of requests answered 429, 5 % 500, by (seed, call identity, attempt)."""
    draw = random.Random(f"{CUT_SEED}|errors|{call.identity}|{call.attempt}").random()
    status = next((status for limit, status in ERROR_TABLE if draw < limit), None)
    if status is None:
        return None
    return Fault("http", status=status, retry_after=0.05 if status == 429 else None)


async def test_every_course_finishes_when_answers_are_cut_mid_stream(
    settings: Settings, fast_retries: RetryPolicy
) -> None:
    """A cut answer is retried like a dropped connection, not spent on the one re-ask: two
    cuts in a row of one call (an outline's would fail its whole course) do no harm."""
    names = [f"Cut answers {chr(65 + n)}" for n in range(CUT_COURSES)]
    with ScriptedLLM(provider_errors, cut_share=CUT_SHARE, cut_seed=CUT_SEED) as llm:
        settings = settings.model_copy(
            update={"base_url": llm.base_url, "max_jobs_per_owner": CUT_COURSES}
        )
        with LiveApp(create_app(settings)) as live:
            async with httpx.AsyncClient(base_url=live.url, timeout=30) as client:
                ids = []
                for name in names:
                    body = {"course_name": name, "options": {"themes": 2, "topics_per_theme": 2}}
                    response = await client.post("/courses", json=body)
                    assert response.status_code == 202, response.text
                    ids.append(response.json()["id"])
                snapshots = await asyncio.gather(
                    *(wait_status(client, job, {"completed", "failed"}, timeout=35) for job in ids)
                )
                logs = await asyncio.gather(
                    *(read_events(client, f"/courses/{job}/events") for job in ids)
                )
    assert [s["status"] for s in snapshots] == ["completed"] * CUT_COURSES, [
        s["error"] for s in snapshots
    ]
    for events in logs:
        assert not [e.data for e in events if e.event == "error"]  # every topic was written
    for snapshot in snapshots:
        topics = [t for theme in snapshot["course"]["themes"] for t in theme["topics"]]
        assert len(topics) == 4 and all(t["polished"] for t in topics)
    # The faults really came: cuts, 429s and 500s, and an outline cut twice in a row (before
    # the fix its second cut was the re-ask's, and its whole course failed).
    calls = llm.calls
    cut = [c for c in calls if c.cut]
    assert len(cut) >= 0.05 * len(calls), (len(cut), len(calls))
    assert {429, 500} <= {c.status for c in calls}
    cut_twice = {c.identity for c in cut if c.attempt == 0 and c.schema == "Outline"} & {
        c.identity for c in cut if c.attempt == 1
    }
    assert cut_twice, "the seed must cut an outline on its first two requests"
    assert not any(c.messages[-1]["content"].startswith("Your previous answer") for c in cut)
