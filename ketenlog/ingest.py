"""Agencies' CloudEvents over HTTP onto their own topics: what `POST /v1/gebeurtenissen` does
once projections.http_api has said who the caller is. Each event is checked exactly as a line of
`ketenlog publish` (producers.file_publish.check_line), then signed with the organisation's key,
sealed per person and produced as the organisation's own Kafka principal, so the broker's ACLs
hold for HTTP as for Kafka clients. The answer comes only after the broker acknowledged every
accepted event. One request at a time, in one thread: an organisation's hash chain continues
from the log's last link per partition, which two publishers at once would fork.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from kafka.errors import KafkaError

from infra.person_keys import PersonKeyStore
from ketenlog.settings import Settings
from ketenlog.signing import signer_of
from producers.cloudevents_ingest import Incoming, RequestError, parse
from producers.file_publish import check_line
from producers.prepare import Prepared, Preparer
from producers.pseudonym import load_chain_key
from producers.publisher import DeliverySettings, Publisher, PublishError
from projections.ingest_port import IngestProblemError
from schemas.access import org_principal
from schemas.topics import Org

RETRY_AFTER_S = 5


class ForeignSourceError(Exception):
    """An event of the request claims another organisation's source."""


@dataclass(frozen=True)
class Accepted:
    index: int
    ce_id: str | None
    event_id: str
    topic: str
    partition: int
    offset: int


@dataclass(frozen=True)
class Refused:
    index: int
    ce_id: str | None
    problems: list[tuple[str, str]]


@dataclass
class Outcome:
    accepted: list[Accepted] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)


class UnacknowledgedError(Exception):
    """The broker did not acknowledge every accepted event; sending the request again is safe."""


def _reason(refused: Refused, reason: str) -> str:
    return reason if refused.ce_id is None else f"{reason} (id {refused.ce_id!r})"


class Ingest:
    def __init__(self, settings: Settings, say: Callable[[str], None]) -> None:
        self._settings = settings
        self._preparer = Preparer(
            load_chain_key(settings.chain_key, settings.chain_key_file),
            settings.oin_prefix,
            person_keys=PersonKeyStore(settings.person_keys_file).key_for,
        )
        self._signer = signer_of(settings, say)
        self._delivery = DeliverySettings(timeout_s=settings.publish_timeout_s)
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest")

    async def __call__(
        self, org: str, content_type: str | None, body: bytes, partial: bool
    ) -> dict[str, Any]:
        """The HTTP answer's body (api_models.Publicatie), or an IngestProblemError."""
        loop = asyncio.get_running_loop()
        try:
            outcome = await loop.run_in_executor(
                self._thread, self.publish, Org(org), content_type, body, partial
            )
        except RequestError as exc:
            raise IngestProblemError(exc.status, exc.detail) from exc
        except ForeignSourceError as exc:
            raise IngestProblemError(403, str(exc)) from exc
        except (UnacknowledgedError, KafkaError) as exc:
            raise IngestProblemError(
                503,
                f"not every event was acknowledged by the broker ({exc}); send the same "
                "request again: the ids do not change and nothing is doubled",
                retry_after=RETRY_AFTER_S,
            ) from exc
        invalid = [
            {"name": f"gebeurtenissen[{r.index}].{name}", "reason": _reason(r, reason)}
            for r in outcome.refused
            for name, reason in r.problems
        ]
        if outcome.refused and not outcome.accepted:
            raise IngestProblemError(
                400,
                f"{len(outcome.refused)} of the request's events are invalid; nothing was "
                "published" + ("" if partial else " (with gedeeltelijk=true the valid ones are)"),
                invalid,
            )
        return {
            "gebeurtenissen": [
                {
                    "index": a.index,
                    "id": a.ce_id,
                    "eventId": a.event_id,
                    "topic": a.topic,
                    "partitie": a.partition,
                    "offset": a.offset,
                }
                for a in outcome.accepted
            ],
            "geweigerd": [
                {
                    "index": r.index,
                    "id": r.ce_id,
                    "problemen": [{"name": name, "reason": reason} for name, reason in r.problems],
                }
                for r in outcome.refused
            ],
        }

    def publish(self, org: Org, content_type: str | None, body: bytes, partial: bool) -> Outcome:
        """Check every event; publish none when any is invalid (or, `partial`, the valid ones)."""
        incoming = parse(content_type, body, org, self._settings.oin_prefix)
        if any(i.foreign_source for i in incoming):
            raise ForeignSourceError(
                "an event's source names another organisation: an organisation publishes as "
                "itself only"
            )
        outcome = Outcome()
        valid: list[tuple[Incoming, Prepared]] = []
        first_of: dict[str, int] = {}
        for item in incoming:
            problems = item.problems
            prepared = None
            if item.line is not None:
                line = check_line(self._preparer, org, item.line)
                problems, prepared = line.problems or [], line.prepared
            if prepared is not None and prepared.event_id in first_of:
                problems = [("id", f"the same event as event {first_of[prepared.event_id]}")]
            if problems or prepared is None:
                reasons = problems or [("(event)", "invalid")]
                outcome.refused.append(Refused(item.index, item.ce_id, reasons))
                continue
            first_of[prepared.event_id] = item.index
            valid.append((item, prepared))
        if (outcome.refused and not partial) or not valid:
            return outcome
        with Publisher(
            org,
            self._preparer,
            self._settings.kafka(org_principal(org)),
            self._delivery,
            signer=self._signer(org),
        ) as publisher:
            for _, prepared in valid:
                publisher.send_prepared(prepared)
            try:
                receipts = {r.event_id: r for r in publisher.flush()}
            except PublishError as exc:
                raise UnacknowledgedError(str(exc)) from exc
        for item, prepared in valid:
            r = receipts[prepared.event_id]
            outcome.accepted.append(
                Accepted(item.index, item.ce_id, r.event_id, r.topic, r.partition, r.offset)
            )
        return outcome
