"""What a webhook receives of an inbox record (issue 15, ketenlog.webhooks): the record as a
CloudEvent in structured JSON (NL GOV profile for CloudEvents, its JSON format), and which
records of a shared inbox are one endpoint's. Pure: the sender (processors.webhook_sender)
reads the inbox and posts.

The context attributes are the ones the agency published with (`ce_*` headers); `subject` is
the pseudonymous person key (the order key: a receiver orders per subject); `data` is the
Avro record as JSON (personal fields stay sealed, bytes in base64, times in RFC 3339). The
extension attributes say why the organisation received it (`ketenlogrule`, `ketenlogpolicy`,
`ketenlogrecipient`, `ketenlogduewith`) and carry what a receiver needs to check the agency's
own Ed25519 signature without Kafka: the signed Avro bytes, the hash-chain link, the
signature header and the topic it was signed for (docs/subscriptions.md, "Webhooks").
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from processors.distribution import (
    HEADER_DUE_WITH,
    HEADER_GEMEENTE,
    HEADER_POLICY,
    HEADER_RECIPIENT,
    HEADER_RULE,
)
from schemas import chain, signature
from schemas.cloudevents import HeaderError, parse_headers
from schemas.codec import Codec
from schemas.errors import DecodeError
from schemas.records import Raw
from schemas.topics import Org, event_topic

ORGS = frozenset(o.value for o in Org)
CONTENT_TYPE_BATCH = "application/cloudevents-batch+json"
EXTENSIONS = {
    HEADER_RULE: "ketenlogrule",
    HEADER_POLICY: "ketenlogpolicy",
    HEADER_RECIPIENT: "ketenlogrecipient",
    HEADER_DUE_WITH: "ketenlogduewith",
}


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One inbox record as a webhook sends it."""

    partition: int
    offset: int
    event_id: str
    person_key: str
    event: dict[str, Any]


class UnreadableRecordError(ValueError):
    """An inbox record that is no CloudEvent this sender can render (only the distribution
    processor writes the inboxes, so none is expected); it is parked, never dropped."""


def is_for(raw: Raw, gemeente: str | None) -> bool:
    """Whether a record of the inbox is this endpoint's: every record, or within the
    municipalities' shared inbox only the deliveries for `gemeente`."""
    if gemeente is None:
        return True
    return dict(raw.headers).get(HEADER_GEMEENTE) == gemeente.encode()


def outgoing(raw: Raw, codec: Codec) -> Outgoing:
    """The CloudEvent of an inbox record; UnreadableRecordError names what is wrong."""
    where = f"{raw.topic}[{raw.partition}]@{raw.offset}"
    if raw.value is None or raw.key is None:
        raise UnreadableRecordError(f"{where}: no key or no value")
    try:
        attributes = parse_headers(raw.headers)
        record = codec.decode(raw.value).record
        person_key = raw.key.decode()
    except (HeaderError, DecodeError, UnicodeDecodeError) as exc:
        raise UnreadableRecordError(f"{where}: {exc}") from exc
    headers = dict(raw.headers)
    event: dict[str, Any] = {
        "specversion": attributes.specversion,
        "id": attributes.id,
        "source": attributes.source,
        "type": attributes.type,
        "time": headers["ce_time"].decode(),
        "subject": person_key,
        "datacontenttype": "application/json",
    }
    if attributes.dataschema is not None:
        event["dataschema"] = attributes.dataschema
    if attributes.sequence is not None:
        event["sequence"] = attributes.sequence
    for header, name in EXTENSIONS.items():
        if header in headers:
            event[name] = headers[header].decode()
    producer = record.get("envelope", {}).get("producer")
    if producer in ORGS:
        # The topic the agency signed the record for (the signature covers the topic).
        event["ketenlogtopic"] = event_topic(producer)
    event["ketenlogavro"] = _b64(raw.value)
    for header, name in ((chain.HEADER, "ketenloglink"), (signature.HEADER, "ketenlogsignature")):
        if header in headers:
            event[name] = _b64(headers[header])
    event["data"] = jsonable(record)
    return Outgoing(raw.partition, raw.offset, attributes.id, person_key, event)


def unreadable(raw: Raw, error: UnreadableRecordError) -> Outgoing:
    """What the dead letter keeps of a record that cannot be rendered: its bytes, base64."""
    key = raw.key.decode(errors="replace") if raw.key is not None else ""
    event = {
        "ketenlogunreadable": str(error),
        "ketenlogavro": _b64(raw.value or b""),
        "ketenlogheaders": {k: _b64(v) for k, v in raw.headers},
    }
    return Outgoing(raw.partition, raw.offset, f"unreadable:{raw.offset}", key, event)


def jsonable(value: Any) -> Any:
    """A decoded Avro value as JSON: bytes base64, dates and times ISO 8601, UUIDs as text."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, bytes | bytearray | memoryview):
        return _b64(bytes(value))
    if isinstance(value, dt.datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID | decimal.Decimal):
        return str(value)
    return value


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
