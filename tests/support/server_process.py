"""Run real `coursegen serve` processes for end-to-end tests, and follow their SSE streams.

`ServerProcess` starts the service as a subprocess on a free port with a given environment,
waits for `/healthz`, and stops it with SIGKILL (a crash) or SIGTERM (a graceful shutdown).
Everything the process prints goes to a log file, shown by `ServerGroup.report()` when a
test fails. `EventReader` follows one job's `/courses/{id}/events` over several
connections (possibly to several processes), resuming each time with `Last-Event-ID`.
"""

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping
from contextlib import aclosing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.support.scripted_llm import Call, Fault, Reply
from tests.support.sse import SSE, iter_events, token_text

REPO_ROOT = Path(__file__).resolve().parents[2]
# A deadline for a start that hangs, not a speed limit: on 2 cores shared with other test
# workers, a server with workers of its own can take half a minute to import.
START_TIMEOUT_S = 90.0
# Variables of the developer's shell that must not leak into a test server's configuration.
_SCRUBBED_PREFIXES = ("COURSEGEN_", "OPENAI_", "LANGCHAIN_", "LANGSMITH_")
# New connections until the wanted worker of `serve --workers N` accepts one (the kernel
# hands each to whichever worker accepts first).
WORKER_TRIES = 300


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """One `python -m coursegen.cli serve` subprocess on 127.0.0.1.

    `env` is added to a scrubbed copy of this process's environment (no COURSEGEN_* or
    OPENAI_* variables of the shell leak in). The working directory is `log_dir`, so no
    `.env` file of the repository is read either.
    """

    def __init__(self, env: Mapping[str, str], log_dir: Path, name: str = "server") -> None:
        self.env = dict(env)
        self.log_dir = log_dir
        self.name = name
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = log_dir / f"{name}.log"
        self._log: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def workers(self) -> int:
        return int(self.env.get("COURSEGEN_WORKERS", "1"))

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUBBED_PREFIXES)}
        env.update(
            PYTHONUNBUFFERED="1",
            PYTHONPATH=os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH")) if p),
            COURSEGEN_LOG_LEVEL="info",
            # One process unless a test asks for more (the default is one per core).
            COURSEGEN_WORKERS="1",
        )
        env.update(self.env)
        return env

    def start(self, timeout: float = START_TIMEOUT_S) -> "ServerProcess":
        """Start the process and wait until `/healthz` answers (or fail with its log)."""
        if self.alive:
            raise RuntimeError(f"{self.name} is already running")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self._log = self.log_path.open("ab")
        self._log.write(f"\n===== start {self.name} on port {self.port} =====\n".encode())
        self._log.flush()
        command = [sys.executable, "-m", "coursegen.cli", "serve"]
        command += ["--host", "127.0.0.1", "--port", str(self.port)]
        self.proc = subprocess.Popen(
            command,
            env=self._environment(),
            cwd=self.log_dir,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a group of its own: `kill()` takes its workers too
        )
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2.0) as client:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(
                        f"{self.name} exited with {self.proc.returncode} while starting:\n"
                        + self.log_tail()
                    )
                with contextlib.suppress(httpx.HTTPError):
                    if client.get(f"{self.url}/healthz").status_code == 200 and (
                        self.workers == 1 or self.workers_started() >= self.workers
                    ):
                        return self
                if time.monotonic() > deadline:
                    self.kill()
                    raise TimeoutError(
                        f"{self.name} did not answer /healthz in {timeout}s:\n" + self.log_tail()
                    )
                time.sleep(0.05)

    async def astart(self, timeout: float = START_TIMEOUT_S) -> "ServerProcess":
        """`start()` without blocking the event loop (SSE readers keep reading meanwhile)."""
        return await asyncio.to_thread(self.start, timeout)

    def workers_started(self) -> int:
        """How many of this start's worker processes have finished starting (from the log)."""
        run = self.log_text().rpartition(f"===== start {self.name} ")[2]
        return run.count('"Application startup complete."')

    def kill(self) -> int | None:
        """SIGKILL: the process and its workers die at once, as in a crash; returns its
        exit status."""
        return self._signal(signal.SIGKILL, 10.0)

    def terminate(self, timeout: float = 15.0) -> int | None:
        """SIGTERM: a graceful shutdown; returns the exit status (SIGKILL after `timeout`)."""
        return self._signal(signal.SIGTERM, timeout)

    async def aterminate(self, timeout: float = 15.0) -> int | None:
        return await asyncio.to_thread(self.terminate, timeout)

    def _signal(self, sig: signal.Signals, timeout: float) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            if sig == signal.SIGKILL:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, sig)
            else:  # the server stops its workers itself
                self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
                self._close_log()
                raise TimeoutError(
                    f"{self.name} did not exit within {timeout}s of {sig.name}:\n" + self.log_tail()
                ) from None
        self._close_log()
        return self.proc.returncode

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, chars: int = 6000) -> str:
        return self.log_text()[-chars:]


class ServerGroup:
    """The server processes of one test: all killed at the end, their logs reported."""

    def __init__(self, log_dir: Path, base_env: Mapping[str, str]) -> None:
        self.log_dir = log_dir
        self.base_env = dict(base_env)
        self.servers: list[ServerProcess] = []

    def new(self, name: str, **env: str) -> ServerProcess:
        """A not yet started server with the group's environment plus `env`."""
        server = ServerProcess({**self.base_env, **env}, self.log_dir, name)
        self.servers.append(server)
        return server

    def stop_all(self) -> None:
        for server in self.servers:
            with contextlib.suppress(Exception):
                server.kill()

    def report(self) -> str:
        parts = []
        for server in self.servers:
            parts.append(f"----- {server.name} ({server.log_path}) -----\n{server.log_tail()}")
        return "\n".join(parts)


# --- SSE ---------------------------------------------------------------------------------


@dataclass
class EventReader:
    """Follow one job's event stream across reconnects, remembering everything received.

    Each `read()` is one HTTP connection; after the first it resumes with `Last-Event-ID`
    set to the last id received, wherever it was received from.
    """

    job_id: str
    events: list[SSE] = field(default_factory=list)
    connections: int = 0
    served_by: list[str] = field(default_factory=list)  # each connection's worker
    connected_at: list[float] = field(default_factory=list)  # time.monotonic() of each

    @property
    def last_id(self) -> int:
        return self.events[-1].id if self.events else 0

    @property
    def ids(self) -> list[int]:
        return [e.id for e in self.events]

    def of_type(self, *kinds: str) -> list[SSE]:
        return [e for e in self.events if e.event in kinds]

    @property
    def ended(self) -> bool:
        return bool(self.events) and self.events[-1].event == "end"

    async def read(
        self,
        base_url: str,
        *,
        until: Callable[["EventReader"], bool] | None = None,
        max_events: int | None = None,
        timeout: float = 20.0,
        worker: str | None = None,
    ) -> str:
        """Read one connection until it closes; return why it stopped.

        "closed": the server ended the stream (after a finished job's `end`).
        "stopped": `until(self)` held or `max_events` were read; this client disconnected.
        "dropped": the connection broke (the server died, for instance).
        "elsewhere": another worker than `worker` answered; nothing was read.
        Raises TimeoutError after `timeout` seconds.
        """
        self.connections += 1
        connection = self.connections
        url = f"{base_url}/courses/{self.job_id}/events"
        async with asyncio.timeout(timeout):
            try:
                async with httpx.AsyncClient(timeout=httpx.Timeout(5.0, read=None)) as client:
                    # A cheap request finds out which worker took the connection; the stream
                    # then goes over the same kept-alive connection.
                    if worker is not None and await _worker_of(client, base_url) != worker:
                        self.connections -= 1  # not one of this reader's connections
                        return "elsewhere"
                    return await self._stream(client, url, connection, until, max_events)
            except httpx.TransportError:  # RemoteProtocolError included: a cut stream
                return "dropped"

    async def _stream(
        self,
        client: httpx.AsyncClient,
        url: str,
        connection: int,
        until: Callable[["EventReader"], bool] | None,
        max_events: int | None,
    ) -> str:
        def opened(response: httpx.Response) -> None:
            self.served_by.append(response.headers.get("x-coursegen-worker", ""))
            self.connected_at.append(time.monotonic())

        received = 0
        last_id = self.last_id if self.events else None
        events = iter_events(
            client, url, last_event_id=last_id, connection=connection, opened=opened
        )
        async with aclosing(events) as stream:
            async for event in stream:
                self.events.append(event)
                received += 1
                if (max_events is not None and received >= max_events) or (
                    until is not None and until(self)
                ):
                    return "stopped"
        return "closed"

    async def read_on(self, base_url: str, worker: str, **options: Any) -> str:
        """`read()` on one connection that `worker` (of `serve --workers N`) answers."""
        for _ in range(WORKER_TRIES):
            if (why := await self.read(base_url, worker=worker, **options)) != "elsewhere":
                return why
        raise AssertionError(f"worker {worker} answered none of {WORKER_TRIES} connections")

    async def read_to_end(self, base_url: str, timeout: float = 20.0) -> None:
        """Reconnect until the job's `end` event has arrived and the server closed the stream."""
        async with asyncio.timeout(timeout):
            while True:
                why = await self.read(base_url, timeout=timeout)
                if why == "closed" and self.ended:
                    return
                await asyncio.sleep(0.2)


async def wait_until(
    condition: Callable[[], bool | Awaitable[bool]], timeout: float, what: str
) -> None:
    """Poll `condition` every 50 ms; TimeoutError naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if isinstance(result, Awaitable):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.05)


def course_request(name: str, themes: int, topics: int) -> dict[str, Any]:
    """A POST /courses body for an English course of themes × topics."""
    return {
        "course_name": name,
        "description": f"{name}: a course written by the scripted model",
        "requirements": "",
        "language": "en",
        "options": {"themes": themes, "topics_per_theme": topics, "review_outline": False},
    }


async def _worker_of(client: httpx.AsyncClient, base_url: str) -> str:
    """Which worker of `serve --workers N` took the client's connection."""
    response = await client.get(f"{base_url}/healthz")
    return response.headers.get("x-coursegen-worker", "")


async def post_on(base_url: str, worker: str, path: str, body: Any = None) -> Any:
    """POST on a connection that `worker` answers: its first GET says which one it reached,
    and the request goes over the same kept-alive connection."""
    for _ in range(WORKER_TRIES):
        async with httpx.AsyncClient(timeout=10.0) as client:
            if await _worker_of(client, base_url) == worker:
                response = await client.post(f"{base_url}{path}", json=body)
                response.raise_for_status()
                return response.json()
    raise AssertionError(f"worker {worker} answered none of {WORKER_TRIES} connections")


async def get_json(base_url: str, path: str) -> Any:
    async with httpx.AsyncClient(timeout=10.0) as client:
        response = await client.get(f"{base_url}{path}")
        response.raise_for_status()
        return response.json()


async def post_json(base_url: str, path: str, body: Any = None) -> Any:
    async with httpx.AsyncClient(timeout=10.0) as client:
        response = await client.post(f"{base_url}{path}", json=body)
        response.raise_for_status()
        return response.json()


# --- scripted-model bookkeeping ----------------------------------------------------------


def call_key(call: Call) -> tuple[Any, ...]:
    """What one LLM call was about: (course name, schema, theme or topic title)."""
    data = call.data
    ident: Any = None
    if call.schema == "ThemeTopics":
        ident = data["theme"]["title"]
    elif call.schema in ("TopicContent", "PolishedTopic"):
        topic = data["topic"]
        ident = topic["title"] if isinstance(topic, dict) else topic
    return (data.get("course_name"), call.schema, ident)


def completed_keys(calls: Iterable[Call], course_name: str) -> Counter[tuple[Any, ...]]:
    """How many times each call of a course ran to its end."""
    return Counter(
        key for key in (call_key(c) for c in calls if c.completed) if key[0] == course_name
    )


def calls_of(calls: Iterable[Call], course_name: str) -> list[Call]:
    return [c for c in list(calls) if call_key(c)[0] == course_name]


def streams_seen(reader: EventReader, streams: Iterable[tuple[str, int, int]]) -> bool:
    """Whether the reader has non-empty token text of every (stage, theme, topic) stream."""
    return all(token_text(reader.events, *stream) for stream in streams)


# --- a deterministic crash point ---------------------------------------------------------


class StallScript:
    """A `ScriptedLLM` script: calls picked by an active rule get its reply (by default they
    stall half-way); the others get the default answer."""

    def __init__(self) -> None:
        self.rules: dict[str, tuple[Callable[[Call], bool], Reply]] = {}

    def stall(self, name: str, rule: Callable[[Call], bool], reply: Reply = None) -> None:
        self.rules[name] = (rule, reply if reply is not None else Fault("stall"))

    def release(self, name: str) -> None:
        """Later calls the rule picked answer normally (stalled ones stay stalled)."""
        self.rules.pop(name, None)

    def __call__(self, call: Call) -> Reply:
        for rule, reply in list(self.rules.values()):
            if rule(call):
                return reply
        return None


def mid_course(course_name: str) -> Callable[[Call], bool]:
    """Stall, in every theme of three topics, topic 3's content and topic 2's polish.

    The run then holds still with topic 1 finished, topic 2 written and being polished and
    topic 3 being written: the crash point of the restart and takeover tests.
    """

    def rule(call: Call) -> bool:
        course, schema, title = call_key(call)
        return course == course_name and (
            (schema == "TopicContent" and str(title).endswith("Topic 3"))
            or (schema == "PolishedTopic" and str(title).endswith("Topic 2"))
        )

    return rule


def mid_course_streams(themes: int) -> list[tuple[str, int, int]]:
    """The (stage, theme, topic) token streams `mid_course` holds open."""
    return [("content", i, 2) for i in range(themes)] + [("polish", i, 1) for i in range(themes)]


async def wait_mid_course(reader: EventReader, themes: int, timeout: float = 15.0) -> None:
    """Wait until the reader saw the `mid_course` crash point (from the stored log)."""
    await wait_until(
        lambda: (
            len(reader.of_type("content")) == 2 * themes
            and len(reader.of_type("polished")) == themes
            and streams_seen(reader, mid_course_streams(themes))
        ),
        timeout,
        "topics 1 finished, topics 2 written and the stalled streams under way",
    )
    # A finished call's checkpoint is written in the background just after it returns:
    # leave it a moment, so that "finished before the crash" is unambiguous.
    await asyncio.sleep(0.3)


def assert_finished_once(
    calls: list[Call],
    reader: EventReader,
    snapshot: dict[str, Any],
    course_name: str,
    *,
    themes: int,
    topics: int,
    cut: int,
) -> None:
    """The job ended completed after an interruption, and nothing finished was redone.

    Gap-free ids, every LLM call of the course completed exactly once (only the `cut`
    interrupted ones ran again), progress never going back, the whole course in the
    snapshot, and every token stream rebuilding to the answer that was kept.
    """
    assert reader.ids == list(range(1, reader.last_id + 1)), f"ids not gap-free: {reader.ids}"
    assert reader.events[-1].event == "end"
    assert reader.events[-1].data == {"status": "completed"}
    statuses = [e.data["status"] for e in reader.of_type("status")]
    assert not {"failed", "cancelled"} & set(statuses), statuses

    done = completed_keys(calls, course_name)
    repeated = {key: n for key, n in done.items() if n > 1}
    assert not repeated, f"completed calls were repeated: {repeated}"
    assert len(done) == 1 + themes + 2 * themes * topics, sorted(done)
    interrupted = [c for c in calls_of(calls, course_name) if not c.completed]
    assert len(interrupted) == cut, [call_key(c) for c in interrupted]
    assert all(c.disconnected for c in interrupted)

    progress = [e.data["done"] for e in reader.of_type("progress")]
    assert progress == sorted(progress), f"progress went backwards: {progress}"
    stages = [e.data["stage"] for e in reader.of_type("stage")]
    assert stages == ["outline", "topics", "content", "polish"], stages

    assert snapshot["status"] == "completed"
    assert snapshot["progress"]["done"] == snapshot["progress"]["total"] > 0, snapshot["progress"]
    assert snapshot["last_event_id"] == reader.last_id
    course = snapshot["course"]
    assert len(course["themes"]) == themes
    for i, theme in enumerate(course["themes"]):
        assert len(theme["topics"]) == topics
        for j, topic in enumerate(theme["topics"]):
            assert topic["error"] is None
            assert topic["content"] and topic["content"]["body_markdown"]
            assert topic["polished"] and topic["polished"]["body_markdown"].startswith("✨ ")
            # The log alone carries the whole course: its last content and polished events.
            for kind in ("content", "polished"):
                logged = [
                    e.data[kind]
                    for e in reader.of_type(kind)
                    if (e.data["theme"], e.data["topic"]) == (i, j)
                ]
                assert logged and logged[-1] == topic[kind], f"log lacks {kind} of {i}/{j}"
            # Dropping a stream's text at each `start` marker leaves the answer that was
            # kept, also for streams cut off mid-way and started again by another process.
            for stage, kind in (("content", "content"), ("polish", "polished")):
                text = token_text(reader.events, stage, i, j)
                assert json.loads(text)["body_markdown"] == topic[kind]["body_markdown"]


def calls_report(calls: Iterable[Call]) -> str:
    """The scripted model's call log, one line a call, for the report of a failed test."""
    lines = ["----- scripted LLM calls -----"]
    for c in list(calls):
        state = "completed" if c.completed else "cut" if c.disconnected else "open"
        lines.append(f"{c.index:3} {call_key(c)} {state} started={c.started:.2f} ended={c.ended}")
    return "\n".join(lines)
