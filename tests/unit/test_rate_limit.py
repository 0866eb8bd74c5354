"""The ingest's rate limit (projections.rate_limit): a burst, then one request per 1/rate s."""

from __future__ import annotations

from projections.rate_limit import RateLimit


def test_a_burst_passes_then_the_caller_waits_as_long_as_the_rate_says() -> None:
    limit = RateLimit(rate=0.5, burst=3)
    assert [limit.take("IND", 0.0) for _ in range(3)] == [0, 0, 0]
    assert limit.take("IND", 0.0) == 2  # one token every 2 s
    assert limit.take("COA", 0.0) == 0  # each caller has its own bucket
    assert limit.take("IND", 1.0) == 1
    assert limit.take("IND", 2.0) == 0
    assert limit.take("IND", 2.0) == 2


def test_an_idle_caller_gets_its_burst_back_but_no_more() -> None:
    limit = RateLimit(rate=1.0, burst=2)
    assert limit.take("IND", 0.0) == 0 and limit.take("IND", 0.0) == 0
    assert limit.take("IND", 1000.0) == 0 and limit.take("IND", 1000.0) == 0
    assert limit.take("IND", 1000.0) == 1
