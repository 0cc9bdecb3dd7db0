"""Per-account, per-group rate limits in two fixed windows (a minute and a second).

An account's plan is the boundary, not its keys: every key of the account and the
dashboard's playground (the signed-in session) count against the same counters, so five
keys never buy five times the quota, and the X-RateLimit headers report the account's
numbers.

Counters live in the Django cache (Redis in production) and are bumped with `add` + `incr`,
both atomic there, so every web process shares one count. If the cache is down, requests
are let through (fail open) and the outage is logged: a rate limiter must not take the API
down with it.
"""

import logging
import math
import time
from dataclasses import dataclass

from django.core.cache import cache

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WindowCount:
    limit: int
    count: int
    resets_at: float

    @property
    def exceeded(self) -> bool:
        return self.count > self.limit

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.count)


@dataclass(frozen=True)
class RateLimitState:
    minute: WindowCount
    second: WindowCount

    @property
    def limited(self) -> bool:
        return self.minute.exceeded or self.second.exceeded

    def retry_after(self, now: float) -> int:
        waits = [w.resets_at - now for w in (self.minute, self.second) if w.exceeded]
        return max(1, math.ceil(max(waits, default=1)))

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.minute.limit),
            "X-RateLimit-Remaining": str(self.minute.remaining),
            "X-RateLimit-Reset": str(int(math.ceil(self.minute.resets_at))),
        }


def _count(bucket: str, limit: int, period: int, now: float) -> WindowCount:
    window_start = int(now // period) * period
    key = f"rl:{bucket}:{period}:{window_start}"
    try:
        # add() is a no-op when the key exists; incr() is atomic in Redis and locmem.
        cache.add(key, 0, timeout=period + 1)
        count = cache.incr(key)
    except ValueError:
        # The key expired between add and incr: this request opens a new window.
        cache.add(key, 1, timeout=period + 1)
        count = 1
    return WindowCount(limit=limit, count=count, resets_at=window_start + period)


def hit(*, account_id: int, group: str, per_minute: int, per_second: int
        ) -> RateLimitState | None:
    """Count one request of an account against both windows; None when the cache is
    unreachable."""
    now = time.time()
    bucket = f"account-{account_id}:{group}"
    try:
        return RateLimitState(
            minute=_count(bucket, per_minute, 60, now),
            second=_count(bucket, per_second, 1, now),
        )
    except Exception as exc:  # noqa: BLE001 - any cache outage: fail open, loudly.
        # One line per request, no traceback: an outage must not become a log storm.
        logger.warning(
            "Rate-limit cache unavailable (%s: %s); letting the request through",
            type(exc).__name__,
            exc,
        )
        return None
