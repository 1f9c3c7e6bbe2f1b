"""When a failed webhook is tried again: the Standard Webhooks schedule, jitter, Retry-After.

The spec's suggested schedule spreads eight attempts over 27 h 35 min
(immediately, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h after each failure), so a
receiver that is down overnight still gets its messages. Each delay is moved by up to
``jitter`` of itself at random, in either direction, so deliveries that failed together
(one receiver down for many subscriptions) do not all come back in the same second.

A receiver that answers 429 or 503 may say when to come back (``Retry-After``: seconds or an
HTTP date, RFC 9110 section 10.2.3); the next attempt is then no earlier than that, capped
at :data:`MAX_RETRY_AFTER` so a wrong header cannot park a message for weeks.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

STANDARD_SCHEDULE: tuple[timedelta, ...] = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
MAX_RETRY_AFTER = timedelta(days=1)
HONOURS_RETRY_AFTER = (429, 503)


def retry_after(value: str | None, now: datetime) -> timedelta | None:
    """The wait a ``Retry-After`` header asks for, or ``None`` when it says nothing usable.

    Delta-seconds or an HTTP date (parsed by the standard library's RFC 5322 date parser,
    which reads the IMF-fixdate form HTTP uses); a date in the past asks for no wait.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():  # a receiver's number, however large, is capped
        return min(timedelta(seconds=int(text[:9])) if len(text) <= 9 else MAX_RETRY_AFTER, MAX_RETRY_AFTER)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # "-0000" in RFC 5322 terms: HTTP dates are always GMT
        when = when.replace(tzinfo=UTC)
    return min(max(when - now, timedelta(0)), MAX_RETRY_AFTER)


@dataclass(frozen=True)
class RetryPlan:
    """Delays between attempts; the message is dead after ``len(schedule) + 1`` attempts."""

    schedule: Sequence[timedelta] = STANDARD_SCHEDULE
    jitter: float = 0.1
    rng: random.Random = field(default_factory=random.Random, compare=False)

    @property
    def max_attempts(self) -> int:
        return len(self.schedule) + 1

    def delay(self, attempts: int, asked: timedelta | None = None) -> timedelta | None:
        """The wait after failed attempt number ``attempts`` (1-based), or ``None`` when that
        was the last one. ``asked`` is the receiver's ``Retry-After``: never retried sooner."""
        if attempts >= self.max_attempts:
            return None
        base = self.schedule[attempts - 1]
        wait = base * (1 + self.jitter * self.rng.uniform(-1.0, 1.0))
        return max(wait, asked) if asked is not None else wait
