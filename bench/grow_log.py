"""Bench helper: grow the log to a size the publisher cannot reach in a session (it sends
~2,000 events/s, so 10M events would take ~80 min), by appending re-keyed copies of what the
agency topics already hold — typically one simulated national year (~2.05M records).

Copy c of a record is the same event for another person: every person key (the envelope's,
`sponsor_person_key`) and every event id (its own, `corrects`, `retracts`) is mapped one-to-one
for that copy, so copies are disjoint persons with the original's histories, corrections,
duplicates and noise, and a replay does exactly the per-record work it does on the original.
The hash-chain header is dropped (a copy was not sent by a publisher; replay does not read
chains, `verify` would name every copy as a break). Records that do not decode are copied
as they are. Partitions follow the new key (the publisher's murmur2), timestamps are now.

    .venv/bin/python bench/grow_log.py --copies 4 [--first 1]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import re
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import murmur2

from infra import kafka_log
from infra.signing_keys import KeyStore
from ketenlog import settings as settings_module
from schemas import chain, signature
from schemas.access import KafkaAccess
from schemas.chain import HEADER
from schemas.codec import DecodeError, default_codec
from schemas.records import Raw
from schemas.signature import Signer
from schemas.topics import event_topics, owner_of

Signers = Callable[[str], Signer]

HEX_KEY = re.compile(r"[0-9a-f]{64}")
# Records in flight before waiting for their acknowledgements.
WINDOW = 50_000
IDS = uuid.UUID("6b6c6f67-0000-4000-8000-00000000c0de")


def new_key(key: str, copy: int) -> str:
    if HEX_KEY.fullmatch(key):
        return hashlib.sha256(f"{copy}:{key}".encode()).hexdigest()
    return f"{key}~{copy}"  # location:<id>, a municipality's task subject, ...


def new_id(event_id: Any, copy: int) -> uuid.UUID:
    return uuid.uuid5(IDS, f"{copy}:{event_id}")


def rekey(value: bytes, copy: int) -> tuple[str, bytes] | None:
    codec = default_codec()
    try:
        decoded = codec.decode(value)
    except DecodeError:
        return None
    record = decoded.record
    env = record["envelope"]
    env["person_key"] = new_key(str(env["person_key"]), copy)
    env["event_id"] = new_id(env["event_id"], copy)
    for field in ("corrects", "retracts"):
        if env.get(field) is not None:
            env[field] = new_id(env[field], copy)
    if record.get("sponsor_person_key"):
        record["sponsor_person_key"] = new_key(str(record["sponsor_person_key"]), copy)
    body = codec.encode(decoded.event_type, record, version=decoded.version, check=False)
    return env["person_key"], body


async def grow(kafka: KafkaAccess, copies: range, partitions: int, signers: Signers) -> int:
    ends = kafka_log.end_offsets(kafka, event_topics())
    total = len(copies) * sum(ends.values())
    producer = AIOKafkaProducer(
        **kafka.aiokafka(),
        acks="all",
        enable_idempotence=True,
        linger_ms=50,
        max_batch_size=1024 * 1024,
    )
    await producer.start()
    sent, t0, last = 0, time.perf_counter(), 0.0
    acks: list[Any] = []
    try:
        for copy in copies:
            for (topic, partition), stop in sorted(ends.items()):
                async for batch in kafka_log.aread(kafka, topic, partition, 0, stop):
                    acks += [await _send(producer, raw, copy, partitions, signers) for raw in batch]
                    if len(acks) < WINDOW:
                        continue
                    await asyncio.gather(*acks)
                    sent += len(acks)
                    acks = []
                    if time.perf_counter() - last >= 5:
                        last = time.perf_counter()
                        rate = sent / (last - t0)
                        left = (total - sent) / rate
                        say(f"grow: {sent:,}/{total:,} ({rate:,.0f}/s, ~{left:.0f}s left)")
        await asyncio.gather(*acks)
        sent += len(acks)
    finally:
        await producer.stop()
    return sent


async def _send(
    producer: AIOKafkaProducer, raw: Raw, copy: int, partitions: int, signers: Signers
) -> Any:
    headers = [(k, v) for k, v in raw.headers if k not in (HEADER, signature.HEADER)]
    out = rekey(raw.value, copy) if raw.value else None
    key, value = (raw.key, raw.value) if out is None else (out[0].encode(), out[1])
    owner = owner_of(raw.topic)
    if out is not None and owner is not None:
        # A copy is a new record: signed again by the topic's owner, as the gate requires.
        link = chain.link(chain.GENESIS, key, value, 0)
        signed = signers(owner.value).sign(raw.topic, link, key, value)
        headers += [(HEADER, link), (signature.HEADER, signed)]
    target = 0 if key is None else (murmur2(key) & 0x7FFFFFFF) % partitions
    return await producer.send(raw.topic, value, key=key, partition=target, headers=headers)


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--copies", type=int, default=4)
    parser.add_argument(
        "--first",
        type=int,
        default=1,
        help="number of the first copy (run several processes with disjoint copy numbers; "
        "each reads the log as it was when it started)",
    )
    args = parser.parse_args()
    settings = settings_module.load()
    copies = range(args.first, args.first + args.copies)
    store = KeyStore(settings.signing_dir)
    sent = asyncio.run(
        grow(settings.kafka("admin"), copies, settings.partitions, lambda org: store.signer(org)[0])
    )
    say(f"grow: appended {sent:,} records")
    return 0


if __name__ == "__main__":
    sys.exit(main())
