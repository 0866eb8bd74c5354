"""The asylum process, household by household: reporting, screening (Pact), I&R, lodging,
tracks, the IND decision queue with its weekly capacity, decisions, appeals, return, detention,
departures, repeat applications and nareis. Emits facts and each household's reception plan.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from producers.simulator import calendar as cal
from producers.simulator.calendar import DAY, HOUR, MINUTE, WEEK
from producers.simulator.facts import Recorder
from producers.simulator.legal_aid import LegalAid
from producers.simulator.params import SimParams
from producers.simulator.population import (
    DUBLIN_STATES,
    NATIONALITIES,
    Nationality,
    People,
    Person,
    WeightedChoice,
    adult_birth_year,
    approval_shift,
    child_birth_year,
    household,
    shifted,
)

IND, AVIM, KMAR, DTV, DJI, NIDOS, RECHT, IOM, GEM, COA = (
    "IND",
    "AVIM",
    "KMAR",
    "DTV",
    "DJI",
    "NIDOS",
    "RECHTSPRAAK",
    "IOM",
    "GEMEENTE",
    "COA",
)
LONG_STAY = ("AZC", "NOODOPVANG")

# Return outcomes of a final rejection (non-Dublin): independent, forced, unsupervised, still
# here at the horizon. Solved from the DT&V 2024 mix once Dublin transfers are accounted for.
RETURN_OUTCOMES = (
    ("INDEPENDENT", 0.33),
    ("FORCED", 0.10),
    ("UNSUPERVISED", 0.44),
    ("STAY", 0.13),
)
DUBLIN_OUTCOMES = (("DUBLIN", 0.55), ("UNSUPERVISED", 0.35), ("STAY", 0.10))

# -- the Pact (from 12 June 2026); shares without a published figure are assumptions, each
# named in docs/simulator.md.
# Eurodac hits of a Dublin case by category (Regulation 2024/1358); before the Pact only the
# two categories of Regulation 603/2013 that lead to a claim.
EURODAC_DUBLIN_HITS = (
    ("APPLICANT", 0.55),
    ("IRREGULAR_BORDER_CROSSING", 0.25),
    ("IRREGULAR_STAY", 0.07),
    ("SEARCH_AND_RESCUE", 0.05),
    ("TEMPORARY_PROTECTION", 0.03),
    ("ADMITTED", 0.02),
    ("ADMISSION_PROCEDURE", 0.01),
    ("RELOCATED", 0.02),
)
# A hit that leads to no claim (the Netherlands stays responsible): a share of the others.
EURODAC_OTHER_HIT_SHARE = 0.05
EURODAC_OTHER_HITS = (
    ("IRREGULAR_STAY", 0.45),
    ("TEMPORARY_PROTECTION", 0.30),
    ("SEARCH_AND_RESCUE", 0.15),
    ("OTHER", 0.10),
)
# Hits on an earlier application or relocation: take back (AMMR art. 41), else take charge.
TAKE_BACK_HITS = ("APPLICANT", "RELOCATED")
TAKE_CHARGE_REFUSED = 0.30
TAKE_BACK_NOT_RESPONSIBLE = 0.04
# After a transfer decision: transferred within the time limit, absconded (the limit
# extended, AMMR art. 46(2)), or the limit runs out (responsibility shifts, art. 46(1)).
AMMR_OUTCOMES = (("TRANSFER", 0.78), ("ABSCOND", 0.17), ("EXPIRE", 0.05))
ABSCONDER_FOUND = 0.35
BORDER_SHARE_OF_SCHIPHOL_ADULTS = 0.6
BORDER_EXTENDED = 0.06
BORDER_MAXIMUM_ENTRY = 0.05
"""Border cases let in at the maximum (EntryAuthorised BORDER_PROCEDURE_MAXIMUM_REACHED)."""
BORDER_MAXIMUM_CLOCK = 0.05
"""Border cases decided only after the maximum (the clock passes; the decision comes late)."""
BORDER_WEEKS = 12
# Return border procedure (Regulation 2024/1349) after a rejection in the border procedure.
BORDER_RETURN_OUTCOMES = (
    ("FORCED", 0.40),
    ("INDEPENDENT", 0.20),
    ("UNSUPERVISED", 0.10),
    ("MAXIMUM", 0.30),
)
INCOMING_REQUESTS_PER_YEAR = 2_500
INCOMING_TAKE_BACK = 0.6
INCOMING_ACCEPTED = 0.75
INCOMING_TRANSFERRED = 0.45
SOLIDARITY_INTO_PER_PLEDGE_YEAR = 100
SOLIDARITY_FROM = (("ITA", 0.35), ("GRC", 0.30), ("ESP", 0.20), ("CYP", 0.15))


def _pick(rng: random.Random, table: tuple[tuple[str, float], ...]) -> str:
    u = rng.random()
    for name, share in table:
        u -= share
        if u < 0:
            return name
    return table[-1][0]


@dataclass
class Plan:
    """A household's reception: (ts, kind, arg, reason) with kind start/place/end."""

    moves: list[tuple[int, str, str, str]]


class Unit:
    """A household moving through the chain together; each member has their own case."""

    __slots__ = (
        "amv_foster",
        "cases",
        "decided",
        "free",
        "housed_at",
        "kind",
        "lodged",
        "members",
        "nat",
        "plan",
        "priority",
        "ready",
        "schiphol",
        "seq",
        "track",
    )

    def __init__(self, seq: int, kind: str, members: list[Person], nat: Nationality) -> None:
        self.seq = seq
        self.kind = kind
        self.members = members
        self.nat = nat
        self.cases: list[str] = []
        self.plan = Plan([])
        self.track = ""
        self.lodged = 0
        self.ready = 0
        self.decided = 0
        self.priority = 0.0
        self.schiphol = False
        self.amv_foster = False
        self.housed_at: int | None = None
        self.free = True
        """False while an earlier reception of these persons may still be running."""

    @property
    def size(self) -> int:
        return len(self.members)

    @property
    def minors_at(self) -> Callable[[int], int]:
        return lambda ts: sum(1 for p in self.members if p.minor_at(ts))


class Chain:
    """Runs the process for every household; `run()` fills the recorder and `units`."""

    def __init__(
        self,
        params: SimParams,
        rng: random.Random,
        recorder: Recorder,
        *,
        people: People,
        link_municipality: Callable[[random.Random, int], str],
        sponsor_key: Callable[[str], str],
        legal_aid: LegalAid,
    ) -> None:
        self.p = params
        self.rng = rng
        self.out = recorder
        self.people = people
        self.link_municipality = link_municipality
        self.sponsor_key = sponsor_key
        self.legal_aid = legal_aid
        self.units: list[Unit] = []
        self.start = cal.ts_of(params.start)
        self.end = recorder.horizon
        self.history = cal.ts_of(cal.add_months(params.start, -params.warmup_months))
        self.pact = cal.ts_of(params.pact_date)
        self._cases = 0
        self._nat = WeightedChoice(
            [n.code for n in NATIONALITIES], [n.share for n in NATIONALITIES]
        )
        self._nat_by_code = {n.code: n for n in NATIONALITIES}
        self.shift = 0.0
        self.queue: list[Unit] = []
        self.sponsors: list[tuple[Unit, str, int]] = []
        self.repeat_candidates: list[tuple[Unit, int]] = []
        self.warmup_capacity = 0.0

    # -- helpers -------------------------------------------------------------------------

    def each(self, unit: Unit, org: str, type_: str, ts: int, data: dict[str, Any]) -> None:
        for person, case in zip(unit.members, unit.cases, strict=True):
            self.out.person(org, type_, ts, person, case, data)

    def new_case(self) -> str:
        self._cases += 1
        return f"ZK{self._cases:08d}"

    def each_aged(  # noqa: PLR0917 - `each` with the age field; positional as `each`
        self, unit: Unit, org: str, type_: str, ts: int, data: dict[str, Any], field: str
    ) -> None:
        """As `each`, with every member's age on the day in `field` (v2 of the type)."""
        for person, case in zip(unit.members, unit.cases, strict=True):
            self.out.person(org, type_, ts, person, case, {**data, field: person.age_on(ts)})

    def lodge(self, unit: Unit, ts: int, application_type: str) -> None:
        """IND's AsylumApplicationLodged (v2) per member, with the age at application; an
        unaccompanied minor is one only while under 18 on the day."""
        for person, case in zip(unit.members, unit.cases, strict=True):
            age = person.age_on(ts)
            self.out.person(
                IND,
                "AsylumApplicationLodged",
                ts,
                person,
                case,
                {
                    "application_type": application_type,
                    "unaccompanied_minor": person.amv and age < 18,
                    "age_at_application": age,
                },
            )

    def identity_registered(
        self, ts: int, person: Person, case: str | None, documents: bool, org: str = AVIM
    ) -> None:
        """AVIM's I&R (KMar's at the border): the one event that carries nationality, birth
        year and sex."""
        self.out.person(
            org,
            "IdentityRegistered",
            ts,
            person,
            case,
            {
                "nationality": person.nationality,
                "birth_year": person.birth_year,
                "sex": person.sex,
                "documents_presented": documents,
            },
        )

    def days(self, low: float, high: float) -> int:
        return int(self.rng.uniform(low, high) * DAY)

    # -- arrivals ------------------------------------------------------------------------

    def arrivals(self) -> None:
        """First applicants, month by month from the warm-up start to the period end."""
        carry = 0.0
        per_year = self.p.scaled(self.p.targets.first_applications)
        for month in cal.months_between(cal.date_of(self.history), cal.date_of(self.end - 1)):
            factor = self.p.warmup_inflow_factor if cal.ts_of(month) < self.start else 1.0
            carry += per_year * cal.month_share(month) * factor
            persons = int(carry)
            carry -= persons
            first = cal.ts_of(month)
            ndays = cal.month_days(month)
            # A birthday at least 16 days past the month's end falls after the application.
            after = (month - date(month.year, 1, 1)).days + ndays + 15
            birthday_after = after if after < 365 else None
            while persons > 0:
                nat = self._nat_by_code[self._nat.pick(self.rng)]
                kind, members = household(
                    self.rng, self.people, nat.code, month.year, birthday_after
                )
                unit = Unit(len(self.units), kind, members, nat)
                self.units.append(unit)
                persons -= unit.size
                t0 = cal.office_time(self.rng, first + self.rng.randrange(ndays) * DAY)
                self.first_application(unit, t0)

    def first_application(self, unit: Unit, t0: int, transferred: bool = False) -> None:
        """Reporting, screening (Pact), I&R, Eurodac, lodging and the track. `transferred`:
        the unit came by a transfer or relocation and reports at Ter Apel (cases set)."""
        rng = self.rng
        if not unit.cases:
            unit.cases = [self.new_case() for _ in unit.members]
        where = rng.random()
        unit.schiphol = where < 0.06 and not transferred
        location = "SCHIPHOL" if unit.schiphol else ("BUDEL" if where < 0.10 else "TER_APEL")
        if transferred:
            location = "TER_APEL"
        pact = t0 >= self.pact
        # From the Pact on KMar publishes its own border facts at the posts it controls.
        border_org = KMAR if pact and unit.schiphol else AVIM
        group = "UNACCOMPANIED_MINOR" if unit.kind == "AMV" else "FIRST"
        self.each_aged(
            unit,
            border_org,
            "ArrivalReported",
            t0,
            {"applicant_group": group, "reporting_location": location},
            "age_at_report",
        )
        border = False
        t = t0 + HOUR
        if pact:
            border = (
                unit.schiphol
                and unit.kind != "AMV"
                and rng.random() < BORDER_SHARE_OF_SCHIPHOL_ADULTS
            )
            # Screening at the external border by KMar; within the territory by AVIM.
            self.each(
                unit,
                border_org,
                "ScreeningStarted",
                t,
                {"screening_location": "SCHIPHOL" if unit.schiphol else "TER_APEL"},
            )
            if unit.schiphol:
                self.entry(unit, t + MINUTE, False, "SCREENING")
            t += self.days(1, 7)
            self.each(
                unit,
                border_org,
                "ScreeningCompleted",
                t,
                {
                    "referral": "BORDER_PROCEDURE" if border else "ASYLUM_PROCEDURE",
                    "vulnerable": rng.random() < 0.1,
                },
            )
            if unit.schiphol:
                if border:
                    self.entry(unit, t + MINUTE, False, "ASYLUM_BORDER_PROCEDURE")
                else:
                    self.entry(unit, t + MINUTE, True, "REFERRED_TO_REGULAR_PROCEDURE")
        if not border:
            unit.plan.moves.append((t0 + 2 * HOUR, "start", "ASYLUM_SEEKER", ""))
            unit.plan.moves.append((t0 + 2 * HOUR + MINUTE, "place", "COL", ""))
        t_ir = t + self.days(1, 5)
        self.each(
            unit,
            border_org,
            "BiometricsCaptured",
            t_ir - HOUR,
            {"fingerprints_taken": True, "facial_image_taken": True},
        )
        for person, case in zip(unit.members, unit.cases, strict=True):
            self.identity_registered(t_ir, person, case, rng.random() < 0.3, border_org)
        dublin = (
            not border
            and not transferred
            and unit.kind != "AMV"
            and rng.random() < self.p.targets.dublin_share / 0.84 * 0.98
        )
        member_state = rng.choice(DUBLIN_STATES)
        category = ""
        if dublin:
            if pact:
                category = _pick(rng, EURODAC_DUBLIN_HITS)
            else:
                category = "APPLICANT" if rng.random() < 0.6 else "IRREGULAR_BORDER_CROSSING"
        elif pact and not border and unit.kind != "AMV" and rng.random() < EURODAC_OTHER_HIT_SHARE:
            category = _pick(rng, EURODAC_OTHER_HITS)
        if category:
            self.each(
                unit,
                border_org,
                "EurodacHitReceived",
                t_ir + 2 * HOUR,
                {"member_state": member_state, "hit_category": category},
            )
        lodged = t_ir + 30 * MINUTE
        unit.lodged = lodged
        self.lodge(unit, lodged, "FIRST")
        self.legal_aid.requested(unit.members, unit.cases, lodged)
        if unit.kind == "AMV":
            self.each(
                unit,
                NIDOS,
                "GuardianshipAssigned",
                t0 + self.days(1, 3),
                {"guardianship_kind": "TEMPORARY"},
            )
            if rng.random() < 0.1:
                self.each(
                    unit,
                    NIDOS,
                    "AgeAssessed",
                    lodged + self.days(14, 60),
                    {"outcome": "MINOR", "assessed_birth_year": None},
                )
            adult = unit.members[0].adult_ts
            self.each(unit, NIDOS, "TurnedEighteen", adult, {})
            unit.amv_foster = unit.members[0].minor_at(t0 + 3 * 365 * DAY)
        if not border:
            unit.plan.moves.append((t_ir + self.days(1, 3), "place", "POL", "PROCEDURE_PHASE"))
            self.long_stay(unit, lodged + self.days(8, 14))
        if border:
            self.border(unit, lodged)
        elif dublin and lodged >= self.pact:
            self.ammr(unit, lodged, member_state, category in TAKE_BACK_HITS)
        elif dublin:
            self.dublin(unit, lodged, member_state)
        elif unit.nat.safe_country and rng.random() < 0.35:
            self.safe_country(unit, lodged)
        else:
            unit.ready = lodged + self.days(6, 14)
            self.queue.append(unit)

    def entry(self, unit: Unit, ts: int, authorised: bool, reason: str) -> None:
        """KMar's fiction of non-entry (`reason` = basis) or authorisation (`reason` = ground)."""
        if authorised:
            data = {"ground": reason, "border_crossing_point": "SCHIPHOL"}
            self.each(unit, KMAR, "EntryAuthorised", ts, data)
        else:
            data = {"basis": reason, "border_crossing_point": "SCHIPHOL"}
            self.each(unit, KMAR, "EntryNotAuthorised", ts, data)

    def long_stay(self, unit: Unit, ts: int) -> None:
        if unit.kind == "AMV":
            if unit.amv_foster:
                unit.plan.moves.append((ts, "end", "NIDOS", ""))
                self.each(
                    unit,
                    NIDOS,
                    "FosterPlacementMade",
                    ts + HOUR,
                    {"placement_kind": "FOSTER_FAMILY"},
                )
            else:
                unit.plan.moves.append((ts, "place", "KWV", "PROCEDURE_PHASE"))
            return
        emergency = self.p.emergency_share * (0.7 if unit.kind == "FAMILY" else 1.0)
        kind = "NOODOPVANG" if self.rng.random() < emergency else "AZC"
        unit.plan.moves.append((ts, "place", kind, "PROCEDURE_PHASE"))

    # -- tracks outside the queue ----------------------------------------------------------

    def dublin(self, unit: Unit, lodged: int, member_state: str) -> None:
        t = lodged + self.days(3, 10)
        unit.track = "DUBLIN"
        self.each(unit, IND, "TrackAssigned", t, {"track": "DUBLIN"})
        self.each(unit, IND, "InterviewHeld", t + HOUR, {"interview_kind": "DUBLIN"})
        t += self.days(7, 21)
        self.each(
            unit,
            IND,
            "DublinClaimSent",
            t,
            {"member_state": member_state, "claim_kind": "TAKE_BACK"},
        )
        t += self.days(14, 60)
        if self.rng.random() < 0.15:
            # Claim refused: the Netherlands becomes responsible; the case joins the queue.
            unit.ready = t
            self.queue.append(unit)
            return
        self.each(
            unit,
            IND,
            "DublinClaimAccepted",
            t,
            {"member_state": member_state, "tacit": self.rng.random() < 0.3},
        )
        t += self.days(7, 21)
        self.decision(unit, t, "INADMISSIBLE", None)
        self.return_path(unit, t, dublin_state=member_state)

    def safe_country(self, unit: Unit, lodged: int) -> None:
        t = lodged + self.days(6, 10)
        unit.track = "SAFE_COUNTRY"
        self.each(unit, IND, "TrackAssigned", t, {"track": "SAFE_COUNTRY"})
        self.each(unit, IND, "InterviewHeld", t + self.days(3, 10), {"interview_kind": "FIRST"})
        t += self.days(21, 50)
        u = self.rng.random()
        outcome = "GRANTED" if u < 0.05 else ("REJECTED" if u < 0.2 else "MANIFESTLY_UNFOUNDED")
        self.decide(unit, t, outcome)

    def border(self, unit: Unit, lodged: int) -> None:
        """The asylum border procedure (APR art. 43-54) at Schiphol: at most 12 weeks from
        registration (art. 51(2)), sometimes extended; a rejection leads into the return
        border procedure; a few cases pass the maximum undecided."""
        rng = self.rng
        unit.track = "BORDER"
        detained = rng.random() < 0.5
        if detained:
            self.each(
                unit,
                KMAR,
                "BorderDetentionImposed",
                lodged - HOUR,
                {"border_crossing_point": "SCHIPHOL"},
            )
        t = lodged + self.days(1, 2)
        self.each(unit, IND, "TrackAssigned", t, {"track": "BORDER"})
        self.each(unit, IND, "InterviewHeld", t + self.days(5, 20), {"interview_kind": "FIRST"})
        deadline = lodged + BORDER_WEEKS * WEEK
        if rng.random() < BORDER_EXTENDED:
            weeks = 6  # Regulation 2024/1359 art. 11(1): at most six weeks
            self.each(
                unit,
                IND,
                "BorderProcedureExtended",
                lodged + self.days(56, 80),
                {"extension_weeks": weeks, "ground": "CRISIS_OR_FORCE_MAJEURE"},
            )
            deadline += weeks * WEEK
        u = rng.random()
        outcome = "GRANTED" if u < 0.15 else ("MANIFESTLY_UNFOUNDED" if u < 0.7 else "REJECTED")
        fate = rng.random()
        if fate < BORDER_MAXIMUM_ENTRY:
            # Let in at the maximum: the regular procedure, with COA reception.
            self.entry(unit, deadline - 2 * HOUR, True, "BORDER_PROCEDURE_MAXIMUM_REACHED")
            if detained:
                self.detention_ended(unit, deadline - HOUR, "MAXIMUM_REACHED")
            unit.plan.moves.append((deadline, "start", "ASYLUM_SEEKER", ""))
            unit.plan.moves.append((deadline + MINUTE, "place", "AZC", "PROCEDURE_PHASE"))
            unit.track = "GENERAL"
            t = deadline + DAY
            self.each(unit, IND, "TrackAssigned", t, {"track": "GENERAL"})
            self.decide(unit, t + self.days(30, 150), outcome)
            return
        if fate < BORDER_MAXIMUM_ENTRY + BORDER_MAXIMUM_CLOCK:
            # The maximum passes undecided (the clock); the late decision is a regular one.
            if detained:
                self.detention_ended(unit, deadline + HOUR, "MAXIMUM_REACHED")
            ts = deadline + self.days(1, 21)
            if outcome == "GRANTED":
                self.decide(unit, ts, outcome)
            else:
                self.decision(unit, ts, outcome, None)
                self.return_path(unit, ts, dublin_state=None)
            return
        ts = lodged + self.days(28, 84)
        if outcome == "GRANTED":
            status = "A" if rng.random() < unit.nat.a_share else "B"
            self.decision(unit, ts, outcome, status)
            self.entry(unit, ts + HOUR, True, "PROTECTION_GRANTED")
            if detained:
                self.detention_ended(unit, ts + 2 * HOUR, "ENTRY_AUTHORISED")
            self.granted(unit, ts, status)
        else:
            self.decision(unit, ts, outcome, None)
            self.return_border(unit, ts, detained)

    def detention_ended(self, unit: Unit, ts: int, ground: str) -> None:
        data = {"ground": ground, "border_crossing_point": "SCHIPHOL"}
        self.each(unit, KMAR, "BorderDetentionEnded", ts, data)

    def return_border(self, unit: Unit, decided: int, detained: bool) -> None:
        """The return border procedure (Regulation 2024/1349 art. 4): DT&V, at most 12 weeks;
        departure from it, absconding, or the maximum and the regular return after it."""
        rng = self.rng
        self.legal_aid.concluded(unit.members, unit.cases, decided)
        t = decided + self.days(1, 3)
        self.each(unit, DTV, "ReturnBorderProcedureStarted", t, {"maximum_weeks": BORDER_WEEKS})
        self.entry(unit, t + MINUTE, False, "RETURN_BORDER_PROCEDURE")
        self.each(unit, DTV, "DepartureInterviewHeld", t + self.days(2, 7), {})
        outcome = _pick(rng, BORDER_RETURN_OUTCOMES)
        if detained and outcome == "UNSUPERVISED":
            outcome = "FORCED"  # no absconding from border detention
        if outcome == "MAXIMUM":
            end = t + BORDER_WEEKS * WEEK
            self.each(unit, DTV, "ReturnBorderProcedureEnded", end, {"outcome": "MAXIMUM_REACHED"})
            self.entry(unit, end + MINUTE, True, "OTHER")
            if detained:
                self.detention_ended(unit, end + 2 * MINUTE, "MAXIMUM_REACHED")
            self.return_path(unit, end, dublin_state=None)
            return
        dep = t + self.days(7, 80)
        origin = unit.nat.code if unit.nat.code != "XXA" else "SYR"
        if outcome == "FORCED":
            data = {"destination": "ORIGIN", "country": origin}
            self.each(unit, DTV, "ForcedReturnExecuted", dep, data)
        elif outcome == "INDEPENDENT":
            self.each(
                unit,
                KMAR,
                "DepartureObservedAtBorder",
                dep,
                {"border_crossing_point": "SCHIPHOL", "destination_country": origin},
            )
            dep += HOUR
            self.each(unit, DTV, "DepartedIndependently", dep, {"destination_country": origin})
        else:
            self.each(unit, DTV, "DepartedWithoutSupervision", dep, {})
            self.repeat_candidates.append((unit, dep))
            return
        if detained:
            self.detention_ended(unit, dep + HOUR, "DEPARTED")
        self.each(unit, DTV, "ReturnBorderProcedureEnded", dep + 2 * HOUR, {"outcome": "DEPARTED"})

    def ammr(self, unit: Unit, lodged: int, member_state: str, take_back: bool) -> None:
        """An outgoing AMMR procedure (2024/1351) for an application registered from 12 June
        2026: a take back notification (art. 41) or take charge request (art. 39), the
        transfer decision (art. 42), the transfer within six months (art. 46)."""
        rng = self.rng
        t = lodged + self.days(3, 10)
        unit.track = "DUBLIN"
        self.each(unit, IND, "TrackAssigned", t, {"track": "DUBLIN"})
        self.each(unit, IND, "InterviewHeld", t + HOUR, {"interview_kind": "DUBLIN"})
        t += self.days(7, 21)
        ms = {"member_state": member_state}
        if take_back:
            self.each(unit, IND, "TakeBackNotificationSent", t, ms)
            t += self.days(1, 14)
            refused = rng.random() < TAKE_BACK_NOT_RESPONSIBLE
            ground, answer, kind = "NOT_RESPONSIBLE", "TakeBackNotificationConfirmed", "TAKE_BACK"
        else:
            data = {"member_state": member_state, "claim_kind": "TAKE_CHARGE"}
            self.each(unit, IND, "DublinClaimSent", t, data)
            t += self.days(14, 60)
            refused = rng.random() < TAKE_CHARGE_REFUSED
            ground, answer, kind = "REQUEST_REFUSED", "DublinClaimAccepted", "TAKE_CHARGE"
        if refused:
            self.each(unit, IND, "ResponsibilityShifted", t, {**ms, "ground": ground})
            unit.ready = t
            self.queue.append(unit)
            return
        self.each(unit, IND, answer, t, {**ms, "tacit": rng.random() < 0.3})
        limit = cal.ts_of(cal.add_months_clamped(cal.date_of(t), 6))
        t += self.days(7, 21)
        request_kind = "TAKE_BACK_NOTIFICATION" if kind == "TAKE_BACK" else "TAKE_CHARGE_REQUEST"
        self.each(unit, IND, "TransferDecisionIssued", t, {**ms, "request_kind": request_kind})
        outcome = _pick(rng, AMMR_OUTCOMES)
        transfer = {"destination": "DUBLIN", "country": member_state}
        if outcome == "TRANSFER":
            dep = min(t + self.days(14, 120), limit - HOUR)
            self.legal_aid.concluded(unit.members, unit.cases, dep)
            self.each(unit, DTV, "ForcedReturnExecuted", dep, transfer)
            unit.plan.moves.append((dep, "end", "DEPARTED", ""))
        elif outcome == "ABSCOND":
            gone = t + self.days(7, 60)
            self.legal_aid.concluded(unit.members, unit.cases, gone)
            self.each(unit, DTV, "DepartedWithoutSupervision", gone, {})
            unit.plan.moves.append((gone, "end", "UNSUPERVISED", ""))
            extended = cal.add_months_clamped(cal.date_of(limit), 30)  # three years in all
            self.each(
                unit,
                IND,
                "TransferTimeLimitExtended",
                min(gone + self.days(7, 30), limit - DAY),
                {"ground": "ABSCONDING", "new_time_limit": extended},
            )
            if rng.random() < ABSCONDER_FOUND:
                self.each(unit, DTV, "ForcedReturnExecuted", gone + self.days(60, 300), transfer)
            elif unit.kind != "REPEAT_OUT":
                self.repeat_candidates.append((unit, gone))
        else:
            expired = limit + DAY + 9 * HOUR
            data = {**ms, "ground": "TRANSFER_TIME_LIMIT_EXPIRED"}
            self.each(unit, IND, "ResponsibilityShifted", expired, data)
            unit.ready = expired
            self.queue.append(unit)

    # -- the other member states' requests and solidarity (from 12 June 2026) -------------

    def incoming(self) -> None:
        """Other member states' take charge requests and take back notifications to the
        Netherlands; an accepted one may end in a transfer here, and the person reports and
        applies as any other (a unit of its own)."""
        rng = self.rng
        span = self.end - self.pact
        if span <= 0:
            return
        expected = self.p.scaled(INCOMING_REQUESTS_PER_YEAR) * span / (365.25 * DAY)
        n = int(expected) + (rng.random() < expected - int(expected))
        for _ in range(n):
            nat = self._nat_by_code[self._nat.pick(rng)]
            received = cal.office_time(rng, self.pact + rng.randrange(span // DAY) * DAY)
            year = cal.date_of(received).year
            sex = "M" if rng.random() < 0.82 else "F"
            person = self.people.new(nat.code, adult_birth_year(rng, year), sex)
            unit = Unit(len(self.units), "SINGLE", [person], nat)
            unit.cases = [self.new_case()]
            member_state = rng.choice(DUBLIN_STATES)
            back = rng.random() < INCOMING_TAKE_BACK
            kind = "TAKE_BACK_NOTIFICATION" if back else "TAKE_CHARGE_REQUEST"
            ms = {"member_state": member_state, "request_kind": kind}
            self.each(unit, IND, "IncomingRequestReceived", received, ms)
            answered = received + (self.days(1, 14) if back else self.days(14, 60))
            accepted = rng.random() < INCOMING_ACCEPTED
            answer = ("CONFIRMED" if back else "ACCEPTED") if accepted else "REFUSED"
            data = {**ms, "answer": answer, "tacit": accepted and rng.random() < 0.2}
            self.each(unit, IND, "IncomingRequestAnswered", answered, data)
            if not accepted or rng.random() >= INCOMING_TRANSFERRED:
                continue
            arrived = answered + self.days(14, 120)
            if arrived >= self.end:
                continue
            self.units.append(unit)
            self.each(
                unit,
                KMAR,
                "IncomingTransferReceived",
                arrived,
                {"member_state": member_state, "border_crossing_point": "SCHIPHOL"},
            )
            self.first_application(unit, arrived + 3 * HOUR, transferred=True)

    def solidarity(self) -> None:
        """Relocations into the Netherlands under the Annual Solidarity Pool 2026 (AMMR art.
        57, 67): decided by IND, the transfer received by KMar; an applicant then reports and
        applies, a beneficiary of protection arrives with nothing more in the chain here."""
        rng = self.rng
        year_end = cal.ts_of(date(2027, 1, 1))
        begin = self.pact + 30 * DAY
        if begin >= min(self.end, year_end):
            return
        n_year = self.p.scaled(SOLIDARITY_INTO_PER_PLEDGE_YEAR)
        n = int(n_year) + (rng.random() < n_year - int(n_year))
        for _ in range(n):
            decided = cal.office_time(rng, begin + rng.randrange((year_end - begin) // DAY) * DAY)
            if decided >= self.end:
                continue
            nat = self._nat_by_code[self._nat.pick(rng)]
            sex = "M" if rng.random() < 0.7 else "F"
            year = cal.date_of(decided).year
            person = self.people.new(nat.code, adult_birth_year(rng, year), sex)
            unit = Unit(len(self.units), "SINGLE", [person], nat)
            unit.cases = [self.new_case()]
            group = "APPLICANT" if rng.random() < 0.8 else "BENEFICIARY"
            member_state = _pick(rng, SOLIDARITY_FROM)
            self.each(
                unit,
                IND,
                "SolidarityRelocationDecided",
                decided,
                {
                    "direction": "INTO_NETHERLANDS",
                    "member_state": member_state,
                    "relocation_group": group,
                    "pledge_year": 2026,
                },
            )
            moved = decided + self.days(21, 56)
            self.each(
                unit,
                KMAR,
                "SolidarityRelocationTransferred",
                moved,
                {
                    "direction": "INTO_NETHERLANDS",
                    "member_state": member_state,
                    "border_crossing_point": "SCHIPHOL",
                },
            )
            if group == "APPLICANT" and moved < self.end:
                self.units.append(unit)
                self.first_application(unit, moved + 3 * HOUR, transferred=True)

    # -- the IND queue ---------------------------------------------------------------------

    def calibrate_approval(self) -> None:
        """Shift every nationality's approval (on the logit scale) so that first-instance
        decisions on first applications grant the target share overall."""
        fixed = 0.0
        counted = 0
        weights: dict[str, int] = {}
        for unit in self.units:
            if unit.track == "SAFE_COUNTRY":
                fixed += 0.05 * unit.size
            elif unit.track == "BORDER":
                fixed += 0.15 * unit.size
            elif unit.track == "DUBLIN":
                continue
            else:
                weights[unit.nat.code] = weights.get(unit.nat.code, 0) + unit.size
            counted += unit.size
        in_queue = sum(weights.values())
        goal = (self.p.targets.approval_rate * counted - fixed) / max(1, in_queue)
        goal = min(0.98, max(0.02, goal))
        probs: list[float] = []
        for code, n in sorted(weights.items()):
            probs.extend([self._nat_by_code[code].approval] * n)
        self.shift = approval_shift(probs, goal)

    def schedule(self, warmup_capacity: float) -> int:
        """Decide queue cases week by week within capacity; returns persons still pending at
        the period start. Sets unit.decided (0 = not decided before the horizon)."""
        units = sorted(self.queue, key=lambda u: (u.ready, u.seq))
        capacity = self.p.scaled(self.p.ind_capacity_per_week)
        heap: list[tuple[float, int, Unit]] = []
        i = 0
        week = self.history
        pending_at_start = -1
        spill = 0.0
        while week < self.end:
            if pending_at_start < 0 and week >= self.start:
                pending_at_start = sum(u.size for _, _, u in heap) + sum(
                    u.size for u in units[i:] if u.lodged < self.start
                )
            while i < len(units) and units[i].ready < week + WEEK:
                heapq.heappush(heap, (units[i].priority, units[i].seq, units[i]))
                i += 1
            budget = (capacity if week >= self.start else warmup_capacity) + spill
            while heap and budget >= heap[0][2].size:
                _, _, unit = heapq.heappop(heap)
                budget -= unit.size
                unit.decided = max(unit.ready + DAY, week + (unit.seq * 7919) % WEEK)
            spill = min(budget, capacity)
            week += WEEK
        for _, _, unit in heap:
            unit.decided = 0
        for unit in units[i:]:
            unit.decided = 0
        return max(0, pending_at_start)

    def run_queue(self) -> None:
        spread = self.p.decision_order_spread_weeks * WEEK
        for unit in self.queue:
            unit.priority = unit.ready + self.rng.random() * spread
        target = self.p.scaled(self.p.targets.initial_backlog)
        weeks = max(1.0, (self.start - self.history) / WEEK)
        # Pending at the start also holds cases on the quick tracks and not yet lodged: ~6 %.
        goal = target * 0.94
        lodged_warm = sum(u.size for u in self.queue if u.lodged < self.start)
        guess = max(0.0, (lodged_warm - goal) / weeks)
        for _ in range(6):
            pending = self.schedule(guess)
            guess = max(0.0, guess + (pending - goal) / weeks)
        self.warmup_capacity = guess
        self.schedule(guess)
        for unit in sorted(self.queue, key=lambda u: u.seq):
            if unit.decided and unit.decided < self.end:
                self.general_procedure(unit)

    def general_procedure(self, unit: Unit) -> None:
        rng = self.rng
        dec = unit.decided
        approve = shifted(unit.nat.approval, self.shift)
        outcome = (
            "GRANTED"
            if rng.random() < approve
            else ("MANIFESTLY_UNFOUNDED" if rng.random() < 0.12 else "REJECTED")
        )
        extended = rng.random() < 0.3
        start = dec - (self.days(35, 80) if extended else self.days(9, 12))
        start = max(start, unit.ready)
        unit.track = "EXTENDED" if extended else "GENERAL"
        self.each(unit, IND, "TrackAssigned", start, {"track": "GENERAL"})
        self.each(unit, IND, "InterviewHeld", start + DAY, {"interview_kind": "FIRST"})
        self.each(unit, IND, "InterviewHeld", start + 3 * DAY, {"interview_kind": "DETAILED"})
        if extended:
            self.each(unit, IND, "TrackAssigned", start + 7 * DAY, {"track": "EXTENDED"})
        deadline = cal.ts_of(cal.date_of(unit.lodged) + timedelta(days=456))
        if dec > deadline:
            self.each(
                unit,
                IND,
                "DecisionDeadlineExceeded",
                deadline + 9 * HOUR,
                {
                    "legal_deadline": cal.date_of(deadline),
                    "notice_of_default_received": rng.random() < 0.4,
                },
            )
        if outcome != "GRANTED":
            intended = max(start + 4 * DAY, dec - 6 * DAY)
            self.each(
                unit,
                IND,
                "IntendedRejectionIssued",
                intended,
                {"response_deadline": cal.date_of(intended + 4 * DAY)},
            )
        self.decide(unit, dec, outcome)

    # -- decisions and what follows --------------------------------------------------------

    def decision(self, unit: Unit, ts: int, outcome: str, status: str | None) -> None:
        deadline: date | None = None
        if outcome == "REJECTED":
            deadline = cal.date_of(ts + 28 * DAY)
        elif outcome == "MANIFESTLY_UNFOUNDED":
            deadline = cal.date_of(ts)
        self.each(
            unit,
            IND,
            "DecisionIssued",
            ts,
            {"outcome": outcome, "status": status, "departure_deadline": deadline},
        )
        self.legal_aid.decided(unit.members, unit.cases, ts)

    def decide(self, unit: Unit, ts: int, outcome: str, appealable: bool = True) -> None:
        if outcome == "GRANTED":
            status = "A" if self.rng.random() < unit.nat.a_share else "B"
            self.decision(unit, ts, outcome, status)
            self.granted(unit, ts, status)
        else:
            self.decision(unit, ts, outcome, None)
            self.rejected(unit, ts, outcome, appealable)

    def granted(self, unit: Unit, ts: int, status: str) -> None:
        rng = self.rng
        self.legal_aid.concluded(unit.members, unit.cases, ts)
        d = cal.date_of(ts + self.days(1, 10))
        self.each(
            unit,
            IND,
            "ResidencePermitIssued",
            ts + self.days(1, 10),
            {
                "permit_kind": "ASYLUM_TEMPORARY",
                "status": status,
                "valid_from": d,
                "valid_until": d.replace(year=d.year + 5)
                if (d.month, d.day) != (2, 29)
                else d.replace(year=d.year + 5, day=28),
            },
        )
        if unit.track == "BORDER" or (
            unit.kind == "REPEAT_OUT" and unit.free and not unit.plan.moves
        ):
            unit.plan.moves.append((ts + DAY, "start", "STATUS_HOLDER", ""))
            unit.plan.moves.append((ts + DAY + MINUTE, "place", "AZC", "PROCEDURE_PHASE"))
        if unit.amv_foster:
            pass  # in a foster family with Nidos: no COA housing link
        else:
            t_link = ts + self.days(14, 70)
            muni = self.link_municipality(rng, t_link)
            period = cal.task_period(t_link)
            self.each(
                unit,
                COA,
                "LinkedToMunicipality",
                t_link,
                {"municipality_code": muni, "task_period": period},
            )
            median = self.p.housing_wait_median_weeks * WEEK
            t_house = t_link + int(rng.lognormvariate(0, 0.65) * median)
            self.each(
                unit,
                GEM,
                "HousingAllocated",
                t_house,
                {"municipality_code": muni, "task_period": period},
            )
            unit.plan.moves.append((t_house + HOUR, "end", "HOUSED", ""))
            self.each(
                unit,
                GEM,
                "RegisteredInBRP",
                t_house + self.days(1, 10),
                {"municipality_code": muni},
            )
            if rng.random() < 0.5:
                self.each(
                    unit,
                    GEM,
                    "IntegrationStarted",
                    t_house + self.days(30, 120),
                    {
                        "municipality_code": muni,
                        "route": _pick(rng, (("B1", 0.6), ("EDUCATION", 0.2), ("Z", 0.2))),
                    },
                )
            unit.housed_at = t_house
        if unit.kind in ("SINGLE", "AMV") and (status == "A" or rng.random() < 0.3):
            self.sponsors.append((unit, status, ts))

    def rejected(self, unit: Unit, ts: int, outcome: str, appealable: bool) -> None:
        rng = self.rng
        final = ts
        if (
            appealable
            and unit.track != "BORDER"
            and rng.random() < (0.75 if outcome == "REJECTED" else 0.5)
        ):
            t = ts + self.days(7, 28)
            proceeding = "APPEAL" if outcome == "REJECTED" else "INTERIM_RELIEF"
            self.each(unit, RECHT, "AppealLodged", t, {"proceeding": proceeding})
            t += self.days(90, 300)
            upheld = rng.random() < 0.12
            self.each(
                unit,
                RECHT,
                "JudgmentIssued",
                t,
                {"proceeding": proceeding, "outcome": "UPHELD" if upheld else "DISMISSED"},
            )
            final = t
            if upheld:
                self.redecide(unit, t)
                return
            if rng.random() < 0.3:
                t += self.days(14, 28)
                self.each(unit, RECHT, "FurtherAppealLodged", t, {"appellant": "APPLICANT"})
                t += self.days(120, 300)
                upheld = rng.random() < 0.08
                self.each(
                    unit,
                    RECHT,
                    "FinalJudgmentIssued",
                    t,
                    {"outcome": "UPHELD" if upheld else "DISMISSED"},
                )
                final = t
                if upheld:
                    self.redecide(unit, t)
                    return
        if unit.kind == "FAMILY":
            unit.plan.moves.append((final + 28 * DAY, "place", "GOL", "PROCEDURE_PHASE"))
        else:
            unit.plan.moves.append((final + 28 * DAY, "end", "OTHER", ""))
        self.return_path(unit, final, dublin_state=None)

    def redecide(self, unit: Unit, judged: int) -> None:
        t = judged + DAY
        unit.track = "EXTENDED"
        self.each(unit, IND, "TrackAssigned", t, {"track": "EXTENDED"})
        t += self.days(60, 180)
        outcome = "GRANTED" if self.rng.random() < 0.45 else "REJECTED"
        self.decide(unit, t, outcome, appealable=False)

    def return_path(self, unit: Unit, final: int, dublin_state: str | None) -> None:
        rng = self.rng
        self.legal_aid.concluded(unit.members, unit.cases, final)
        t = final + self.days(1, 28)
        source = _pick(rng, (("IND", 0.85), ("POLICE", 0.1), ("KMAR", 0.03), ("OTHER", 0.02)))
        if source == "POLICE":
            if rng.random() < 0.5:
                self.each(
                    unit,
                    AVIM,
                    "IrregularStayDetected",
                    t - 3 * DAY,
                    {"municipality_code": self.link_municipality(rng, t)},
                )
            self.each(unit, AVIM, "CaseTransferredToReturn", t - DAY, {"reason": None})
        self.each(unit, DTV, "ReturnCaseOpened", t, {"source": source})
        self.each(unit, DTV, "DepartureInterviewHeld", t + self.days(7, 28), {})
        if dublin_state is not None:
            outcome = _pick(rng, DUBLIN_OUTCOMES)
            dep = t + self.days(28, 140)
        else:
            outcome = _pick(rng, RETURN_OUTCOMES)
            dep = t + self.days(14, 30) + int(rng.expovariate(1 / 120) * DAY)
        origin = unit.nat.code if unit.nat.code != "XXA" else "SYR"
        if outcome == "INDEPENDENT":
            dest = origin if rng.random() < 0.92 else rng.choice(("TUR", "DEU", "BEL", "ARE"))
            if rng.random() < 0.4:
                self.each(
                    unit,
                    DTV,
                    "ReturnSupportGranted",
                    dep - self.days(7, 30),
                    {"support_kind": "FINANCIAL"},
                )
            if rng.random() < 0.5:
                self.each(
                    unit,
                    IOM,
                    "AssistedReturnRequested",
                    dep - self.days(28, 56),
                    {"destination_country": dest},
                )
                self.each(
                    unit, IOM, "AssistedReturnDeparted", dep - HOUR, {"destination_country": dest}
                )
                if rng.random() < 0.3:
                    self.each(
                        unit,
                        IOM,
                        "ReintegrationSupportGranted",
                        dep + self.days(14, 56),
                        {"support_kind": "CASH"},
                    )
            self.each(
                unit,
                KMAR,
                "DepartureObservedAtBorder",
                dep,
                {"border_crossing_point": "SCHIPHOL", "destination_country": dest},
            )
            self.each(unit, DTV, "DepartedIndependently", dep + HOUR, {"destination_country": dest})
            unit.plan.moves.append((dep, "end", "DEPARTED", ""))
            self.each(unit, DTV, "ReturnCaseClosed", dep + self.days(1, 5), {"reason": "DEPARTED"})
        elif outcome in ("FORCED", "DUBLIN"):
            if outcome == "DUBLIN":
                destination, country = "DUBLIN", dublin_state or "DEU"
            else:
                other = rng.random() < 0.27
                destination = "OTHER" if other else "ORIGIN"
                country = rng.choice(("TUR", "DEU", "BEL", "ITA")) if other else origin
                self.each(
                    unit,
                    DTV,
                    "TravelDocumentObtained",
                    dep - self.days(14, 56),
                    {"issuing_country": origin},
                )
            if rng.random() < (0.6 if outcome == "FORCED" else 0.25):
                held = dep - self.days(7, 56)
                self.each(
                    unit,
                    DJI,
                    "DetentionOrdered",
                    held,
                    {
                        "ground": "ART_59" if outcome == "FORCED" else "ART_59A",
                        "facility": "DC Rotterdam",
                    },
                )
                unit.plan.moves.append((held, "end", "DETENTION", ""))
                self.each(unit, DJI, "DetentionEnded", dep - 2 * HOUR, {"reason": "REMOVED"})
            self.each(
                unit,
                DTV,
                "ForcedReturnExecuted",
                dep,
                {"destination": destination, "country": country},
            )
            unit.plan.moves.append((dep, "end", "DEPARTED", ""))
            self.each(unit, DTV, "ReturnCaseClosed", dep + self.days(1, 5), {"reason": "DEPARTED"})
        elif outcome == "UNSUPERVISED":
            if rng.random() < 0.12:
                held = dep - self.days(30, 90)
                self.each(
                    unit,
                    DJI,
                    "DetentionOrdered",
                    held,
                    {"ground": "ART_59", "facility": "DC Rotterdam"},
                )
                unit.plan.moves.append((held, "end", "DETENTION", ""))
                self.each(
                    unit,
                    DJI,
                    "DetentionEnded",
                    held + self.days(14, 28),
                    {"reason": "RELEASED" if rng.random() < 0.7 else "COURT_ORDER"},
                )
            self.each(unit, DTV, "DepartedWithoutSupervision", dep, {})
            unit.plan.moves.append((dep, "end", "UNSUPERVISED", ""))
            self.each(
                unit, DTV, "ReturnCaseClosed", dep + self.days(1, 14), {"reason": "UNSUPERVISED"}
            )
            if unit.kind != "REPEAT_OUT":
                self.repeat_candidates.append((unit, dep))
        elif unit.kind != "REPEAT_OUT":
            self.repeat_candidates.append((unit, t))

    # -- repeat applications -----------------------------------------------------------------

    def repeats(self) -> None:
        """Some who left without supervision (or stayed in the return phase) come back with a
        repeat application: a new case for the same person. Thinned to the target count."""
        drafts = []
        for unit, since in self.repeat_candidates:
            when = since + self.days(30, 60) + int(self.rng.expovariate(1 / 240) * DAY)
            drafts.append((unit, when))
        in_period = sum(u.size for u, w in drafts if self.start <= w < self.end)
        per_day = self.p.scaled(self.p.targets.repeat_applications) / 365.25
        wanted = per_day * (self.end - self.start) / DAY
        keep = min(1.0, wanted / max(1, in_period))
        for unit, when in drafts:
            if self.rng.random() < keep and when < self.end:
                self.repeat(unit, when)

    def repeat(self, old: Unit, t0: int) -> None:
        unit = Unit(len(self.units), "REPEAT_OUT", old.members, old.nat)
        self.units.append(unit)
        unit.cases = [self.new_case() for _ in unit.members]
        self.each_aged(
            unit,
            AVIM,
            "ArrivalReported",
            t0,
            {"applicant_group": "REPEAT", "reporting_location": "TER_APEL"},
            "age_at_report",
        )
        lodged = t0 + self.days(1, 3)
        unit.lodged = lodged
        self.lodge(unit, lodged, "REPEAT")
        self.legal_aid.requested(unit.members, unit.cases, lodged)
        ends = [m[0] for m in old.plan.moves if m[1] == "end"]
        unit.free = bool(ends) and min(ends) < t0
        if unit.free and self.rng.random() < 0.5:
            unit.plan.moves.append((t0 + 2 * HOUR, "start", "REPEAT_APPLICANT", ""))
            unit.plan.moves.append((t0 + 2 * HOUR + MINUTE, "place", "POL", ""))
        t = lodged + self.days(3, 10)
        unit.track = "GENERAL"
        self.each(unit, IND, "TrackAssigned", t, {"track": "GENERAL"})
        t += self.days(21, 70)
        u = self.rng.random()
        outcome = "INADMISSIBLE" if u < 0.55 else ("REJECTED" if u < 0.85 else "GRANTED")
        if outcome == "GRANTED":
            self.decide(unit, t, outcome)
        else:
            self.decision(unit, t, outcome, None)
            unit.plan.moves.append((t + 28 * DAY, "end", "OTHER", ""))
            self.return_path(unit, t, dublin_state=None)

    # -- nareis ------------------------------------------------------------------------------

    def nareis(self) -> None:
        """Family of status holders apply abroad, get an MVV, arrive (this is when CBS counts
        them) and get a derived permit. Thinned to the target count of arrivals."""
        rng = self.rng
        drafts = []
        for sponsor, status, granted in self.sponsors:
            requested = granted + self.days(7, 90)
            decided = requested + self.days(90, 270)
            arrived = decided + self.days(30, 120)
            size = (
                rng.choices((1, 2, 3), (0.5, 0.35, 0.15))[0]
                if sponsor.kind == "AMV"
                else rng.choices((1, 2, 3, 4, 5), (0.3, 0.25, 0.2, 0.15, 0.1))[0]
            )
            drafts.append((sponsor, status, requested, decided, arrived, size))
        in_period = sum(d[5] for d in drafts if self.start <= d[4] < self.end)
        wanted = (
            self.p.scaled(self.p.targets.nareis_arrivals) * (self.end - self.start) / (365.25 * DAY)
        )
        # 10 % of requests are refused; beyond 1 the families are larger rather than more.
        factor = wanted / max(1, in_period) / 0.9
        for sponsor, status, requested, decided, arrived, drafted in drafts:
            size = drafted
            if factor > 1:
                grown = drafted * factor
                size = int(grown) + (rng.random() < grown - int(grown))
            if (factor > 1 or rng.random() < factor) and requested < self.end:
                self.family(sponsor, status, (requested, decided, arrived), size)

    def family(self, sponsor: Unit, status: str, moments: tuple[int, int, int], size: int) -> None:
        requested, decided, arrived = moments
        rng = self.rng
        head = sponsor.members[0]
        year = cal.date_of(arrived).year
        members: list[Person] = []
        relations: list[str] = []
        for i in range(size):
            if sponsor.kind == "AMV":
                parent = i < 2 and (i == 0 or rng.random() < 0.6)
                by = adult_birth_year(rng, year) - 18 if parent else child_birth_year(rng, year)
                relations.append("PARENT" if parent else "OTHER")
            else:
                partner = i == 0 and rng.random() < 0.8
                by = adult_birth_year(rng, year) if partner else child_birth_year(rng, year)
                relations.append("SPOUSE_OR_PARTNER" if partner else "CHILD")
            sex = (
                ("F" if head.sex == "M" else "M")
                if relations[-1] == "SPOUSE_OR_PARTNER"
                else ("M" if rng.random() < 0.5 else "F")
            )
            members.append(self.people.new(head.nationality, by, sex))
        unit = Unit(len(self.units), "NAREIS", members, sponsor.nat)
        self.units.append(unit)
        unit.cases = [self.new_case() for _ in members]
        sponsor_key = self.sponsor_key(head.v_nummer)
        for person, case, relation in zip(members, unit.cases, relations, strict=True):
            self.out.person(
                IND,
                "FamilyReunificationRequested",
                requested,
                person,
                case,
                {"sponsor_person_key": sponsor_key, "relationship": relation},
            )
        granted = rng.random() < 0.9
        self.each(
            unit,
            IND,
            "FamilyReunificationDecided",
            decided,
            {"sponsor_person_key": sponsor_key, "outcome": "GRANTED" if granted else "REFUSED"},
        )
        if not granted:
            return
        location = "TER_APEL" if rng.random() < 0.6 else "BUDEL"
        self.each_aged(
            unit,
            AVIM,
            "ArrivalReported",
            arrived,
            {"applicant_group": "MVV_HOLDER", "reporting_location": location},
            "age_at_report",
        )
        unit.plan.moves.append((arrived + 2 * HOUR, "start", "NAREIZIGER", ""))
        unit.plan.moves.append((arrived + 2 * HOUR + MINUTE, "place", "COL", ""))
        t_ir = arrived + self.days(1, 2)
        for person, case in zip(members, unit.cases, strict=True):
            self.identity_registered(t_ir, person, case, True)
        lodged = t_ir + HOUR
        self.lodge(unit, lodged, "NAREIS")
        permit = lodged + self.days(14, 42)
        self.each(
            unit,
            IND,
            "ResidencePermitIssued",
            permit,
            {
                "permit_kind": "DERIVED",
                "status": status,
                "valid_from": cal.date_of(permit),
                "valid_until": None,
            },
        )
        joined = arrived + self.days(7, 21)
        if sponsor.housed_at is not None and sponsor.housed_at > joined:
            unit.plan.moves.append((joined, "place", "AZC", "HOUSEHOLD"))
            joined = sponsor.housed_at + HOUR
        elif sponsor.housed_at is None:
            joined += self.days(60, 180)
        unit.plan.moves.append((joined, "end", "HOUSED", ""))

    def run(self) -> None:
        self.arrivals()
        self.incoming()
        self.solidarity()
        self.calibrate_approval()
        self.run_queue()
        self.repeats()
        self.nareis()
