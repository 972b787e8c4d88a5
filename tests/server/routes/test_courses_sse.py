"""Test the SSE wire format: LF line endings, and resuming from an id read by a naive client."""

import httpx

from tests.support.jobs import create, wait_status


def _ids(raw: str) -> list[str]:
    """The ids as a client that splits lines on "\\n" (and keeps the rest) reads them."""
    return [line.removeprefix("id: ") for line in raw.split("\n") if line.startswith("id: ")]


async def test_event_lines_end_in_lf_and_ids_resume_cleanly(client: httpx.AsyncClient) -> None:
    job = await create(client, themes=1, topics=1)
    await wait_status(client, job, {"completed"})
    raw = (await client.get(f"/courses/{job}/events")).text
    assert "\r" not in raw
    ids = _ids(raw)
    assert ids == [str(n) for n in range(1, len(ids) + 1)]
    middle = ids[len(ids) // 2]
    resumed = await client.get(f"/courses/{job}/events", headers={"Last-Event-ID": middle})
    assert _ids(resumed.text) == ids[len(ids) // 2 + 1 :]
    # An id that still carries a "\r" (a client of the old CRLF stream) is read as the id.
    again = await client.get(f"/courses/{job}/events", params={"after": f"{middle}\r"})
    assert again.status_code == 200 and _ids(again.text) == _ids(resumed.text)
