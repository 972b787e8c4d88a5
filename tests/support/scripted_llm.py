"""Serve a scripted OpenAI-compatible chat API over real HTTP for tests and benchmarks."""

import asyncio
import json
import re
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

DATA_RE = re.compile(r"<course_data>\n(.*?)\n</course_data>", re.S)


@dataclass
class Call:
    """One chat completion request as the server saw it."""

    index: int
    schema: str
    messages: list[dict[str, Any]]
    body: dict[str, Any]
    started: float
    ended: float | None = None
    completed: bool = False
    disconnected: bool = False
    status: int = 200
    client_port: int = 0
    """The client's TCP port: calls on one pooled connection share it."""

    @property
    def data(self) -> dict[str, Any]:
        """The JSON inside the latest <course_data> block of the conversation."""
        return course_data(self.messages)

    @property
    def system(self) -> str:
        return str(self.messages[0]["content"])

    @property
    def prompt_text(self) -> str:
        return "\n".join(str(m.get("content") or "") for m in self.messages)


@dataclass
class Fault:
    """A scripted failure: an HTTP error, a truncated or invalid answer, a drop or a stall."""

    kind: str  # "http", "invalid", "truncate", "drop", "stall"
    status: int = 500
    retry_after: float | None = None
    text: str | None = None


Reply = dict[str, Any] | str | Fault | None


def _russian(call: Call) -> bool:
    return "Пиши на" in call.system


def default_answer(call: Call) -> dict[str, Any]:
    """Build a schema-valid answer from the request, echoing its data so tests can check it."""
    ru = _russian(call)
    data = call.data
    if call.schema == "Outline":
        match = re.search(r"(?:exactly|ровно) (\d+)", call.system)
        count = int(match.group(1)) if match else 3
        word = "Тема" if ru else "Theme"
        return {
            "themes": [
                {"title": f"{word} {i}", "description": f"{word} {i} — {data.get('course_name')}"}
                for i in range(1, count + 1)
            ]
        }
    if call.schema == "ThemeTopics":
        match = re.search(r"(?:exactly|ровно) (\d+)", call.system)
        count = int(match.group(1)) if match else 3
        theme = data["theme"]["title"]
        word = "Топик" if ru else "Topic"
        return {
            "topics": [
                {"title": f"{theme} / {word} {i}", "description": f"{word} {i}"}
                for i in range(1, count + 1)
            ]
        }
    topic = data.get("topic", {})
    title = topic.get("title", "") if isinstance(topic, dict) else topic
    if call.schema == "TopicContent":
        body = (
            ("Урок" if ru else "Lesson") + f" «{title}». " + "текст " * 20
            if ru
            else f"Lesson '{title}'. " + "text " * 20
        )
        qa = [{"question": f"Q{i} {title}", "answer": f"A{i}"} for i in range(1, 4)]
        answer = {
            "body_markdown": body,
            "key_points": [f"{title}: 1", f"{title}: 2", f"{title}: 3"],
            "examples": [{"title": "E1", "problem": "P", "solution": "S"}],
            "self_check": qa,
        }
        return {**answer, **cite_first_passage(data, body)}
    if call.schema == "PolishedTopic":
        draft = data.get("draft", {})
        return {
            "summary": f"{'Кратко' if ru else 'Summary'}: {title}",
            "body_markdown": "✨ " + draft.get("body_markdown", ""),
            "key_points": draft.get("key_points", ["-"]),
        }
    return {}


def cite_first_passage(data: dict[str, Any], body: str) -> dict[str, Any]:
    """With source passages in the data: cite passage 1 inline ([1]) with its first words."""
    passages = data.get("passages") or []
    if not passages:
        return {}
    quote = " ".join(passages[0]["text"].split()[:6])
    return {"body_markdown": body + " [1]", "citations": [{"passage": 1, "quote": quote}]}


def course_data(messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The JSON inside the latest <course_data> block of a conversation."""
    for message in reversed(messages):  # a re-ask's last message is the repair note
        match = DATA_RE.search(str(message.get("content") or ""))
        if match:
            return dict(json.loads(match.group(1)))
    return {}


def schema_name(body: dict[str, Any]) -> str:
    """The JSON schema a request asks for (json_schema, tools or json_mode prompts)."""
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        return str(fmt["json_schema"]["name"])
    tools = body.get("tools") or []
    if tools:
        return str(tools[0]["function"]["name"])
    # json_mode: the chain appends "JSON schema of the answer:\n{...}" to the last message.
    for message in reversed(body["messages"]):
        text = str(message.get("content") or "")
        _, marker, schema = text.rpartition("JSON schema of the answer:\n")
        if marker:
            return str(json.loads(schema).get("title", "unknown"))
    return "unknown"


class ScriptedLLM:
    """An OpenAI-compatible `/v1/chat/completions` endpoint on 127.0.0.1, run in a thread.

    `script(call)` may return an answer (dict or raw text), a `Fault`, or None for the
    default schema-valid answer. Answers stream in `chunk_chars`-sized pieces with
    `first_token_s` before the first and `token_s` between the others.
    """

    def __init__(
        self,
        script: Callable[[Call], Reply] | None = None,
        *,
        first_token_s: float = 0.0,
        token_s: float = 0.0,
        chunk_chars: int = 6,
    ) -> None:
        self.script = script
        self.first_token_s = first_token_s
        self.token_s = token_s
        self.chunk_chars = chunk_chars
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def calls_for(self, schema: str) -> list[Call]:
        return [c for c in self.calls if c.schema == schema]

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()

    # --- HTTP -----------------------------------------------------------------------
    async def _chat(self, request: Request) -> Response:
        body = await request.json()
        with self._lock:
            call = Call(
                len(self.calls), schema_name(body), body["messages"], body, time.monotonic()
            )
            self.calls.append(call)
        call.client_port = request.client.port if request.client else 0
        reply = self.script(call) if self.script else None
        if isinstance(reply, Fault) and reply.kind == "http":
            call.status, call.ended = reply.status, time.monotonic()
            headers = (
                {"retry-after": str(reply.retry_after)} if reply.retry_after is not None else {}
            )
            return JSONResponse(
                {"error": {"message": "scripted fault", "type": "server_error"}},
                status_code=reply.status,
                headers=headers,
            )
        text = self._answer_text(call, reply)
        usage = {
            "prompt_tokens": len(call.prompt_text) // 4,
            "completion_tokens": 0,
            "total_tokens": 0,
        }
        pieces = [text[i : i + self.chunk_chars] for i in range(0, len(text), self.chunk_chars)]
        usage["completion_tokens"] = len(pieces)
        usage["total_tokens"] = usage["prompt_tokens"] + len(pieces)
        if not body.get("stream"):
            await asyncio.sleep(self.first_token_s + self.token_s * len(pieces))
            call.completed, call.ended = True, time.monotonic()
            return JSONResponse(self._completion(call, text, usage))
        return StreamingResponse(
            self._sse(call, pieces, usage, reply), media_type="text/event-stream"
        )

    def _answer_text(self, call: Call, reply: Reply) -> str:
        if isinstance(reply, str):
            return reply
        if isinstance(reply, Fault):
            answer = json.dumps(default_answer(call), ensure_ascii=False)
            if reply.kind == "invalid":
                return reply.text or '{"wrong": true}'
            if reply.kind == "truncate":
                return answer[: len(answer) // 2]
            return answer
        return json.dumps(reply if reply is not None else default_answer(call), ensure_ascii=False)

    def _delta(self, call: Call, piece: str) -> dict[str, Any]:
        if call.body.get("tools"):
            name = call.body["tools"][0]["function"]["name"]
            return {
                "tool_calls": [
                    {
                        "index": 0,
                        "id": f"call_{call.index}",
                        "type": "function",
                        "function": {"name": name, "arguments": piece},
                    }
                ]
            }
        return {"content": piece}

    def _chunk(self, call: Call, delta: dict[str, Any], finish: str | None = None) -> bytes:
        payload = {
            "id": f"chatcmpl-{call.index}",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": call.body.get("model", "scripted"),
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        return b"data: " + json.dumps(payload, ensure_ascii=False).encode() + b"\n\n"

    async def _sse(
        self, call: Call, pieces: list[str], usage: dict[str, int], reply: Reply
    ) -> AsyncIterator[bytes]:
        try:
            await asyncio.sleep(self.first_token_s)
            yield self._chunk(call, {"role": "assistant", "content": ""})
            for n, piece in enumerate(pieces):
                if isinstance(reply, Fault) and n == len(pieces) // 2:
                    if reply.kind == "drop":
                        raise ConnectionResetError("scripted drop")
                    if reply.kind == "stall":
                        await asyncio.sleep(3600)
                if n and self.token_s:
                    await asyncio.sleep(self.token_s)
                yield self._chunk(call, self._delta(call, piece))
            yield self._chunk(call, {}, "stop")
            if (call.body.get("stream_options") or {}).get("include_usage"):
                payload = {
                    "id": f"chatcmpl-{call.index}",
                    "object": "chat.completion.chunk",
                    "created": 0,
                    "model": "scripted",
                    "choices": [],
                    "usage": usage,
                }
                yield b"data: " + json.dumps(payload).encode() + b"\n\n"
            yield b"data: [DONE]\n\n"
            call.completed = True
        finally:
            call.ended = time.monotonic()
            call.disconnected = not call.completed

    def _completion(self, call: Call, text: str, usage: dict[str, int]) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": text}
        if call.body.get("tools"):
            name = call.body["tools"][0]["function"]["name"]
            message = {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": f"call_{call.index}",
                        "type": "function",
                        "function": {"name": name, "arguments": text},
                    }
                ],
            }
        return {
            "id": f"chatcmpl-{call.index}",
            "object": "chat.completion",
            "created": 0,
            "model": call.body.get("model", "scripted"),
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "usage": usage,
        }

    # --- lifecycle ------------------------------------------------------------------
    def start(self) -> "ScriptedLLM":
        app = Starlette(routes=[Route("/v1/chat/completions", self._chat, methods=["POST"])])
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("scripted LLM server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server:
            self._server.should_exit = True
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> "ScriptedLLM":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> None:
    """Run the scripted server standalone: python -m tests.support.scripted_llm [port]."""
    import sys

    llm = ScriptedLLM(token_s=float(sys.argv[2]) if len(sys.argv) > 2 else 0.0)
    if len(sys.argv) > 1:
        llm.port = int(sys.argv[1])
    app = Starlette(routes=[Route("/v1/chat/completions", llm._chat, methods=["POST"])])
    uvicorn.run(app, host="127.0.0.1", port=llm.port or 8900, log_level="warning")


if __name__ == "__main__":
    main()
