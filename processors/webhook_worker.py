"""The webhook sender's edges (`ketenlog webhooks run`): an aiokafka reader of one
organisation's inbox as that organisation's own principal (the broker's ACLs let it read its
inbox alone), seeking to the positions the webhook store keeps (no consumer group: the store is
the system of record), and an aiohttp POST. One task per registered webhook, each around
processors.webhook_sender.WebhookSender; a running sender picks up webhooks registered or
removed meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

import aiohttp
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from processors.webhook_sender import Answer, SenderOptions, Webhook, WebhookSender, WebhookStore
from schemas.access import KafkaAccess
from schemas.codec import Codec
from schemas.records import Raw
from schemas.topics import inbox_topic

Say = Callable[[str], None]


class InboxReader:
    """One webhook's view of its organisation's inbox, from the webhook's stored positions."""

    def __init__(
        self, kafka: KafkaAccess, org: str, positions: dict[int, int], ends: dict[int, int]
    ) -> None:
        self._topic = inbox_topic(org)
        self._consumer = AIOKafkaConsumer(
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            **kafka.aiokafka(),
        )
        self._start = positions
        # Every partition of the inbox and where it ended when the sender started.
        self._targets = ends
        self._fetched = {p: positions.get(p, 0) for p in ends}

    async def start(self) -> None:
        await self._consumer.start()
        tps = [TopicPartition(self._topic, p) for p in sorted(self._targets)]
        self._consumer.assign(tps)
        for tp in tps:
            self._consumer.seek(tp, self._start.get(tp.partition, 0))

    async def fetch(self, max_records: int, timeout_ms: int) -> list[Raw]:
        got = await self._consumer.getmany(timeout_ms=timeout_ms, max_records=max_records)
        out = [Raw.of(m) for tp in sorted(got, key=lambda tp: tp.partition) for m in got[tp]]
        for r in out:
            self._fetched[r.partition] = max(self._fetched.get(r.partition, 0), r.offset + 1)
        return out

    def caught_up(self) -> bool:
        return all(self._fetched.get(p, 0) >= end for p, end in self._targets.items())

    async def stop(self) -> None:
        with contextlib.suppress(Exception):
            await self._consumer.stop()


def http_post(session: aiohttp.ClientSession) -> Callable[..., Awaitable[Answer]]:
    async def post(url: str, body: bytes, headers: dict[str, str], timeout_s: float) -> Answer:
        timeout = aiohttp.ClientTimeout(total=timeout_s)
        # No redirects: aiohttp would turn a 301/302 into a bodiless GET (a 200 there would
        # count as received), and a 307/308 to plain http would get around check_url.
        async with session.post(
            url, data=body, headers=headers, timeout=timeout, allow_redirects=False
        ) as resp:
            await resp.read()
            return Answer(resp.status, _retry_after(resp.headers.get("Retry-After")))

    return post


def _retry_after(value: str | None) -> float | None:
    try:
        return None if value is None else max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: the backoff schedule decides instead


@dataclass(frozen=True)
class WorkerConfig:
    options: SenderOptions
    kafka: Callable[[str], KafkaAccess]
    """The organisation's own client settings, by organisation code."""
    ends: Callable[[str], dict[int, int]]
    """The end offset of each partition of an organisation's inbox now."""
    only: frozenset[int] = frozenset()
    reload_s: float = 10.0


class Store(WebhookStore, Protocol):
    async def webhooks(self) -> list[tuple[int, str, str | None, str, str]]: ...
    async def positions(self, webhook_id: int) -> dict[int, int]: ...


async def run(config: WorkerConfig, store: Store, codec: Codec, say: Say) -> list[WebhookSender]:
    """Send for every registered webhook (or those in `only`) until cancelled; until_idle:
    until each has handled its inbox as it was at start. Returns the senders (their counts)."""
    senders: dict[int, WebhookSender] = {}
    tasks: dict[int, asyncio.Task[None]] = {}
    async with aiohttp.ClientSession() as session:
        post = http_post(session)

        async def one(hook: Webhook) -> None:
            ends = await asyncio.to_thread(config.ends, hook.org)
            if not ends:
                raise RuntimeError(f"{hook.name}: its inbox has no partitions (`ketenlog up`?)")
            positions = await store.positions(hook.id)
            reader = InboxReader(config.kafka(hook.org), hook.org, positions, ends)
            await reader.start()
            try:
                await senders[hook.id].run(reader)
            finally:
                await reader.stop()

        finished: set[int] = set()
        try:
            while True:
                hooks = [
                    Webhook(*row)
                    for row in await store.webhooks()
                    if (not config.only or row[0] in config.only) and row[0] not in finished
                ]
                current = {h.id: h for h in hooks}
                for gone in set(tasks) - set(current):
                    senders[gone].request_stop()
                    await asyncio.gather(tasks.pop(gone), return_exceptions=True)
                    say(f"webhooks: webhook {gone} removed; its sending stopped")
                for hook in hooks:
                    if hook.id in tasks and senders[hook.id].hook == hook:
                        continue
                    if hook.id in tasks:  # a new secret or URL: start again with it
                        senders[hook.id].request_stop()
                        await asyncio.gather(tasks.pop(hook.id), return_exceptions=True)
                    senders[hook.id] = WebhookSender(
                        hook, codec=codec, store=store, post=post, options=config.options, say=say
                    )
                    tasks[hook.id] = asyncio.create_task(one(hook), name=hook.name)
                    say(f"webhooks: sending for {hook.name}")
                if config.options.until_idle and not tasks:
                    if not senders:
                        say("webhooks: no webhooks registered")
                    return list(senders.values())
                # Wake for a task that ended, or to look for new, removed and changed endpoints.
                if tasks:
                    await asyncio.wait(tasks.values(), timeout=config.reload_s)
                else:
                    await asyncio.sleep(config.reload_s)
                for i in [i for i, t in tasks.items() if t.done()]:
                    exc = tasks.pop(i).exception()
                    if exc is not None:
                        raise exc
                    finished.add(i)  # caught up (until_idle): not started again
        finally:
            # Cancelled (Ctrl-C) or failed: stop the others between requests, not mid-commit.
            for sender in senders.values():
                sender.request_stop()
            with contextlib.suppress(Exception):
                await asyncio.gather(*tasks.values(), return_exceptions=True)
