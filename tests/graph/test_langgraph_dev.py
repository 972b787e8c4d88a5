"""Serve the graph with `langgraph dev` as langgraph.json declares it; drive it with the SDK."""

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.graph_calls import per_schema, topic_of
from tests.support.scripted_llm import ScriptedLLM

pytestmark = [pytest.mark.langgraph_dev, pytest.mark.timeout(180)]

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "langgraph.json"
STARTUP_S = 90.0
RUN_S = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def langgraph_cli() -> str:
    """The `langgraph` CLI of this interpreter's environment (the project's dev group)."""
    candidate = Path(sys.executable).parent / "langgraph"
    found = str(candidate) if candidate.exists() else shutil.which("langgraph")
    # The dev group installs langgraph-cli[inmem]: without it the environment is broken.
    assert found, "langgraph-cli is not installed (uv sync --group dev)"
    return found


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the server we started (its own process group) and wait for it."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


@pytest.fixture(scope="module")
def dev_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, ScriptedLLM]]:
    """`langgraph dev` on a free port, its model pointed at a scripted server.

    It runs from a scratch directory (its `.langgraph_api` state lands there) with a copy of
    langgraph.json whose paths are made absolute against the repository root.
    """
    cli = langgraph_cli()
    workdir = tmp_path_factory.mktemp("langgraph_dev")
    config = json.loads(CONFIG.read_text())
    config["dependencies"] = [str((ROOT / dep).resolve()) for dep in config["dependencies"]]
    config["graphs"] = {
        name: str((ROOT / spec.split(":")[0]).resolve()) + ":" + spec.split(":")[1]
        for name, spec in config["graphs"].items()
    }
    (workdir / "langgraph.json").write_text(json.dumps(config))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = workdir / "server.log"
    with ScriptedLLM() as llm, log_path.open("wb") as log:
        env = {
            **os.environ,
            "COURSEGEN_MODEL": "openai:scripted",
            "COURSEGEN_BASE_URL": llm.base_url,
            "LANGGRAPH_CLI_NO_ANALYTICS": "1",
            "LANGSMITH_TRACING": "false",
            "LANGCHAIN_TRACING_V2": "false",
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("COURSEGEN_STRUCTURED_OUTPUT", None)
        proc = subprocess.Popen(
            [
                *(cli, "dev", "--no-browser", "--no-reload"),
                *("--host", "127.0.0.1", "--port", str(port)),
                *("--config", str(workdir / "langgraph.json")),
            ],
            cwd=workdir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + STARTUP_S
            while True:
                if proc.poll() is not None:
                    pytest.fail(f"langgraph dev exited ({proc.returncode}):\n{log_tail(log_path)}")
                try:
                    if httpx.get(f"{url}/ok", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(
                        f"langgraph dev did not answer in {STARTUP_S}s:\n{log_tail(log_path)}"
                    )
                time.sleep(0.25)
            yield url, llm
        finally:
            stop(proc)
    assert proc.returncode is not None


def log_tail(path: Path, chars: int = 4000) -> str:
    return path.read_text(errors="replace")[-chars:]


def small_request(**options: Any) -> dict[str, Any]:
    return {
        "request": {
            "course_name": "Intro to Python",
            "description": "Variables, loops and functions.",
            "language": "en",
            "options": {"themes": 2, "topics_per_theme": 2, **options},
        }
    }


async def collect(stream: Any) -> list[Any]:
    async def run() -> list[Any]:
        return [part async for part in stream]

    return await asyncio.wait_for(run(), RUN_S)


def assert_course(course: dict[str, Any], themes: list[str]) -> None:
    assert [t["title"] for t in course["themes"]] == themes
    for theme in course["themes"]:
        assert [t["title"] for t in theme["topics"]] == [
            f"{theme['title']} / Topic 1",
            f"{theme['title']} / Topic 2",
        ]
        for topic in theme["topics"]:
            assert topic["error"] is None
            assert topic["polished"]["summary"] == f"Summary: {topic['title']}"
            assert topic["content"]["key_points"][0] == f"{topic['title']}: 1"


def test_langgraph_json_declares_the_graph():
    from langgraph_cli.config import validate_config_file

    config = validate_config_file(CONFIG)
    assert config["graphs"] == {"coursegen": "./coursegen/graph/graph.py:graph"}
    assert config["dependencies"] == ["."]
    assert config["python_version"] == "3.11"
    assert (ROOT / "coursegen/graph/graph.py").is_file()


async def test_dev_server_streams_a_course(dev_server: tuple[str, ScriptedLLM]):
    from langgraph_sdk import get_client

    url, llm = dev_server
    llm.reset()
    client = get_client(url=url, timeout=RUN_S)
    assistants = await client.assistants.search(graph_id="coursegen")
    assert assistants, "langgraph dev did not register the coursegen graph"
    thread = await client.threads.create()

    parts = await collect(
        client.runs.stream(
            thread["thread_id"],
            "coursegen",
            input=small_request(),
            stream_mode=["custom", "values"],
        )
    )

    errors = [p.data for p in parts if p.event == "error"]
    assert errors == []
    custom = [p.data for p in parts if p.event == "custom"]
    assert {"outline", "topics", "token", "content", "polished"} <= {e["type"] for e in custom}
    values = [p.data for p in parts if p.event == "values" and p.data.get("course")]
    assert values, f"no course in the stream: {[p.event for p in parts]}"
    assert_course(values[-1]["course"], ["Theme 1", "Theme 2"])
    state = await client.threads.get_state(thread["thread_id"])
    values_now = state["values"]
    assert isinstance(values_now, dict)
    assert_course(values_now["course"], ["Theme 1", "Theme 2"])
    assert values_now["course"]["usage"]["total"]["calls"] == 1 + 2 + 4 + 4
    assert per_schema(llm) == {
        "Outline": 1,
        "ThemeTopics": 2,
        "TopicContent": 4,
        "PolishedTopic": 4,
    }
    assert sorted(topic_of(c) or "" for c in llm.calls_for("PolishedTopic")) == [
        "Theme 1 / Topic 1",
        "Theme 1 / Topic 2",
        "Theme 2 / Topic 1",
        "Theme 2 / Topic 2",
    ]


async def test_dev_server_review_and_resume(dev_server: tuple[str, ScriptedLLM]):
    """The review interrupt and its resume survive the server's JSON round trip."""
    from langgraph_sdk import get_client

    url, llm = dev_server
    llm.reset()
    client = get_client(url=url, timeout=RUN_S)
    thread = await client.threads.create()

    await collect(
        client.runs.stream(
            thread["thread_id"],
            "coursegen",
            input=small_request(review_outline=True),
            stream_mode=["updates"],
        )
    )
    state = await client.threads.get_state(thread["thread_id"])
    assert state["next"] == ["review_outline"]
    (pause,) = state["interrupts"]
    assert [t["title"] for t in pause["value"]["outline"]["themes"]] == ["Theme 1", "Theme 2"]
    assert per_schema(llm) == {"Outline": 1}

    edited = {"themes": [{"title": "Loops", "description": "for and while."}]}
    edited["themes"].append({"title": "Functions", "description": "def and return."})
    parts = await collect(
        client.runs.stream(
            thread["thread_id"],
            "coursegen",
            command={"resume": {"outline": edited}},
            stream_mode=["values"],
        )
    )

    assert [p.data for p in parts if p.event == "error"] == []
    state = await client.threads.get_state(thread["thread_id"])
    assert isinstance(state["values"], dict)
    assert_course(state["values"]["course"], ["Loops", "Functions"])
    assert per_schema(llm) == {
        "Outline": 1,
        "ThemeTopics": 2,
        "TopicContent": 4,
        "PolishedTopic": 4,
    }
