"""Writing a simulation to a directory: one `<org>.jsonl` per organisation (exactly what
`ketenlog publish` reads), `ground_truth.json`, `manifest.json`, and with --malformed
`malformed.jsonl`. The only module of the simulator that touches files.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

from producers.private_files import open_private, private_dir
from producers.simulator import calendar as cal
from producers.simulator.generator import Simulation
from schemas.topics import Org, event_topic

Tick = Callable[[int, int], None]
"""Called with (deliveries done, deliveries in all) every 20,000 lines."""


def write(sim: Simulation, out: Path, tick: Tick | None = None) -> dict[str, int]:
    """Write every delivery in delivery order; returns lines written per organisation."""
    private_dir(out)
    # The agency files carry (synthetic) V-nummers: owner-only, like a real agency's.
    files: dict[Org, IO[str]] = {
        org: open_private(out / f"{org.value.lower()}.jsonl") for org in Org
    }
    counts = dict.fromkeys((o.value for o in Org), 0)
    total = len(sim.deliveries)
    try:
        for n, (org, sub) in enumerate(sim.submissions(), start=1):
            files[org].write(sub.model_dump_json(exclude_none=True))
            files[org].write("\n")
            counts[org.value] += 1
            if tick is not None and n % 20_000 == 0:
                tick(n, total)
    finally:
        for handle in files.values():
            handle.close()
    dump(out / "ground_truth.json", sim.truth)
    manifest = sim.manifest()
    manifest["files"] = {f"{k.lower()}.jsonl": v for k, v in counts.items()}
    if sim.malformed:
        with open_private(out / "malformed.jsonl") as bad:
            for rec in sim.malformed:
                bad.write(
                    json.dumps(
                        {
                            "topic": event_topic(rec.org),
                            "kind": rec.kind,
                            "description": rec.description,
                            "value_base64": base64.b64encode(rec.value).decode("ascii"),
                        },
                        sort_keys=True,
                    )
                    + "\n"
                )
        manifest["files"]["malformed.jsonl"] = len(sim.malformed)
    dump(out / "manifest.json", manifest)
    return counts


def dump(path: Path, value: object) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        json.dump(value, handle, indent=1, sort_keys=True)
        handle.write("\n")


class Rate:
    """Progress on stderr at most once a second: events/s and share done."""

    def __init__(self, say: Callable[[str], None], what: str) -> None:
        self._say = say
        self._what = what
        self._start = time.monotonic()
        self._last = 0.0

    def __call__(self, done: int, total: int, note: str = "") -> None:
        now = time.monotonic()
        if now - self._last >= 1.0 or done == total:
            self._last = now
            rate = done / max(1e-9, now - self._start)
            self._say(
                f"{self._what}: {done:,}/{total:,} ({done / max(1, total):.0%}), "
                f"{rate:,.0f} events/s{note}"
            )


def progress_tick(sim: Simulation, say: Callable[[str], None], what: str = "simulate") -> Tick:
    """A Tick that says how far the writing got in recorded time (warm-up or period share)."""
    rate = Rate(say, what)
    start, end = cal.ts_of(sim.params.start), cal.ts_of(sim.params.end)

    def tick(done: int, total: int) -> None:
        ts = sim.deliveries[done - 1][0]
        where = (
            f"{min(1.0, (ts - start) / max(1, end - start)):.0%} of the period"
            if ts >= start
            else "warm-up"
        )
        rate(done, total, f", recorded up to {cal.iso_date(ts)} ({where})")

    return tick
