"""A token bucket per caller for the API's write side (`POST /v1/gebeurtenissen`): `rate`
requests a second on average, bursts of up to `burst`. In-process and pure (the clock is
given), so one server's limit; the answer to a caller over its limit says when to come back."""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass
class RateLimit:
    rate: float
    burst: float
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)

    def take(self, caller: str, now: float) -> int:
        """0 when `caller` may go ahead (one token taken); else whole seconds to wait."""
        tokens, then = self._buckets.get(caller, (self.burst, now))
        tokens = min(self.burst, tokens + (now - then) * self.rate)
        if tokens >= 1:
            self._buckets[caller] = (tokens - 1, now)
            return 0
        self._buckets[caller] = (tokens, now)
        return max(1, math.ceil((1 - tokens) / self.rate))
