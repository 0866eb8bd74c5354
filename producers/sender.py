"""The publisher's producing half in a process of its own (producers/publisher.py): the
publisher checks, encodes, chains and signs its records and hands each chunk, finished, over
a pipe to this process, whose kafka-python producer sends them while the next chunk is
prepared. kafka-python's producer holds one core by itself (its record-batch builder and its
sender thread share the GIL), so preparing beside it in the same process halves the rate
(bench/README.md, "Notes on publish throughput").

The records are sent exactly as handed over (partition and timestamp included: the chain link
covers them), in order. A send that fails marks its partition broken until the next flush:
every later record of that partition fails too, so no record leaves whose link names one that
never did. A flush answers, in order, each record's partition and offset or its failure.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import pickle
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaError

Record = tuple[bytes, bytes, list[tuple[str, bytes]], int, int]
"""(key, value, headers, partition, timestamp_ms) of one record."""


@dataclass(frozen=True)
class Outcome:
    """What became of one record: where the broker stored it, or why it was not."""

    partition: int
    offset: int
    reason: str | None = None


class SenderGoneError(ConnectionError):
    """The sending process ended or stopped answering; what it held is not acknowledged."""


class SendingProcess:
    """A kafka-python producer in a child process, driven over a pipe. Not thread-safe."""

    def __init__(self, config: dict[str, Any], topic: str, timeout_s: float) -> None:
        """`config`: KafkaProducer keyword arguments (plain values: they cross the pipe)."""
        self._timeout_s = timeout_s
        # spawn, not fork: the parent may already run threads (a producer, a server).
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(
            target=_serve, args=(child, config, topic), name="ketenlog-sender", daemon=True
        )
        self._process.start()
        child.close()
        # The producer opens (or fails to reach the broker) before the first record is
        # prepared, as an in-process one does.
        answer = self._ask(("hello",), timeout_s + 10)
        if isinstance(answer, str):
            self.close()
            raise ConnectionError(answer)
        self.partitions: int = answer

    def send(self, records: list[Record]) -> None:
        """Hand a chunk over; it is sent while the caller goes on."""
        self._put(("send", records))

    def flush(self) -> list[Outcome]:
        """Each record handed over since the last flush, in order, once acknowledged or failed."""
        answer = self._ask(("flush", self._timeout_s), self._timeout_s + 30)
        assert isinstance(answer, list)
        return answer

    def close(self) -> None:
        if self._process.is_alive():
            with contextlib.suppress(SenderGoneError):
                self._put(("close", self._timeout_s))
            self._process.join(self._timeout_s + 10)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
        self._conn.close()

    def _put(self, message: tuple[Any, ...]) -> None:
        try:
            self._conn.send_bytes(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))
        except OSError as exc:
            raise SenderGoneError(f"the sending process is gone ({exc!r})") from exc

    def _ask(self, message: tuple[Any, ...], timeout_s: float) -> Any:
        self._put(message)
        try:
            if not self._conn.poll(timeout_s):
                raise SenderGoneError(f"the sending process did not answer within {timeout_s:.0f}s")
            return pickle.loads(self._conn.recv_bytes())
        except (EOFError, OSError) as exc:
            raise SenderGoneError(
                f"the sending process ended (exit code {self._process.exitcode})"
            ) from exc


def _serve(conn: Connection, config: dict[str, Any], topic: str) -> None:
    try:
        producer = KafkaProducer(**config)
        found = producer.partitions_for(topic)
    except KafkaError as exc:
        conn.send_bytes(pickle.dumps(f"cannot open a producer for {topic}: {exc!r}"))
        return
    if not found:
        producer.close(timeout=0)
        conn.send_bytes(pickle.dumps(f"no partitions known for {topic}"))
        return
    conn.send_bytes(pickle.dumps(len(found)))
    sending = _Sending(producer, topic)
    while True:
        try:
            message = pickle.loads(conn.recv_bytes())
        except EOFError:
            # The publisher died: send what it handed over, as a close without flush does.
            message = ("close", 30.0)
        if message[0] == "send":
            sending.send(message[1])
        elif message[0] == "flush":
            conn.send_bytes(pickle.dumps(sending.flush(message[1])))
        elif message[0] == "close":
            try:
                producer.close(timeout=message[1])
            except KafkaError:
                # Its records were reported unacknowledged by the flush: drop them quietly.
                abandon(producer)
            return


class _Sending:
    def __init__(self, producer: Any, topic: str) -> None:
        self._producer = producer
        self._topic = topic
        self._futures: list[Any] = []
        self._broken: dict[int, str] = {}

    def send(self, records: list[Record]) -> None:
        send, topic, futures = self._producer.send, self._topic, self._futures
        for key, value, headers, partition, timestamp_ms in records:
            reason = self._broken.get(partition)
            if reason is None:
                try:
                    future = send(
                        topic,
                        value=value,
                        key=key,
                        headers=headers,
                        partition=partition,
                        timestamp_ms=timestamp_ms,
                    )
                except KafkaError as exc:
                    reason = self._broken[partition] = f"{type(exc).__name__}: {exc}"
            futures.append(reason if reason is not None else future)

    def flush(self, timeout_s: float) -> list[Outcome]:
        futures, self._futures = self._futures, []
        self._broken.clear()
        # A timed-out flush is not the verdict: each future below carries its own outcome.
        with contextlib.suppress(KafkaError):
            self._producer.flush(timeout=timeout_s)
        deadline = time.monotonic() + timeout_s + 5
        outcomes = []
        for future in futures:
            if isinstance(future, str):
                outcomes.append(Outcome(-1, -1, future))
                continue
            try:
                meta = future.get(timeout=max(0.0, deadline - time.monotonic()))
                outcomes.append(Outcome(meta.partition, meta.offset))
            except Exception as exc:  # kafka-python raises KafkaError subclasses and timeouts
                outcomes.append(Outcome(-1, -1, f"{type(exc).__name__}: {exc}"))
        return outcomes


def abandon(producer: Any) -> None:
    """Stop a producer whose `close` gave up: kafka-python 3.0's close raises out of its flush
    before it force-closes the sender, and its __del__ then tries again at exit and prints a
    traceback. Its records were reported unacknowledged by `flush`; drop them."""
    sender = getattr(producer, "_sender", None)
    if sender is not None:
        sender.force_close()
    producer._closed = True
