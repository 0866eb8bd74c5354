"""COA reception: turns each household's reception plan (start, placements by location type,
end) into ReceptionStarted / PlacedAtLocation / Relocated / ReceptionEnded at concrete
locations, adds the periodic relocations of long stays, and opens, grows and closes locations
(LocationOpened / LocationCapacityChanged / LocationClosed, keyed `location:<id>`).
"""

from __future__ import annotations

import random

from producers.simulator.calendar import DAY, MINUTE
from producers.simulator.facts import Recorder
from producers.simulator.population import WeightedChoice
from producers.simulator.process import Unit

COA = "COA"
# (initial count at scale 1, places per location, target groups)
LOCATION_TYPES: dict[str, tuple[int, tuple[int, int], tuple[str, ...]]] = {
    "COL": (2, (600, 2000), ("ASYLUM_SEEKERS", "UNACCOMPANIED_MINORS", "FAMILIES")),
    "POL": (5, (300, 700), ("ASYLUM_SEEKERS", "FAMILIES")),
    "AZC": (40, (300, 1500), ("ASYLUM_SEEKERS", "STATUS_HOLDERS", "FAMILIES")),
    "KWV": (40, (16, 20), ("UNACCOMPANIED_MINORS",)),
    "GOL": (2, (150, 300), ("FAMILIES",)),
    "NOODOPVANG": (20, (100, 500), ("ASYLUM_SEEKERS", "STATUS_HOLDERS")),
}
EMERGENCY = ("NOODOPVANG",)
# Relocations per year during a long stay: emergency shelter moves people 2-4 times a year.
RELOCATION_RATE = {"NOODOPVANG": 3.0, "AZC": 0.8, "KWV": 0.5, "GOL": 0.3}


class Location:
    __slots__ = ("capacity", "closes", "id", "kind", "residents", "used")

    def __init__(self, id_: str, kind: str, capacity: int, closes: int | None) -> None:
        self.id = id_
        self.kind = kind
        self.capacity = capacity
        self.used = 0
        self.closes = closes
        self.residents: dict[int, Unit] = {}


def add_relocations(rng: random.Random, unit: Unit, emergency_share: float) -> None:
    """Sort the plan, cut it at its first end, and add relocations within long stays."""
    moves = sorted(unit.plan.moves, key=lambda m: (m[0], m[1] != "start"))
    out: list[tuple[int, str, str, str]] = []
    started = False
    for i, move in enumerate(moves):
        ts, kind, arg, _ = move
        if kind == "start":
            if started:
                continue
            started = True
        elif not started:
            continue
        out.append(move)
        if kind == "end":
            break
        if kind == "place" and arg in RELOCATION_RATE:
            until = moves[i + 1][0] if i + 1 < len(moves) else ts + 3 * 365 * DAY
            t = ts
            current = arg
            while True:
                t += int(rng.expovariate(RELOCATION_RATE[current] / 365.0) * DAY) + DAY
                if t >= until - DAY:
                    break
                if current in ("NOODOPVANG", "AZC"):
                    current = "NOODOPVANG" if rng.random() < emergency_share else "AZC"
                reason = "CAPACITY" if rng.random() < 0.6 else "OTHER"
                out.append((t, "place", current, reason))
    unit.plan.moves = out


class Reception:
    """The location sweep: every household's moves in time order against location capacity."""

    def __init__(
        self,
        rng: random.Random,
        out: Recorder,
        municipalities: WeightedChoice,
        scale: float,
        history_start: int,
        *,
        tag: str = "",
    ) -> None:
        self.rng = rng
        # Location ids carry the simulation's tag, as event references do: two simulations
        # published to one log must not merge their locations.
        self._prefix = f"{tag}-" if tag else ""
        self.out = out
        self.munis = municipalities
        self.by_kind: dict[str, list[Location]] = {k: [] for k in LOCATION_TYPES}
        self.where: dict[int, Location] = {}
        self._counter = 0
        for kind, (count, _, _) in LOCATION_TYPES.items():
            for _ in range(max(1, round(count * scale))):
                self.open(kind, history_start)

    def open(self, kind: str, ts: int) -> Location:
        self._counter += 1
        low, high = LOCATION_TYPES[kind][1]
        capacity = self.rng.randrange(low, high + 1)
        closes = ts + self.rng.randrange(180, 366) * DAY if kind in EMERGENCY else None
        loc = Location(f"{kind}-{self._prefix}{self._counter:04d}", kind, capacity, closes)
        self.by_kind[kind].append(loc)
        self.out.subject(
            COA,
            "LocationOpened",
            ts,
            f"location:{loc.id}",
            {
                "location_id": loc.id,
                "location_type": kind,
                "municipality_code": self.munis.pick(self.rng),
                "target_groups": list(LOCATION_TYPES[kind][2]),
                "capacity": capacity,
            },
        )
        return loc

    def find(self, kind: str, size: int, ts: int) -> Location:
        locs = self.by_kind[kind]
        for _ in range(4):
            if locs:
                loc = locs[self.rng.randrange(len(locs))]
                if loc.capacity - loc.used >= size:
                    return loc
        best = max(locs, key=lambda x: x.capacity - x.used, default=None)
        if best is not None and best.capacity - best.used >= size:
            return best
        if kind in ("COL", "POL", "GOL") and best is not None:
            best.capacity += max(size, best.capacity // 10)
            self.out.subject(
                COA,
                "LocationCapacityChanged",
                ts,
                f"location:{best.id}",
                {"location_id": best.id, "capacity": best.capacity},
            )
            return best
        return self.open(kind, ts)

    def close_due(self, ts: int) -> None:
        for kind in EMERGENCY:
            for loc in list(self.by_kind[kind]):
                if loc.closes is not None and loc.closes <= ts:
                    self.by_kind[kind].remove(loc)
                    # Closures are checked daily: act at the sweep's present, never before it.
                    t = max(loc.closes, ts)
                    for unit in list(loc.residents.values()):
                        target = "AZC" if self.rng.random() < 0.5 else "NOODOPVANG"
                        self.move(unit, t, target, "LOCATION_CLOSED")
                        t += MINUTE
                    self.out.subject(
                        COA,
                        "LocationClosed",
                        t + MINUTE,
                        f"location:{loc.id}",
                        {"location_id": loc.id},
                    )

    def move(self, unit: Unit, ts: int, kind: str, reason: str) -> None:
        old = self.where.get(unit.seq)
        new = self.find(kind, unit.size, ts)
        if old is new:
            return
        new.used += unit.size
        new.residents[unit.seq] = unit
        self.where[unit.seq] = new
        if old is None:
            for person, case in zip(unit.members, unit.cases, strict=True):
                self.out.person(
                    COA,
                    "PlacedAtLocation",
                    ts,
                    person,
                    case,
                    {"location_id": new.id, "location_type": new.kind},
                )
            return
        old.used -= unit.size
        del old.residents[unit.seq]
        minors = sum(1 for p in unit.members if p.minor_at(ts))
        for person, case in zip(unit.members, unit.cases, strict=True):
            self.out.person(
                COA,
                "Relocated",
                ts,
                person,
                case,
                {
                    "from_location_id": old.id,
                    "to_location_id": new.id,
                    "to_location_type": new.kind,
                    "reason": reason,
                    "minors_in_household": minors,
                },
            )

    def run(self, units: list[Unit]) -> None:
        moves = [(m[0], u.seq, i, m, u) for u in units for i, m in enumerate(u.plan.moves)]
        moves.sort(key=lambda x: (x[0], x[1], x[2]))
        next_check = 0
        for ts, _, _, (_, kind, arg, reason), unit in moves:
            if ts >= self.out.horizon:
                break
            if ts >= next_check:
                self.close_due(ts)
                next_check = ts + DAY
            if kind == "start":
                for person, case in zip(unit.members, unit.cases, strict=True):
                    self.out.person(
                        COA, "ReceptionStarted", ts, person, case, {"reception_group": arg}
                    )
            elif kind == "place":
                self.move(unit, ts, arg, reason or "PROCEDURE_PHASE")
            else:
                old = self.where.pop(unit.seq, None)
                if old is not None:
                    old.used -= unit.size
                    del old.residents[unit.seq]
                for person, case in zip(unit.members, unit.cases, strict=True):
                    self.out.person(COA, "ReceptionEnded", ts, person, case, {"reason": arg})
