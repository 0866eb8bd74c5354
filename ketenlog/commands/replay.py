"""`ketenlog replay`: rebuild every projection from the beginning of the log into a fresh
schema and swap it in atomically; the live projections keep serving until the swap.
`--from-archive DIR` does the same from an export (`ketenlog export`) without Kafka.
(ketenlog.replay)
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ketenlog.commands.base import CommandError, Registry, add_replay_options, print_checksums, say
from ketenlog.rebuild import Rebuilt
from ketenlog.replay import ReplayError, ReplayOptions, replay
from ketenlog.settings import Settings
from projections import checksums


def register(registry: Registry) -> None:
    parser = registry.add(
        "replay",
        _run,
        "Rebuild every projection from the beginning of the log (batch path) into a fresh "
        "schema and swap it in atomically; the live projections serve until the swap and a "
        "running `ketenlog process` continues on the new tables.",
    )
    parser.add_argument(
        "--from-archive",
        type=Path,
        metavar="DIR",
        help="rebuild from an export (`ketenlog export DIR`) instead of Kafka: the archive is "
        "checked first (manifest hashes, hash chains) and refused, naming the place, if altered",
    )
    parser.add_argument(
        "--manifest-sha256",
        metavar="HASH",
        help="with --from-archive: the manifest hash `export` printed, kept apart from the "
        "archive; refused if the manifest differs (else a forger could rewrite files and "
        "manifest together, and only the hash chains would still show it)",
    )
    parser.add_argument(
        "--checksums",
        type=Path,
        metavar="FILE",
        help="write the rebuilt tables' checksums (per table and period) to FILE as JSON",
    )
    parser.add_argument(
        "--expect",
        type=Path,
        metavar="FILE",
        help="compare the rebuilt checksums with FILE (`ketenlog verify --checksums FILE` of "
        "the live system); exit 1 and list every difference if they differ",
    )
    add_replay_options(parser)


def _run(args: argparse.Namespace, settings: Settings) -> int:
    expected = _read_expected(args.expect)
    options = ReplayOptions(args.group, args.workers, args.from_archive, args.manifest_sha256)
    try:
        replayed = replay(settings, options, say)
    except ReplayError as exc:
        raise CommandError(str(exc), exc.exit_code) from exc
    _report(replayed.built, replayed.checksums, args.checksums)
    if expected is not None:
        return _compare(replayed.checksums, expected)
    return 0


def _read_expected(path: Path | None) -> list[checksums.Checksum] | None:
    if path is None:
        return None
    try:
        return checksums.from_json(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise CommandError(f"--expect {path}: {exc}", exit_code=2) from exc


def _report(built: Rebuilt, sums: list[checksums.Checksum], path: Path | None) -> None:
    dead = ", ".join(f"{k} {v}" for k, v in sorted(built.deadletters.items())) or "none"
    say(
        f"replay: {built.records:,} records in {built.seconds:.1f}s ({built.rate:,.0f}/s): "
        f"{built.facts:,} facts, {built.persons:,} persons, {built.duplicates:,} duplicates, "
        f"dead letters: {dead}"
    )
    print_checksums(sums)
    if path is not None:
        path.write_text(checksums.to_json(sums), "utf-8")
        say(f"replay: checksums written to {path}")


def _compare(sums: list[checksums.Checksum], expected: list[checksums.Checksum]) -> int:
    differences = checksums.compare(expected, sums)
    if not differences:
        say("replay: every checksum equals the expected one")
        return 0
    for d in differences:
        say(f"  differs: {d.describe()}")
    say(f"replay: {len(differences)} table period(s) differ from the expected checksums")
    return 1
