"""The rebuild's worker processes (ketenlog.rebuild.Workers): they read and fold while the
parent makes the schema, and load only once it is made; when it cannot be made, the rebuild
fails with the parent's error and no worker waits for ever. A real PostgreSQL; the records
come from memory (every one dead-lettered: no Kafka needed)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest

from infra.kafka_log import Part
from ketenlog.rebuild import Workers, rebuild, worker_count
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


def test_workers_started_before_the_rebuild_fold_then_load_into_the_schema(fresh_db: str) -> None:
    assert worker_count(UPTO, 2) == 2
    with Workers(worker_count(UPTO, 2)) as pool:
        assert pool is not None
        built = rebuild(fresh_db, "rebuild_workers", EmptyValues(), UPTO, consumer="c", pool=pool)
    assert built.records == 12
    assert built.deadletters == {Reason.EMPTY.value: 12}
    with connect(fresh_db) as conn:
        assert replay_store.positions(conn, "rebuild_workers", "c") == UPTO


@pytest.mark.timeout(120)
def test_a_schema_that_cannot_be_made_fails_the_rebuild_and_no_worker_waits(
    fresh_db: str,
) -> None:
    with pytest.raises(ValueError, match="never writes into"):
        rebuild(fresh_db, LIVE, EmptyValues(), UPTO, consumer="c", workers=2)


def test_one_worker_folds_in_this_process(fresh_db: str) -> None:
    with Workers(1) as pool:
        assert pool is None
    built = rebuild(fresh_db, "rebuild_one", EmptyValues(), UPTO, consumer="c", workers=1)
    assert built.records == 12
    with connect(fresh_db) as conn:
        assert replay_store.positions(conn, "rebuild_one", "c") == UPTO
