"""Limit what one caller may spend: write requests per minute and jobs at once."""

import asyncio
import time
from collections import deque
from typing import Any

from fastapi import HTTPException

WINDOW_S = 60.0


def too_many(detail: str, retry_after_s: float) -> HTTPException:
    """A 429 with a Retry-After header (whole seconds, at least 1)."""
    return HTTPException(
        status_code=429, detail=detail, headers={"Retry-After": str(max(1, round(retry_after_s)))}
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
    """The same limit shared by every replica: a counter per owner and minute in Redis."""

    def __init__(self, per_minute: int, redis: Any) -> None:
        super().__init__(per_minute)
        self.redis = redis

    async def hit(self, owner: str) -> None:
        window = int(time.time() // WINDOW_S)
        key = f"coursegen:rate:{owner}:{window}"
        count = await self.redis.incr(key)
        if count == 1:
            await self.redis.expire(key, int(WINDOW_S) + 5)
        if count > self.per_minute:
            wait = (window + 1) * WINDOW_S - time.time()
            raise too_many(f"more than {self.per_minute} write requests a minute", wait)
