"""Webhooks for agency inboxes assembled (`ketenlog webhooks`, issue 15): registering an
endpoint (a per-subscription secret, shown once), listing them with their dead letters,
removing one, requeueing its dead letter, and running the sender (processors.webhook_worker)
on the settings' services: each organisation's inbox read as its own principal, state in
PostgreSQL (projections.webhook_store).
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import psycopg

from domain.subscription_explain import RecipientError, parse_recipient
from domain.webhook_signing import new_secret
from infra.topics import end_offsets
from ketenlog.settings import Settings
from processors.webhook_sender import SenderOptions, WebhookSender
from processors.webhook_worker import WorkerConfig, run
from projections import webhook_store
from projections.db import connect, migrate
from projections.webhook_store import PgWebhookStore
from schemas.access import org_principal
from schemas.codec import default_codec
from schemas.topics import inbox_topic

Say = Callable[[str], None]


class WebhookError(Exception):
    """A webhook command that cannot be done; the message says why and what to do."""


@dataclass(frozen=True)
class Registered:
    id: int
    org: str
    gemeente: str | None
    url: str
    secret: str


def check_url(url: str) -> str:
    """HTTPS, or plain HTTP to this machine's loopback only (tests, a local relay)."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise WebhookError(f"{url!r}: give an absolute https:// URL")
    if parts.username or parts.password:
        raise WebhookError(f"{url!r}: no credentials in the URL; the signature authenticates")
    if parts.scheme == "http" and not _loopback(parts.hostname):
        raise WebhookError(
            f"{url!r}: deliveries carry personal data and are sent over HTTPS only "
            "(plain HTTP is allowed to a loopback address)"
        )
    return url


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def register(settings: Settings, recipient: str, url: str, from_now: bool) -> Registered:
    """Register an endpoint for `recipient`'s inbox (`COA`, or `GEMEENTE:GM0344` for one
    municipality's part of the shared inbox); from its start unless `from_now`."""
    try:
        org, gemeente = parse_recipient(recipient)
    except RecipientError as exc:
        raise WebhookError(str(exc)) from exc
    check_url(url)
    start: dict[int, int] = {}
    if from_now:
        start = inbox_ends(settings, org.value)
    secret = new_secret()
    with connect(settings.dsn) as conn:
        migrate(conn)
        try:
            webhook_id = webhook_store.register(conn, org.value, gemeente, url, secret, start=start)
        except psycopg.errors.UniqueViolation as exc:  # the one unique index: endpoints_url
            raise WebhookError(f"{url} is already registered for {recipient}") from exc
    return Registered(webhook_id, org.value, gemeente, url, secret)


def inbox_ends(settings: Settings, org: str) -> dict[int, int]:
    """The end offset of each partition of `org`'s inbox, read as the organisation itself."""
    ends = end_offsets(settings, [inbox_topic(org)], org_principal(org))
    return {partition: offset for (_, partition), offset in ends.items()}


def listing(settings: Settings, org: str | None = None) -> list[dict[str, Any]]:
    with connect(settings.dsn) as conn:
        migrate(conn)
        return webhook_store.listing(conn, org)


def table_lines(rows: list[dict[str, Any]]) -> list[str]:
    """The endpoints as `webhooks list` and `subscriptions --received` show them."""
    if not rows:
        return ["no webhooks registered (`ketenlog webhooks register ORG URL`)"]
    lines = [
        f"{'id':>4} {'recipient':<18} {'delivered':>9} {'requests':>8} {'failures':>8} "
        f"{'parked':>6} {'requeued':>8}  url / last error"
    ]
    for r in rows:
        who = f"{r['org']}:{r['gemeente']}" if r["gemeente"] else str(r["org"])
        lines.append(
            f"{r['id']:>4} {who:<18} {r['delivered']:>9,} {r['requests']:>8,} "
            f"{r['failures']:>8,} {r['parked']:>6,} {r['requeued']:>8,}  {r['url']}"
        )
        if r["last_error"]:
            lines.append(f"{'':>4} last error {r['last_error_at']}: {r['last_error']}")
    return lines


def remove(settings: Settings, webhook_id: int) -> None:
    with connect(settings.dsn) as conn:
        migrate(conn)
        if not webhook_store.remove(conn, webhook_id):
            raise WebhookError(f"no webhook {webhook_id} (see `ketenlog webhooks list`)")


def rotate(settings: Settings, webhook_id: int) -> str:
    """A new secret for an endpoint (shown once); the old one stops signing at once."""
    secret = new_secret()
    with connect(settings.dsn) as conn:
        migrate(conn)
        if not webhook_store.rotate(conn, webhook_id, secret):
            raise WebhookError(f"no webhook {webhook_id} (see `ketenlog webhooks list`)")
    return secret


def redeliver(settings: Settings, webhook_id: int) -> int:
    """Requeue a webhook's dead letter; the running sender sends it next, in order."""
    with connect(settings.dsn) as conn:
        migrate(conn)
        if not webhook_store.exists(conn, webhook_id):
            raise WebhookError(f"no webhook {webhook_id} (see `ketenlog webhooks list`)")
        return webhook_store.requeue(conn, webhook_id)


def send(
    settings: Settings, options: SenderOptions, only: frozenset[int], say: Say
) -> list[WebhookSender]:
    """Run the sender until stopped (or, until_idle, until every webhook is caught up)."""
    with connect(settings.dsn) as conn:
        migrate(conn)
    config = WorkerConfig(
        options=options,
        kafka=lambda org: settings.kafka(org_principal(org)),
        ends=lambda org: inbox_ends(settings, org),
        only=only,
    )

    async def main() -> list[WebhookSender]:
        store = await PgWebhookStore.open(settings.dsn)
        try:
            return await run(config, store, default_codec(), say)
        finally:
            await store.close()

    try:
        return asyncio.run(main())
    except KeyboardInterrupt:
        say("webhooks: stopped")
        return []
