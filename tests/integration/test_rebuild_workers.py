"""The rebuild's worker processes (ketenlog.rebuild): the groups folded on two workers are
loaded with their positions, as on one; a schema that cannot be made fails the rebuild with
its error and leaves no worker behind. A real PostgreSQL; the records come from memory
(every one dead-lettered: no Kafka needed)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest

from infra.kafka_log import Part
from ketenlog.rebuild import rebuild
from processors.checks import Reason
from projections import replay_store
from projections.db import LIVE, connect
from schemas.records import Raw

UPTO = {("keten.ind.events", p): 3 for p in range(4)}


class EmptyValues:
    """A source whose records have no value: the gate dead-letters each (Reason.EMPTY)."""

    def records(self, parts: Sequence[Part]) -> Iterator[Raw]:
        for topic, partition, start, stop in parts:
            for offset in range(start, stop):
                yield Raw(topic, partition, offset, b"pk", b"", [], 0)


def test_groups_folded_on_two_workers_are_loaded_with_their_positions(fresh_db: str) -> None:
    built = rebuild(fresh_db, "rebuild_workers", EmptyValues(), UPTO, consumer="c", workers=2)
    assert built.records == 12
    assert built.deadletters == {Reason.EMPTY.value: 12}
    with connect(fresh_db) as conn:
        assert replay_store.positions(conn, "rebuild_workers", "c") == UPTO


@pytest.mark.timeout(120)
def test_a_schema_that_cannot_be_made_fails_the_rebuild(
    fresh_db: str,
) -> None:
    with pytest.raises(ValueError, match="never writes into"):
        rebuild(fresh_db, LIVE, EmptyValues(), UPTO, consumer="c", workers=2)


def test_one_worker_folds_in_this_process(fresh_db: str) -> None:
    built = rebuild(fresh_db, "rebuild_one", EmptyValues(), UPTO, consumer="c", workers=1)
    assert built.records == 12
    with connect(fresh_db) as conn:
        assert replay_store.positions(conn, "rebuild_one", "c") == UPTO
