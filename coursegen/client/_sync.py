"""The synchronous coursegen client (httpx.Client)."""

import os
import time
from collections.abc import Iterator
from typing import Any

import httpx

import coursegen.client._common as common
from coursegen.client._common import Event, ExportFormat, RetryHook


class CourseClient(common.ClientCore[httpx.Client, httpx.BaseTransport]):
    """Talk to a coursegen server's jobs API; `events()` resumes dropped streams by itself."""

    def _open(self, **options: Any) -> httpx.Client:
        return httpx.Client(**options)

    def __enter__(self) -> "CourseClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from exc
        common.raise_for_status(response)
        return response

    def _json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        return dict(self._call(method, path, **kwargs).json())

    def create(self, request: Any, idempotency_key: str | None = None) -> dict[str, Any]:
        """Start a job from a CourseRequest or a dict: `{id, status, events_url}`."""
        return self._json("POST", "/courses", **common.create_options(request, idempotency_key))

    def get(self, job_id: str) -> dict[str, Any]:
        """The job's snapshot: status, stage, progress, the course so far, usage, error."""
        return self._json("GET", f"/courses/{job_id}")

    def review(
        self, job_id: str, approve: bool = True, outline: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Approve the outline of a job awaiting review, or continue with an edited one."""
        body = common.review_body(approve, outline)
        return self._json("POST", f"/courses/{job_id}/review", json=body)

    def regenerate(
        self, job_id: str, theme: int, topic: int | None = None, instructions: str = ""
    ) -> dict[str, Any]:
        """Rewrite one theme (or one topic of it) of a finished course."""
        body = {"theme": theme, "topic": topic, "instructions": instructions}
        return self._json("POST", f"/courses/{job_id}/regenerate", json=body)

    def cancel(self, job_id: str) -> dict[str, Any]:
        """Stop the job (idempotent)."""
        return self._json("POST", f"/courses/{job_id}/cancel")

    def delete(self, job_id: str) -> None:
        """Delete the job, its events and its checkpoints."""
        self._call("DELETE", f"/courses/{job_id}")

    def report(self, job_id: str) -> dict[str, Any]:
        """The quality report of a completed job (409 while it is not)."""
        return self._json("GET", f"/courses/{job_id}/report")

    def export(self, job_id: str, fmt: ExportFormat) -> bytes:
        """The course as a file: Markdown, HTML, a SCORM package or an IMS Common Cartridge."""
        response = self._call("GET", f"/courses/{job_id}/export", params={"format": fmt})
        return bytes(response.content)

    def events(
        self, job_id: str, after: int = 0, *, on_retry: RetryHook | None = None
    ) -> Iterator[Event]:
        """Yield the job's events after `after`, then live ones, until the server ends the stream.

        A dropped connection is resumed with `Last-Event-ID`: no event is lost or repeated.
        """
        state = self._follow(job_id, after, on_retry)
        while not state.ended:
            try:
                with self._http.stream(
                    "GET", state.path, **self._stream_options(state)
                ) as response:
                    if not response.is_success:
                        response.read()
                        state.check(response)
                    parser = common.SSEParser()
                    for line in response.iter_lines():
                        if (event := parser.feed(line)) is not None:
                            state.seen(event)
                            yield event
                if not state.ended:
                    state.closed(self.get(job_id))
            except common.RESUMABLE as exc:
                time.sleep(state.dropped(exc))

    def wait(self, job_id: str, *, on_retry: RetryHook | None = None) -> dict[str, Any]:
        """Follow the job until its run ends or it pauses for review; return its snapshot."""
        snapshot = self.get(job_id)
        if snapshot["status"] in common.SETTLED:
            return snapshot
        for event in self.events(job_id, snapshot["last_event_id"], on_retry=on_retry):
            if common.ends_wait(event):
                break
        return self.get(job_id)

    def list(self, limit: int = 20, cursor: str | None = None) -> dict[str, Any]:
        """The caller's jobs, newest first: `{items: [snapshot…], next_cursor}`."""
        return self._json("GET", "/courses", params=common.list_params(limit, cursor))

    def add_source(self, path: str | os.PathLike[str]) -> dict[str, Any]:
        """Upload a PDF, DOCX, Markdown, HTML or text file: `{id, title, kind, pages, chunks}`."""
        return self._json("POST", "/sources", files=common.upload_file(path))

    def sources(self) -> dict[str, Any]:
        """The caller's sources, newest first: `{items: [source…]}`."""
        return self._json("GET", "/sources")

    def get_source(self, source_id: str) -> dict[str, Any]:
        """One source: title, kind, pages, chunks, headings."""
        return self._json("GET", f"/sources/{source_id}")

    def delete_source(self, source_id: str) -> None:
        """Delete a source with its chunks and index entries."""
        self._call("DELETE", f"/sources/{source_id}")
