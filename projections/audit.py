"""What auditors read that analysts may not: one person's stored events (for the person
timeline, domain.person_timeline), optionally as the chain knew them at a moment; and when
each person was last seen, for the retention rule (domain.retention).
Sits at the edge: SQL only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg

from domain.facts import Fact
from domain.retention import LastSeen


def person_facts(
    conn: psycopg.Connection[Any], person_key: str, known_at: datetime | None = None
) -> list[Fact]:
    """Every event of the person the store holds (logged by the broker up to `known_at`, if
    given: system time, not the publisher's recorded_at)."""
    rows = conn.execute(
        "SELECT fact::text FROM timeline_events WHERE person_key = %s"
        " AND (%s::timestamptz IS NULL OR logged_at <= %s::timestamptz)",
        (person_key, known_at, known_at),
    ).fetchall()
    return [Fact.from_json(text) for (text,) in rows]


def last_seen(conn: psycopg.Connection[Any]) -> list[LastSeen]:
    """Every person's last event (valid time) other than an erasure, and their last erasure
    (broker time): what the retention rule (domain.retention) judges."""
    rows = conn.execute(
        "SELECT person_key,"
        " max(occurred_at) FILTER (WHERE event_type <> 'PersonErased'),"
        " max(coalesce(logged_at, occurred_at)) FILTER (WHERE event_type = 'PersonErased')"
        " FROM timeline_events WHERE person_key ~ '^[0-9a-f]{32,128}$' GROUP BY person_key"
    ).fetchall()
    return [LastSeen(key, last, erased) for key, last, erased in rows if last is not None]
