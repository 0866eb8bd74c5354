"""The read log (Logboek Dataverwerkingen, migration 013): every read of one person's data —
the API's and the command line's timeline — is recorded in `logboek.verwerkingen` in the same
transaction that reads it, so the read commits with its record or not at all, and nothing is
answered before both have. Listing the log (`ketenlog reads`, `GET /v1/audit/inzages`) is
auditor-only: the log itself names persons. Sits at the edge: SQL only.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg

from domain.facts import Fact
from projections.audit import person_facts

# W3C Trace Context: version-traceid-parentid-flags; a caller's trace is continued.
TRACEPARENT = re.compile(r"^00-(?P<trace>[0-9a-f]{32})-(?P<parent>[0-9a-f]{16})-[0-9a-f]{2}$")
COLUMNS = (
    "trace_id",
    "span_id",
    "operation",
    "started_at",
    "ended_at",
    "subject_role",
    "subject_id",
    "person_key",
    "purpose",
    "legal_basis",
    "result",
)
INSERT = (
    f"INSERT INTO logboek.verwerkingen ({', '.join(COLUMNS)})"
    f" VALUES ({', '.join(['%s'] * len(COLUMNS))})"
)
ANSWERED = "answered"
NOTHING_RECORDED = "nothing recorded"


class ReadLogError(Exception):
    """The read could not be recorded, so it is not answered."""


class PurposeError(ValueError):
    """A person-level read was asked without a usable declared purpose (or legal basis)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason


@dataclass(frozen=True)
class Reader:
    """Who reads: the role and the token's id (API), or `cli` and the OS user."""

    role: str
    id: str


@dataclass(frozen=True)
class Purpose:
    """Why: the processing activity (verwerkingsactiviteit) and its legal basis (grondslag)."""

    activity: str
    legal_basis: str | None = None

    def __post_init__(self) -> None:
        _declared("purpose", self.activity)
        if self.legal_basis is not None:
            _declared("legal_basis", self.legal_basis)


def _declared(field: str, text: str) -> None:
    if not text.strip():
        raise PurposeError(field, "required for a read of person-level data; not blank")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in text):
        raise PurposeError(field, "no control characters")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise PurposeError(field, "not valid Unicode text") from None


@dataclass(frozen=True)
class Trace:
    trace_id: str
    span_id: str

    @property
    def traceparent(self) -> str:
        return f"00-{self.trace_id}-{self.span_id}-01"


def trace(traceparent: str | None = None) -> Trace:
    """A new span, in the caller's trace if it sent a valid `traceparent`, else a new trace."""
    match = TRACEPARENT.match(traceparent or "")
    trace_id = match["trace"] if match and set(match["trace"]) != {"0"} else secrets.token_hex(16)
    return Trace(trace_id, secrets.token_hex(8))


def logged_person_facts(
    conn: psycopg.Connection[Any],
    person_key: str,
    known_at: datetime | None,
    *,
    reader: Reader,
    purpose: Purpose,
    span: Trace,
    operation: str,
) -> list[Fact]:
    """The person's facts (projections.audit.person_facts), read and recorded in one
    transaction: if the record cannot be written, the read fails too."""
    started = datetime.now(UTC)
    with conn.transaction():
        facts = person_facts(conn, person_key, known_at)
        row = (
            span.trace_id,
            span.span_id,
            operation,
            started,
            datetime.now(UTC),
            reader.role,
            reader.id,
            person_key,
            purpose.activity,
            purpose.legal_basis,
            ANSWERED if facts else NOTHING_RECORDED,
        )
        try:
            conn.execute(INSERT, row)
        except psycopg.OperationalError:
            raise  # the database went away: a fault to ride out, as for any read
        except psycopg.DatabaseError as exc:
            raise ReadLogError(
                f"the read could not be recorded in the read log, so it is not answered: {exc}"
            ) from exc
    return facts


def reads(
    conn: psycopg.Connection[Any],
    person_key: str | None = None,
    since: datetime | None = None,
    trace_id: str | None = None,
) -> list[dict[str, Any]]:
    """The recorded reads, oldest first, optionally of one person, from a moment, of a trace."""
    rows = conn.execute(
        f"SELECT {', '.join(COLUMNS)} FROM logboek.verwerkingen"
        " WHERE (%(person)s::text IS NULL OR person_key = %(person)s)"
        " AND (%(since)s::timestamptz IS NULL OR started_at >= %(since)s)"
        " AND (%(trace)s::text IS NULL OR trace_id = %(trace)s)"
        " ORDER BY started_at, id",
        {"person": person_key, "since": since, "trace": trace_id},
    ).fetchall()
    return [
        {
            c: v.isoformat() if isinstance(v, datetime) else v
            for c, v in zip(COLUMNS, r, strict=True)
        }
        for r in rows
    ]
