"""The health an operator polls (`ketenlog status`, the API's health resource): the services,
and per worker group of the processor its lag, last commit and last fault, with whether it has
stalled. Composes infra (services, end offsets) and projections.health (the store's view)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from infra import services
from infra.topics import end_offsets
from ketenlog.settings import Settings
from projections import health
from projections.api_models import Dienst, Gezondheid, GroupState, Werkgroep
from projections.db import connect
from schemas.topics import event_topics


@dataclass(frozen=True)
class Health:
    services: services.Status
    groups: list[health.GroupHealth] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    at: datetime = field(default_factory=health.now)
    watched: tuple[str, ...] = ()

    @property
    def stalled(self) -> list[health.GroupHealth]:
        """The watched groups that have work waiting and committed nothing for a while."""
        return [g for g in self.groups if g.consumer in self.watched and g.stalled(self.at)]

    @property
    def ok(self) -> bool:
        return self.services.ok and not self.stalled and not self.problems


def check(settings: Settings, watched: list[str]) -> Health:
    """Everything `status` reports; never raises for a service that is down (it is reported).
    `watched`: the worker groups whose stall makes the health not ok (others are listed)."""
    report = services.status(settings)
    if not report.ok:
        return Health(report)
    try:
        ends = end_offsets(settings, event_topics())
        with connect(settings.dsn) as conn:
            groups = health.groups(conn, ends, watched)
    except Exception as exc:
        return Health(report, problems=[f"processing health unknown: {exc}"])
    return Health(report, groups, watched=tuple(watched))


def state(checked: Health, group: health.GroupHealth) -> GroupState:
    """idle, working, stalled (a watched group) or stopped (a group nobody watches)."""
    if group.stalled(checked.at):
        return "stalled" if group.consumer in checked.watched else "stopped"
    return "idle" if group.lag == 0 else "working"


def answer(checked: Health) -> Gezondheid:
    """The health as the API's resource answers it. Only what an operator's monitoring needs:
    no endpoints, and of a fault its kind, not its text (which may quote data)."""
    report = checked.services
    problems = [f"{svc.name} is down" for svc in report.services if not svc.up]
    topic_problems = [f"topic {row.name}: {row.problem}" for row in report.topics if row.problem]
    problems += topic_problems
    if len(report.problems) > len(topic_problems) or (not problems and not report.topics):
        problems.append("the topics could not be read (see `ketenlog status`)")
    if checked.problems:
        problems.append("the processing's health is unknown (see `ketenlog status`)")
    problems += [
        f"worker group {g.consumer} has stalled: {g.lag:,} records waiting" for g in checked.stalled
    ]
    return Gezondheid(
        status="pass" if checked.ok else "fail",
        checked_at=checked.at,
        stall_after_seconds=int(health.STALL_AFTER.total_seconds()),
        services=[Dienst(name=svc.name, up=svc.up) for svc in report.services],
        groups=[
            Werkgroep(
                group=g.consumer,
                watched=g.consumer in checked.watched,
                state=state(checked, g),
                lag=g.lag,
                last_commit=g.last_commit,
                last_fault_at=g.last_fault_at,
                last_fault_kind=None if g.last_fault is None else g.last_fault.split(":", 1)[0],
            )
            for g in checked.groups
        ],
        problems=problems,
    )
