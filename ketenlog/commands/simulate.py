"""`ketenlog simulate`: generate a synthetic chain (JSONL per organisation + ground truth), or
publish it straight to Kafka, or print the calibration report."""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

from infra.person_keys import PersonKeyStore
from ketenlog.commands.base import CommandError, Registry, chain_key, say
from ketenlog.settings import Settings
from ketenlog.signing import signer_of
from producers.simulator import output
from producers.simulator.calibration import measure, report
from producers.simulator.generator import Simulation, simulate
from producers.simulator.params import Noise, SimParams
from schemas.access import ADMIN


def register(registry: Registry) -> None:
    parser = registry.add(
        "simulate",
        run,
        "Simulate the migration chain: every organisation's events for a period (after a "
        "warm-up history), with late, re-sent, corrected and retracted events, plus the ground "
        "truth the projections must reproduce. See docs/simulator.md.",
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--scale", type=float, help="1 = one national year (default 1)")
    size.add_argument(
        "--persons", type=int, help="about this many first applicants a year (sets --scale)"
    )
    parser.add_argument(
        "--from",
        dest="start",
        type=date.fromisoformat,
        default=date(2025, 9, 1),
        help="first day of the period (2025-09-01)",
    )
    parser.add_argument(
        "--to",
        dest="end",
        type=date.fromisoformat,
        default=date(2026, 8, 31),
        help=(
            "last day of the period (2026-08-31); to publish, the whole feed, late reports "
            "included, must lie in the past"
        ),
    )
    parser.add_argument(
        "--ind-capacity",
        type=float,
        help="IND decisions (persons) per week at scale 1 (default 560)",
    )
    parser.add_argument(
        "--malformed",
        type=float,
        metavar="SHARE",
        default=0.0,
        help="also write malformed raw records (share of events per topic)",
    )
    parser.add_argument(
        "--no-noise", action="store_true", help="no late, duplicate, corrected or retracted events"
    )
    target = parser.add_mutually_exclusive_group()
    target.add_argument(
        "--out", type=Path, help="directory for <org>.jsonl, ground_truth.json, manifest.json"
    )
    target.add_argument("--publish", action="store_true", help="publish to Kafka instead")
    target.add_argument(
        "--calibration-report",
        action="store_true",
        help="simulate and print each calibration target with PASS/FAIL",
    )


def params_of(args: argparse.Namespace) -> SimParams:
    params = SimParams(seed=args.seed, start=args.start, end=args.end)
    if args.end < args.start:
        raise CommandError("--to is before --from")
    if args.persons is not None:
        params = params.with_persons(args.persons)
    elif args.scale is not None:
        params = replace(params, scale=args.scale)
    if params.scale <= 0:
        raise CommandError("--scale / --persons must be positive")
    if args.ind_capacity is not None:
        params = replace(params, ind_capacity_per_week=args.ind_capacity)
    noise = (
        Noise(late_share=0, duplicate_share=0, correction_share=0, retraction_share=0)
        if args.no_noise
        else Noise()
    )
    return replace(params, noise=replace(noise, malformed_share=args.malformed))


def run(args: argparse.Namespace, settings: Settings) -> int:
    params = params_of(args)
    if not (args.out or args.publish or args.calibration_report):
        raise CommandError("say where the events go: --out DIR, --publish or --calibration-report")
    started = time.monotonic()
    key = None if args.calibration_report else chain_key(settings)
    sim = simulate(
        params,
        chain_key=key,
        progress=lambda phase: say(f"simulate: {phase} ({time.monotonic() - started:.0f}s)"),
    )
    say(
        f"simulate: {sim.stats['deliveries']:,} deliveries of {sim.stats['persons']:,} persons "
        f"in {time.monotonic() - started:.0f}s"
    )
    if args.calibration_report:
        checks = measure(sim.effective, params, sim.truth)
        print(report(checks))
        return 0 if all(c.ok for c in checks) else 1
    if args.out:
        counts = output.write(sim, args.out, output.progress_tick(sim, say))
        say(
            f"simulate: wrote {sum(counts.values()):,} lines to {args.out} "
            f"in {time.monotonic() - started:.0f}s"
        )
        return 0
    return _publish(sim, settings, key or b"")


def _publish(sim: Simulation, settings: Settings, key: bytes) -> int:
    try:
        # Imported here: file output and the report must work without the Kafka client.
        from producers.prepare import Preparer  # noqa: PLC0415
        from producers.publisher import DeliverySettings, PublishError  # noqa: PLC0415
        from producers.simulator.publish import (  # noqa: PLC0415
            FeedInFutureError,
            PublishingProcessError,
            publish_simulation,
        )
    except ImportError as exc:  # the publishing stack is optional for file output
        raise CommandError(f"publishing is not available: {exc}") from exc

    def preparer() -> Preparer:
        keys = PersonKeyStore(settings.person_keys_file)
        return Preparer(key, settings.oin_prefix, person_keys=keys.key_for)

    delivery = DeliverySettings(timeout_s=settings.publish_timeout_s)
    try:
        publish_simulation(
            sim, preparer, settings.kafka(ADMIN), delivery, say, signer_of=signer_of(settings, say)
        )
    except (FeedInFutureError, ConnectionError, PublishError, PublishingProcessError) as exc:
        raise CommandError(str(exc)) from exc
    return 0
