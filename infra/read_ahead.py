"""Reading ahead on a thread of its own: a replay worker's records come from Kafka partition by
partition, and while it gated and folded one fetch it was not asking for the next, so about a
fifth of its time went to waiting for the broker (bench/process_throughput.py). The thread
keeps up to `depth` chunks ready; the order is the source's.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
_END = object()


def read_ahead(items: Iterable[T], *, chunk: int = 2000, depth: int = 8) -> Iterator[T]:
    """`items`, in order, produced on another thread. An error there is raised here, where
    the item it stopped at would have come; leaving the loop early stops the thread."""
    ready: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        batch: list[T] = []
        try:
            for item in items:
                batch.append(item)
                if len(batch) >= chunk:
                    if not put(batch):
                        return
                    batch = []
        except BaseException as exc:  # handed to the consumer, who raises it
            if not batch or put(batch):
                put(exc)
            return
        if not batch or put(batch):
            put(_END)

    thread = threading.Thread(target=produce, name="read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            got = ready.get()
            if got is _END:
                return
            if isinstance(got, BaseException):
                raise got
            yield from got  # type: ignore[misc]
    finally:
        stop.set()
        thread.join(timeout=30)
