"""An agency's JSONL file onto its topic (`ketenlog publish`): every line checked first, then the
valid lines sent, and four files next to the input that say what happened to each line —
rejects (with reasons), unacknowledged lines (ready to send again) and receipts (the event id,
person key, topic, partition and offset of every published line, the ids an agency needs to
correct or retract an event or to name a sponsor).

Exit status: 0 all published · 1 invalid lines, nothing published · 3 with `skip_invalid`: the
valid lines published, the rejected ones in the rejects file · 4 the broker did not acknowledge
some events (they are in the unacked file, ready to send again; their ids do not change).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Protocol

from pydantic import ValidationError

from producers.prepare import InvalidEventError, Prepared, Preparer
from producers.publisher import Publisher, PublishError, Receipt
from producers.submission import Submission, problems_of
from schemas.topics import Org

EXIT_INVALID = 1
EXIT_PARTIAL = 3
EXIT_UNACKED = 4
FLUSH_EVERY = 20_000
STDIN = "-"
# No event comes near these; the broker refuses records over 1 MiB (message.max.bytes), and a
# line this long is a mistake to name, not to send and have refused.
MAX_LINE_BYTES = 64 * 1024
MAX_RECORD_BYTES = 512 * 1024


class Ticker(Protocol):
    def tick(self, n: int = 1) -> None: ...
    def finish(self) -> None: ...


# (label, total) -> a progress line printer; `ketenlog.commands.base.Progress` is one.
ProgressFactory = Callable[[str, int | None], Ticker]
Say = Callable[[str], None]
# Opens the organisation's publisher; raises ConnectionError when the broker is unreachable.
OpenPublisher = Callable[[], Publisher]


class _Quiet:
    def __init__(self, label: str, total: int | None) -> None:
        pass

    def tick(self, n: int = 1) -> None:
        pass

    def finish(self) -> None:
        pass


class FilePublishError(Exception):
    """The file could not be read or nothing could be sent; says what to do."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class Paths:
    """Where the outcome of each line goes; by default next to the input (FILE.receipts.jsonl)."""

    source: str
    rejects: Path
    unacked: Path
    receipts: Path

    @classmethod
    def beside(
        cls,
        file: str,
        rejects: Path | None = None,
        unacked: Path | None = None,
        receipts: Path | None = None,
    ) -> Paths:
        base = Path("ketenlog-stdin" if file == STDIN else file)

        def near(suffix: str) -> Path:
            return base.with_name(base.name + suffix)

        return cls(
            source="stdin" if file == STDIN else file,
            rejects=rejects or near(".rejects.jsonl"),
            unacked=unacked or near(".unacked.jsonl"),
            receipts=receipts or near(".receipts.jsonl"),
        )


@dataclass
class Line:
    number: int
    text: str
    prepared: Prepared | None = None
    submission: Submission | None = None
    problems: list[tuple[str, str]] | None = None
    event_type: str = ""


@dataclass
class Checked:
    """Every line of a file, checked: the distinct lines in order, and each duplicate line's
    number with the line it repeats (same event id, same content: sent once)."""

    lines: list[Line]
    duplicates: list[tuple[int, Line]] = field(default_factory=list)

    @property
    def invalid(self) -> list[Line]:
        return [line for line in self.lines if line.problems]

    @property
    def valid(self) -> list[Line]:
        return [line for line in self.lines if line.prepared is not None]


@dataclass(frozen=True)
class Outcome:
    published: int
    rejected: int
    duplicates: int
    unacked: int
    nothing_sent: bool
    receipts: Path | None

    @property
    def exit_code(self) -> int:
        if self.nothing_sent:
            return EXIT_INVALID
        if self.unacked:
            return EXIT_UNACKED
        return EXIT_PARTIAL if self.rejected else 0


def read_lines(stream: IO[bytes]) -> Iterator[tuple[int, str | None, bytes]]:
    """(number, text, raw bytes) of every non-blank line; text None when it is not UTF-8."""
    for number, raw in enumerate(stream, start=1):
        if not raw.strip():
            continue
        try:
            yield number, raw.decode("utf-8").rstrip("\r\n"), raw
        except UnicodeDecodeError:
            yield number, None, raw


def check_line(
    preparer: Preparer, org: Org, number: int, text: str | None, raw_bytes: bytes = b""
) -> Line:
    line = Line(number, text if text is not None else raw_bytes.decode("utf-8", "replace"))
    if text is None:
        line.problems = [("(line)", "not UTF-8 text")]
        return line
    size = len(raw_bytes) or len(text.encode())
    if size > MAX_LINE_BYTES:
        line.problems = [
            ("(line)", f"{size:,} bytes: longer than {MAX_LINE_BYTES:,}, the most an event may be")
        ]
        line.text = text[:200] + "…"
        return line
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        line.problems = [("(line)", f"not JSON: {exc.msg} at column {exc.colno}")]
        return line
    except RecursionError:
        line.problems = [("(line)", "JSON nested too deeply to be an event")]
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
    except RecursionError:
        line.problems = [("data", "nested too deeply to be an event")]
    if line.prepared is not None and len(line.prepared.value) > MAX_RECORD_BYTES:
        line.problems = [
            (
                "(line)",
                f"encodes to {len(line.prepared.value):,} bytes: more than "
                f"{MAX_RECORD_BYTES:,}, the most a record may be",
            )
        ]
        line.prepared = None
    return line


def check_file(
    preparer: Preparer, org: Org, stream: IO[bytes], progress: ProgressFactory = _Quiet
) -> Checked:
    """Check every line; same id twice with the same content is a duplicate, sent once."""
    ticker = progress("checked lines", None)
    checked = Checked([])
    seen: dict[str, Line] = {}
    for number, text, raw in read_lines(stream):
        line = check_line(preparer, org, number, text, raw)
        ticker.tick()
        if line.prepared is not None:
            first = seen.get(line.prepared.event_id)
            if first is not None:
                if first.submission == line.submission:
                    checked.duplicates.append((number, first))
                    continue
                line.problems = [("ref", f"already used on line {first.number} for another fact")]
                line.prepared = None
            else:
                seen[line.prepared.event_id] = line
        checked.lines.append(line)
    ticker.finish()
    return checked


def publish_file(
    org: Org,
    file: str,
    paths: Paths,
    preparer: Preparer,
    open_publisher: OpenPublisher,
    *,
    skip_invalid: bool,
    say: Say,
    progress: ProgressFactory,
) -> Outcome:
    """Check the file (`-`: standard input), publish it and write what became of each line."""
    try:
        if file == STDIN:
            checked = check_file(preparer, org, sys.stdin.buffer, progress)
        else:
            with open(file, "rb") as stream:
                checked = check_file(preparer, org, stream, progress)
    except OSError as exc:
        raise FilePublishError(f"cannot read {paths.source}: {exc}", EXIT_INVALID) from exc
    invalid = checked.invalid
    for line in invalid:
        for name, reason in line.problems or []:
            say(f"{paths.source}:{line.number}: {line.event_type or '(no type)'}: {name}: {reason}")
    total = len(checked.lines) + len(checked.duplicates)
    if invalid and not skip_invalid:
        say(
            f"{len(invalid)} invalid line(s) of {total}: nothing published "
            "(fix them, or use --skip-invalid to publish the valid lines)"
        )
        return Outcome(0, len(invalid), len(checked.duplicates), 0, True, None)
    if invalid:
        write_rejects(paths.rejects, invalid)
        say(f"{len(invalid)} rejected line(s) written to {paths.rejects}")
    valid = checked.valid
    receipts, unacked = send(open_publisher, valid, paths.unacked, say, progress)
    write_receipts(paths.receipts, valid, checked.duplicates, receipts)
    say(
        f"published {len(receipts)} · rejected {len(invalid)} · duplicates "
        f"{len(checked.duplicates)} (same event id in the file, sent once) · topic {org.value}"
    )
    say(f"receipts (line, event id, person key, topic, partition, offset): {paths.receipts}")
    return Outcome(
        len(receipts), len(invalid), len(checked.duplicates), unacked, False, paths.receipts
    )


def send(
    open_publisher: OpenPublisher,
    valid: list[Line],
    unacked_path: Path,
    say: Say,
    progress: ProgressFactory,
) -> tuple[list[Receipt], int]:
    """Send in chunks, each flushed; on the first broker error the rest goes to the unacked
    file. Returns the receipts of the acknowledged events and how many were not."""
    ticker = progress("acknowledged", len(valid))
    receipts: list[Receipt] = []
    unacked: list[Line] = []
    try:
        publisher = open_publisher()
    except ConnectionError as exc:
        write_unacked(unacked_path, valid)
        raise FilePublishError(
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
                receipts += publisher.flush()
                ticker.tick(len(chunk))
            except PublishError as exc:
                failed = {f.event_id for f in exc.failures}
                receipts += exc.receipts
                unacked = [ln for ln in chunk if ln.prepared and ln.prepared.event_id in failed]
                unacked += valid[start + FLUSH_EVERY :]
                say(f"broker error: {exc}")
                break
    ticker.finish()
    if unacked:
        write_unacked(unacked_path, unacked)
        say(f"{len(unacked)} event(s) not acknowledged, written to {unacked_path}:")
        for line in unacked[:20]:
            assert line.prepared is not None
            say(f"  line {line.number}: {line.prepared.event_type} {line.prepared.event_id}")
    return receipts, len(unacked)


def receipt_rows(
    valid: list[Line], duplicates: list[tuple[int, Line]], receipts: list[Receipt]
) -> list[dict[str, object]]:
    """One row per published line, in line order; a duplicate line gets the row of the line it
    repeats (its event was sent once) with `duplicate_of`."""
    by_id = {r.event_id: r for r in receipts}
    rows: list[tuple[int, Line, int | None]] = [(ln.number, ln, None) for ln in valid]
    rows += [(number, first, first.number) for number, first in duplicates]
    out: list[dict[str, object]] = []
    for number, line, duplicate_of in sorted(rows, key=lambda row: row[0]):
        assert line.prepared is not None
        receipt = by_id.get(line.prepared.event_id)
        if receipt is None:
            continue  # not acknowledged: in the unacked file, not published
        row: dict[str, object] = {
            "line": number,
            "event_id": receipt.event_id,
            "event_type": receipt.event_type,
            "ref": line.prepared.source_ref,
            "person_key": receipt.person_key,
            "topic": receipt.topic,
            "partition": receipt.partition,
            "offset": receipt.offset,
        }
        if duplicate_of is not None:
            row["duplicate_of"] = duplicate_of
        out.append(row)
    return out


def write_receipts(
    path: Path, valid: list[Line], duplicates: list[tuple[int, Line]], receipts: list[Receipt]
) -> None:
    with open(path, "w", encoding="utf-8") as out:
        for row in receipt_rows(valid, duplicates, receipts):
            out.write(json.dumps(row) + "\n")


def write_rejects(path: Path, lines: list[Line]) -> None:
    with open(path, "w", encoding="utf-8") as out:
        for line in lines:
            reasons = [{"field": f, "reason": r} for f, r in line.problems or []]
            out.write(json.dumps({"line": line.number, "errors": reasons, "input": line.text}))
            out.write("\n")


def write_unacked(path: Path, lines: list[Line]) -> None:
    with open(path, "w", encoding="utf-8") as out:
        for line in lines:
            out.write(line.text + "\n")
