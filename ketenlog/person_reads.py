"""The command line's person-level reads, assembled on the settings' database: `ketenlog
timeline` and `ketenlog subscriptions --explain` read one person's events through
projections.read_log (recorded in the read log in the same transaction, with the OS user as the
reader), and `ketenlog reads` lists that log.
"""

from __future__ import annotations

import os
import pwd
from datetime import datetime
from typing import Any

from domain.facts import Fact
from domain.person_timeline import person_timeline
from ketenlog.settings import Settings
from projections import read_log
from projections.db import connect, migrate

OPERATION = "ketenlog timeline"


def os_user() -> str:
    # From the password database, not $USER or $LOGNAME: the environment is the caller's to set.
    return pwd.getpwuid(os.getuid()).pw_name


def logged_facts(
    settings: Settings,
    person_key: str,
    purpose: read_log.Purpose,
    *,
    operation: str,
    known_at: datetime | None = None,
) -> tuple[list[Fact], read_log.Trace]:
    """One person's facts, read and recorded in the read log in one transaction (with the OS
    user as the reader), and the trace the read is logged under."""
    span = read_log.trace()
    with connect(settings.dsn) as conn:
        migrate(conn)
        facts = read_log.logged_person_facts(
            conn,
            person_key,
            known_at,
            reader=read_log.Reader("cli", os_user()),
            purpose=purpose,
            span=span,
            operation=operation,
        )
    return facts, span


def logged_timeline(
    settings: Settings, person_key: str, known_at: datetime | None, purpose: read_log.Purpose
) -> tuple[dict[str, Any] | None, read_log.Trace]:
    """The person's timeline (None: nothing recorded) and the trace its read is logged under."""
    facts, span = logged_facts(
        settings, person_key, purpose, operation=OPERATION, known_at=known_at
    )
    return (person_timeline(person_key, facts) if facts else None), span


def recorded_reads(
    settings: Settings, person_key: str | None, since: datetime | None
) -> list[dict[str, Any]]:
    with connect(settings.dsn) as conn:
        migrate(conn)
        return read_log.reads(conn, person_key=person_key, since=since)
