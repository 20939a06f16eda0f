"""The retry policy: which failures are retried, and how long to wait before the next try.

Constants live here and nowhere else. Randomness (full jitter) comes from an injectable,
seedable generator and the clock from an injectable ``now`` so tests never depend on luck
or the wall clock; waiting never changes what a receipt says.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

DEFAULT_TIMEOUT_S = 30.0
DEFAULT_MAX_RETRIES = 3
INITIAL_BACKOFF_S = 0.5
MAX_BACKOFF_S = 8.0
MAX_RETRY_AFTER_S = 60.0
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})


def parse_retry_after(value: str | None, *, now: Callable[[], datetime] | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP-date; None if unusable."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        current = (now or (lambda: datetime.now(timezone.utc)))()
        seconds = (when - current).total_seconds()
    if seconds != seconds or seconds < 0:  # NaN or in the past
        return 0.0
    return seconds


@dataclass
class RetryPolicy:
    """How many times to retry and how long to wait; ``rng`` makes the jitter reproducible."""

    max_retries: int = DEFAULT_MAX_RETRIES
    initial_backoff_s: float = INITIAL_BACKOFF_S
    max_backoff_s: float = MAX_BACKOFF_S
    max_retry_after_s: float = MAX_RETRY_AFTER_S
    rng: random.Random = field(default_factory=lambda: random.Random(0))
    now: Callable[[], datetime] = field(default=lambda: datetime.now(timezone.utc))

    def retryable_status(self, status: int) -> bool:
        return status in RETRYABLE_STATUSES

    def delay(self, attempt: int, retry_after: str | None = None) -> float:
        """Seconds before retry number ``attempt`` (1-based): the server's word, capped, else full jitter."""
        asked = parse_retry_after(retry_after, now=self.now)
        if asked is not None:
            return min(asked, self.max_retry_after_s)
        ceiling = min(self.max_backoff_s, self.initial_backoff_s * (2 ** (attempt - 1)))
        return self.rng.uniform(0, ceiling)
