"""The need-to-know subscription policy (issue 15), pure: the rules of schemas/subscriptions.toml,
checked against the contract when loaded, and the conditions they name, each a function of the
person's lifecycle state (domain.lifecycle). The distribution decision (domain.distribution)
applies them to a person's history; `ketenlog subscriptions` shows them.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from typing import Any

from domain.facts import Fact
from domain.lifecycle import CaseKind, CaseStatus, PersonState
from domain.lifecycle.guardianship import GuardianshipStatus
from domain.routes import ROUTES, Handler
from schemas.event_types import EventType
from schemas.registry import default_registry
from schemas.topics import Org

ALL_TYPES = "*"
SENSITIVITIES = ("NORMAL", "MINOR", "SPECIAL")
# Not about a person (a location, a housing task, a forecast, a policy) or not an event of its
# own (a retraction is applied before the fold): no rule can deliver these.
_NOT_PERSON_EVENTS = frozenset({Handler.SUBJECT, Handler.CORRECTION, Handler.IGNORED})
PERSON_EVENT_TYPES = frozenset(
    t.value for t in EventType if ROUTES[t].handler not in _NOT_PERSON_EVENTS
)


class Condition(StrEnum):
    """Over the person's state; each yields the audiences it entitles (see `audiences`)."""

    ANY_PERSON = "ANY_PERSON"
    """Every person: the rule's event types (and `when`) are the whole rule."""
    IN_RECEPTION = "IN_RECEPTION"
    """COA reception is open (entitled, or at a location)."""
    LINKED_MUNICIPALITY = "LINKED_MUNICIPALITY"
    """Per municipality: the municipality of the person's latest housing step (linked, housed)."""
    UNDER_GUARDIANSHIP = "UNDER_GUARDIANSHIP"
    """Nidos is the guardian (the minor may be missing); ended at 18 or when found adult."""
    IN_RETURN = "IN_RETURN"
    """The person's latest case is rejected, in appeal after a rejection, in return, in the
    return border procedure or detained."""
    DETAINED = "DETAINED"
    """The person's latest case is in immigration detention."""
    AT_BORDER = "AT_BORDER"
    """The latest case is in screening, in the asylum border procedure or in the return border
    procedure."""
    IN_APPEAL = "IN_APPEAL"
    """The latest case is in appeal."""
    HAS_CASE = "HAS_CASE"
    """The person has any case (asylum or nareis)."""
    HAS_ASYLUM_CASE = "HAS_ASYLUM_CASE"
    """The person has an asylum case."""
    ASKED_IOM = "ASKED_IOM"
    """The person asked IOM for assisted return (an effective AssistedReturnRequested)."""


ORG_WIDE = ""
"""The audience of a condition that entitles the recipient organisation as a whole."""

_RETURN_STATES = frozenset(
    {
        CaseStatus.REJECTED,
        CaseStatus.IN_APPEAL,
        CaseStatus.RETURN_PHASE,
        CaseStatus.RETURN_BORDER,
        CaseStatus.DETAINED,
    }
)
_BORDER_STATES = frozenset({CaseStatus.IN_SCREENING, CaseStatus.BORDER, CaseStatus.RETURN_BORDER})
_GUARDED = frozenset({GuardianshipStatus.UNDER_GUARDIANSHIP, GuardianshipStatus.MISSING})


def _latest_status(state: PersonState) -> CaseStatus | None:
    return state.cases[-1].status if state.cases else None


def _org_wide(holds: bool) -> frozenset[str]:
    return frozenset({ORG_WIDE}) if holds else frozenset()


def _municipality(state: PersonState, _: Sequence[Fact]) -> frozenset[str]:
    return frozenset({state.housing[-1].municipality_code}) if state.housing else frozenset()


_CONDITIONS: dict[Condition, Callable[[PersonState, Sequence[Fact]], frozenset[str]]] = {
    Condition.ANY_PERSON: lambda s, e: _org_wide(True),
    Condition.IN_RECEPTION: lambda s, e: _org_wide(s.reception.is_open),
    Condition.LINKED_MUNICIPALITY: _municipality,
    Condition.UNDER_GUARDIANSHIP: lambda s, e: _org_wide(s.guardianship.status in _GUARDED),
    Condition.IN_RETURN: lambda s, e: _org_wide(_latest_status(s) in _RETURN_STATES),
    Condition.DETAINED: lambda s, e: _org_wide(_latest_status(s) == CaseStatus.DETAINED),
    Condition.AT_BORDER: lambda s, e: _org_wide(_latest_status(s) in _BORDER_STATES),
    Condition.IN_APPEAL: lambda s, e: _org_wide(_latest_status(s) == CaseStatus.IN_APPEAL),
    Condition.HAS_CASE: lambda s, e: _org_wide(bool(s.cases)),
    Condition.HAS_ASYLUM_CASE: lambda s, e: _org_wide(
        any(c.kind == CaseKind.ASYLUM for c in s.cases)
    ),
    Condition.ASKED_IOM: lambda s, e: _org_wide(
        any(f.event_type == EventType.AssistedReturnRequested for f in e)
    ),
}


def audiences(condition: Condition, state: PersonState, events: Sequence[Fact]) -> frozenset[str]:
    """Whom the condition entitles given the person's state after `events` (the effective
    events folded so far): {ORG_WIDE} for the whole organisation, municipality codes for
    LINKED_MUNICIPALITY, nothing when it does not hold."""
    return _CONDITIONS[condition](state, events)


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    version: int
    recipient: Org
    events: frozenset[str]
    """The event types the rule delivers (ALL_TYPES expanded to every person event type)."""
    condition: Condition
    retroactive: bool
    sensitivity: frozenset[str]
    basis: str
    when: Mapping[str, frozenset[str]]
    """Payload field -> the values that qualify (all must hold); empty: any payload."""
    design_choice: str | None = None

    def matches(self, fact: Fact) -> bool:
        """The event is of a type the rule delivers, qualifies by payload and sensitivity, and
        is not the recipient's own."""
        return (
            fact.event_type in self.events
            and fact.producer != self.recipient.value
            and fact.sensitivity in self.sensitivity
            and all(str(fact.data.get(k)) in values for k, values in self.when.items())
        )

    def to_plain(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "recipient": self.recipient.value,
            "events": sorted(self.events),
            "when": {k: sorted(v) for k, v in sorted(self.when.items())},
            "condition": self.condition.value,
            "retroactive": self.retroactive,
            "sensitivity": sorted(self.sensitivity),
        }


@dataclass(frozen=True, slots=True)
class Policy:
    version: int
    rules: tuple[Rule, ...]
    """In the file's order: when two rules entitle the same delivery, the earlier names it."""

    @property
    def digest(self) -> str:
        """SHA-256 of the rules' meaning (canonical JSON; not of comments, basis or layout)."""
        plain = {"version": self.version, "rules": [r.to_plain() for r in self.rules]}
        text = json.dumps(plain, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    @property
    def label(self) -> str:
        """What a delivery names: `v<version>+<first 12 hex of the digest>`."""
        return f"v{self.version}+{self.digest[:12]}"

    def rules_for(self, org: Org) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if r.recipient == org)


class PolicyError(ValueError):
    """The policy file is wrong: names the rule and the field."""


def parse_policy(text: str) -> Policy:
    """The policy from TOML text, every rule checked against the contract."""
    raw = tomllib.loads(text)
    version = raw.get("version")
    if not isinstance(version, int) or version < 1:
        raise PolicyError("policy: field 'version' must be a positive integer")
    rules = tuple(_rule(i, r) for i, r in enumerate(raw.get("rule", [])))
    names = [r.name for r in rules]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise PolicyError(f"policy: rule names used twice: {', '.join(duplicates)}")
    return Policy(version, rules)


def _rule(index: int, raw: Mapping[str, Any]) -> Rule:
    name = raw.get("name")
    where = f"rule {name!r}" if isinstance(name, str) else f"rule #{index + 1}"

    def field(key: str, kind: type, default: Any = None) -> Any:
        value = raw.get(key, default)
        if not isinstance(value, kind):
            raise PolicyError(f"{where}: field {key!r} must be {kind.__name__}, not {value!r}")
        return value

    unknown = sorted(set(raw) - _RULE_FIELDS)
    if unknown:
        raise PolicyError(f"{where}: unknown field(s) {', '.join(unknown)}")
    name = field("name", str)
    try:
        recipient = Org(field("recipient", str))
        condition = Condition(field("condition", str))
    except ValueError as exc:
        raise PolicyError(f"{where}: {exc}") from exc
    events = _event_types(where, field("events", list))
    sensitivity = frozenset(field("sensitivity", list, ["NORMAL"]))
    if not sensitivity <= set(SENSITIVITIES):
        raise PolicyError(
            f"{where}: field 'sensitivity': {sorted(sensitivity - set(SENSITIVITIES))}"
        )
    when = field("when", dict, {})
    _check_when(where, events, when)
    design_choice = raw.get("design_choice")
    if design_choice is not None and not isinstance(design_choice, str):
        raise PolicyError(f"{where}: field 'design_choice' must be str")
    return Rule(
        name=name,
        version=field("version", int),
        recipient=recipient,
        events=events,
        condition=condition,
        retroactive=field("retroactive", bool),
        sensitivity=sensitivity,
        basis=field("basis", str),
        when={str(k): frozenset(str(v) for v in values) for k, values in when.items()},
        design_choice=design_choice,
    )


_RULE_FIELDS = frozenset(
    {
        "name",
        "version",
        "recipient",
        "events",
        "when",
        "condition",
        "retroactive",
        "sensitivity",
        "basis",
        "design_choice",
    }
)


def _event_types(where: str, names: list[Any]) -> frozenset[str]:
    if names == [ALL_TYPES]:
        return PERSON_EVENT_TYPES
    unknown = sorted(str(n) for n in names if n not in PERSON_EVENT_TYPES)
    if unknown or not names:
        raise PolicyError(
            f"{where}: field 'events': not event types about a person: {unknown or 'none given'}"
        )
    return frozenset(str(n) for n in names)


def _check_when(where: str, events: frozenset[str], when: Mapping[str, Any]) -> None:
    """Every payload field the filter names is in every one of the rule's event types, and
    every value is a symbol of that field in one of them: a typo would otherwise deliver
    nothing, silently."""
    registry = default_registry()
    for name, values in when.items():
        if not isinstance(values, list) or not values:
            raise PolicyError(f"{where}: field 'when.{name}' must be a list of values")
        symbols: set[str] = set()
        for event_type in sorted(events):
            version = registry.latest(event_type)
            fields = {f["name"]: f["type"] for f in version.schema["fields"]}
            if name not in fields:
                raise PolicyError(f"{where}: field 'when.{name}': {event_type} has no {name!r}")
            symbols |= _symbols(fields[name], version.named_types)
        unknown = sorted(str(v) for v in values if symbols and str(v) not in symbols)
        if unknown:
            raise PolicyError(f"{where}: field 'when.{name}': no such value {unknown}")


def _symbols(avro_type: Any, named: Mapping[str, Mapping[str, Any]]) -> set[str]:
    """The enum symbols an Avro field type allows (empty: not an enum)."""
    if isinstance(avro_type, list):
        return set().union(*(_symbols(t, named) for t in avro_type))
    if isinstance(avro_type, str):
        found = [t for full, t in named.items() if avro_type in (full, full.rsplit(".", 1)[-1])]
        return _symbols(found[0], named) if found else set()
    if isinstance(avro_type, Mapping) and avro_type.get("type") == "enum":
        return {str(s) for s in avro_type["symbols"]}
    return set()


def policy_text() -> str:
    """The policy file as shipped with the contract (schemas/subscriptions.toml)."""
    return resources.files("schemas").joinpath("subscriptions.toml").read_text("utf-8")


POLICY = parse_policy(policy_text())
