"""Limit what one caller may spend: write requests per minute and jobs at once."""

import asyncio
import logging
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import HTTPException

log = logging.getLogger(__name__)
WINDOW_S = 60.0
BUSY_RETRY_AFTER_S = 30.0  # what a caller over its jobs-at-once limit is told to wait
UNAVAILABLE_RETRY_AFTER_S = 5.0  # what a caller is told to wait while Redis is unreachable


def too_many(detail: str, retry_after_s: float) -> HTTPException:
    """A 429 with a Retry-After header (whole seconds, at least 1)."""
    return HTTPException(
        status_code=429, detail=detail, headers={"Retry-After": str(max(1, round(retry_after_s)))}
    )


def limiter_unavailable() -> HTTPException:
    """A 503 with Retry-After: the shared rate limit cannot be counted right now."""
    return HTTPException(
        status_code=503,
        detail="the rate limiter's store (Redis) is unreachable; try again shortly",
        headers={"Retry-After": str(round(UNAVAILABLE_RETRY_AFTER_S))},
    )


class RateLimiter:
    """A sliding one-minute window of write requests per owner, in this process."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._hits: dict[str, deque[float]] = {}
        self._lock = asyncio.Lock()

    async def hit(self, owner: str) -> None:
        """Count a request, or raise 429 when the owner's window is full."""
        async with self._lock:
            now = time.monotonic()
            hits = self._hits.setdefault(owner, deque())
            while hits and hits[0] <= now - WINDOW_S:
                hits.popleft()
            if len(hits) >= self.per_minute:
                wait = hits[0] + WINDOW_S - now
                raise too_many(f"more than {self.per_minute} write requests a minute", wait)
            hits.append(now)


class RedisRateLimiter(RateLimiter):
    """The same limit shared by every replica: a counter per owner and minute in Redis.

    While Redis is unreachable a write is refused with 503 (not let through uncounted, and
    not a 500); the connection pool reconnects by itself once Redis is back.
    """

    def __init__(self, per_minute: int, redis: Any) -> None:
        # Imported here: redis costs 0.3 s of start-up, and only this limiter needs it.
        from redis.exceptions import RedisError

        super().__init__(per_minute)
        self.redis = redis
        self._errors = (RedisError, OSError)

    async def hit(self, owner: str) -> None:
        window = int(time.time() // WINDOW_S)
        key = f"coursegen:rate:{owner}:{window}"
        try:
            count = await self.redis.incr(key)
            if count == 1:
                await self.redis.expire(key, int(WINDOW_S) + 5)
        except self._errors as exc:
            log.warning("rate limiter cannot reach Redis: %s", exc)
            raise limiter_unavailable() from exc
        if count > self.per_minute:
            wait = (window + 1) * WINDOW_S - time.time()
            raise too_many(f"more than {self.per_minute} write requests a minute", wait)


class RunSlots:
    """LangServe runs in flight per owner on this replica; each one counts as a job.

    An owner may have `max_per_owner` queued or running jobs (`count_jobs`, shared by all
    replicas through the store) plus LangServe runs (counted here) at once. A batch takes a
    slot per input. A new job is admitted by the jobs service, which counts `active` runs in
    the store's admission transaction.
    """

    def __init__(self, max_per_owner: int, count_jobs: Callable[[str], Awaitable[int]]) -> None:
        self.max_per_owner = max_per_owner
        self._count_jobs = count_jobs
        self._runs: Counter[str] = Counter()

    def active(self, owner: str) -> int:
        """The owner's LangServe runs in flight on this replica."""
        return self._runs[owner]

    async def acquire(self, owner: str, runs: int = 1) -> None:
        """Take `runs` slots, or raise 429 (with Retry-After) when they are not free."""
        # Counted before the store is asked, so concurrent requests see each other.
        self._runs[owner] += runs
        try:
            busy = await self._count_jobs(owner) + self._runs[owner] - runs
        except BaseException:
            self.release(owner, runs)
            raise
        if busy + runs > self.max_per_owner:
            self.release(owner, runs)
            what = f"{runs} runs" if runs > 1 else "a run"
            raise too_many(
                f"{what} would exceed the limit of {self.max_per_owner} jobs and LangServe "
                f"runs at once ({busy} already queued or running)",
                BUSY_RETRY_AFTER_S,
            )

    def release(self, owner: str, runs: int = 1) -> None:
        self._runs[owner] -= runs
        if self._runs[owner] <= 0:
            del self._runs[owner]
