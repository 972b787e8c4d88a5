"""The asynchronous coursegen client (httpx.AsyncClient)."""

import asyncio
import os
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Any

import httpx

import coursegen.client._common as common
from coursegen.client._common import Event, ExportFormat, RetryHook


class AsyncCourseClient(common.ClientCore[httpx.AsyncClient, httpx.AsyncBaseTransport]):
    """The async twin of CourseClient: the same methods, awaited; `events()` is async."""

    def _open(self, **options: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(**options)

    async def __aenter__(self) -> "AsyncCourseClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = await self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from exc
        common.raise_for_status(response)
        return response

    async def _json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        return dict((await self._call(method, path, **kwargs)).json())

    async def create(self, request: Any, idempotency_key: str | None = None) -> dict[str, Any]:
        """Start a job from a CourseRequest or a dict: `{id, status, events_url}`."""
        return await self._json(
            "POST", "/courses", **common.create_options(request, idempotency_key)
        )

    async def get(self, job_id: str) -> dict[str, Any]:
        """The job's snapshot: status, stage, progress, the course so far, usage, error."""
        return await self._json("GET", f"/courses/{job_id}")

    async def review(
        self, job_id: str, approve: bool = True, outline: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Approve the outline of a job awaiting review, or continue with an edited one."""
        body = common.review_body(approve, outline)
        return await self._json("POST", f"/courses/{job_id}/review", json=body)

    async def regenerate(
        self, job_id: str, theme: int, topic: int | None = None, instructions: str = ""
    ) -> dict[str, Any]:
        """Rewrite one theme (or one topic of it) of a finished course."""
        body = {"theme": theme, "topic": topic, "instructions": instructions}
        return await self._json("POST", f"/courses/{job_id}/regenerate", json=body)

    async def cancel(self, job_id: str) -> dict[str, Any]:
        """Stop the job (idempotent)."""
        return await self._json("POST", f"/courses/{job_id}/cancel")

    async def delete(self, job_id: str) -> None:
        """Delete the job, its events and its checkpoints."""
        await self._call("DELETE", f"/courses/{job_id}")

    async def report(self, job_id: str) -> dict[str, Any]:
        """The quality report of a completed job (409 while it is not)."""
        return await self._json("GET", f"/courses/{job_id}/report")

    async def export(self, job_id: str, fmt: ExportFormat) -> bytes:
        """The course as a file: Markdown, HTML, a SCORM package or an IMS Common Cartridge."""
        response = await self._call("GET", f"/courses/{job_id}/export", params={"format": fmt})
        return bytes(response.content)

    async def events(
        self, job_id: str, after: int = 0, *, on_retry: RetryHook | None = None
    ) -> AsyncGenerator[Event, None]:
        """Yield the job's events after `after`, then live ones, until the server ends the stream.

        A dropped connection is resumed with `Last-Event-ID`: no event is lost or repeated.
        """
        state = self._follow(job_id, after, on_retry)
        while not state.ended:
            try:
                async with self._http.stream(
                    "GET", state.path, **self._stream_options(state)
                ) as response:
                    if not response.is_success:
                        await response.aread()
                        state.check(response)
                    parser = common.SSEParser()
                    async for line in response.aiter_lines():
                        if (event := parser.feed(line)) is not None:
                            state.seen(event)
                            yield event
                if not state.ended:
                    state.closed(await self.get(job_id))
            except common.RESUMABLE as exc:
                await asyncio.sleep(state.dropped(exc))

    async def wait(self, job_id: str, *, on_retry: RetryHook | None = None) -> dict[str, Any]:
        """Follow the job until its run ends or it pauses for review; return its snapshot."""
        snapshot = await self.get(job_id)
        if snapshot["status"] in common.SETTLED:
            return snapshot
        events = self.events(job_id, snapshot["last_event_id"], on_retry=on_retry)
        async with aclosing(events):
            async for event in events:
                if common.ends_wait(event):
                    break
        return await self.get(job_id)

    async def list(self, limit: int = 20, cursor: str | None = None) -> dict[str, Any]:
        """The caller's jobs, newest first: `{items: [snapshot…], next_cursor}`."""
        return await self._json("GET", "/courses", params=common.list_params(limit, cursor))

    async def add_source(self, path: str | os.PathLike[str]) -> dict[str, Any]:
        """Upload a PDF, DOCX, Markdown, HTML or text file: `{id, title, kind, pages, chunks}`."""
        return await self._json("POST", "/sources", files=common.upload_file(path))

    async def sources(self) -> dict[str, Any]:
        """The caller's sources, newest first: `{items: [source…]}`."""
        return await self._json("GET", "/sources")

    async def get_source(self, source_id: str) -> dict[str, Any]:
        """One source: title, kind, pages, chunks, headings."""
        return await self._json("GET", f"/sources/{source_id}")

    async def delete_source(self, source_id: str) -> None:
        """Delete a source with its chunks and index entries."""
        await self._call("DELETE", f"/sources/{source_id}")
