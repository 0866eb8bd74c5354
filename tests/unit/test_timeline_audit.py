"""keten.timeline against the accepted facts (infra.timeline_audit), without Kafka."""

from __future__ import annotations

from infra.timeline_audit import audit
from schemas.records import Raw


def record(offset: int, event_id: str, key: str) -> Raw:
    return Raw("keten.timeline", 0, offset, key.encode(), b"v", [("ce_id", event_id.encode())], 0)


def test_repeats_are_at_least_once_not_faults() -> None:
    accepted = {("e1", "p1"), ("e2", "p1")}
    result = audit(
        [record(0, "e1", "p1"), record(1, "e2", "p1"), record(2, "e1", "p1")],
        accepted,
        at_rest=True,
    )
    assert result.ok and (result.records, result.distinct, result.repeated) == (3, 2, 1)


def test_a_lost_fact_and_a_slipped_in_record_are_named() -> None:
    accepted = {("e1", "p1"), ("e2", "p1")}
    result = audit([record(0, "e1", "p1"), record(1, "forged", "p9")], accepted, at_rest=True)
    assert not result.ok
    assert result.missing == [("e2", "p1")]
    assert result.unaccounted == [(0, 1, "forged")]


def test_while_the_store_is_behind_later_records_are_not_judged() -> None:
    result = audit([record(0, "e1", "p1"), record(1, "later", "p2")], {("e1", "p1")}, at_rest=False)
    assert result.ok and not result.judged_unaccounted


def test_a_foreign_correction_may_be_on_the_timeline_or_not() -> None:
    # Passed on when the gate had not seen its target yet, a dead letter when it had.
    accepted, optional = {("e1", "p1")}, {("c1", "p1"), ("c2", "p1")}
    result = audit(
        [record(0, "e1", "p1"), record(1, "c1", "p1")], accepted, at_rest=True, optional=optional
    )
    assert result.ok and result.missing == [] and result.unaccounted == []
    without = audit([record(0, "e1", "p1"), record(1, "c1", "p1")], accepted, at_rest=True)
    assert without.unaccounted == [(0, 1, "c1")], "only as optional, not as any record"
