"""A simulated OpenAI-compatible chat server for the benchmarks, run in a process of its own.

    python -m bench.simulated_llm --port 8901 --config '{"tokens_per_s": 30}'

It answers `/v1/chat/completions` for the four coursegen stages with schema-valid JSON
(outline, topics, content, polish), streamed piece by piece ("tokens") with a configurable
time to first token, rate and size, and optional faults. Every body token of a content or
polish answer carries a unique marker `zq<call>_<seq>q`: `<seq>` indexes the call's logged
emission times, so a client that sees the marker knows when the simulator emitted it.

Running it apart from the server under test keeps its CPU out of the server's figures.
Control endpoints (for the harness): `GET /_log` (`?tokens=1` adds the per-token times),
`POST /_config` (JSON: fields of `SimConfig`), `POST /_reset`, `GET /_health`.
"""

import argparse
import asyncio
import atexit
import contextlib
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, fields
from typing import Any

import httpx

# The scripted test server reads coursegen's requests the same way: one reader serves both.
from fakes.openai_requests import course_data, schema_name

MARKER_RE = re.compile(rb"zq(\d+)_(\d+)q")
COUNT_RE = re.compile(r"(?:exactly|ровно) (\d+)")
THEME_RE = re.compile(r"Theme (\d+)")
TOPIC_RE = re.compile(r"Topic (\d+)")

Send = Callable[[dict[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[dict[str, Any]]]


@dataclass
class SimConfig:
    """How the simulated model answers."""

    first_token_s: float = 0.25
    """Time from the request to the first token."""
    tokens_per_s: float = 30.0
    """Tokens per second of one stream after the first (0: as fast as possible)."""
    body_tokens: int = 60
    """Marker tokens in the Markdown body of a content or polish answer."""
    piece_chars: int = 8
    """The rest of the JSON is cut into tokens of this many characters (about 2 real tokens)."""
    list_items: int = 3
    """Key points and self-check questions per topic."""
    fault_rate: float = 0.0
    """Share of content and polish calls that fail (deterministic per call index and seed)."""
    fault_kind: str = "http"
    """`http` (a 500 answer at once) or `drop` (the stream is cut half-way)."""
    seed: int = 0

    def update(self, values: dict[str, Any]) -> None:
        known = {f.name for f in fields(self)}
        for key, value in values.items():
            if key not in known:
                raise ValueError(f"unknown simulator setting {key!r}")
            setattr(self, key, type(getattr(self, key))(value))


def _index(pattern: re.Pattern[str], title: Any) -> int | None:
    match = pattern.search(str(title or ""))
    return int(match.group(1)) - 1 if match else None


def _title(value: Any) -> str:
    return str(value.get("title", "")) if isinstance(value, dict) else str(value or "")


class Answer:
    """The token pieces of one answer; body tokens carry their own index as a marker."""

    def __init__(self, call_index: int, config: SimConfig) -> None:
        self.call_index, self.config = call_index, config
        self.pieces: list[str] = []
        self.body_range: tuple[int, int] | None = None

    def text(self, value: str) -> None:
        n = max(1, self.config.piece_chars)
        self.pieces.extend(value[i : i + n] for i in range(0, len(value), n))

    def body(self) -> None:
        first = len(self.pieces)
        for _ in range(self.config.body_tokens):
            self.pieces.append(f"zq{self.call_index}_{len(self.pieces)}q ")
        self.body_range = (first, len(self.pieces))


def build_answer(call: dict[str, Any], system: str, data: dict[str, Any], cfg: SimConfig) -> Answer:
    """Schema-valid JSON for the call's stage, cut into pieces."""
    answer = Answer(call["idx"], cfg)
    dumps = json.dumps
    schema, n = call["schema"], cfg.list_items
    count = COUNT_RE.search(system)
    if schema == "Outline":
        themes = int(count.group(1)) if count else 5
        course = str(data.get("course_name", ""))
        answer.text(
            dumps(
                {
                    "themes": [
                        {"title": f"Theme {i}", "description": f"Part {i} of {course}"}
                        for i in range(1, themes + 1)
                    ]
                },
                ensure_ascii=False,
            )
        )
    elif schema == "ThemeTopics":
        topics = int(count.group(1)) if count else 3
        theme = _title(data.get("theme"))
        answer.text(
            dumps(
                {
                    "topics": [
                        {
                            "title": f"{theme} / Topic {j}",
                            "description": f"Lesson {j} of {theme}",
                            "key_terms": [f"{theme} term {j}a", f"{theme} term {j}b"],
                        }
                        for j in range(1, topics + 1)
                    ]
                },
                ensure_ascii=False,
            )
        )
    elif schema == "TopicContent":
        topic = _title(data.get("topic"))
        answer.text('{"body_markdown": "')
        answer.body()
        rest = {
            "key_points": [f"{topic}: point {k}" for k in range(1, n + 1)],
            "examples": [{"title": "Example", "problem": f"Use {topic}", "solution": "Step 1."}],
            "self_check": [
                {"question": f"Question {k} on {topic}?", "answer": f"Answer {k}."}
                for k in range(1, max(3, n) + 1)
            ],
            "definitions": [
                {"term": term, "definition": f"What {term} means in {topic}."}
                for term in (data.get("topic") or {}).get("key_terms", [])
            ],
        }
        answer.text('", ' + dumps(rest, ensure_ascii=False)[1:])
    elif schema == "PolishedTopic":
        topic = _title(data.get("topic"))
        answer.text('{"summary": ' + dumps(f"What {topic} gives you.", ensure_ascii=False))
        answer.text(', "body_markdown": "')
        answer.body()
        points = [f"{topic}: point {k}" for k in range(1, n + 1)]
        answer.text('", "key_points": ' + dumps(points, ensure_ascii=False) + "}")
    elif schema == "CoverageMap":  # every requirement item met by the first topic
        items = data.get("requirements") or []
        entries = [{"item": k, "topics": ["1.1"], "theme": 0} for k in range(1, len(items) + 1)]
        answer.text(dumps({"items": entries}, ensure_ascii=False))
    else:
        answer.text("{}")
    return answer


def _chunk(call_index: int, delta: str, finish: str | None = None) -> bytes:
    head = (
        f'data: {{"id":"chatcmpl-{call_index}","object":"chat.completion.chunk","created":0,'
        f'"model":"bench","choices":[{{"index":0,"delta":{delta},"finish_reason":'
    )
    return (head + (f'"{finish}"' if finish else "null") + "}]}\n\n").encode()


class Simulator:
    """The ASGI app: the chat endpoint, the call log and the control endpoints."""

    def __init__(self, config: SimConfig | None = None) -> None:
        self.config = config or SimConfig()
        self.calls: list[dict[str, Any]] = []

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        path, method = scope["path"], scope["method"]
        if path.endswith("/chat/completions") and method == "POST":
            await self.chat(json.loads(body), receive, send)
        elif path == "/_log":
            tokens = b"tokens=1" in scope.get("query_string", b"")
            calls = self.calls if tokens else [{**c, "tokens": []} for c in self.calls]
            await self.json(send, {"calls": calls, "config": asdict(self.config)})
        elif path == "/_config" and method == "POST":
            self.config.update(json.loads(body or b"{}"))
            await self.json(send, asdict(self.config))
        elif path == "/_reset" and method == "POST":
            self.calls = []
            await self.json(send, {"ok": True})
        elif path == "/_health":
            await self.json(send, {"ok": True, "pid": os.getpid()})
        else:
            await self.json(send, {"error": "not found"}, 404)

    @staticmethod
    async def json(send: Send, payload: Any, status: int = 200) -> None:
        data = json.dumps(payload).encode()
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": data})

    def _new_call(self, body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], str]:
        messages = body.get("messages") or []
        data = course_data(messages)
        system = str(messages[0].get("content") or "") if messages else ""
        schema = schema_name(body)
        theme: int | None = None
        topic: int | None = None
        if schema == "ThemeTopics":
            theme = _index(THEME_RE, _title(data.get("theme")))
        elif schema in ("TopicContent", "PolishedTopic"):
            theme = _index(THEME_RE, _title(data.get("theme")))
            topic = _index(TOPIC_RE, _title(data.get("topic")))
        prompt_chars = sum(len(str(m.get("content") or "")) for m in messages)
        call = {
            "idx": len(self.calls),
            "schema": schema,
            "course": data.get("course_name"),
            "theme": theme,
            "topic": topic,
            "start": time.monotonic(),
            "first": None,
            "end": None,
            "status": "open",
            "messages": len(messages),
            "prompt_chars": prompt_chars,
            "prompt_tokens": prompt_chars // 4,
            "completion_tokens": 0,
            "completion_chars": 0,
            "max_tokens": body.get("max_completion_tokens") or body.get("max_tokens"),
            "body": None,
            "tokens": [],
        }
        self.calls.append(call)
        return call, data, system

    async def chat(self, body: dict[str, Any], receive: Receive, send: Send) -> None:
        cfg = self.config
        call, data, system = self._new_call(body)
        fault = None
        stage_can_fail = call["schema"] in ("TopicContent", "PolishedTopic")
        draw = random.Random(f"{cfg.seed}:{call['idx']}").random()
        if cfg.fault_rate and stage_can_fail and draw < cfg.fault_rate:
            fault = cfg.fault_kind
        if fault == "http":
            call["status"], call["end"] = "fault_http", time.monotonic()
            await self.json(send, {"error": {"message": "simulated", "type": "server_error"}}, 500)
            return
        answer = build_answer(call, system, data, cfg)
        pieces = answer.pieces
        call["body"] = answer.body_range
        call["completion_tokens"] = len(pieces)
        call["completion_chars"] = sum(len(p) for p in pieces)
        usage = {
            "prompt_tokens": call["prompt_tokens"],
            "completion_tokens": len(pieces),
            "total_tokens": call["prompt_tokens"] + len(pieces),
        }
        if not body.get("stream"):
            await asyncio.sleep(cfg.first_token_s + len(pieces) / (cfg.tokens_per_s or 1e9))
            call["status"], call["end"] = "completed", time.monotonic()
            text = "".join(pieces)
            message = {"role": "assistant", "content": text}
            choice = {"index": 0, "message": message, "finish_reason": "stop"}
            reply = {"id": f"chatcmpl-{call['idx']}", "object": "chat.completion", "created": 0}
            await self.json(send, {**reply, "model": "bench", "choices": [choice], "usage": usage})
            return
        await self._stream(call, pieces, usage, fault, body, receive, send)

    async def _stream(
        self,
        call: dict[str, Any],
        pieces: list[str],
        usage: dict[str, int],
        fault: str | None,
        body: dict[str, Any],
        receive: Receive,
        send: Send,
    ) -> None:
        cfg, idx, times = self.config, call["idx"], call["tokens"]
        gone = asyncio.Event()

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            gone.set()

        watcher = asyncio.create_task(watch())
        headers = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]
        try:
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await asyncio.sleep(cfg.first_token_s)
            await send(
                {
                    "type": "http.response.body",
                    "body": _chunk(idx, '{"role":"assistant","content":""}'),
                    "more_body": True,
                }
            )
            interval = 1.0 / cfg.tokens_per_s if cfg.tokens_per_s > 0 else 0.0
            began = time.monotonic()
            cut = len(pieces) // 2 if fault == "drop" else -1
            for seq, piece in enumerate(pieces):
                if interval and seq:
                    delay = began + seq * interval - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
                if gone.is_set():
                    call["status"] = "disconnected"
                    return
                if seq == cut:
                    call["status"] = "fault_drop"
                    raise ConnectionResetError("simulated drop")
                times.append(time.monotonic())
                chunk = _chunk(idx, '{"content":' + json.dumps(piece, ensure_ascii=False) + "}")
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            if times:
                call["first"] = times[0]
            tail = _chunk(idx, "{}", "stop")
            if (body.get("stream_options") or {}).get("include_usage"):
                tail += (
                    f'data: {{"id":"chatcmpl-{idx}","object":"chat.completion.chunk",'
                    f'"created":0,"model":"bench","choices":[],"usage":{json.dumps(usage)}}}\n\n'
                ).encode()
            tail += b"data: [DONE]\n\n"
            await send({"type": "http.response.body", "body": tail, "more_body": False})
            call["status"] = "disconnected" if gone.is_set() else "completed"
        finally:
            if times and call["first"] is None:
                call["first"] = times[0]
            call["end"] = time.monotonic()
            watcher.cancel()


def serve(port: int, config: SimConfig) -> None:
    """Run the simulator on 127.0.0.1:`port` until SIGTERM/SIGINT."""
    import uvicorn

    uvicorn.run(
        Simulator(config),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=1,
        backlog=4096,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SimProcess:
    """The simulator in a child process, and a client for its control endpoints."""

    def __init__(self, config: SimConfig | None = None, log_path: str | None = None) -> None:
        self.config = config or SimConfig()
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = log_path
        self._client = httpx.Client(timeout=60.0)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout: float = 30.0) -> "SimProcess":
        self.port = free_port()
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        command = [sys.executable, "-m", "bench.simulated_llm", "--port", str(self.port)]
        command += ["--config", json.dumps(asdict(self.config))]
        self.proc = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        atexit.register(self.stop)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the simulated LLM exited with {self.proc.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                if self._client.get(f"{self.url}/_health").status_code == 200:
                    return self
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError("the simulated LLM did not start")
            time.sleep(0.05)

    def configure(self, **values: Any) -> None:
        self.config.update(values)
        self._client.post(f"{self.url}/_config", json=values).raise_for_status()

    def reset(self) -> None:
        self._client.post(f"{self.url}/_reset").raise_for_status()

    def calls(self, tokens: bool = False) -> list[dict[str, Any]]:
        url = f"{self.url}/_log" + ("?tokens=1" if tokens else "")
        response = self._client.get(url)
        response.raise_for_status()
        return list(response.json()["calls"])

    def stop(self) -> None:
        if self._client.is_closed:
            return
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._client.close()

    def __enter__(self) -> "SimProcess":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8901)
    parser.add_argument("--config", default="{}", help="JSON object of SimConfig fields")
    args = parser.parse_args()
    config = SimConfig()
    config.update(json.loads(args.config))
    serve(args.port, config)


if __name__ == "__main__":
    main()
