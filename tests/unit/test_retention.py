"""The retention rule (domain/retention.py) under a simulated clock: personal fields are due for
erasure ten years after a person's last event, once."""

from __future__ import annotations

from datetime import UTC, datetime

from domain.retention import LastSeen, due, expiry

LAST = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_due_exactly_ten_years_after_the_last_event() -> None:
    person = [LastSeen("aa" * 16, LAST, None)]
    assert due(person, datetime(2036, 3, 2, 8, 59, tzinfo=UTC)) == []
    assert due(person, datetime(2036, 3, 2, 9, 0, tzinfo=UTC)) == ["aa" * 16]


def test_a_later_event_restarts_the_term_and_an_erasure_after_it_ends_it() -> None:
    clock = datetime(2040, 1, 1, tzinfo=UTC)
    persons = [
        LastSeen("aa" * 16, LAST, None),
        LastSeen("bb" * 16, datetime(2031, 1, 1, tzinfo=UTC), None),
        LastSeen("cc" * 16, LAST, datetime(2036, 4, 1, tzinfo=UTC)),
        LastSeen("dd" * 16, LAST, datetime(2020, 1, 1, tzinfo=UTC)),
    ]
    assert due(persons, clock) == ["aa" * 16, "dd" * 16]


def test_a_leap_day_expires_on_the_28th() -> None:
    assert expiry(datetime(2028, 2, 29, tzinfo=UTC), 10) == datetime(2038, 2, 28, tzinfo=UTC)
