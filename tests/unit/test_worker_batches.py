"""How the faust worker turns takes into batches (processors.app.keep_gathering): a backlog is
gathered into batches of up to --batch-size, a steady load's small takes go at once (latency),
and the consumer's highwaters are read only for a large take."""

from __future__ import annotations

from processors.app import keep_gathering


def never_asked() -> bool:
    raise AssertionError("the highwaters read for a take that goes at once anyway")


def gathers(taken: int, pending: int, more_waiting: bool | None, batch_size: int = 10_000) -> bool:
    def waiting() -> bool:
        return never_asked() if more_waiting is None else more_waiting

    return keep_gathering(
        taken, pending, take=min(2000, batch_size), batch_size=batch_size, more_waiting=waiting
    )


def test_a_large_take_of_a_backlog_waits_for_the_next_until_the_batch_is_full() -> None:
    assert gathers(2000, 2000, True)
    assert gathers(1000, 8000, True)
    assert not gathers(2000, 10_000, None)


def test_a_large_take_with_nothing_behind_it_goes_at_once() -> None:
    assert not gathers(2000, 2000, False)


def test_a_small_take_goes_at_once_whatever_the_log_holds() -> None:
    # A steady load the processor keeps up with: a few records per wait.
    assert not gathers(40, 40, None)
    assert not gathers(999, 3000, None)


def test_batches_no_larger_than_a_take_never_gather() -> None:
    # --batch-size at or below the take size: the take is the batch (as before).
    assert not gathers(100, 100, None, batch_size=100)
