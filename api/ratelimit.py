"""Failed authentications per client, limited with the ``limits`` library (moving window).

Guessing API keys, or hammering the sign-in form, costs a database lookup per try and
fills the operator's log. After ``limit`` failures from one client address within
``window`` seconds, further attempts that need authentication are answered 429 with
``Retry-After`` until the window has moved on. Successful requests are never counted, so a
tenant's normal traffic is unaffected. Counts live in process memory: each worker limits
on its own, which bounds guessing per worker, not across a fleet.
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

_NAMESPACE = "auth-failure"


class AuthFailures:
    """How many authentications failed lately per client; ``limit`` 0 turns limiting off."""

    def __init__(self, limit: int, window: int) -> None:
        self.enabled = limit > 0 and window > 0
        self.item = RateLimitItemPerSecond(max(limit, 1), max(window, 1))
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    def hit(self, client: str) -> None:
        """Record one failed authentication from ``client``."""
        if self.enabled:
            self.limiter.hit(self.item, _NAMESPACE, client)

    def retry_after(self, client: str) -> int:
        """Seconds until ``client`` may try again (0: it may now)."""
        if not self.enabled or self.limiter.test(self.item, _NAMESPACE, client):
            return 0
        reset = self.limiter.get_window_stats(self.item, _NAMESPACE, client).reset_time
        return max(1, math.ceil(reset - time.time()))
