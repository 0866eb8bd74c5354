"""The simulator's own record of a fact: compact, integer times, no validation. The model
modules append facts here; noise turns them into deliveries; truth folds the effective ones.
"""

from __future__ import annotations

from typing import Any

from producers.simulator.population import Person


class Fact:
    """One event as an agency would submit it (see producers.submission.Submission)."""

    __slots__ = (
        "case_id",
        "corrects",
        "data",
        "occ",
        "org",
        "person",
        "rec",
        "ref",
        "retracts",
        "sensitivity",
        "subject",
        "type",
    )

    def __init__(  # noqa: PLR0917 - built millions of times on the hot path
        self,
        org: str,
        type_: str,
        occ: int,
        person: Person | None,
        subject: str,
        case_id: str | None,
        ref: str,
        data: dict[str, Any],
        sensitivity: str | None,
    ) -> None:
        self.org = org
        self.type = type_
        self.occ = occ
        self.rec = occ
        self.person = person
        self.subject = subject
        """The V-nummer for person events; the documented subject key otherwise."""
        self.case_id = case_id
        self.ref = ref
        self.data = data
        self.sensitivity = sensitivity
        self.corrects: str | None = None
        self.retracts: str | None = None

    def clone(self, ref: str) -> Fact:
        twin = Fact(
            self.org,
            self.type,
            self.occ,
            self.person,
            self.subject,
            self.case_id,
            ref,
            dict(self.data),
            self.sensitivity,
        )
        twin.rec = self.rec
        return twin


class Recorder:
    """Appends facts with deterministic per-organisation references; drops facts after the
    horizon (the end of the simulated period)."""

    def __init__(self, horizon: int, tag: str = "") -> None:
        self.horizon = horizon
        # Agencies' references are unique for good; the tag (from the simulation's parameters)
        # keeps two different simulations published to one log from sharing event ids.
        self._prefix = f"{tag}-" if tag else ""
        self.facts: list[Fact] = []
        self._counters: dict[str, int] = {}

    def ref(self, org: str) -> str:
        n = self._counters.get(org, 0) + 1
        self._counters[org] = n
        return f"{org.lower()}-{self._prefix}{n:09d}"

    def person(  # noqa: PLR0917 - called from every model module; positional reads best
        self,
        org: str,
        type_: str,
        ts: int,
        person: Person,
        case_id: str | None,
        data: dict[str, Any],
    ) -> None:
        if ts >= self.horizon:
            return
        sens = "MINOR" if ts < person.adult_ts else None
        self.facts.append(
            Fact(org, type_, ts, person, person.v_nummer, case_id, self.ref(org), data, sens)
        )

    def subject(self, org: str, type_: str, ts: int, subject: str, data: dict[str, Any]) -> None:
        if ts >= self.horizon:
            return
        self.facts.append(Fact(org, type_, ts, None, subject, None, self.ref(org), data, None))
