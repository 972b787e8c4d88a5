"""Space a webhook's attempts: exponential backoff with jitter, for up to a day.

After failed attempt n (1, 2, …) the next comes base × 3^(n−1) seconds later, at most 6 h,
times a random factor between 0.75 and 1.25 (so that receivers coming back up are not hit by
every sender at once). With the default base of 5 s: 5 s, 15 s, 45 s, 2¼ min, 6¾ min, 20 min,
1 h, 3 h, then every 6 h. A delivery is given up (`failed`) when its next attempt would come
later than the retry window (24 h by default) after its event or its last manual retry.
"""

import random
from collections.abc import Callable

FACTOR = 3
CAP_S = 6 * 3600.0
JITTER = 0.25


def retry_delay(attempt: int, base_s: float, draw: Callable[[], float] = random.random) -> float:
    """Seconds from failed attempt `attempt` (1-based) to the next one."""
    delay = min(base_s * FACTOR ** min(attempt - 1, 40), CAP_S)
    return delay * (1 - JITTER + 2 * JITTER * draw())


def next_attempt(
    attempt: int, now: float, retry_from: float, base_s: float, window_s: float
) -> float | None:
    """When to try again after a failed attempt, or None when the window is over."""
    at = now + retry_delay(attempt, base_s)
    return at if at <= retry_from + window_s else None
