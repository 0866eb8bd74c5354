"""`ketenlog publish --org ORG FILE`: an agency's JSONL file onto its topic, checked first.

Every line is checked before anything is sent; by default one invalid line stops the whole file.
Exit status: 0 all published · 1 invalid lines, nothing published · 3 with --skip-invalid: the
valid lines published, the rejected ones in the rejects file · 4 the broker did not acknowledge
some events (they are in the unacked file, ready to send again; their ids do not change).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from pydantic import ValidationError

from ketenlog.commands.base import CommandError, Progress, Registry, say
from ketenlog.settings import Settings
from producers.prepare import InvalidEventError, Prepared, Preparer
from producers.pseudonym import ChainKeyError, load_chain_key
from producers.publisher import DeliverySettings, Publisher, PublishError
from producers.submission import Submission, problems_of
from schemas.topics import Org

EXIT_INVALID = 1
EXIT_PARTIAL = 3
EXIT_UNACKED = 4
FLUSH_EVERY = 20_000


def register(registry: Registry) -> None:
    parser = registry.add(
        "publish",
        publish,
        "Publish an organisation's events from a JSONL file (one event per line; format in "
        "docs/publish-format.md). Every line is checked first; by default nothing is published "
        "when any line is invalid.",
    )
    parser.add_argument("file", help="JSONL file, or - for standard input")
    parser.add_argument("--org", required=True, choices=[o.value for o in Org])
    parser.add_argument(
        "--skip-invalid",
        action="store_true",
        help="publish the valid lines and write the rejected ones, with reasons, to --rejects",
    )
    parser.add_argument("--rejects", type=Path, help="rejects file (default FILE.rejects.jsonl)")
    parser.add_argument(
        "--unacked", type=Path, help="not-acknowledged lines (default FILE.unacked.jsonl)"
    )


def make_preparer(settings: Settings) -> Preparer:
    try:
        key = load_chain_key(
            settings.chain_key, settings.chain_key_file, settings.home / "chain.key"
        )
    except ChainKeyError as exc:
        raise CommandError(str(exc)) from exc
    return Preparer(key, settings.oin_prefix)


@dataclass
class Line:
    number: int
    text: str
    prepared: Prepared | None = None
    submission: Submission | None = None
    problems: list[tuple[str, str]] | None = None
    event_type: str = ""


def read_lines(stream: IO[str]) -> Iterator[tuple[int, str]]:
    for number, text in enumerate(stream, start=1):
        if text.strip():
            yield number, text.rstrip("\n")


def check_line(preparer: Preparer, org: Org, number: int, text: str) -> Line:
    line = Line(number, text)
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        line.problems = [("(line)", f"not JSON: {exc.msg} at column {exc.colno}")]
        return line
    if isinstance(raw, dict):
        line.event_type = str(raw.get("type", ""))
    try:
        line.submission = Submission.model_validate(raw)
        line.prepared = preparer.prepare(org, line.submission)
    except ValidationError as exc:
        line.problems = problems_of(exc)
    except InvalidEventError as exc:
        line.problems = exc.problems
    return line


def check_file(preparer: Preparer, org: Org, stream: IO[str]) -> tuple[list[Line], int]:
    """Check every line; same id twice with the same content is a duplicate, sent once."""
    progress = Progress("checked lines")
    lines: list[Line] = []
    seen: dict[str, Line] = {}
    duplicates = 0
    for number, text in read_lines(stream):
        line = check_line(preparer, org, number, text)
        progress.tick()
        if line.prepared is not None:
            first = seen.get(line.prepared.event_id)
            if first is not None:
                if first.submission == line.submission:
                    duplicates += 1
                    continue
                line.problems = [("ref", f"already used on line {first.number} for another fact")]
                line.prepared = None
            else:
                seen[line.prepared.event_id] = line
        lines.append(line)
    progress.finish()
    return lines, duplicates


def publish(args: argparse.Namespace, settings: Settings) -> int:
    org = Org(args.org)
    source = "stdin" if args.file == "-" else args.file
    base = Path("ketenlog-stdin" if args.file == "-" else args.file)
    rejects_path = args.rejects or base.with_name(base.name + ".rejects.jsonl")
    unacked_path = args.unacked or base.with_name(base.name + ".unacked.jsonl")
    preparer = make_preparer(settings)
    try:
        if args.file == "-":
            lines, duplicates = check_file(preparer, org, sys.stdin)
        else:
            with open(args.file, encoding="utf-8") as stream:
                lines, duplicates = check_file(preparer, org, stream)
    except OSError as exc:
        raise CommandError(f"cannot read {source}: {exc}") from exc
    invalid = [line for line in lines if line.problems]
    for line in invalid:
        for field, reason in line.problems or []:
            say(f"{source}:{line.number}: {line.event_type or '(no type)'}: {field}: {reason}")
    if invalid and not args.skip_invalid:
        say(
            f"{len(invalid)} invalid line(s) of {len(lines) + duplicates}: nothing published "
            "(fix them, or use --skip-invalid to publish the valid lines)"
        )
        return EXIT_INVALID
    if invalid:
        _write_rejects(rejects_path, invalid)
        say(f"{len(invalid)} rejected line(s) written to {rejects_path}")
    valid = [line for line in lines if line.prepared is not None]
    published = _send(settings, org, valid, unacked_path)
    say(
        f"published {published} · rejected {len(invalid)} · duplicates {duplicates} "
        f"(same event id in the file, sent once) · topic {org.value}"
    )
    if published < len(valid):
        return EXIT_UNACKED
    return EXIT_PARTIAL if invalid else 0


def _send(settings: Settings, org: Org, valid: list[Line], unacked_path: Path) -> int:
    progress = Progress("acknowledged", total=len(valid))
    acked = 0
    unacked: list[Line] = []
    try:
        delivery = DeliverySettings(timeout_s=settings.publish_timeout_s)
        publisher = Publisher(org, make_preparer(settings), settings.bootstrap, delivery)
    except ConnectionError as exc:
        _write_unacked(unacked_path, valid)
        raise CommandError(
            f"{exc}; nothing published, all {len(valid)} lines written to {unacked_path}",
            EXIT_UNACKED,
        ) from exc
    with publisher:
        for start in range(0, len(valid), FLUSH_EVERY):
            chunk = valid[start : start + FLUSH_EVERY]
            for line in chunk:
                assert line.prepared is not None
                publisher.send_prepared(line.prepared)
            try:
                acked += len(publisher.flush())
                progress.tick(len(chunk))
            except PublishError as exc:
                failed = {f.event_id for f in exc.failures}
                acked += len(exc.receipts)
                unacked = [ln for ln in chunk if ln.prepared and ln.prepared.event_id in failed]
                unacked += valid[start + FLUSH_EVERY :]
                say(f"broker error: {exc}")
                break
    progress.finish()
    if unacked:
        _write_unacked(unacked_path, unacked)
        say(f"{len(unacked)} event(s) not acknowledged, written to {unacked_path}:")
        for line in unacked[:20]:
            assert line.prepared is not None
            say(f"  line {line.number}: {line.prepared.event_type} {line.prepared.event_id}")
    return acked


def _write_rejects(path: Path, lines: list[Line]) -> None:
    with open(path, "w", encoding="utf-8") as out:
        for line in lines:
            reasons = [{"field": f, "reason": r} for f, r in line.problems or []]
            out.write(json.dumps({"line": line.number, "errors": reasons, "input": line.text}))
            out.write("\n")


def _write_unacked(path: Path, lines: list[Line]) -> None:
    with open(path, "w", encoding="utf-8") as out:
        for line in lines:
            out.write(line.text + "\n")
