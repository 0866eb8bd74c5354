"""`ketenlog publish`'s JSONL parser fuzzed (producers/file_publish.py, producers/submission.py,
producers/prepare.py): hostile lines — bytes that are no UTF-8, NUL bytes and escaped NULs,
lines far over the limit, deep nesting, huge numbers, fields of the wrong type, times out of
range — among valid lines. Each hostile line is one rejected line with (field, reason), never
an exception; each valid line is prepared, and with `skip_invalid` every valid one is sent and
every hostile one is in the rejects file under its line number. The broker side is a stand-in
(the real one is in tests/integration/test_publish.py). Budgets are fixed and the runs
derandomized; the counts are in docs/security.md ("Hostile input (fuzzing)")."""

from __future__ import annotations

import io
import json
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from producers.file_publish import (
    MAX_LINE_BYTES,
    Line,
    Paths,
    SeenIds,
    check_lines,
    publish_file,
)
from producers.prepare import Prepared, Preparer
from producers.publisher import Receipt
from schemas.topics import Org

FUZZ = settings(
    max_examples=200,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PREPARER = Preparer(b"f" * 32, "urn:nld:oin:00000000000000000000")
START = datetime(2026, 3, 1, tzinfo=UTC)


def valid(i: int) -> dict[str, Any]:
    return {
        "type": "ReceptionStarted",
        "v_nummer": f"{8_800_000_000 + i:010d}",
        "occurred_at": (START + timedelta(minutes=i)).isoformat(),
        "ref": f"COA-FUZZ-{i}",
        "data": {"reception_group": "ASYLUM_SEEKER"},
    }


def _line(obj: Any) -> bytes:
    return json.dumps(obj, allow_nan=True).encode()


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=30)
    | st.sampled_from(
        [
            2**64,
            -(2**63) - 1,
            1e308,
            float("inf"),
            "\x00",
            "\ud800",
            "1234.567.890",
            "9999-12-31T23:59:59-23:59",
        ]
    ),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)
FIELDS = [
    "type",
    "occurred_at",
    "recorded_at",
    "v_nummer",
    "person_key",
    "ref",
    "case_id",
    "corrects",
    "retracts",
    "sensitivity",
    "correlation_id",
    "causation_id",
    "data",
    "data.reception_group",
    "extra",
]
TIMES = st.datetimes(
    min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.timezones()
).map(lambda t: t.isoformat()) | st.sampled_from(
    ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "2026-02-30T00:00:00Z", "now"]
)


@st.composite
def hostile_lines(draw: st.DrawFn, n: int) -> tuple[bytes, bool]:
    """One hostile line (without its newline) and whether it is certainly invalid."""
    base = _line({**valid(n), "ref": f"HOSTILE-{n}"})
    how = draw(
        st.sampled_from(
            ["bytes", "not_utf8", "nul", "enormous", "deep", "field", "time", "huge_number"]
        )
    )
    if how == "bytes":
        return draw(st.binary(max_size=300)).replace(b"\n", b" "), False
    if how == "not_utf8":
        at = draw(st.integers(0, len(base)))
        bad = draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80"]))
        return base[:at] + bad + base[at:], True
    if how == "nul":
        at = draw(st.integers(0, len(base)))
        nul = draw(st.sampled_from([b"\x00", b"\\u0000"]))
        return base[:at] + nul + base[at:], False
    if how == "enormous":
        size = draw(st.sampled_from([MAX_LINE_BYTES + 1, MAX_LINE_BYTES * 3, 3 << 20]))
        return base[:-1] + b', "pad": "' + b"x" * size + b'"}', True
    if how == "deep":
        depth = draw(st.integers(1, 30_000))
        opening = draw(st.sampled_from([b"[", b'{"a":']))
        closing = b"]" if opening == b"[" else b"}"
        nested = opening * depth + b"1" + closing * depth
        return b'{"type": "ReceptionStarted", "data": ' + nested + b"}", True
    if how == "huge_number":
        return base[:-1] + b', "x": ' + b"9" * draw(st.integers(4301, 60_000)) + b"}", True
    obj: dict[str, Any] = {**valid(n), "ref": f"HOSTILE-{n}"}
    if how == "time":
        obj[draw(st.sampled_from(["occurred_at", "recorded_at"]))] = draw(TIMES)
        return _line(obj), False
    field = draw(st.sampled_from(FIELDS))
    value = draw(JSON)
    if field.startswith("data."):
        obj["data"] = {**obj["data"], field[5:]: value}
    else:
        obj[field] = value
    return _line(obj), False


@st.composite
def files(draw: st.DrawFn) -> tuple[list[bytes], list[bool | None]]:
    """Lines of a file: valid ones (None) and hostile ones (certainly invalid or not), mixed."""
    kinds = draw(st.lists(st.booleans(), min_size=1, max_size=12))
    lines: list[bytes] = []
    certain: list[bool | None] = []
    for n, is_valid in enumerate(kinds):
        if is_valid:
            lines.append(_line(valid(n)))
            certain.append(None)
        else:
            data, invalid = draw(hostile_lines(n))
            if not data.strip():
                data = b"{}"  # a blank line is skipped, not a line
            lines.append(data)
            certain.append(invalid)
    return lines, certain


def _checked(lines: list[bytes]) -> list[Line]:
    stream = io.BytesIO(b"".join(x + b"\n" for x in lines))
    with SeenIds() as seen:
        return list(check_lines(PREPARER, Org.COA, stream, seen))


# Found by this fuzzer: both escaped publish as exceptions (ValueError, OverflowError).
FOUND = [
    b'{"type": "ReceptionStarted", "x": ' + b"9" * 4301 + b"}",
    _line({**valid(1), "occurred_at": "0001-01-01T00:00:00+01:00"}),
    _line({**valid(2), "recorded_at": "9999-12-31T23:59:59-01:00"}),
]


@FUZZ
@given(files())
@example(([_line(valid(0)), *FOUND], [None, True, True, True]))
def test_every_hostile_line_is_rejected_naming_the_field_and_no_valid_line_is_lost(
    file: tuple[list[bytes], list[bool | None]],
) -> None:
    lines, certain = file
    checked = _checked(lines)
    assert [c.number for c in checked] == list(range(1, len(lines) + 1))
    for line, invalid in zip(checked, certain, strict=True):
        if invalid is None:
            assert line.problems is None and line.prepared is not None, line.problems
            continue
        if invalid:
            assert line.problems, f"line {line.number} should be rejected"
        if line.problems:
            assert line.prepared is None
            for field, reason in line.problems:
                assert field.strip() and reason.strip()
                event(f"rejected: {field.split('.')[0]}")  # the fields the run reached


class Silent:
    def __init__(self, label: str, total: int | None) -> None:
        pass

    def tick(self, n: int = 1) -> None:
        pass

    def finish(self) -> None:
        pass


class StandIn:
    """A publisher that acknowledges everything it is sent."""

    def __init__(self) -> None:
        self.pending: list[Prepared] = []
        self.sent: list[str] = []

    def send_prepared(self, prepared: Prepared) -> None:
        self.pending.append(prepared)

    def flush(self) -> list[Receipt]:
        out = [
            Receipt(p.event_id, p.event_type, "keten.coa.events", 0, len(self.sent) + i, "k")
            for i, p in enumerate(self.pending)
        ]
        self.sent += [p.event_id for p in self.pending]
        self.pending = []
        return out

    def __enter__(self) -> StandIn:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


@settings(FUZZ, max_examples=60)
@given(files())
def test_publish_with_skip_invalid_sends_every_valid_line_and_names_every_rejected_one(
    file: tuple[list[bytes], list[bool | None]],
) -> None:
    lines, certain = file
    checked = _checked(lines)
    rejected = {c.number for c in checked if c.problems}
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "coa.jsonl"
        source.write_bytes(b"".join(x + b"\n" for x in lines))
        stand_in = StandIn()
        outcome = publish_file(
            Org.COA,
            str(source),
            Paths.beside(str(source)),
            PREPARER,
            lambda: stand_in,  # type: ignore[arg-type,return-value]
            skip_invalid=True,
            say=lambda _: None,
            progress=Silent,
        )
        rejects_file = Path(tmp) / "coa.jsonl.rejects.jsonl"
        rows = [json.loads(x) for x in rejects_file.read_text().splitlines()] if rejected else []
    valid_ids = [c.prepared.event_id for c in checked if c.prepared is not None]
    assert sorted(stand_in.sent) == sorted(set(valid_ids)), "a valid line was not sent"
    assert all(c.prepared is not None for c, i in zip(checked, certain, strict=True) if i is None)
    assert outcome.rejected == len(rejected)
    assert {r["line"] for r in rows} == rejected
    assert all(r["errors"] and all(e["field"] and e["reason"] for e in r["errors"]) for r in rows)
