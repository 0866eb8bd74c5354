"""`ketenlog simulate`: generate a synthetic chain (JSONL per organisation + ground truth), or
publish it straight to Kafka, or print the calibration report."""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

from ketenlog.commands.base import CommandError, Registry, say
from ketenlog.settings import Settings
from producers.pseudonym import ChainKeyError, load_chain_key
from producers.simulator import calendar as cal
from producers.simulator import output
from producers.simulator.calibration import measure, report
from producers.simulator.generator import Simulation, simulate
from producers.simulator.params import Noise, SimParams


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


def chain_key(settings: Settings) -> bytes:
    try:
        return load_chain_key(
            settings.chain_key, settings.chain_key_file, settings.home / "chain.key"
        )
    except ChainKeyError as exc:
        raise CommandError(str(exc)) from exc


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
        counts = output.write(sim, args.out, _ticker(sim))
        say(
            f"simulate: wrote {sum(counts.values()):,} lines to {args.out} "
            f"in {time.monotonic() - started:.0f}s"
        )
        return 0
    return publish(sim, settings, key or b"")


def _ticker(sim: Simulation) -> output.Tick:
    rate = output.Rate(say, "simulate")
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


def publish(sim: Simulation, settings: Settings, key: bytes) -> int:
    """Publish every delivery with one Publisher per organisation. The feed must lie in the
    past: the publisher refuses future times, and so would the timeline processor."""
    try:
        # Imported here: file output and the report must work without the Kafka client.
        from producers.prepare import Preparer  # noqa: PLC0415
        from producers.publisher import (  # noqa: PLC0415
            DeliverySettings,
            Publisher,
            PublishError,
            open_producer,
        )
    except ImportError as exc:  # the publishing stack is optional for file output
        raise CommandError(f"publishing is not available: {exc}") from exc
    last = datetime.fromtimestamp(max((d[0] for d in sim.deliveries), default=0), UTC)
    if last > datetime.now(UTC):
        raise CommandError(
            f"the simulated feed is recorded until {last:%Y-%m-%d} (late reports run past "
            "--to): that is in the future, so nothing can be published; choose an earlier --to"
        )
    preparer = Preparer(key, settings.oin_prefix)
    delivery = DeliverySettings(timeout_s=settings.publish_timeout_s)
    # One producer for all organisations: eleven kafka-python sender threads in one process
    # contend for the GIL and publish at a third of the rate.
    try:
        producer = open_producer(settings.bootstrap, delivery, "ketenlog-simulate")
    except ConnectionError as exc:
        raise CommandError(str(exc)) from exc
    publishers: dict[str, Publisher] = {}
    rate = output.Rate(say, "published")
    total = len(sim.deliveries)
    try:
        for n, (org, sub) in enumerate(sim.submissions(), start=1):
            pub = publishers.get(org.value)
            if pub is None:
                pub = publishers[org.value] = Publisher(
                    org, preparer, settings.bootstrap, delivery, producer=producer
                )
            pub.publish(sub)
            if n % 20_000 == 0:
                for p in publishers.values():
                    p.flush()
                rate(n, total, f", recorded up to {cal.iso_date(sim.deliveries[n - 1][0])}")
        for p in publishers.values():
            p.flush()
    except PublishError as exc:
        raise CommandError(str(exc)) from exc
    except ConnectionError as exc:
        raise CommandError(str(exc)) from exc
    finally:
        for p in publishers.values():
            p.close()
        producer.close(timeout=delivery.timeout_s)
    say(f"simulate: published {total:,} events")
    return 0
