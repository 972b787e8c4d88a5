"""Fixtures for the hardening tests: LLM retries that wait milliseconds, not seconds."""

import pytest
from langgraph.types import RetryPolicy

from coursegen.graph import tasks

# The production policy (tasks.LLM_RETRY) waits 0.5 s, 1 s, 2 s plus up to 1 s of jitter
# between attempts; the tests keep its attempts and its retry predicate, not its waits.
FAST_RETRY = tasks.LLM_RETRY._replace(initial_interval=0.01, max_interval=0.05, jitter=False)


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> RetryPolicy:
    """Make `llm_call`'s retries wait milliseconds instead of seconds."""
    # The patch targets the real policy (the task is typed as a plain callable).
    assert tasks.llm_call.retry_policy == (tasks.LLM_RETRY,)  # type: ignore[attr-defined]
    monkeypatch.setattr(tasks.llm_call, "retry_policy", (FAST_RETRY,))
    return FAST_RETRY
