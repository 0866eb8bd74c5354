"""RVR (Raad voor Rechtsbijstand) in the simulated chain: legal aid for asylum cases. At the
application RVR receives the request and assigns a lawyer before the procedure starts; the
assignment ends when the procedure has ended (a grant, or a rejection's final outcome). A small
share of households has no lawyer at the decision, so the lifecycle's anomaly
DECISION_WITHOUT_LEGAL_AID has a ground truth (docs/simulator.md).

Its own random stream: adding or changing RVR leaves the other organisations' clean facts as
they were (the feed noise, drawn over all facts, does move).
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from producers.simulator.calendar import DAY, HOUR
from producers.simulator.facts import Recorder
from producers.simulator.population import Person

RVR = "RVR"
ASYLUM = "ASYLUM_APPLICATION"
# How the households without a lawyer at the decision come about (shares of that group).
MISSING_KINDS = (("NEVER", 0.4), ("AFTER_DECISION", 0.3), ("WITHDREW", 0.3))
TRANSFER_SHARE = 0.03
"""Assignments that pass to another lawyer before the procedure starts."""


class LegalAid:
    """RVR's events for the cases of the households the chain hands it."""

    def __init__(self, rng: random.Random, out: Recorder, missing_share: float) -> None:
        self.rng = rng
        self.out = out
        self.missing_share = missing_share
        self._active: dict[str, tuple[str, int]] = {}
        """case -> the assignment in force and when it began."""
        self._late: set[str] = set()
        """Cases that get a lawyer only after their first decision."""
        self._issued = 0

    def requested(self, members: Sequence[Person], cases: Sequence[str], lodged: int) -> None:
        """The application was lodged: RVR is asked for legal aid and (mostly) assigns a lawyer
        within days, before any decision (the earliest comes a week after lodging)."""
        rng = self.rng
        pairs = list(zip(members, cases, strict=True))
        for person, case in pairs:
            data = {"matter": ASYLUM}
            self.out.person(RVR, "LegalAidRequested", lodged + HOUR, person, case, data)
        missing = rng.random() < self.missing_share
        kind = _pick(rng, MISSING_KINDS) if missing else "ASSIGNED"
        if kind == "NEVER":
            return
        if kind == "AFTER_DECISION":
            self._late.update(cases)
            return
        t = lodged + int(rng.uniform(1, 4) * DAY)
        for person, case in pairs:
            self._assign(person, case, t, ASYLUM)
        if kind == "WITHDREW":
            for person, case in pairs:
                self._end(person, case, t + DAY, "LAWYER_WITHDREW")
        elif rng.random() < TRANSFER_SHARE:
            for person, case in pairs:
                self._end(person, case, t + DAY, "TRANSFERRED")
                self._assign(person, case, t + DAY + HOUR, ASYLUM)

    def decided(self, members: Sequence[Person], cases: Sequence[str], ts: int) -> None:
        """A decision was issued: a case RVR had not served yet gets its lawyer now."""
        t = ts + int(self.rng.uniform(2, 10) * DAY)
        for person, case in zip(members, cases, strict=True):
            if case in self._late:
                self._late.discard(case)
                self._assign(person, case, t, ASYLUM)

    def concluded(self, members: Sequence[Person], cases: Sequence[str], ts: int) -> None:
        """The procedure ended at `ts` (a grant, or the final outcome of a rejection)."""
        t = ts + int(self.rng.uniform(1, 14) * DAY)
        for person, case in zip(members, cases, strict=True):
            if case in self._active:
                # A lawyer assigned after the decision ends after being assigned.
                self._end(person, case, max(t, self._active[case][1] + DAY), "CONCLUDED")

    def _assign(self, person: Person, case: str, ts: int, matter: str) -> None:
        self._issued += 1
        assignment = f"TV-{self._issued:09d}"
        self._active[case] = (assignment, ts)
        data = {"assignment_id": assignment, "matter": matter}
        self.out.person(RVR, "LawyerAssigned", ts, person, case, data)

    def _end(self, person: Person, case: str, ts: int, reason: str) -> None:
        assignment, _ = self._active.pop(case)
        data = {"assignment_id": assignment, "end_reason": reason}
        self.out.person(RVR, "LegalAidAssignmentEnded", ts, person, case, data)


def _pick(rng: random.Random, table: tuple[tuple[str, float], ...]) -> str:
    u = rng.random()
    for name, share in table:
        u -= share
        if u < 0:
            return name
    return table[-1][0]
