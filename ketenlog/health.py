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
