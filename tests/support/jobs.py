"""Create a course job over HTTP and poll its snapshot until it reaches a status."""

import asyncio
import time
from typing import Any

import httpx


async def wait_status(
    client: httpx.AsyncClient, job_id: str, statuses: set[str], timeout: float = 30
) -> dict[str, Any]:
    """Poll the snapshot until the job reaches one of `statuses`."""
    deadline = time.monotonic() + timeout
    while True:
        snapshot = (await client.get(f"/courses/{job_id}")).json()
        if snapshot["status"] in statuses:
            return snapshot
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} stayed {snapshot['status']}, wanted {statuses}")
        await asyncio.sleep(0.05)


async def create(
    client: httpx.AsyncClient, themes: int = 2, topics: int = 2, **options: Any
) -> str:
    body = {
        "course_name": "Python basics",
        "description": "A first course",
        "options": {"themes": themes, "topics_per_theme": topics, **options},
    }
    response = await client.post("/courses", json=body)
    assert response.status_code == 202, response.text
    return str(response.json()["id"])
