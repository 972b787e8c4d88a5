"""Serve a scripted OpenAI-compatible chat API over real HTTP for tests and benchmarks."""

import asyncio
import json
import random
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from fakes.openai_requests import course_data, schema_name, sent_schema
from tests.support.embeddings import embed, encode


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
    attempt: int = 0
    """How many earlier calls had the same `identity` (retries and re-asks of one call)."""
    cut: bool = False
    """Whether the `cut_share` switch cut this answer off mid-stream."""
    authorization: str = ""
    """The Authorization header it came with (the provider key the client sent)."""

    @property
    def identity(self) -> str:
        """What the call is about: its schema and data, the same on every retry and re-ask."""
        return f"{self.schema}|{json.dumps(self.data, sort_keys=True, ensure_ascii=False)}"

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


def asked_count(call: Call, field: str) -> int:
    """How many items of the list `field` a call asks for: the schema's bounds if it has them
    (the lower one), else the prompt's "exactly N", else 3."""
    bounds = (sent_schema(call.body).get("properties") or {}).get(field) or {}
    if "minItems" in bounds:
        return int(bounds["minItems"])
    match = re.search(r"(?:exactly|ровно) (\d+)", call.system)
    return int(match.group(1)) if match else 3


def _follow_up_offset(call: Call, field: str) -> int:
    """Items already given when the call is a follow-up for the missing ones (else 0)."""
    last = str(call.messages[-1].get("content") or "")
    if not ("missing" in last or "недостающ" in last) or len(call.messages) < 2:
        return 0
    try:
        return len(json.loads(str(call.messages[-2].get("content") or "")).get(field, []))
    except ValueError:
        return 0


def _list_items(call: Call, field: str, list_count: Callable[[int], int] | None) -> range:
    asked = asked_count(call, field)
    count = list_count(asked) if list_count else asked
    start = _follow_up_offset(call, field) + 1
    return range(start, start + max(1, count))


def default_answer(call: Call, list_count: Callable[[int], int] | None = None) -> dict[str, Any]:
    """Build a schema-valid answer from the request, echoing its data so tests can check it.

    Lists (themes, topics) have as many items as the schema's bounds (or the prompt) ask
    for, or `list_count(asked)` of them; a follow-up call's items are numbered on from the
    ones already given.
    """
    ru = _russian(call)
    data = call.data
    if call.schema == "Outline":
        word = "Тема" if ru else "Theme"
        return {
            "themes": [
                {"title": f"{word} {i}", "description": f"{word} {i} — {data.get('course_name')}"}
                for i in _list_items(call, "themes", list_count)
            ]
        }
    if call.schema == "ThemeTopics":
        theme = data["theme"]["title"]
        word = "Топик" if ru else "Topic"
        return {
            "topics": [
                {
                    "title": f"{theme} / {word} {i}",
                    "description": f"{word} {i}",
                    "key_terms": [f"{theme} / {word} {i} term"],
                }
                for i in _list_items(call, "topics", list_count)
            ]
        }
    if call.schema == "CoverageMap":  # every item covered by the first topic of the map
        numbers = [line.split()[0] for line in data.get("course_map", [])]
        first = next((n for n in numbers if re.fullmatch(r"\d+\.\d+", n)), "1.1")
        return {
            "items": [
                {"item": n, "topics": [first], "theme": 0}
                for n in range(1, len(data.get("requirements", [])) + 1)
            ]
        }
    topic = data.get("topic", {})
    title = topic.get("title", "") if isinstance(topic, dict) else topic
    if call.schema == "TopicContent":
        body = (
            f"Урок «{title}». " + filler(title, ru) if ru else f"Lesson '{title}'. " + filler(title)
        )
        qa = [{"question": f"Q{i} {title}", "answer": f"A{i}"} for i in range(1, 4)]
        answer = {
            "body_markdown": body,
            "key_points": [f"{title}: 1", f"{title}: 2", f"{title}: 3"],
            "examples": [{"title": "E1", "problem": "P", "solution": "S"}],
            "self_check": qa,
            "definitions": [
                {"term": term, "definition": f"{term}: defined in {title}"}
                for term in (topic.get("key_terms", []) if isinstance(topic, dict) else [])
            ],
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


# Words for the default lessons' filler, English and Russian.
_WORDS = {
    False: "apple river stone cloud garden window engine forest candle bridge mirror ladder pocket "
    "violin harbor meadow rocket saddle tunnel marble pepper falcon jacket quartz",
    True: "яблоко река камень облако сад окно мотор лес свеча мост зеркало лестница карман скрипка "
    "гавань луг ракета седло тоннель мрамор перец сокол куртка кварц",
}


def filler(title: str, russian: bool = False, words: int = 20) -> str:
    """Words picked with the title as the seed: each topic's lesson reads differently."""
    rng = random.Random(title)  # a str seed is hashed with SHA-512: the same in every run
    return " ".join(rng.choices(_WORDS[russian].split(), k=words)) + "."


def same_english_lesson(call: Call) -> Reply:
    """A worse model: every topic gets one and the same lesson, in English whatever the
    course language (outline and topic lists stay the default ones)."""
    if call.schema == "TopicContent":
        qa = [{"question": f"What is step {i}?", "answer": f"Step {i}."} for i in range(1, 4)]
        return {
            "body_markdown": "This lesson explains how the whole system works, step by step, "
            "with the same words and the same examples every time it is asked.",
            "key_points": ["The system works step by step.", "Each step matters."],
            "examples": [{"title": "Example", "problem": "A problem.", "solution": "A solution."}],
            "self_check": qa,
        }
    if call.schema == "PolishedTopic":
        return {
            "summary": "This lesson explains the whole system.",
            "body_markdown": "This lesson explains how the whole system works, step by step, "
            "with the same words and the same examples every time.",
            "key_points": ["The system works step by step.", "Each step matters."],
        }
    return None


class ScriptedLLM:
    """An OpenAI-compatible `/v1/chat/completions` (and `/v1/embeddings`) endpoint on
    127.0.0.1, run in a thread.

    `script(call)` may return an answer (dict or raw text), a `Fault`, or None for the
    default schema-valid answer. Answers stream in `chunk_chars`-sized pieces with
    `first_token_s` before the first and `token_s` between the others. `list_count` makes a
    model that picks its own list lengths: given how many themes or topics a call asks for,
    it says how many the default answer has (`lambda n: n - 1` writes fewer, `lambda n: 4`
    ignores the count).

    `cut_share` cuts that share of the answers (those the script left to the server, not its
    faults) off halfway: the stream ends cleanly inside the JSON. Which calls are cut
    depends only on `cut_seed`, the call's `identity` and its `attempt`, not on the order
    in which concurrent calls arrive.
    """

    def __init__(
        self,
        script: Callable[[Call], Reply] | None = None,
        *,
        first_token_s: float = 0.0,
        token_s: float = 0.0,
        chunk_chars: int = 6,
        list_count: Callable[[int], int] | None = None,
        cut_share: float = 0.0,
        cut_seed: int = 0,
    ) -> None:
        self.script = script
        self.list_count = list_count
        self.cut_share, self.cut_seed = cut_share, cut_seed
        self._attempts: Counter[str] = Counter()
        self.first_token_s = first_token_s
        self.token_s = token_s
        self.chunk_chars = chunk_chars
        self.calls: list[Call] = []
        self.embedded: list[str] = []
        """Every text `/v1/embeddings` was asked to embed, in order."""
        self.embeddings_status = 200
        """Set to an error status to make `/v1/embeddings` fail with it."""
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
            self._attempts.clear()

    # --- HTTP -----------------------------------------------------------------------
    async def _embeddings(self, request: Request) -> Response:
        """`/v1/embeddings`: deterministic vectors (tests/support/embeddings.py)."""
        body = await request.json()
        if self.embeddings_status != 200:
            error = {"error": {"message": "scripted embeddings failure"}}
            return JSONResponse(error, status_code=self.embeddings_status)
        texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
        if not all(isinstance(t, str) for t in texts):  # token ids: a real server decodes them
            return JSONResponse({"error": {"message": "send text, not tokens"}}, status_code=400)
        with self._lock:
            self.embedded.extend(texts)
        fmt = body.get("encoding_format") or "float"
        data = [
            {"object": "embedding", "index": i, "embedding": encode(embed(t), fmt)}
            for i, t in enumerate(texts)
        ]
        tokens = sum(len(t.split()) for t in texts)
        usage = {"prompt_tokens": tokens, "total_tokens": tokens}
        return JSONResponse(
            {"object": "list", "data": data, "model": body.get("model", ""), "usage": usage}
        )

    def routes(self) -> list[Route]:
        """The server's endpoints: chat completions and embeddings."""
        return [
            Route("/v1/chat/completions", self._chat, methods=["POST"]),
            Route("/v1/embeddings", self._embeddings, methods=["POST"]),
        ]

    async def _chat(self, request: Request) -> Response:
        body = await request.json()
        with self._lock:
            call = Call(
                len(self.calls), schema_name(body), body["messages"], body, time.monotonic()
            )
            self.calls.append(call)
            call.attempt = self._attempts[call.identity]
            self._attempts[call.identity] += 1
        call.client_port = request.client.port if request.client else 0
        call.authorization = request.headers.get("authorization", "")
        reply = self.script(call) if self.script else None
        if not isinstance(reply, Fault) and self.cut_share:
            draw = random.Random(f"{self.cut_seed}|{call.identity}|{call.attempt}").random()
            call.cut = draw < self.cut_share
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
        text = self._full_text(call, reply)
        return text[: len(text) // 2] if call.cut else text

    def _full_text(self, call: Call, reply: Reply) -> str:
        if isinstance(reply, str):
            return reply
        if isinstance(reply, Fault):
            answer = json.dumps(default_answer(call, self.list_count), ensure_ascii=False)
            if reply.kind == "invalid":
                return reply.text or '{"wrong": true}'
            if reply.kind == "truncate":
                return answer[: len(answer) // 2]
            return answer
        answer = reply if reply is not None else default_answer(call, self.list_count)
        return json.dumps(answer, ensure_ascii=False)

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
        app = Starlette(routes=self.routes())
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


FAULT_KINDS = ("http", "invalid", "truncate", "drop", "stall")


def _counts(rule: str) -> Callable[[int], int]:
    """`fewer` / `more` than a call asks for, or always the same number."""
    if rule == "fewer":
        return lambda n: max(1, n - 1)
    if rule == "more":
        return lambda n: n + 1
    fixed = int(rule)
    return lambda n: fixed


def worse_model(
    english: bool = False, fail_share: float = 0.0, fault: str = "http", seed: int = 0
) -> Callable[[Call], Reply] | None:
    """A script of the standalone server's switches: the same English lesson everywhere
    (wrong language, repetition) and a share of calls failing with one kind of `Fault`
    (which calls depends on `seed`, the call's identity and its attempt, as `cut_share`)."""
    if not english and not fail_share:
        return None

    def script(call: Call) -> Reply:
        draw = random.Random(f"fail|{seed}|{call.identity}|{call.attempt}").random()
        if draw < fail_share:
            return Fault(fault)
        return same_english_lesson(call) if english else None

    return script


def build_server(argv: list[str] | None = None) -> ScriptedLLM:
    """The standalone server of the command line (see `main`)."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m tests.support.scripted_llm",
        description="A scripted OpenAI-compatible server; the switches make it a worse model.",
    )
    parser.add_argument("port", type=int, nargs="?", default=8900)
    parser.add_argument("token_s", type=float, nargs="?", default=0.0, help="s between pieces")
    parser.add_argument("--first-token-s", type=float, default=0.0)
    parser.add_argument("--chunk-chars", type=int, default=6, help="characters per piece")
    parser.add_argument(
        "--list-count",
        help="themes/topics per answer whatever was asked: fewer, more or a number",
    )
    parser.add_argument("--english", action="store_true", help="one English lesson for all")
    parser.add_argument("--fail-share", type=float, default=0.0, help="share of calls failing")
    parser.add_argument("--fault", choices=FAULT_KINDS, default="http", help="how they fail")
    parser.add_argument("--cut-share", type=float, default=0.0, help="share cut off midway")
    parser.add_argument("--seed", type=int, default=0, help="which calls fail or are cut")
    args = parser.parse_args(argv)
    for share in (args.fail_share, args.cut_share):
        if not 0.0 <= share <= 1.0:
            parser.error(f"a share is between 0 and 1, not {share}")
    llm = ScriptedLLM(
        worse_model(args.english, args.fail_share, args.fault, args.seed),
        first_token_s=args.first_token_s,
        token_s=args.token_s,
        chunk_chars=args.chunk_chars,
        list_count=_counts(args.list_count) if args.list_count else None,
        cut_share=args.cut_share,
        cut_seed=args.seed,
    )
    llm.port = args.port
    return llm


def main(argv: list[str] | None = None) -> None:
    """Run the scripted server standalone: python -m tests.support.scripted_llm [port] [token_s]
    [--english] [--list-count fewer|more|N] [--fail-share F --fault KIND] [--cut-share F] …"""
    llm = build_server(argv)
    app = Starlette(routes=llm.routes())
    uvicorn.run(app, host="127.0.0.1", port=llm.port, log_level="warning")


if __name__ == "__main__":
    main()
