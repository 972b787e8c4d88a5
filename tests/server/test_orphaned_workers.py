"""Workers of `coursegen serve --workers 2` stop when the serve process is killed outright."""

import contextlib
import os
import signal
import socket
import time
from pathlib import Path

import psutil
import pytest

from tests.support.scripted_llm import ScriptedLLM
from tests.support.server_process import ServerProcess

pytestmark = [pytest.mark.processes, pytest.mark.timeout(240)]

GONE_WITHIN_S = 30.0  # a check a second, then a graceful stop of at most 10 s


def _workers(pid: int) -> list[psutil.Process]:
    return [p for p in psutil.Process(pid).children() if "spawn_main" in " ".join(p.cmdline())]


def _gone(process: psutil.Process) -> bool:
    try:
        return process.status() == psutil.STATUS_ZOMBIE  # exited; nobody reaped it yet
    except psutil.NoSuchProcess:
        return True


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def test_workers_stop_and_free_the_port_when_serve_is_sigkilled(
    scripted_llm: ScriptedLLM, tmp_path: Path
) -> None:
    server = ServerProcess(
        {
            "COURSEGEN_BASE_URL": scripted_llm.base_url,
            "COURSEGEN_MODEL": "openai:scripted",
            "COURSEGEN_DATA_DIR": str(tmp_path / "data"),
            "COURSEGEN_WORKERS": "2",
        },
        tmp_path,
    ).start()
    assert server.proc is not None
    workers = _workers(server.proc.pid)
    try:
        assert len(workers) == 2, server.log_tail()
        os.kill(server.proc.pid, signal.SIGKILL)  # the supervisor only, not its group
        server.proc.wait(10)
        deadline = time.monotonic() + GONE_WITHIN_S
        while not all(_gone(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert all(_gone(w) for w in workers), "workers outlived serve:\n" + server.log_tail()
        assert _port_is_free(server.port)
        assert server.log_text().count("this worker stops") == 2, server.log_tail()
    finally:
        server.kill()
        for worker in workers:  # the supervisor is gone: its group is not killed with it
            with contextlib.suppress(psutil.NoSuchProcess):
                worker.kill()
