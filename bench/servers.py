"""Start the systems under test in processes of their own, and measure their CPU and memory."""

import atexit
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import httpx
import psutil

from bench.simulated_llm import free_port

ROOT = Path(__file__).resolve().parents[1]
_SCRUBBED = ("COURSEGEN_", "OPENAI_", "LANGCHAIN_", "LANGSMITH_")


def clean_env(extra: Mapping[str, str]) -> dict[str, str]:
    """This process's environment without provider or coursegen settings, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUBBED)}
    env.update(
        PYTHONUNBUFFERED="1",
        PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p),
        LANGSMITH_TRACING="false",
        LANGCHAIN_TRACING_V2="false",
        LANGGRAPH_CLI_NO_ANALYTICS="1",
    )
    env.update(extra)
    return env


_STARTED: list["ServedProcess"] = []


@atexit.register
def _stop_leftovers() -> None:
    """Stop the servers this process started that are still running (an interrupted run)."""
    for served in _STARTED:
        served.stop()


class ServedProcess:
    """A server process on 127.0.0.1:<port>, started in its own session, ready on `health`."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], workdir: Path) -> None:
        self.name, self.command, self.env, self.workdir = name, command, env, workdir
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = workdir / f"{name}.log"

    def start(self, health_url: str, timeout: float = 120.0) -> "ServedProcess":
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            self.command,
            env=self.env,
            cwd=self.workdir,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        _STARTED.append(self)
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2.0) as client:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"{self.name} exited while starting:\n{self.log_tail()}")
                with contextlib.suppress(httpx.HTTPError):
                    if client.get(health_url).status_code == 200:
                        return self
                if time.monotonic() > deadline:
                    self.stop()
                    raise TimeoutError(f"{self.name} did not start:\n{self.log_tail()}")
                time.sleep(0.1)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def log_tail(self, chars: int = 4000) -> str:
        if not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")[-chars:]

    def stop(self) -> None:
        """SIGTERM to the process group we started, SIGKILL if it lingers."""
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)


class Served:
    """What every system under test offers the figures: its pid, `stop`, a `with` block."""

    process: ServedProcess | None

    def start(self) -> Self:
        raise NotImplementedError

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class Coursegen(Served):
    """`coursegen serve` (SQLite in `workdir`) pointed at the simulator."""

    sim_base_url: str
    workdir: Path
    linger_ms: float | None = None  # COURSEGEN_EVENT_LINGER_MS; None: the shipped default
    probe_path: Path | None = None  # run under bench.probe, which writes its timings here
    env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    process: ServedProcess | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "Coursegen":
        self.port = free_port()
        settings = {
            "COURSEGEN_MODEL": "openai:bench",
            "COURSEGEN_BASE_URL": self.sim_base_url,
            "COURSEGEN_DATA_DIR": str(self.workdir / "data"),
            "COURSEGEN_MAX_RUNNING_JOBS": "10000",
            "COURSEGEN_MAX_JOBS_PER_OWNER": "100000",
            "COURSEGEN_REQUESTS_PER_MINUTE": "1000000",
            "COURSEGEN_LLM_TIMEOUT_S": "600",
            "COURSEGEN_LOG_LEVEL": "warning",
            # One process, as the figures so far were measured (and the probe instruments
            # only the process it runs in); `serve` would start one worker per core.
            "COURSEGEN_WORKERS": "1",
            **self.env,
        }
        if self.linger_ms is not None:
            settings["COURSEGEN_EVENT_LINGER_MS"] = str(self.linger_ms)
        if self.probe_path is not None:
            command = [sys.executable, "-m", "bench.probe", str(self.probe_path), "serve"]
        else:
            command = [sys.executable, "-m", "coursegen.cli", "serve"]
        command += ["--host", "127.0.0.1", "--port", str(self.port)]
        self.process = ServedProcess("coursegen", command, clean_env(settings), self.workdir)
        self.process.start(f"{self.url}/healthz")
        return self

    def probe(self) -> dict[str, list[float]]:
        """The probe's timings so far (a server started with `probe_path`)."""
        if self.probe_path is None:
            return {}
        self.probe_path.unlink(missing_ok=True)
        os.kill(self.pid, signal.SIGUSR1)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            time.sleep(0.2)
            with contextlib.suppress(OSError, ValueError):
                return dict(json.loads(self.probe_path.read_text()))
        return {}


def langgraph_cli() -> str | None:
    candidate = Path(sys.executable).parent / "langgraph"
    return str(candidate) if candidate.exists() else None


@dataclass
class LanggraphDev(Served):
    """`langgraph dev` serving langgraph.json's graph (absolute paths), model = the simulator."""

    sim_base_url: str
    workdir: Path
    jobs_per_worker: int = 10
    config: Path = ROOT / "langgraph.json"  # bench/stock/langgraph.json: the stock peer
    port: int = 0
    process: ServedProcess | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "LanggraphDev":
        cli = langgraph_cli()
        if cli is None:
            raise RuntimeError("langgraph-cli is not installed (uv sync --group dev)")
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = json.loads(self.config.read_text())
        config["dependencies"] = [str((ROOT / dep).resolve()) for dep in config["dependencies"]]
        config["graphs"] = {
            name: str((ROOT / spec.split(":")[0]).resolve()) + ":" + spec.split(":")[1]
            for name, spec in config["graphs"].items()
        }
        config_path = self.workdir / "langgraph.json"
        config_path.write_text(json.dumps(config))
        self.port = free_port()
        command = [cli, "dev", "--no-browser", "--no-reload", "--server-log-level", "warning"]
        command += ["--host", "127.0.0.1", "--port", str(self.port)]
        command += ["--config", str(config_path), "--n-jobs-per-worker", str(self.jobs_per_worker)]
        env = clean_env(
            {
                "COURSEGEN_MODEL": "openai:bench",
                "COURSEGEN_BASE_URL": self.sim_base_url,
                "COURSEGEN_LLM_TIMEOUT_S": "600",
                "STOCK_BASE_URL": self.sim_base_url,
            }
        )
        self.process = ServedProcess(
            f"langgraph-dev-{self.config.parent.name}", command, env, self.workdir
        )
        self.process.start(f"{self.url}/ok", timeout=180.0)
        return self


@dataclass
class StockLangServe(Served):
    """The stock pipeline (`bench/stock`) behind LangServe, in a uvicorn process of its own."""

    sim_base_url: str
    workdir: Path
    port: int = 0
    process: ServedProcess | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "StockLangServe":
        self.port = free_port()
        command = [sys.executable, "-m", "uvicorn", "bench.stock.langserve_app:app"]
        command += ["--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning"]
        env = clean_env({"STOCK_BASE_URL": self.sim_base_url})
        self.process = ServedProcess("stock-langserve", command, env, self.workdir)
        self.process.start(f"{self.url}/ok")
        return self


def tree(pid: int) -> list[psutil.Process]:
    """The process and all its descendants (those alive now)."""
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process tree so far."""
    total = 0.0
    for proc in tree(pid):
        with contextlib.suppress(psutil.Error):
            times = proc.cpu_times()
            total += times.user + times.system
    return total


def serve_default_workers() -> int:
    """The workers `coursegen serve` starts here when none are configured (one per core)."""
    from coursegen.server.workers import default_workers

    return default_workers()


def rss_bytes(pid: int) -> int:
    total = 0
    for proc in tree(pid):
        with contextlib.suppress(psutil.Error):
            total += proc.memory_info().rss
    return total


class Sampler:
    """Sample a process tree's RSS and CPU every `every_s` in a thread."""

    def __init__(self, pid: int, every_s: float = 0.1) -> None:
        self.pid, self.every_s = pid, every_s
        self.samples: list[tuple[float, int, float]] = []  # (monotonic, rss, cpu seconds)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(psutil.Error):
                self.samples.append((time.monotonic(), rss_bytes(self.pid), cpu_seconds(self.pid)))
            self._stop.wait(self.every_s)

    def __enter__(self) -> "Sampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def peak_rss(self) -> int:
        return max((rss for _, rss, _ in self.samples), default=0)


def machine() -> dict[str, Any]:
    """What this machine is, for the report."""
    import platform

    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": model or platform.processor(),
        "cores": psutil.cpu_count(logical=True),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
    }


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    names = [
        "langchain-core",
        "langchain-openai",
        "openai",
        "langgraph",
        "langgraph-checkpoint-sqlite",
        "langserve",
        "langgraph-api",
        "langgraph-cli",
        "fastapi",
        "uvicorn",
        "sse-starlette",
        "pydantic",
    ]
    found = {}
    for name in names:
        with contextlib.suppress(PackageNotFoundError):
            found[name] = version(name)
    return found
