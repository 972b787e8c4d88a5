"""Smoke-test the benchmark harness: a tiny run writes its table (no timing is asserted)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.clients import SSEParser
from bench.fig_critical_path import critical_path
from bench.simulated_llm import MARKER_RE, SimConfig, build_answer
from coursegen.domain import (
    CoverageMap,
    Outline,
    PolishedTopic,
    ThemeTopics,
    TopicContent,
)

ROOT = Path(__file__).resolve().parents[2]


def _call(schema: str, idx: int = 7) -> dict:
    return {"idx": idx, "schema": schema}


def test_simulated_answers_are_schema_valid_and_marked():
    config = SimConfig(body_tokens=5, piece_chars=4)
    data = {"course_name": "Rust", "theme": {"title": "Theme 2"}, "topic": {"title": "Topic 1"}}
    outline = build_answer(_call("Outline"), "Propose exactly 4 themes.", data, config)
    assert len(Outline.model_validate_json("".join(outline.pieces)).themes) == 4
    topics = build_answer(_call("ThemeTopics"), "Propose exactly 3 topics.", data, config)
    assert len(ThemeTopics.model_validate_json("".join(topics.pieces)).topics) == 3
    check = {"requirements": ["1. Beginners", "2. Examples"], "course_map": ["1.1 Intro"]}
    coverage = build_answer(_call("CoverageMap"), "", check, config)
    assert len(CoverageMap.model_validate_json("".join(coverage.pieces)).items) == 2
    for schema, model in (("TopicContent", TopicContent), ("PolishedTopic", PolishedTopic)):
        answer = build_answer(_call(schema), "", data, config)
        model.model_validate_json("".join(answer.pieces))
        first, end = answer.body_range
        assert end - first == 5
        for seq in range(first, end):  # each body token names its own index
            ((call, marked),) = MARKER_RE.findall(answer.pieces[seq].encode())
            assert (int(call), int(marked)) == (7, seq)


def test_sse_parser_handles_split_chunks_and_crlf():
    parser = SSEParser()
    stream = (
        b'event: token\r\ndata: {"text": "zq1_2q "}\r\n\r\n'
        b": ping\r\n\r\n"
        b"event: end\r\ndata: {}\r\n\r\n"
    )
    events = []
    for i in range(0, len(stream), 5):
        events += parser.feed(stream[i : i + 5])
    assert [e for e, _ in events] == [b"token", b"end"]
    assert json.loads(events[0][1]) == {"text": "zq1_2q "}


def test_critical_path_is_the_longest_chain():
    def call(schema, start, end, theme=None, topic=None):
        return {"schema": schema, "start": start, "end": end, "theme": theme, "topic": topic}

    calls = [
        call("Outline", 0, 1),
        call("ThemeTopics", 1, 2, 0),
        call("ThemeTopics", 1, 3, 1),  # the slowest topic list: every lesson waits for it
        call("CoverageMap", 3, 3.5),  # then the requirements check
        call("TopicContent", 3.5, 6.5, 0, 0),  # topic (0, 0): 3 + 1 = 4
        call("PolishedTopic", 6.5, 7.5, 0, 0),
        call("TopicContent", 3.5, 4.5, 1, 0),  # topic (1, 0): 1 + 1 = 2
        call("PolishedTopic", 4.5, 5.5, 1, 0),
    ]
    path = critical_path(calls)
    assert path["critical_s"] == 1 + 2 + 0.5 + 4
    assert path["chain"] == (0, 0)
    assert path["sequential_s"] == 1 + 1 + 2 + 0.5 + 3 + 1 + 1 + 1


@pytest.mark.processes
@pytest.mark.timeout(120)
def test_a_tiny_run_writes_its_table(tmp_path: Path):
    out = tmp_path / "benchmarks.md"
    command = [sys.executable, "-m", "bench.run", "--quick", "--figures", "critical_path"]
    command += ["--out", str(out), "--plots", str(tmp_path / "plots")]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=110)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = out.read_text()
    assert "## 1. Critical-path ratio" in report
    assert "| course | run | LLM calls |" in report
    header = next(line for line in report.splitlines() if line.startswith("| course | run |"))
    row = next(line for line in report.splitlines() if line.startswith("| 1×2 | 1 |"))
    assert row.count("|") == header.count("|")  # every column has a value
    assert "failed in this run" not in report


@pytest.mark.processes
@pytest.mark.timeout(120)
def test_the_per_call_script_counts_one_run_per_stage_call() -> None:
    command = [sys.executable, "-m", "bench.percall", "2", "1", "2", "1", "--runs"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=110)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "round 1: 14 calls, " in done.stdout  # 2 × (outline, topics, coverage, 2 × 2)
    runs = {
        name: int(count)
        for count, name in (
            line.split(maxsplit=1)
            for line in done.stdout.splitlines()
            if not line.startswith("round")
        )
    }
    # The warm-up course and the 2 measured: 3 × 7 calls, each one stage run and one model run.
    assert runs["chat model"] == runs["chain llm_call"] == 21
    assert runs["chain content"] == runs["chain polish"] == 6
    assert runs["chain outline"] == runs["chain topics"] == runs["chain coverage"] == 3


def test_the_readme_lines_are_replaced_between_the_markers(tmp_path: Path) -> None:
    from bench.harness import Figure
    from bench.report import README_END, README_START, update_readme

    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{README_START}\n- old line\n{README_END}\noutro\n")
    figures = [Figure("a", "1. A", "", summary="x 1.01"), Figure("b", "2. B", "", summary="y")]
    update_readme(readme, figures)
    assert readme.read_text() == (
        f"intro\n{README_START}\n- **1. A**: x 1.01.\n- **2. B**: y.\n{README_END}\noutro\n"
    )
    update_readme(readme, figures[:1])  # a partial run keeps the full set
    assert "- **2. B**: y." in readme.read_text()


def test_the_stock_pipelines_schemas_read_the_simulated_answers():
    """The stock peer asks by schema name and parses the same answers (or it would fail)."""
    from bench.stock import graph as stock

    config = SimConfig(body_tokens=5, piece_chars=4)
    data = {"course_name": "Rust", "theme": {"title": "Theme 2"}, "topic": {"title": "Topic 1"}}
    for model in (stock.Outline, stock.ThemeTopics, stock.TopicContent, stock.PolishedTopic):
        answer = build_answer(_call(model.__name__), "Write exactly 3 themes.", data, config)
        model.model_validate_json("".join(answer.pieces))


def test_the_issue_goals_are_judged_from_the_figures():
    from bench.goals import issue_goals
    from bench.harness import Figure

    stock = Figure("stock", "5", "")
    stock.data = {"cells": {"jobs": {"cpu": 50.0}, "stock-langgraph": {"cpu": 1000.0}}}
    cpu = Figure("cpu_memory", "3", "")
    cpu.data = {"split": {"per_token_us": 80.0, "per_call_ms": 2.0}, "points": []}
    goals = {goal: met for goal, _, _, met in issue_goals([stock, cpu])}
    assert goals[
        "CPU per token ≤ 0.10 × the stock pipeline's on `langgraph dev`, 6 × 3×3 (figure 6)"
    ]
    assert (
        goals["CPU per token ≤ 0.10 × the stock pipeline's on LangServe, 6 × 3×3 (figure 6)"]
        is None
    )
    assert goals["marginal CPU per token (figure 3)"] is False
    assert goals["CPU per model call besides its tokens (figure 3)"] is True


def test_the_one_worker_per_core_series_is_judged_apart_from_the_shipped_one():
    from bench.goals import issue_goals
    from bench.harness import Figure

    def row(label: str, n: int, p50: float, p99: float) -> list[object]:
        return [label, n, 0, 0, 0, 0, p50, 0.0, p99, 0.0, 1.0, 0.5]

    latency = Figure("latency", "2", "")
    latency.data = {
        "rows": [
            row("linger 0 ms (shipped)", 50, 30.0, 600.0),
            row("2 workers (one per core), linger 0 ms", 50, 10.0, 80.0),
        ]
    }
    cpu = Figure("cpu_memory", "3", "")
    cpu.data = {"points": [], "workers_points": [{"n": 200, "max_ms": 1500.0}]}
    goals = {goal: (result, met) for goal, _, result, met in issue_goals([latency, cpu])}
    assert goals["50 concurrent courses: token latency p99 (figure 2)"] == ("600 ms", False)
    workers = "50 concurrent courses, one worker per core: token latency p99 (figure 2)"
    assert goals[workers] == ("80 ms", True)
    slowest = "200 concurrent courses, one worker per core: slowest token (figure 3)"
    assert goals[slowest] == ("1,500 ms", False)
