"""Reading ahead on a thread (infra/read_ahead.py): the same items in the same order, an error
raised where it happened, and a consumer that stops early stops the thread."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from infra.read_ahead import read_ahead


def test_every_item_in_order_whatever_the_chunk() -> None:
    for chunk in (1, 3, 2000):
        assert list(read_ahead(range(10_001), chunk=chunk, depth=2)) == list(range(10_001))
    assert list(read_ahead([], chunk=5)) == []


def test_an_error_of_the_source_is_raised_after_the_items_before_it() -> None:
    def failing() -> Iterator[int]:
        yield from range(7)
        raise ConnectionError("the broker went away")

    got: list[int] = []
    with pytest.raises(ConnectionError, match="went away"):
        for item in read_ahead(failing(), chunk=2):
            got.append(item)
    assert got == list(range(7))


def test_leaving_early_stops_the_thread() -> None:
    def endless() -> Iterator[int]:
        n = 0
        while True:
            yield n
            n += 1

    for item in read_ahead(endless(), chunk=10, depth=1):
        if item == 25:
            break
    assert not [t for t in threading.enumerate() if t.name == "read-ahead" and t.is_alive()]
