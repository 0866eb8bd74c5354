"""When the timeline processor catches up at batch speed rather than live (ketenlog.catching_up):
only when the backlog is large in itself and a large share of the log, since the batch path
refolds the whole log."""

from __future__ import annotations

from ketenlog.catching_up import BATCH_SPEEDUP, backlog

ENDS = {("keten.ind.events", 0): 60_000, ("keten.coa.events", 0): 40_000}


def test_a_fresh_store_far_behind_catches_up() -> None:
    found = backlog({}, ENDS)
    assert (found.behind, found.total) == (100_000, 100_000)
    assert found.worth_a_batch(least=50_000)


def test_a_small_backlog_goes_live_however_small_the_log() -> None:
    assert not backlog({}, ENDS).worth_a_batch(least=100_001)


def test_a_backlog_that_is_a_small_share_of_the_log_goes_live() -> None:
    share = 100_000 // BATCH_SPEEDUP
    near = {("keten.ind.events", 0): 60_000 - share + 1, ("keten.coa.events", 0): 40_000}
    far = {("keten.ind.events", 0): 60_000 - share, ("keten.coa.events", 0): 40_000}
    assert not backlog(near, ENDS).worth_a_batch(least=1)
    assert backlog(far, ENDS).worth_a_batch(least=1)


def test_positions_past_a_shrunk_end_count_as_nothing_behind() -> None:
    ahead = {("keten.ind.events", 0): 70_000, ("keten.coa.events", 0): 40_000}
    assert backlog(ahead, ENDS).behind == 0
