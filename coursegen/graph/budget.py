"""Stop a graph run once its LLM calls have spent more tokens than its budget allows."""

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any, cast

BUDGET_EXCEEDED = "budget_exceeded"


class BudgetExceeded(RuntimeError):
    """A course run spent more tokens than its budget allows."""

    code = BUDGET_EXCEEDED

    def event(self) -> dict[str, Any]:
        """The run's closing `error` event (code, message, not retryable)."""
        return {"type": "error", "code": self.code, "message": str(self), "retryable": False}


class TokenBudget:
    """The tokens a run may spend (None: no limit), and what it has spent so far.

    `spent` starts where an earlier run of the same course stopped (a resumed job), so a
    course cannot outspend its budget by being resumed.
    """

    def __init__(self, limit: int | None, spent: int = 0, holder: str = "a course run's") -> None:
        self.limit, self.spent, self.holder = limit, spent, holder

    def charge(self, event: dict[str, Any]) -> BudgetExceeded | None:
        """Count a custom-stream event; return the error once a `usage` event passes the limit."""
        if event.get("type") != "usage":
            return None
        self.spent += int(event["usage"].get("total_tokens", 0))
        if self.limit is None or self.spent <= self.limit:
            return None
        return BudgetExceeded(f"{self.spent} tokens spent; {self.holder} budget is {self.limit}")


async def within_budget(
    stream: AsyncIterator[tuple[str, Any]], budget: TokenBudget
) -> AsyncGenerator[tuple[str, Any], None]:
    """Pass on a graph's (mode, payload) stream; past the budget, stop the graph and raise.

    The usage event that passed the limit is passed on first, then BudgetExceeded is raised.
    Iterate this in the task that iterates the graph: cancelling that task is what aborts
    the graph's calls in flight (leaving the loop would let them run on, unobserved and
    paid for).
    """
    over: BudgetExceeded | None = None
    task = cast(asyncio.Task[Any], asyncio.current_task())
    try:
        async for mode, payload in stream:
            yield mode, payload
            if over is None and mode == "custom" and (over := budget.charge(payload)):
                task.cancel(msg=BUDGET_EXCEEDED)
        if over is not None:  # the graph ended before the cancellation landed: take it here
            await asyncio.sleep(0)
    except asyncio.CancelledError:
        if over is None:
            raise
        task.uncancel()
        raise over from None
