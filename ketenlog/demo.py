"""The backbone end to end on local defaults (`ketenlog demo`): start the services, simulate
a national year of the chain, publish it, process it (the processor, far behind, catches up at
batch speed), and print what the chain's figures are and whether each equals the simulator's
ground truth; then serve the dashboard."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from domain.lifecycle.person import PersonState
from domain.lifecycle.truth_check import Tally
from infra import services as infra_services
from infra.person_keys import PersonKeyStore
from ketenlog.demo_tables import differences as table_differences
from ketenlog.demo_tables import pact_report, shared_tasks, table_figures
from ketenlog.processing import ProcessingError, processed_to_end
from ketenlog.serving import ServingError, serve
from ketenlog.settings import Settings
from ketenlog.signing import signer_of
from producers.prepare import Preparer
from producers.pseudonym import person_key
from producers.publisher import DeliverySettings, PublishError
from producers.simulator import SimParams, simulate
from producers.simulator.publish import (
    FeedInFutureError,
    PublishingProcessError,
    publish_simulation,
)
from projections.dashboard import Simulated
from projections.db import connect
from schemas.access import ADMIN

CHUNK = 5000
# Publishing processes (at most one per core): two published a national year 1.3x as fast.
PUBLISHERS = 2
# What can stop the demo short; each message says what to do.
ERRORS = (
    infra_services.InfraError,
    FeedInFutureError,
    ConnectionError,
    PublishError,
    PublishingProcessError,
    ProcessingError,
    ServingError,
)


@dataclass(frozen=True)
class DemoOptions:
    scale: float = 1.0
    seed: int = 1
    port: int = 8080
    serve: bool = True


def run_demo(
    settings: Settings, chain_key: bytes, options: DemoOptions, say: Callable[[str], None]
) -> int:
    """The whole demo; the figures go to stdout, progress to `say`. 1 when a figure differs.
    Raises one of ERRORS when a step fails."""
    started = time.monotonic()
    infra_services.up(settings, say)
    params = SimParams(seed=options.seed, scale=options.scale)
    say(f"demo: simulating {params.start}..{params.end} at scale {params.scale}")
    sim = simulate(params, chain_key=chain_key, progress=lambda phase: say(f"simulate: {phase}"))
    processes = min(PUBLISHERS, os.cpu_count() or 1)
    say(f"demo: publishing, the organisations shared over {processes} process(es)")

    def preparer() -> Preparer:
        keys = PersonKeyStore(settings.person_keys_file)
        return Preparer(chain_key, settings.oin_prefix, person_keys=keys.key_for)

    publish_simulation(
        sim,
        preparer,
        # The simulator speaks for every organisation at once (producers.simulator.publish).
        settings.kafka(ADMIN),
        DeliverySettings(timeout_s=settings.publish_timeout_s),
        say,
        signer_of=signer_of(settings, say),
        processes=processes,
    )
    say("demo: published; processing (timeline, dead letters, lifecycles)")
    processed_to_end(settings, say)
    # From the simulator's own facts: building every delivery's Submission again only to
    # read its V-nummer took 26 s of a national year's demo.
    v_nummers = {f.subject for _, _, f in sim.deliveries if f.person is not None}
    persons = sorted(person_key(v, chain_key) for v in v_nummers)
    # Locations and housing tasks: the subjects that are not persons.
    subjects = sorted(
        {f.subject for f in sim.effective if f.type in ("LocationOpened", "HousingTaskPublished")}
    )
    say(f"demo: comparing {len(persons):,} persons' derived state with the ground truth")
    tally = Tally(sim.truth)
    for chunk in _states(settings, persons, say):
        tally.add(chunk)
    say(
        "demo: recounting the projection rows (attributes, Eurostat, housing, occupancy, "
        "capacity, the Pact's figures)"
    )
    with connect(settings.dsn) as conn:
        tables = table_figures(conn, persons, subjects, sim.truth)
    print(_summary(tally, tables, sim.truth))
    print(_relocations(tables["relocations"]))
    print(pact_report(tables, sim.truth))
    differences = tally.differences() + table_differences(tables, sim.truth)
    shared = shared_tasks(tables)
    if shared:
        print(
            f"\n{shared} housing tasks not compared: another simulation on this log published "
            "tasks for the same municipality and period"
        )
    minutes = (time.monotonic() - started) / 60
    if differences:
        print(f"\n{len(differences)} figures differ from the ground truth:")
        print("\n".join(f"  {d}" for d in differences[:50]))
    else:
        print(f"\nEvery figure equals the simulator's ground truth. ({minutes:.1f} min)")
    print("Figures for analysts: ketenlog query inflow --by month,kind (see --help)")
    sys.stdout.flush()
    if options.serve:
        serve(settings, "127.0.0.1", options.port, say, Simulated(params.start, params.end))
    return 1 if differences else 0


def _states(
    settings: Settings, keys: list[str], say: Callable[[str], None]
) -> Iterator[list[PersonState]]:
    with connect(settings.dsn) as conn:
        for i in range(0, len(keys), CHUNK):
            rows = conn.execute(
                "SELECT state::text FROM person_state WHERE person_key = ANY(%s)",
                (keys[i : i + CHUNK],),
            ).fetchall()
            yield [PersonState.from_json(text) for (text,) in rows]
            say(f"demo: compared {min(i + CHUNK, len(keys)):,}/{len(keys):,} persons")


def _summary(tally: Tally, tables: dict[str, Any], truth: dict[str, Any]) -> str:
    lines = [
        "",
        "month     inflow  decisions  departures  demonstrable  in COA (month end)  status holders"
        "  places  matches truth",
    ]
    ends = {d[:7]: d for d in tally.periods("coa_occupancy")}
    for month in tally.periods("inflow"):
        checks = [
            tally.got(f, p) == tally.expected(f, p)
            for f, p in (
                ("lifecycle", month),
                ("inflow", month),
                ("decisions", month),
                ("departures", month),
                ("coa_occupancy", ends.get(month, "")),
            )
            if p in tally.periods(f)
        ]
        end = ends.get(month, "")
        coa = tally.got("coa_occupancy", end).get("total", 0) if end else 0
        residents = tables["coa_residents"].get(end, {})
        holders = sum(by_status.get("STATUS_HOLDER", 0) for by_status in residents.values())
        places = sum(tables["coa_capacity"].get(end, {}).values())
        checks += [
            tables[f].get(p) == truth[f].get(p)
            for f, p in (
                ("inflow_attributes", month),
                ("eurostat_applicants", "month"),
                ("demonstrable_departures", month),
                ("coa_residents", end),
                ("coa_capacity", end),
            )
            if p in truth[f]
        ]
        lines.append(
            f"{month}  {sum(tally.got('inflow', month).values()):>6,}  "
            f"{sum(tally.got('decisions', month).values()):>9,}  "
            f"{sum(tally.got('departures', month).values()):>10,}  "
            f"{tables['demonstrable_departures'].get(month, 0):>12,}  {coa:>18,}  "
            f"{holders:>14,}  {places:>6,}  {'yes' if all(checks) else 'NO'}"
        )
    return "\n".join(lines)


def _relocations(years: dict[str, dict[str, int]]) -> str:
    """Relocations per resident-year (the year's average residents = resident days / days)."""
    lines = ["", "year  relocations  per resident-year  of children  per child-year"]
    for year, v in sorted(years.items()):
        days = (date(int(year) + 1, 1, 1) - date(int(year), 1, 1)).days
        rate = v["relocations"] * days / v["resident_days"] if v["resident_days"] else 0.0
        child = (
            v["child_relocations"] * days / v["child_resident_days"]
            if v["child_resident_days"]
            else 0.0
        )
        lines.append(
            f"{year}  {v['relocations']:>11,}  {rate:>17.2f}  "
            f"{v['child_relocations']:>11,}  {child:>14.2f}"
        )
    return "\n".join(lines)
