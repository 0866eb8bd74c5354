"""How the faust worker turns takes into batches (processors.app.keep_gathering): a backlog (more
than a take still waiting in the log) is gathered into batches of up to --batch-size, a steady
load's takes go at once (latency), and the consumer's highwaters are read only for a take of
GATHER_FROM records or more."""

from __future__ import annotations

from processors.app import GATHER_FROM, keep_gathering

TAKE = 2000


def never_asked() -> int:
    raise AssertionError("the highwaters read for a take that goes at once anyway")


def gathers(taken: int, pending: int, waiting: int | None, batch_size: int = 10_000) -> bool:
    def behind() -> int:
        return never_asked() if waiting is None else waiting

    return keep_gathering(
        taken, pending, take=min(TAKE, batch_size), batch_size=batch_size, waiting=behind
    )


def test_a_take_with_more_than_a_take_behind_it_waits_for_the_next_until_the_batch_is_full() -> (
    None
):
    # faust moves a few hundred records into a take in the 10 ms wait, however many wait.
    assert gathers(200, 200, 50_000)
    assert gathers(2000, 8000, TAKE + 1)
    assert not gathers(300, 10_000, None)


def test_a_take_with_little_behind_it_goes_at_once() -> None:
    # A steady load the processor keeps up with: what arrived during the fold, and a little.
    assert not gathers(300, 300, 40)
    assert not gathers(2000, 2000, TAKE)


def test_a_small_take_goes_at_once_without_reading_the_highwaters() -> None:
    assert not gathers(GATHER_FROM - 1, GATHER_FROM - 1, None)
    assert not gathers(3, 3000, None)


def test_batches_no_larger_than_a_take_never_gather() -> None:
    # --batch-size at or below the take size: the take is the batch (as before).
    assert not gathers(100, 100, None, batch_size=100)
