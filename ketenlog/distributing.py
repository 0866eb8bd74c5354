"""The distribution processor assembled (`ketenlog distribute`): the aiokafka worker of
processors.distribution_worker with the PostgreSQL store of projections.distribution_store, as
the `distribution` principal, on the settings' services."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from domain.facts import Fact
from infra.topics import end_offsets
from ketenlog.settings import Settings
from processors.distribution import BatchFaultError, DistributionBatch, InboxRecord, Received
from processors.distribution_worker import DistributionConfig, run
from projections.db import connect, migrate
from projections.distribution_store import PgDistributionStore, received_counts
from schemas.access import DISTRIBUTION
from schemas.codec import default_codec
from schemas.topics import TIMELINE, Org

DEFAULT_GROUP = "ketenlog-distribution"
Say = Callable[[str], None]


class DistributionError(Exception):
    """The distribution processor could not start; the message says what to do."""


@dataclass(frozen=True)
class DistributeOptions:
    until_idle: bool = False
    batch_size: int = 2000
    group: str = DEFAULT_GROUP


def distribute(settings: Settings, options: DistributeOptions, say: Say) -> None:
    """Migrate the database, then distribute until stopped (or, `until_idle`, until every
    timeline record present at start is distributed)."""
    try:
        with connect(settings.dsn) as conn:
            applied = migrate(conn)
    except Exception as exc:
        raise DistributionError(
            f"cannot prepare PostgreSQL at {settings.dsn}: {exc}; is it running (`ketenlog up`)?"
        ) from exc
    if applied:
        say(f"distribute: database migrated to version {applied[-1]}")
    config = DistributionConfig(
        group=options.group,
        kafka=settings.kafka(DISTRIBUTION),
        batch_size=options.batch_size,
        until_idle=options.until_idle,
        targets=tuple(sorted(end_offsets(settings, [TIMELINE], DISTRIBUTION).items()))
        if options.until_idle
        else (),
    )

    async def make_batch(send: Callable[[list[InboxRecord]], Awaitable[None]]) -> DistributionBatch:
        store = await PgDistributionStore.open(settings.dsn, Fact, Received.stored)
        return DistributionBatch(options.group, codec=default_codec(), store=store, send=send)

    try:
        asyncio.run(run(config, make_batch, say))
    except KeyboardInterrupt:
        say("distribute: stopped")
    except BatchFaultError as exc:
        raise DistributionError(str(exc)) from exc


RECEIVED_COLUMNS = ("org", "rule", "deliveries", "persons", "recipients")


def received(settings: Settings, org: str | None) -> list[dict[str, object]]:
    """What each organisation (or `org`) received and by which rule, from the deliveries
    table (`ketenlog subscriptions --received`): counts only."""
    if org is not None and org not in {o.value for o in Org}:
        raise DistributionError(f"--received {org}: not an organisation of the catalogue")
    with connect(settings.dsn) as conn:
        migrate(conn)
        rows = received_counts(conn, org)
    return [dict(zip(RECEIVED_COLUMNS, row, strict=True)) for row in rows]
