"""Test the quality report over real HTTP: the event, the stored report, the route, the export."""

import time

import httpx

from coursegen.server.jobs.models import Job
from coursegen.server.jobs.store import SCHEMA, SqlJobStore
from tests.support.backends import Backend
from tests.support.jobs import create, wait_status
from tests.support.live_app import LiveApp
from tests.support.scripted_llm import Call, Reply, ScriptedLLM, same_english_lesson
from tests.support.sse import read_events


async def test_report_event_comes_before_end_and_is_stored(client: httpx.AsyncClient) -> None:
    job = await create(client, themes=2, topics=2)
    events = await read_events(client, f"/courses/{job}/events")
    assert [e.event for e in events[-3:]] == ["report", "status", "end"]
    report = (await client.get(f"/courses/{job}/report")).json()
    assert report == events[-3].data
    assert report["shape"]["ok"] is True
    assert report["shape"]["delivered"] == {
        "themes": 2,
        "topics_per_theme": [2, 2],
        "lessons_failed": 0,
    }
    assert report["overlap"]["pairs"] == [] and report["overlap"]["max"] < 0.8
    assert report["language"]["expected"] == "en" and report["language"]["share"] > 0.9
    assert (
        report["usage"]["model"] == "openai-compatible:scripted"
        and report["usage"]["cost_usd"] is None
    )
    assert report["usage"]["total"]["calls"] == 1 + 2 + 4 + 4
    assert report["self_check"]["questions_per_topic"] == [3, 3, 3, 3]
    assert report["length"]["lessons"] == 4 and report["length"]["min"] > 20


async def test_a_model_repeating_one_english_lesson_shows_in_the_report(
    client: httpx.AsyncClient, scripted_llm: ScriptedLLM
) -> None:
    scripted_llm.script = same_english_lesson
    body = {
        "course_name": "Основы программирования",
        "language": "ru",
        "options": {"themes": 2, "topics_per_theme": 2},
    }
    job = (await client.post("/courses", json=body)).json()["id"]
    await wait_status(client, job, {"completed"})
    report = (await client.get(f"/courses/{job}/report")).json()
    pairs = report["overlap"]["pairs"]
    lessons = [[1, 1], [1, 2], [2, 1], [2, 2]]
    assert sorted((p["a"], p["b"]) for p in pairs) == [
        (a, b) for i, a in enumerate(lessons) for b in lessons[i + 1 :]
    ]
    assert all(p["similarity"] >= 0.8 for p in pairs)
    assert report["language"]["expected"] == "ru" and report["language"]["share"] < 0.5
    off = {(f["theme"], f["topic"], f["field"]) for f in report["language"]["off_language"]}
    assert (2, 2, "polished_body") in off
    assert report["shape"]["ok"] is True  # the shape is right; the material is not


async def test_a_job_finished_before_reports_is_measured_on_request(
    client: httpx.AsyncClient, live_app: LiveApp
) -> None:
    job = await create(client, themes=1, topics=2)
    await wait_status(client, job, {"completed"})
    stored = (await client.get(f"/courses/{job}/report")).json()
    store = live_app.app.state.jobs.store
    await live_app.call(lambda: store.update(job, {"report": None}))
    measured = (await client.get(f"/courses/{job}/report")).json()
    assert measured["usage"]["model"] is None  # the job does not record its model
    assert {**measured, "usage": None, "summary": None} == {
        **stored,
        "usage": None,
        "summary": None,
    }


async def test_no_report_before_the_course_is_done(client: httpx.AsyncClient) -> None:
    job = await create(client, themes=1, topics=1, review_outline=True)
    await wait_status(client, job, {"awaiting_review"})
    response = await client.get(f"/courses/{job}/report")
    assert response.status_code == 409
    assert response.json()["detail"].startswith("job is awaiting_review")
    assert (await client.get("/courses/nope/report")).status_code == 404


async def test_html_export_with_the_report_as_appendix(client: httpx.AsyncClient) -> None:
    job = await create(client, themes=1, topics=2)
    await wait_status(client, job, {"completed"})
    page = await client.get(f"/courses/{job}/export", params={"format": "html", "report": "true"})
    assert page.status_code == 200
    appendix = page.text[page.text.index('id="quality-report"') :]
    assert '<th scope="row">Shape</th><td>ok: asked 1×2, got 1×2</td>' in appendix
    plain = await client.get(f"/courses/{job}/export", params={"format": "html"})
    assert "quality-report" not in plain.text
    wrong = await client.get(f"/courses/{job}/export", params={"format": "md", "report": "true"})
    assert wrong.status_code == 422 and "html only" in wrong.text


OLD_TABLE = SCHEMA[0].replace(",\n        report TEXT)", ")")  # coursegen_jobs before reports


async def _reports_are_stored_after_setup(store: SqlJobStore) -> None:
    await store.setup()
    try:
        now = time.time()
        job = Job(id="j1", request={"course_name": "x"}, created_at=now, updated_at=now)
        await store.create(job)
        await store.update("j1", {"report": {"version": 1}})
        stored = await store.get("j1")
        assert stored is not None and stored.report == {"version": 1}
        await store.setup()  # a second start finds the column there
    finally:
        await store.close()


async def test_an_older_job_table_gets_the_report_column(backend: Backend) -> None:
    backend.execute(OLD_TABLE)
    assert "report" not in backend.columns("coursegen_jobs")
    await _reports_are_stored_after_setup(backend.job_store())


async def test_an_uncovered_requirement_shows_in_the_review_event_and_the_report(
    client: httpx.AsyncClient, scripted_llm: ScriptedLLM
) -> None:
    def never_covered(call: Call) -> Reply:  # item 2 fits theme 2, and no topic takes it
        if call.schema != "CoverageMap":
            return None
        return {"items": [{"item": 1, "topics": ["1.1"], "theme": 0}, {"item": 2, "topics": []}]}

    scripted_llm.script = never_covered
    scripted_llm.list_count = lambda asked: 4  # and it ignores counts: the revision too
    body = {
        "course_name": "Python basics",
        "requirements": "Beginner level; worked examples",
        "language": "en",
        "options": {"themes": 2, "topics_per_theme": 2},
    }
    job = (await client.post("/courses", json=body)).json()["id"]
    events = await read_events(client, f"/courses/{job}/events")
    reviews = [e.data for e in events if e.event == "review"]
    # announced before any lesson; the one revision re-plans theme 2, which still misses it
    assert [(r["uncovered"], r["revising"]) for r in reviews] == [
        (["worked examples"], [2]),
        (["worked examples"], []),
    ]
    assert [e.event for e in events].index("review") < [e.event for e in events].index("content")
    report = (await client.get(f"/courses/{job}/report")).json()
    assert report["coverage"]["uncovered"] == 1
    assert report["coverage"]["requirements"][1] == {
        "requirement": "worked examples",
        "covered_by": [],
        "covered": False,
    }
    assert report["summary"]["Coverage"] == "1/2 requirement items covered; not: worked examples"
    assert [
        len(t["topics"]) for t in (await client.get(f"/courses/{job}")).json()["course"]["themes"]
    ] == [2, 2]  # the revision kept the counts
