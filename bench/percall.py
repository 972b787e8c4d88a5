"""CPU per LLM call of the course graph in one process, without the server.

    uv run --group bench python -m bench.percall [courses] [themes] [topics] [rounds] [--runs]

Runs `courses` courses of themes × topics at a time (the benchmark's `course_request`) through
the graph (SQLite checkpointer, `stream_mode="custom"`, as the jobs API runs it) against a
simulator that answers at once, and prints the CPU of this process per LLM call for each round.
`--runs` also counts the LangChain runs each kind of step starts (what tracers and
`astream_events` see). Two checkouts compare with `PYTHONPATH=<other checkout>` in turn: the
figure moves with the host's load.
"""

import asyncio
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from langchain_core.callbacks import AsyncCallbackHandler
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from bench.clients import course_request
from bench.simulated_llm import SimConfig, SimProcess
from coursegen.graph.graph import make_builder
from coursegen.providers.loading import ModelOptions, load_chat_model


class RunCounter(AsyncCallbackHandler):
    """How many runs each named chain and the chat model started."""

    def __init__(self) -> None:
        self.runs: Counter[str] = Counter()

    async def on_chain_start(self, serialized: Any, inputs: Any, **kwargs: Any) -> None:
        self.runs[f"chain {kwargs.get('name')}"] += 1

    async def on_chat_model_start(self, serialized: Any, messages: Any, **kwargs: Any) -> None:
        self.runs["chat model"] += 1


async def main(courses: int, themes: int, topics: int, rounds: int, runs: bool) -> None:
    sim = SimProcess(SimConfig(first_token_s=0.0, tokens_per_s=0.0, body_tokens=30)).start()
    model = load_chat_model("openai:bench", ModelOptions(base_url=sim.base_url, max_retries=0))
    counter = RunCounter()
    # outline, topics per theme, the requirements' coverage check, content + polish per topic
    calls_per_course = 2 + themes + 2 * themes * topics
    try:
        path = Path(tempfile.mkdtemp(prefix="coursegen-percall-")) / "checkpoints.sqlite"
        async with AsyncSqliteSaver.from_conn_string(str(path)) as saver:
            graph = make_builder(model).compile(checkpointer=saver)

            async def course(index: int, thread: str) -> None:
                config: dict[str, Any] = {"configurable": {"thread_id": thread}}
                if runs:
                    config["callbacks"] = [counter]
                inputs = {"request": course_request(f"Course {index}", themes, topics)}
                async for _ in graph.astream(inputs, config, stream_mode="custom"):
                    pass

            await course(0, "warm-up")
            for rnd in range(rounds):
                started = time.process_time()
                await asyncio.gather(*(course(i, f"{rnd}-{i}") for i in range(courses)))
                calls = courses * calls_per_course
                ms = (time.process_time() - started) / calls * 1000
                print(f"round {rnd + 1}: {calls} calls, {ms:.2f} ms of CPU per call", flush=True)
    finally:
        sim.stop()
    for name, count in sorted(counter.runs.items()):
        print(f"{count:6d} {name}")


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--runs"]
    sizes = [int(a) for a in args] + [10, 3, 3, 3][len(args) :]
    asyncio.run(main(*sizes[:4], runs="--runs" in sys.argv))
