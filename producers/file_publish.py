"""An agency's JSONL file onto its topic (`ketenlog publish`), streamed: read, checked and sent in
bounded chunks, so memory does not grow with the file. By default two passes over the input:
the first checks every line and keeps nothing (so nothing is sent when any line is invalid),
the second checks again and sends; with `skip_invalid` one pass that checks and sends. Standard
input is first copied to a temporary file, so it can be read twice. Event ids already met live
in a temporary on-disk index (`SeenIds`), not in memory. Four files next to the input say what
happened to each line — rejects (with reasons), unacknowledged lines (ready to send again) and
receipts (the event id, person key, topic, partition and offset of every published line, the
ids an agency needs to correct or retract an event or to name a sponsor).

Exit status: 0 all published · 1 invalid lines, nothing published · 3 with `skip_invalid`: the
valid lines published, the rejected ones in the rejects file · 4 the broker did not acknowledge
some events (they are in the unacked file, ready to send again; their ids do not change).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

from pydantic import ValidationError

from producers.prepare import InvalidEventError, Prepared, Preparer
from producers.private_files import open_private
from producers.publisher import Publisher, PublishError, Receipt
from producers.submission import Submission, problems_of
from schemas.topics import Org

EXIT_INVALID = 1
EXIT_PARTIAL = 3
EXIT_UNACKED = 4
STDIN = "-"
# No event comes near these; the broker refuses records over 1 MiB (message.max.bytes), and a
# line this long is a mistake to name, not to send and have refused.
MAX_LINE_BYTES = 64 * 1024
MAX_RECORD_BYTES = 512 * 1024
# A chunk is sent, then flushed (acknowledged) before the next is read: what is held at once.
CHUNK_LINES = 5_000
CHUNK_BYTES = 4 * 1024 * 1024
# What an over-long line keeps of itself for the rejects file.
SHOWN_OF_LONG_LINE = 200


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


@dataclass(frozen=True)
class RawLine:
    """A non-blank input line: its number, byte offset, bytes (cut off after MAX_LINE_BYTES)
    and full size in bytes."""

    number: int
    offset: int
    data: bytes
    size: int


@dataclass
class Line:
    number: int
    text: str
    prepared: Prepared | None = None
    submission: Submission | None = None
    problems: list[tuple[str, str]] | None = None
    event_type: str = ""
    # A repeat of that earlier line (same event id, same content): sent once, with its receipt.
    duplicate_of: int | None = None


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


def read_lines(stream: IO[bytes]) -> Iterator[RawLine]:
    """Every non-blank line, never more than MAX_LINE_BYTES of one in memory: the rest of a
    longer line is read past in pieces and only counted."""
    offset = 0
    number = 0
    while True:
        data = stream.readline(MAX_LINE_BYTES + 1)
        if not data:
            return
        number += 1
        size = len(data)
        if len(data) > MAX_LINE_BYTES and not data.endswith(b"\n"):
            while True:
                rest = stream.readline(1 << 20)
                size += len(rest)
                if not rest or rest.endswith(b"\n"):
                    break
        if data.strip():
            yield RawLine(number, offset, data, size)
        offset += size


def check_line(preparer: Preparer, org: Org, raw_line: RawLine) -> Line:
    """One line checked and prepared, or its problems (field, reason)."""
    raw_bytes = raw_line.data
    try:
        text = raw_bytes.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError:
        text = None
    line = Line(raw_line.number, text if text is not None else raw_bytes.decode("utf-8", "replace"))
    if raw_line.size > MAX_LINE_BYTES:
        line.problems = [
            (
                "(line)",
                f"{raw_line.size:,} bytes: longer than {MAX_LINE_BYTES:,}, "
                "the most an event may be",
            )
        ]
        line.text = line.text[:SHOWN_OF_LONG_LINE] + "…"
        return line
    if text is None:
        line.problems = [("(line)", "not UTF-8 text")]
        return line
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        line.problems = [("(line)", f"not JSON: {exc.msg} at column {exc.colno}")]
        return line
    except RecursionError:
        line.problems = [("(line)", "JSON nested too deeply to be an event")]
        return line
    except ValueError as exc:
        # The json module refuses an integer of more than 4,300 digits this way.
        line.problems = [("(line)", f"not JSON an event can hold: {str(exc).split(':')[0]}")]
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


class SeenIds:
    """The event ids met so far in a file — each with its first line, that line's byte offset
    and, once acknowledged, where it was stored — in a private temporary SQLite database on
    disk (deleted on close), so a file of any length is de-duplicated in bounded memory."""

    def __init__(self) -> None:
        # "": SQLite's private temporary on-disk database; its page cache is bounded (2 MB).
        self._db = sqlite3.connect("")
        self._db.execute("PRAGMA journal_mode = OFF")
        self._db.execute("PRAGMA synchronous = OFF")
        self._db.execute(
            "CREATE TABLE seen (event_id TEXT PRIMARY KEY, line INTEGER, byte_offset INTEGER,"
            " topic TEXT, partition INTEGER, kafka_offset INTEGER) WITHOUT ROWID"
        )

    def first(self, event_id: str, line: int, offset: int) -> tuple[int, int] | None:
        """Record `event_id` at this line; or, when met before, (line, byte offset) there."""
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO seen (event_id, line, byte_offset) VALUES (?, ?, ?)",
            (event_id, line, offset),
        )
        if cursor.rowcount:
            return None
        row = self._db.execute(
            "SELECT line, byte_offset FROM seen WHERE event_id = ?", (event_id,)
        ).fetchone()
        return (int(row[0]), int(row[1])) if row else None

    def acknowledged(self, receipts: list[Receipt]) -> None:
        self._db.executemany(
            "UPDATE seen SET topic = ?, partition = ?, kafka_offset = ? WHERE event_id = ?",
            [(r.topic, r.partition, r.offset, r.event_id) for r in receipts],
        )

    def stored_at(self, event_id: str) -> tuple[str, int, int] | None:
        """(topic, partition, offset) of an acknowledged event id."""
        row = self._db.execute(
            "SELECT topic, partition, kafka_offset FROM seen WHERE event_id = ?"
            " AND kafka_offset IS NOT NULL",
            (event_id,),
        ).fetchone()
        return (str(row[0]), int(row[1]), int(row[2])) if row else None

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> SeenIds:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def check_lines(preparer: Preparer, org: Org, stream: IO[bytes], seen: SeenIds) -> Iterator[Line]:
    """Every line of a seekable stream, checked, in order. The same event id twice with the
    same content is a duplicate (`duplicate_of`), sent once; with other content it is invalid.
    The earlier line is read again from the stream to compare, so nothing is kept."""
    for raw_line in read_lines(stream):
        line = check_line(preparer, org, raw_line)
        if line.prepared is not None:
            earlier = seen.first(line.prepared.event_id, line.number, raw_line.offset)
            if earlier is not None:
                number, offset = earlier
                if _submission_at(stream, offset) == line.submission:
                    line.duplicate_of = number
                else:
                    line.problems = [("ref", f"already used on line {number} for another fact")]
                    line.prepared = None
        line.submission = None
        yield line


def _submission_at(stream: IO[bytes], offset: int) -> Submission | None:
    """The submission of the line at `offset`; the stream's position is kept."""
    here = stream.tell()
    try:
        stream.seek(offset)
        return Submission.model_validate_json(stream.readline(MAX_LINE_BYTES + 1))
    except ValidationError:
        return None  # the file changed under us: not the same content
    finally:
        stream.seek(here)


def _say_problems(say: Say, source: str, line: Line) -> None:
    for name, reason in line.problems or []:
        say(f"{source}:{line.number}: {line.event_type or '(no type)'}: {name}: {reason}")


@contextlib.contextmanager
def _opened(file: str) -> Iterator[IO[bytes]]:
    """The input as a seekable binary stream; standard input copied to a temporary file."""
    if file != STDIN:
        with open(file, "rb") as stream:
            yield stream
        return
    with tempfile.TemporaryFile() as spool:
        shutil.copyfileobj(sys.stdin.buffer, spool, 1 << 20)
        spool.seek(0)
        yield spool


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
        with _opened(file) as stream:
            to_send = None
            if not skip_invalid:
                refused, to_send = _validate(
                    preparer, org, stream, paths, say=say, progress=progress
                )
                if refused is not None:
                    return refused
                stream.seek(0)
            sender = _Sender(open_publisher, paths, say, progress("acknowledged", to_send))
            with sender, SeenIds() as seen:
                for line in check_lines(preparer, org, stream, seen):
                    if line.problems:
                        _say_problems(say, paths.source, line)
                        sender.reject(line)
                    else:
                        sender.add(line, seen)
                sender.finish(seen)
    except OSError as exc:
        # Reading the input or writing what became of its lines (the error names the file).
        raise FilePublishError(f"cannot publish {paths.source}: {exc}", EXIT_INVALID) from exc
    if sender.unreachable is not None:
        raise FilePublishError(
            f"{sender.unreachable}; nothing published, all {sender.unacked} lines written to "
            f"{paths.unacked}",
            EXIT_UNACKED,
        )
    if sender.rejected:
        say(f"{sender.rejected} rejected line(s) written to {paths.rejects}")
    if sender.unacked:
        say(f"{sender.unacked} event(s) not acknowledged, written to {paths.unacked}")
    say(
        f"published {sender.published} · rejected {sender.rejected} · duplicates "
        f"{sender.duplicates} (same event id in the file, sent once) · topic {org.value}"
    )
    say(f"receipts (line, event id, person key, topic, partition, offset): {paths.receipts}")
    return Outcome(
        sender.published,
        sender.rejected,
        sender.duplicates,
        sender.unacked,
        False,
        paths.receipts,
    )


def _validate(
    preparer: Preparer,
    org: Org,
    stream: IO[bytes],
    paths: Paths,
    *,
    say: Say,
    progress: ProgressFactory,
) -> tuple[Outcome | None, int]:
    """The first pass: every line checked, every problem said, nothing kept. The Outcome of a
    refused file (None when every line is valid) and how many events there are to send."""
    ticker = progress("checked lines", None)
    invalid = duplicates = total = 0
    with SeenIds() as seen:
        for line in check_lines(preparer, org, stream, seen):
            total += 1
            ticker.tick()
            if line.problems:
                invalid += 1
                _say_problems(say, paths.source, line)
            elif line.duplicate_of is not None:
                duplicates += 1
    ticker.finish()
    if not invalid:
        return None, total - duplicates
    say(
        f"{invalid} invalid line(s) of {total}: nothing published "
        "(fix them, or use --skip-invalid to publish the valid lines)"
    )
    return Outcome(0, invalid, duplicates, 0, True, None), 0


class _Sender:
    """The second pass's output side: valid lines gathered into chunks, each sent and flushed
    before the next; after the first broker error the rest goes to the unacked file."""

    def __init__(
        self, open_publisher: OpenPublisher, paths: Paths, say: Say, ticker: Ticker
    ) -> None:
        self._open_publisher = open_publisher
        self._paths = paths
        self._say = say
        self._ticker = ticker
        self._files = contextlib.ExitStack()
        self._publisher: Publisher | None = None
        self._receipts: IO[str] | None = None
        self._rejects: IO[str] | None = None
        self._unacked: IO[str] | None = None
        self._chunk: list[Line] = []
        self._chunk_bytes = 0
        # The chunk's lines already handed to the publisher, which sends them (with a sending
        # process, while the next lines are checked) before the chunk's flush.
        self._sent: list[Line] = []
        self._broken = False
        self.unreachable: str | None = None
        self.published = self.rejected = self.duplicates = self.unacked = 0

    def __enter__(self) -> _Sender:
        return self

    def __exit__(self, *exc: object) -> None:
        self._files.close()

    def _open(self, path: Path) -> IO[str]:
        # Rejects and resend files hold the input lines, V-nummers included.
        return self._files.enter_context(open_private(path))

    def reject(self, line: Line) -> None:
        self.rejected += 1
        if self._rejects is None:
            self._rejects = self._open(self._paths.rejects)
        reasons = [{"field": f, "reason": r} for f, r in line.problems or []]
        self._rejects.write(
            json.dumps({"line": line.number, "errors": reasons, "input": line.text}) + "\n"
        )

    def add(self, line: Line, seen: SeenIds) -> None:
        self._chunk.append(line)
        self._chunk_bytes += len(line.text)
        if line.duplicate_of is None and not self._broken:
            publisher = self._opened()
            if publisher is not None:
                assert line.prepared is not None
                publisher.send_prepared(line.prepared)
                self._sent.append(line)
        if len(self._chunk) >= CHUNK_LINES or self._chunk_bytes >= CHUNK_BYTES:
            self._send_chunk(seen)

    def finish(self, seen: SeenIds) -> None:
        self._send_chunk(seen)
        self._ticker.finish()
        if self._receipts is None and self.unreachable is None:
            self._receipts = self._open(self._paths.receipts)  # nothing to send: no receipts

    def _send_chunk(self, seen: SeenIds) -> None:
        chunk, self._chunk, self._chunk_bytes = self._chunk, [], 0
        self.duplicates += sum(1 for line in chunk if line.duplicate_of is not None)
        sent, self._sent = self._sent, []
        handed = {id(line) for line in sent}
        acked: dict[str, Receipt] = {}
        if sent:
            acked = self._flush(sent)
            seen.acknowledged(list(acked.values()))
        # Fresh lines not handed over: the broker was unreachable, or an earlier chunk broke.
        self._write_unacked(
            [ln for ln in chunk if ln.duplicate_of is None and id(ln) not in handed]
        )
        # Duplicates of lines acknowledged in an earlier chunk have receipts even now.
        self._write_receipts(chunk, acked, seen)

    def _opened(self) -> Publisher | None:
        """The publisher, opened on the first line to send; None when the broker is
        unreachable (then every line goes to the unacked file)."""
        if self._publisher is None and not self._broken:
            try:
                self._publisher = self._files.enter_context(self._open_publisher())
            except ConnectionError as exc:
                self._broken = True
                self.unreachable = str(exc)
                return None
            self._receipts = self._open(self._paths.receipts)
        return self._publisher

    def _flush(self, sent: list[Line]) -> dict[str, Receipt]:
        publisher = self._publisher
        assert publisher is not None
        try:
            receipts = publisher.flush()
        except PublishError as exc:
            self._broken = True
            failed = {f.event_id for f in exc.failures}
            self._say(f"broker error: {exc}")
            self._write_unacked([ln for ln in sent if _event_id(ln) in failed])
            receipts = exc.receipts
        self.published += len(receipts)
        self._ticker.tick(len(receipts))
        return {r.event_id: r for r in receipts}

    def _write_receipts(self, chunk: list[Line], acked: dict[str, Receipt], seen: SeenIds) -> None:
        if self._receipts is None:
            return
        for row in receipt_rows(chunk, acked, seen.stored_at):
            self._receipts.write(json.dumps(row) + "\n")

    def _write_unacked(self, lines: list[Line]) -> None:
        if not lines:
            return
        if self._unacked is None:
            self._unacked = self._open(self._paths.unacked)
        for line in lines:
            if self.unacked < 20 and self.unreachable is None:
                assert line.prepared is not None
                self._say(
                    f"  not acknowledged: line {line.number}: {line.prepared.event_type} "
                    f"{line.prepared.event_id}"
                )
            self.unacked += 1
            self._unacked.write(line.text + "\n")


def _event_id(line: Line) -> str | None:
    return line.prepared.event_id if line.prepared is not None else None


StoredAt = Callable[[str], tuple[str, int, int] | None]


def receipt_rows(
    lines: list[Line], acked: dict[str, Receipt], stored_at: StoredAt
) -> list[dict[str, object]]:
    """One row per published line of a chunk, in line order; a duplicate line gets the row of
    the line it repeats (its event was sent once) with `duplicate_of`: from this chunk's
    acknowledgements, or where an earlier chunk's were stored."""
    out: list[dict[str, object]] = []
    for line in lines:
        prepared = line.prepared
        assert prepared is not None
        receipt = acked.get(prepared.event_id)
        if receipt is not None:
            where: tuple[str, int, int] | None = (receipt.topic, receipt.partition, receipt.offset)
        elif line.duplicate_of is not None:
            where = stored_at(prepared.event_id)
        else:
            where = None
        if where is None:
            continue  # not acknowledged: in the unacked file, not published
        row: dict[str, object] = {
            "line": line.number,
            "event_id": prepared.event_id,
            "event_type": prepared.event_type,
            "ref": prepared.source_ref,
            "person_key": prepared.key.decode(),
            "topic": where[0],
            "partition": where[1],
            "offset": where[2],
        }
        if line.duplicate_of is not None:
            row["duplicate_of"] = line.duplicate_of
        out.append(row)
    return out
