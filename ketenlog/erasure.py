"""`ketenlog erase` and `ketenlog retention`: destroy a person's data keys in the person key
store (infra/person_keys.py), then publish the erasure — PersonErased, with who and why and no
personal data — on the ordering organisation's topic, signed by it. The processor folding it
purges what it stored of the person's personal fields (domain/erasure.py); replay meets the
same destroyed key. The key goes first: if publishing fails, running it again is harmless.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from domain.retention import PERSONAL_FIELDS_YEARS, due
from infra.person_keys import PersonKeyStore
from ketenlog.settings import Settings
from ketenlog.signing import signer_of
from producers.prepare import Preparer
from producers.publisher import DeliverySettings, Publisher
from producers.submission import Submission
from projections import audit
from projections.db import connect, migrate
from schemas.access import org_principal
from schemas.topics import Org

Say = Callable[[str], None]
_PERSON_KEY = re.compile(r"^[0-9a-f]{32,128}$")


class ErasureError(Exception):
    pass


@dataclass(frozen=True)
class Order:
    """Who orders the erasure and why (no personal data)."""

    org: Org
    ground: str
    reason: str | None = None
    requested_by: str | None = None


@dataclass
class Erased:
    persons: list[str] = field(default_factory=list)
    keys: int = 0
    event_ids: list[str] = field(default_factory=list)


def erase(
    settings: Settings, person_keys: list[str], order: Order, say: Say, now: datetime | None = None
) -> Erased:
    """Destroy the persons' keys and publish one PersonErased each."""
    bad = [p for p in person_keys if not _PERSON_KEY.match(p)]
    if bad:
        raise ErasureError(f"not a person key (lowercase hex, 32-128): {', '.join(bad)}")
    moment = now or datetime.now(UTC)
    out = Erased()
    store = PersonKeyStore(settings.person_keys_file)
    try:
        for person in person_keys:
            out.keys += store.erase(person, moment)
    finally:
        store.close()
    # The person key is given: no V-nummer is pseudonymised, so no chain key is needed.
    preparer = Preparer(b"", settings.oin_prefix)
    signer = signer_of(settings, say)(order.org)
    delivery = DeliverySettings(timeout_s=settings.publish_timeout_s)
    kafka = settings.kafka(org_principal(order.org))
    with Publisher(order.org, preparer, kafka, delivery, signer=signer) as pub:
        for person in person_keys:
            pub.publish(
                Submission(
                    type="PersonErased",
                    person_key=person,
                    occurred_at=moment,
                    recorded_at=moment,
                    ref=f"erase-{uuid.uuid4().hex}",
                    data={
                        "ground": order.ground,
                        "reason": order.reason,
                        "requested_by": order.requested_by,
                    },
                )
            )
        receipts = pub.flush()
    out.persons = list(person_keys)
    out.event_ids = [r.event_id for r in receipts]
    say(
        f"erase: {len(person_keys)} person(s), {out.keys} data key(s) destroyed; "
        f"PersonErased published by {order.org}"
    )
    return out


@dataclass
class Retention:
    due: list[str]
    erased: Erased | None


def retention(
    settings: Settings, now: datetime, order: Order, say: Say, *, dry_run: bool
) -> Retention:
    """Erase every person the retention rule (domain.retention) says is due at `now`."""
    with connect(settings.dsn) as conn:
        migrate(conn)
        seen = audit.last_seen(conn)
    persons = due(seen, now)
    say(
        f"retention: {len(persons)} of {len(seen)} person(s) last seen more than "
        f"{PERSONAL_FIELDS_YEARS} years before {now.isoformat()}"
    )
    if dry_run or not persons:
        return Retention(persons, None)
    return Retention(persons, erase(settings, persons, order, say, now))
