"""The standalone scripted server's switches make the worse models a checker runs against."""

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.scripted_llm import Call, Fault, build_server
from tests.support.server_process import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]


def _call(schema: str, attempt: int = 0) -> Call:
    body = {"model": "scripted", "messages": [{"role": "user", "content": "x"}]}
    call = Call(0, schema, body["messages"], body, 0.0)
    call.attempt = attempt
    return call


def test_list_counts_ignore_what_was_asked() -> None:
    assert build_server(["--list-count", "fewer"]).list_count(3) == 2  # type: ignore[misc]
    assert build_server(["--list-count", "more"]).list_count(3) == 4  # type: ignore[misc]
    assert build_server(["--list-count", "7"]).list_count(3) == 7  # type: ignore[misc]
    assert build_server([]).list_count is None


def test_english_answers_every_lesson_alike_and_faults_take_their_share() -> None:
    english = build_server(["--english"]).script
    assert english is not None
    first, second = english(_call("TopicContent")), english(_call("TopicContent"))
    assert isinstance(first, dict) and first == second
    stalled = build_server(["--fail-share", "1", "--fault", "stall"]).script
    assert stalled is not None and stalled(_call("Outline")) == Fault("stall")
    half = build_server(["--fail-share", "0.5", "--seed", "3"]).script
    assert half is not None
    failed = sum(isinstance(half(_call("Outline", attempt)), Fault) for attempt in range(400))
    assert 140 < failed < 260


def test_a_share_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(SystemExit):
        build_server(["--fail-share", "1.5"])


@pytest.mark.processes
def test_the_command_serves_the_faults_it_was_given() -> None:
    port = free_port()
    command = [sys.executable, "-m", "tests.support.scripted_llm", str(port)]
    proc = subprocess.Popen(
        [*command, "--fail-share", "1", "--fault", "http"],
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    body = {"model": "scripted", "stream": True, "messages": [{"role": "user", "content": "x"}]}
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                answer = httpx.post(f"http://127.0.0.1:{port}/v1/chat/completions", json=body)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and proc.poll() is None, "it did not start"
                time.sleep(0.2)
        assert answer.status_code == 500
    finally:
        proc.kill()
        proc.wait(10)
