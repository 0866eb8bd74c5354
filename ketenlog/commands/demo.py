"""`ketenlog demo`: the backbone end to end on local defaults. Starts the services, simulates
a national year of the chain, publishes it, processes it until idle, and prints what the
chain's figures are and whether each equals the simulator's ground truth."""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from typing import Any

from domain.lifecycle.person import PersonState
from domain.lifecycle.truth_check import Tally
from infra import services as infra_services
from ketenlog.commands import serve
from ketenlog.commands.base import CommandError, Registry, say
from ketenlog.commands.demo_tables import differences as table_differences
from ketenlog.commands.demo_tables import shared_tasks, table_figures
from ketenlog.commands.simulate import chain_key, publish
from ketenlog.settings import Settings
from producers.pseudonym import person_key
from producers.simulator import SimParams, simulate
from projections.dashboard import Simulated
from projections.db import connect

CHUNK = 5000


def register(registry: Registry) -> None:
    parser = registry.add(
        "demo",
        run,
        "The whole backbone on local defaults: start Kafka and PostgreSQL, simulate a national "
        "year (2025-09-01..2026-08-31), publish it, process it until idle, and compare every "
        "figure with the simulator's ground truth, then serve the dashboard until Ctrl-C. "
        "Exits 1 when a figure differs.",
    )
    parser.add_argument("--scale", type=float, default=1.0, help="1 = a national year")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--port", type=int, default=8080, help="dashboard port (8080)")
    parser.add_argument(
        "--no-serve", action="store_true", help="stop after the summary instead of serving"
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    started = time.monotonic()
    try:
        infra_services.up(settings, say)
    except infra_services.InfraError as exc:
        raise CommandError(str(exc)) from exc
    key = chain_key(settings)
    params = SimParams(seed=args.seed, scale=args.scale)
    say(f"demo: simulating {params.start}..{params.end} at scale {params.scale}")
    sim = simulate(params, chain_key=key, progress=lambda phase: say(f"simulate: {phase}"))
    publish(sim, settings, key)
    persons = sorted(
        {person_key(sub.v_nummer, key) for _, sub in sim.submissions() if sub.v_nummer}
    )
    # Locations and housing tasks: the subjects that are not persons.
    subjects = sorted(
        {f.subject for f in sim.effective if f.type in ("LocationOpened", "HousingTaskPublished")}
    )
    say("demo: processing until idle (timeline, dead letters, every person's lifecycle)")
    done = subprocess.run(
        [sys.executable, "-m", "ketenlog.cli", "process", "--until-idle"],
        check=False,
        stdout=sys.stderr,  # progress, like ours; stdout stays for the figures
    )
    if done.returncode != 0:
        raise CommandError(f"the processor failed (exit {done.returncode}); see its output above")
    say(f"demo: comparing {len(persons):,} persons' derived state with the ground truth")
    tally = Tally(sim.truth)
    for chunk in _states(settings, persons):
        tally.add(chunk)
    say("demo: recounting the projection rows (attributes, Eurostat, housing, occupancy, capacity)")
    with connect(settings.dsn) as conn:
        tables = table_figures(conn, persons, subjects, sim.truth)
    print(_summary(tally, tables, sim.truth))
    print(_relocations(tables["relocations"]))
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
    if not args.no_serve:
        simulated = Simulated(params.start, params.end)
        serve.run(
            argparse.Namespace(host="127.0.0.1", port=args.port, simulated=simulated), settings
        )
    return 1 if differences else 0


def _states(settings: Settings, keys: list[str]) -> Iterator[list[PersonState]]:
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
