"""CloudEvents in structured JSON mode (NL GOV profile for CloudEvents, its JSON/HTTP appendix)
into the lines `ketenlog publish` reads: what `POST /v1/gebeurtenissen` turns a request into
before each event is checked exactly as a line of a file is (producers.file_publish.check_line).
Pure: bytes in, lines or problems out.

The event's `data` is one line of docs/publish-format.md. From the CloudEvent itself come:
`id` (the line's `ref`, so the event id is uuid5(ORG:id) and sending the same event again
yields the same id), `type` (the event type's CloudEvents type, e.g.
`nl.vreemdelingen.asielaanvraag-ingediend.v3`) and `time` (`occurred_at`) where `data` does not
give them; where it does, they must agree. `source` must be the caller's own
(`<oin prefix>:systeem:<org>`): an organisation publishes as itself only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from producers.file_publish import RawLine
from schemas.cloudevents import ce_source
from schemas.registry import default_registry
from schemas.topics import Org

SINGLE = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"
CONTENT_TYPES = (SINGLE, BATCH)
MAX_EVENTS = 1000
REQUIRED = ("specversion", "id", "source", "type")


class RequestError(Exception):
    """The request as a whole is not CloudEvents this endpoint takes (status 400 or 415)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


@dataclass
class Incoming:
    """One CloudEvent of a request: its place, its id, and the publish line it becomes (None
    when the envelope itself is wrong: `problems` says why, field by field)."""

    index: int
    ce_id: str | None
    line: RawLine | None = None
    problems: list[tuple[str, str]] = field(default_factory=list)
    foreign_source: bool = False


@cache
def _event_types_by_ce_type() -> dict[str, str]:
    return {sv.ce_type: sv.event_type for sv in default_registry().all()}


def media_type(content_type: str | None) -> str:
    """The media type of a Content-Type header, without parameters, lowercased."""
    return (content_type or "").split(";")[0].strip().lower()


def parse(content_type: str | None, body: bytes, org: Org, oin_prefix: str) -> list[Incoming]:
    """Each CloudEvent of the body, as a publish line or with its problems."""
    kind = media_type(content_type)
    if kind not in CONTENT_TYPES:
        raise RequestError(415, f"Content-Type must be {SINGLE} or {BATCH}, not {kind!r}")
    try:
        parsed = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise RequestError(400, f"the body is not JSON: {exc}") from None
    if kind == SINGLE:
        events = [parsed]
    elif isinstance(parsed, list):
        events = parsed
    else:
        raise RequestError(400, f"{BATCH} is a JSON array of CloudEvents")
    if not events:
        raise RequestError(400, "the batch holds no event")
    if len(events) > MAX_EVENTS:
        raise RequestError(400, f"{len(events):,} events: at most {MAX_EVENTS:,} per request")
    own = ce_source(org, oin_prefix)
    return [_incoming(i, e, own) for i, e in enumerate(events)]


def _incoming(index: int, event: Any, own_source: str) -> Incoming:
    if not isinstance(event, dict):
        return Incoming(index, None, problems=[("(event)", "not a JSON object")])
    ce_id = event.get("id") if isinstance(event.get("id"), str) else None
    incoming = Incoming(index, ce_id)
    problems = incoming.problems
    for name in REQUIRED:
        if not isinstance(event.get(name), str) or not event[name]:
            problems.append((name, "required, a non-empty string"))
    if event.get("specversion") not in (None, "1.0") and "specversion" not in dict(problems):
        problems.append(("specversion", "must be 1.0"))
    source = event.get("source")
    if isinstance(source, str) and source and source != own_source:
        incoming.foreign_source = True
        problems.append(("source", f"must be the caller's own, {own_source}"))
    kind = event.get("datacontenttype")
    if kind is not None and media_type(str(kind)) != "application/json":
        problems.append(("datacontenttype", "must be application/json (or absent)"))
    if "data_base64" in event:
        problems.append(("data_base64", "not taken: data is the JSON form of a publish line"))
    data = event.get("data")
    if not isinstance(data, dict):
        problems.append(("data", "required, a JSON object: one line of docs/publish-format.md"))
        return incoming
    line = dict(data)
    ce_type = event.get("type")
    if isinstance(ce_type, str) and ce_type:
        event_type = _event_types_by_ce_type().get(ce_type)
        if event_type is None:
            problems.append(("type", f"{ce_type!r} is not the CloudEvents type of an event type"))
        elif line.setdefault("type", event_type) != event_type:
            problems.append(("type", f"{ce_type!r} is not data.type {line['type']!r}"))
    if ce_id is not None and line.setdefault("ref", ce_id) != ce_id:
        problems.append(("id", f"differs from data.ref {line['ref']!r}"))
    time = event.get("time")
    if time is not None:
        if not isinstance(time, str):
            problems.append(("time", "an RFC 3339 time"))
        elif line.setdefault("occurred_at", time) != time:
            problems.append(("time", f"differs from data.occurred_at {line['occurred_at']!r}"))
    if problems:
        return incoming
    data_bytes = json.dumps(line, ensure_ascii=False).encode()
    incoming.line = RawLine(index + 1, 0, data_bytes, len(data_bytes))
    return incoming
