"""The EU Migration Pact's procedures of one person, followed during the fold alongside the case
lifecycle (docs/lifecycle.md, "The Pact"): screenings (Regulation 2024/1356), Eurodac hits
(2024/1358), AMMR requests and transfers out and in (2024/1351 art. 39-46) and solidarity
relocations (art. 67-68). The border procedure's clock is the case's (domain.lifecycle.case),
for it moves the case. Pure: the projections' Pact rows are read from the frozen state.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from domain.facts import Fact
from schemas.event_types import EventType as E

OUT, IN = "OUT", "IN"
TAKE_CHARGE, TAKE_BACK = "TAKE_CHARGE", "TAKE_BACK"
ACCEPTED, REFUSED = "ACCEPTED", "REFUSED"
# AMMR art. 46(1): the transfer within six months of the acceptance or confirmation.
TRANSFER_MONTHS = 6
_KIND = {
    "TAKE_CHARGE": TAKE_CHARGE,
    "TAKE_BACK": TAKE_BACK,
    "TAKE_CHARGE_REQUEST": TAKE_CHARGE,
    "TAKE_BACK_NOTIFICATION": TAKE_BACK,
}
_REFUSING = frozenset({"REQUEST_REFUSED", "NOT_RESPONSIBLE"})

PACT_TYPES = frozenset(
    {
        E.ScreeningStarted,
        E.ScreeningCompleted,
        E.EurodacHitReceived,
        E.DublinClaimSent,
        E.DublinClaimAccepted,
        E.TakeBackNotificationSent,
        E.TakeBackNotificationConfirmed,
        E.ResponsibilityShifted,
        E.TransferTimeLimitExtended,
        E.ForcedReturnExecuted,
        E.IncomingRequestReceived,
        E.IncomingRequestAnswered,
        E.IncomingTransferReceived,
        E.SolidarityRelocationDecided,
        E.SolidarityRelocationTransferred,
    }
)


@dataclass(frozen=True, slots=True)
class Screening:
    event_id: str
    started_at: datetime
    location: str
    completed_at: datetime | None = None
    referral: str | None = None


@dataclass(frozen=True, slots=True)
class EurodacHit:
    event_id: str
    at: datetime
    category: str
    member_state: str


@dataclass(frozen=True, slots=True)
class AmmrRequest:
    event_id: str
    direction: str
    kind: str
    member_state: str
    requested_at: datetime
    answered_at: datetime | None = None
    answer: str | None = None
    time_limit: datetime | None = None
    """The start of the last day on which the transfer may take place (UTC)."""
    transferred_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class SolidarityRelocation:
    event_id: str
    direction: str
    member_state: str
    relocation_group: str
    pledge_year: int
    decided_at: datetime
    transferred_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class PactState:
    screenings: tuple[Screening, ...] = ()
    eurodac_hits: tuple[EurodacHit, ...] = ()
    requests: tuple[AmmrRequest, ...] = ()
    relocations: tuple[SolidarityRelocation, ...] = ()


def add_months(day: date, months: int) -> date:
    """The same day of the month `months` later, or that month's last day."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def as_date(value: Any) -> date | None:
    """An Avro `date` as the fold meets it: a date, days since the epoch, or ISO text."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int):
        return date(1970, 1, 1) + timedelta(days=value)
    return date.fromisoformat(str(value))


class PactBuilder:
    """The Pact procedures of one person during the fold (mutable; frozen by `freeze`)."""

    __slots__ = ("hits", "relocations", "requests", "screenings")

    def __init__(self) -> None:
        self.screenings: list[Screening] = []
        self.hits: list[EurodacHit] = []
        self.requests: list[AmmrRequest] = []
        self.relocations: list[SolidarityRelocation] = []

    def apply(self, fact: Fact) -> None:
        data, at, etype = fact.data, fact.occurred_at, fact.event_type
        member_state = str(data.get("member_state"))
        match etype:
            case E.ScreeningStarted:
                location = str(data.get("screening_location"))
                self.screenings.append(Screening(fact.event_id, at, location))
            case E.ScreeningCompleted:
                i = self._latest(self.screenings, lambda s: s.completed_at is None)
                if i is not None:
                    self.screenings[i] = replace(
                        self.screenings[i], completed_at=at, referral=str(data.get("referral"))
                    )
            case E.EurodacHitReceived:
                category = str(data.get("hit_category"))
                self.hits.append(EurodacHit(fact.event_id, at, category, member_state))
            case E.DublinClaimSent | E.TakeBackNotificationSent | E.IncomingRequestReceived:
                direction = IN if etype == E.IncomingRequestReceived else OUT
                kind = (
                    TAKE_BACK
                    if etype == E.TakeBackNotificationSent
                    else _KIND.get(str(data.get("claim_kind", data.get("request_kind"))), "OTHER")
                )
                self.requests.append(AmmrRequest(fact.event_id, direction, kind, member_state, at))
            case E.DublinClaimAccepted | E.TakeBackNotificationConfirmed:
                self._answer(OUT, member_state, at, ACCEPTED)
            case E.ResponsibilityShifted if str(data.get("ground")) in _REFUSING:
                self._answer(OUT, member_state, at, REFUSED)
            case E.IncomingRequestAnswered:
                answer = str(data.get("answer"))
                if answer in ("ACCEPTED", "CONFIRMED"):
                    self._answer(IN, member_state, at, ACCEPTED)
                elif answer == "REFUSED":
                    self._answer(IN, member_state, at, REFUSED)
            case E.TransferTimeLimitExtended:
                i = self._awaiting_transfer(OUT, None)
                new = as_date(data.get("new_time_limit"))
                if i is not None and new is not None:
                    self.requests[i] = replace(self.requests[i], time_limit=_midnight(new))
            case E.ForcedReturnExecuted if data.get("destination") == "DUBLIN":
                self._transferred(OUT, None, at)
            case E.IncomingTransferReceived:
                self._transferred(IN, member_state, at)
            case E.SolidarityRelocationDecided:
                self.relocations.append(
                    SolidarityRelocation(
                        fact.event_id,
                        str(data.get("direction")),
                        member_state,
                        str(data.get("relocation_group")),
                        int(data.get("pledge_year") or 0),
                        at,
                    )
                )
            case E.SolidarityRelocationTransferred:
                direction = str(data.get("direction"))
                i = self._latest(
                    self.relocations, lambda r: r.direction == direction and not r.transferred_at
                )
                if i is not None:
                    self.relocations[i] = replace(self.relocations[i], transferred_at=at)

    @staticmethod
    def _latest(items: list[Any], open_: Any) -> int | None:
        return next((i for i in range(len(items) - 1, -1, -1) if open_(items[i])), None)

    def _answer(self, direction: str, member_state: str, at: datetime, answer: str) -> None:
        i = self._latest(
            self.requests,
            lambda r: (
                r.direction == direction and r.member_state == member_state and r.answer is None
            ),
        )
        if i is None:
            return
        limit = None
        if answer == ACCEPTED:
            limit = _midnight(add_months(at.date(), TRANSFER_MONTHS))
        self.requests[i] = replace(
            self.requests[i], answered_at=at, answer=answer, time_limit=limit
        )

    def _awaiting_transfer(self, direction: str, member_state: str | None) -> int | None:
        return self._latest(
            self.requests,
            lambda r: (
                r.direction == direction
                and r.answer == ACCEPTED
                and r.transferred_at is None
                and (member_state is None or r.member_state == member_state)
            ),
        )

    def _transferred(self, direction: str, member_state: str | None, at: datetime) -> None:
        i = self._awaiting_transfer(direction, member_state)
        if i is not None:
            self.requests[i] = replace(self.requests[i], transferred_at=at)

    def freeze(self) -> PactState:
        return PactState(
            tuple(self.screenings), tuple(self.hits), tuple(self.requests), tuple(self.relocations)
        )
