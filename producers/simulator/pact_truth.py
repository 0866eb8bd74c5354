"""Ground truth of the Pact figures (from 12 June 2026): screenings, border procedures and
their clock, Eurodac hits, AMMR requests out and in, solidarity relocations. truth.py folds the
cases and calls in here; the definitions are the shared spec's (docs/simulator.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from producers.simulator import calendar as cal
from producers.simulator.calendar import DAY, WEEK
from producers.simulator.facts import Fact

BORDER_MAXIMUM = 12 * WEEK
"""APR 2024/1348 art. 51(2): the border procedure lasts at most 12 weeks from registration."""
SCREENING_DAYS = 7 * DAY
"""Screening Regulation 2024/1356 art. 8(3): screening within seven days."""
DEPARTURE_KINDS = {
    "DepartedIndependently": "INDEPENDENT",
    "DepartedWithoutSupervision": "UNSUPERVISED",
}
DEPARTURE_TYPES = ("DepartedIndependently", "ForcedReturnExecuted", "DepartedWithoutSupervision")
# Facts folded per person (not per case) for the AMMR, screening and solidarity figures.
PERSON_TYPES = frozenset(
    {
        "ScreeningStarted",
        "ScreeningCompleted",
        "DublinClaimSent",
        "TakeBackNotificationSent",
        "DublinClaimAccepted",
        "TakeBackNotificationConfirmed",
        "ResponsibilityShifted",
        "TransferTimeLimitExtended",
        "ForcedReturnExecuted",
        "IncomingRequestReceived",
        "IncomingRequestAnswered",
        "IncomingTransferReceived",
        "SolidarityRelocationDecided",
        "SolidarityRelocationTransferred",
    }
)
_IN_KIND = {
    "TAKE_CHARGE_REQUEST": "TAKE_CHARGE",
    "TAKE_BACK_NOTIFICATION": "TAKE_BACK",
    "OTHER": "OTHER",
}
_REFUSALS = ("REQUEST_REFUSED", "NOT_RESPONSIBLE")


def departure_kind(f: Fact) -> str:
    if f.type == "ForcedReturnExecuted":
        return "DUBLIN_TRANSFER" if f.data["destination"] == "DUBLIN" else "FORCED"
    return DEPARTURE_KINDS[f.type]


class PactFigures:
    """The Pact's figure cells, filled month by month while the truth walks the facts; only
    instants inside [s, e) count."""

    def __init__(self, s: int, e: int) -> None:
        self.s = s
        self.e = e
        self.screenings: dict[str, dict[str, Any]] = {}
        self.border: dict[str, dict[str, Any]] = {}
        self.returns: dict[str, dict[str, int]] = {}
        self.eurodac: dict[str, dict[str, int]] = {}
        self.ammr: dict[str, dict[str, dict[str, int]]] = {}
        self.solidarity: dict[str, dict[str, dict[str, int]]] = {}

    def inside(self, ts: int) -> bool:
        return self.s <= ts < self.e

    def day_inside(self, day: date) -> bool:
        return self.inside(cal.ts_of(day))

    def eurodac_hit(self, f: Fact) -> None:
        if self.inside(f.occ):
            key = f"{f.data['hit_category']}|{f.data['member_state']}"
            _bump(self.eurodac.setdefault(cal.month_key(f.occ), {}), key)

    def border_return(self, f: Fact) -> None:
        if self.inside(f.occ):
            _bump(self.returns.setdefault(cal.month_key(f.occ), {}), departure_kind(f))

    def border_started(self, ts: int) -> None:
        if self.inside(ts):
            self.border.setdefault(cal.month_key(ts), {}).setdefault("started", 0)
            self.border[cal.month_key(ts)]["started"] += 1

    def border_ended(self, ts: int, result: str) -> None:
        if self.inside(ts):
            ended = self.border.setdefault(cal.month_key(ts), {}).setdefault("ended", {})
            _bump(ended, result)

    def person(self, facts: list[Fact]) -> None:
        """One person's screening, AMMR and solidarity facts, in valid-time order."""
        self._screenings(facts)
        self._ammr(facts)
        self._solidarity(facts)

    def _screenings(self, facts: list[Fact]) -> None:
        open_: list[Fact] = []
        for f in facts:
            if f.type == "ScreeningStarted":
                open_.append(f)
                if self.inside(f.occ):
                    cell = self.screenings.setdefault(cal.month_key(f.occ), {})
                    _bump(cell.setdefault("started", {}), f.data["screening_location"])
            elif f.type == "ScreeningCompleted" and open_:
                started = open_.pop()
                if self.inside(f.occ):
                    cell = self.screenings.setdefault(cal.month_key(f.occ), {})
                    _bump(cell.setdefault("completed", {}), f.data["referral"])
                    took = f.occ - started.occ
                    if took <= SCREENING_DAYS:
                        _bump(cell, "within_7_days")
                    _bump(cell, "duration_seconds", took)

    def _ammr(self, facts: list[Fact]) -> None:
        requests: list[Request] = []

        def latest(direction: str, ms: str | None, answer: str | None) -> Request | None:
            """The person's latest request of `direction` (to or from `ms`) whose answer is
            `answer` (None: unanswered)."""
            for r in reversed(requests):
                if r.direction == direction and (ms is None or r.ms == ms) and r.answer == answer:
                    return r
            return None

        def answer(r: Request | None, result: str, day: date) -> None:
            if r is not None:
                r.answer, r.answered = result, day
                if result == "ACCEPTED":
                    r.limit = cal.add_months_clamped(day, 6)

        for f in facts:
            t, d, day = f.type, f.data, cal.date_of(f.occ)
            if t == "DublinClaimSent":
                requests.append(Request("OUT", d["claim_kind"], d["member_state"], day))
            elif t == "TakeBackNotificationSent":
                requests.append(Request("OUT", "TAKE_BACK", d["member_state"], day))
            elif t in ("DublinClaimAccepted", "TakeBackNotificationConfirmed"):
                answer(latest("OUT", d["member_state"], None), "ACCEPTED", day)
            elif t == "ResponsibilityShifted" and d["ground"] in _REFUSALS:
                answer(latest("OUT", d["member_state"], None), "REFUSED", day)
            elif t == "TransferTimeLimitExtended":
                r = latest("OUT", None, "ACCEPTED")
                if r is not None:
                    r.limit = d["new_time_limit"]
            elif t == "ForcedReturnExecuted" and d["destination"] == "DUBLIN":
                r = latest("OUT", None, "ACCEPTED")
                if r is not None and r.transferred is None:
                    r.transferred = day
            elif t == "IncomingRequestReceived":
                kind = _IN_KIND[d["request_kind"]]
                requests.append(Request("IN", kind, d["member_state"], day))
            elif t == "IncomingRequestAnswered" and d["answer"] != "OTHER":
                result = "REFUSED" if d["answer"] == "REFUSED" else "ACCEPTED"
                answer(latest("IN", d["member_state"], None), result, day)
            elif t == "IncomingTransferReceived":
                r = latest("IN", d["member_state"], "ACCEPTED")
                if r is not None and r.transferred is None:
                    r.transferred = day
        for r in requests:
            key = f"{r.direction}|{r.kind}"
            self._ammr_count(r.requested, key, "requested")
            if r.answer is not None and r.answered is not None:
                self._ammr_count(r.answered, key, r.answer.lower())
            if r.transferred is not None:
                self._ammr_count(r.transferred, key, "transferred")
                if r.limit is not None and r.transferred <= r.limit:
                    self._ammr_count(r.transferred, key, "transferred_within_time_limit")

    def _ammr_count(self, day: date, key: str, figure: str) -> None:
        if self.day_inside(day):
            _bump(self.ammr.setdefault(f"{day:%Y-%m}", {}).setdefault(key, {}), figure)

    def _solidarity(self, facts: list[Fact]) -> None:
        rows: list[dict[str, Any]] = []
        for f in facts:
            if f.type == "SolidarityRelocationDecided":
                d = f.data
                key = f"{d['direction']}|{d['relocation_group']}|{d['pledge_year']}"
                rows.append({"key": key, "direction": d["direction"], "decided": f.occ})
            elif f.type == "SolidarityRelocationTransferred":
                for row in rows:
                    if row["direction"] == f.data["direction"] and "transferred" not in row:
                        row["transferred"] = f.occ
        for row in rows:
            for figure in ("decided", "transferred"):
                ts = row.get(figure)
                if ts is not None and self.inside(ts):
                    month = self.solidarity.setdefault(cal.month_key(ts), {})
                    _bump(month.setdefault(row["key"], {}), figure)

    def document(self) -> dict[str, Any]:
        return {
            "pact_screenings": _sorted(self.screenings),
            "pact_border_procedures": _sorted(self.border),
            "pact_border_returns": _sorted(self.returns),
            "pact_eurodac_hits": _sorted(self.eurodac),
            "pact_ammr": _sorted(self.ammr),
            "pact_solidarity": _sorted(self.solidarity),
        }


class BorderClock:
    """One case's border procedure: its deadline (first registration, or the TrackAssigned
    BORDER instant when none, + 12 weeks + extensions before the deadline passed) and its open
    border_procedures row."""

    def __init__(self, figures: PactFigures) -> None:
        self.figures = figures
        self.lodged: int | None = None
        self.track_at: int | None = None
        self.extension = 0
        self.open = False

    @property
    def deadline(self) -> int | None:
        base = self.lodged if self.lodged is not None else self.track_at
        return None if base is None else base + BORDER_MAXIMUM + self.extension

    def passed(self, state: str | None, occ: int) -> int | None:
        """The deadline when a case in BORDER sees an event after it (the clock moves it)."""
        deadline = self.deadline
        if state == "BORDER" and deadline is not None and occ > deadline:
            return deadline
        return None

    def clock(self, deadline: int) -> None:
        if self.open:
            self.open = False
            self.figures.border_ended(deadline, "MAXIMUM_REACHED")

    def observe(self, f: Fact) -> None:
        """Update the row and the deadline for one of the case's facts (before its state)."""
        t = f.type
        if t == "AsylumApplicationLodged":
            if self.lodged is None:
                self.lodged = f.occ
        elif t == "BorderProcedureExtended":
            deadline = self.deadline
            if deadline is None or f.occ <= deadline:
                self.extension += f.data["extension_weeks"] * WEEK
        elif t == "TrackAssigned":
            if f.data["track"] != "BORDER":
                self._end(f.occ, "ENDED")
            elif not self.open:
                # BORDER again while the procedure is open continues it (as the fold does,
                # domain/lifecycle/case.py): only another track ends it.
                self.open = True
                if self.track_at is None:
                    self.track_at = f.occ
                self.figures.border_started(f.occ)
        elif not self.open:
            return
        elif t == "DecisionIssued":
            deadline = self.deadline
            if deadline is not None and f.occ > deadline:
                self._end(deadline, "MAXIMUM_REACHED")
            else:
                d = f.data
                outcome = (d.get("status") or "B") if d["outcome"] == "GRANTED" else d["outcome"]
                self._end(f.occ, f"DECIDED:{outcome}")
        elif t == "EntryAuthorised" and f.data["ground"] == "BORDER_PROCEDURE_MAXIMUM_REACHED":
            self._end(f.occ, "MAXIMUM_REACHED")
        elif t in DEPARTURE_TYPES:
            self._end(f.occ, "ENDED")

    def _end(self, ts: int, result: str) -> None:
        if self.open:
            self.open = False
            self.figures.border_ended(ts, result)


@dataclass
class Request:
    """One ammr_requests row as the truth builds it."""

    direction: str
    kind: str
    ms: str
    requested: date
    answer: str | None = None
    answered: date | None = None
    limit: date | None = None
    transferred: date | None = None


def _bump(cell: dict[str, Any], key: str, n: int = 1) -> None:
    cell[key] = cell.get(key, 0) + n


def _sorted(months: dict[str, Any]) -> dict[str, Any]:
    return {m: months[m] for m in sorted(months)}
