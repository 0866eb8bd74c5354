"""No V-nummer in free text: what looks like one in a reference, case id, correlation id or
any other unconstrained string is refused by the publisher (naming the line and field) and
dead-lettered by the gate (naming the field, never the value); ids and codes that merely hold
digits pass."""

from __future__ import annotations

import io
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from processors.checks import Reason
from processors.timeline import gate
from producers.file_publish import SeenIds, check_lines
from producers.prepare import InvalidEventError, Prepared, Preparer
from producers.submission import Submission
from schemas.codec import default_codec
from schemas.limits import V_NUMMER_PROBLEM, string_problem
from schemas.records import Raw
from schemas.topics import Org

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
PREPARER = Preparer(b"v" * 32, "urn:x", clock=lambda: NOW)


def record(type_: str, data: dict[str, Any], ref: str) -> Prepared:
    sub = Submission(
        type=type_, v_nummer="1234567890", occurred_at=NOW - timedelta(days=1), ref=ref, data=data
    )
    return PREPARER.prepare("COA", sub)


def _hostile(value: bytes, change: Any) -> bytes:
    """Re-encoded with `change`, past the publisher's validation (a plain Kafka client)."""
    codec = default_codec()
    decoded = codec.decode(value)
    change(decoded.record)
    return codec.encode(decoded.event_type, decoded.record, check=False)


def _reasons(records: list[Raw]) -> list[tuple[str, str]]:
    out = gate(default_codec(), records, NOW, partitions=None)
    return [
        (dict(d.headers)["dl_reason"].decode(), dict(d.headers)["dl_detail"].decode())
        for d in out.deadletters
    ]


@pytest.mark.parametrize(
    "text",
    [
        "1234567890",
        "1234.567.890",
        "1234 567 890",
        "1234-567-890",
        "ref of 1234.567-890 today",
        "IND-1234567890-c",
        "V-nummer: 1234567890.",
    ],
)
def test_what_looks_like_a_v_nummer_is_refused(text: str) -> None:
    assert string_problem(text) == V_NUMMER_PROBLEM
    assert "1234" not in V_NUMMER_PROBLEM, "the message never repeats the value"


@pytest.mark.parametrize(
    "text",
    [
        "IND-2026-000123",  # the publish format's own example reference
        "IND-ZAAK-2026-000123",
        "ZK00000001",  # the simulator's case ids
        "IND-1a2b3c4d-000000123-c",  # the simulator's refs
        "12345678901",  # eleven digits: not a V-nummer
        "00000000000000000001",  # an OIN
        "123456789",  # nine digits (a BSN is not this rule's business)
        "2026-03-02",
        "AZC-0123",
        "GM0363",
        "2026-I",
        str(uuid.UUID("12345678-1234-5678-1234-ab1234567890")),  # a UUID holding ten digits
        "H-5f1234567890abcdef0123456789ab",  # a hex id (uuid4().hex) holding ten digits
        "sha-1234567890f",
    ],
)
def test_ids_and_codes_with_digits_pass(text: str) -> None:
    assert string_problem(text) is None


def test_a_constrained_field_is_no_free_text() -> None:
    assert string_problem("1234567890", free_text=False) is None


def _line(**fields: Any) -> bytes:
    line = {
        "type": "ReceptionStarted",
        "v_nummer": "1234.567.890",
        "occurred_at": "2026-05-01T09:00:00Z",
        "ref": "COA-1",
        "data": {"reception_group": "OTHER"},
    }
    return json.dumps(line | fields).encode() + b"\n"


def test_publish_names_the_line_and_the_field() -> None:
    lines = [
        _line(),
        _line(ref="COA-1234.567.890"),
        _line(ref="COA-3", case_id="ZAAK 1234567890"),
        _line(ref="COA-4", correlation_id="1234-567-890"),
        _line(
            type="PlacedAtLocation",
            ref="COA-5",
            data={"location_id": "AZC-1234567890", "location_type": "AZC"},
        ),
    ]
    checked = check_lines(PREPARER, Org.COA, io.BytesIO(b"".join(lines)), SeenIds())
    problems = {line.number: line.problems for line in checked}
    assert not problems[1]
    assert problems[2] == [("ref", V_NUMMER_PROBLEM)]
    assert problems[3] == [("case_id", V_NUMMER_PROBLEM)]
    assert problems[4] == [("correlation_id", V_NUMMER_PROBLEM)]
    assert problems[5] == [("data.location_id", V_NUMMER_PROBLEM)]


def test_the_publisher_refuses_it_in_python_too() -> None:
    with pytest.raises(InvalidEventError) as refused:
        record("ReceptionStarted", {"reception_group": "OTHER"}, "COA-1234567890")
    assert "ref" in str(refused.value) and "V-nummer" in str(refused.value)


def test_the_gate_dead_letters_it_naming_the_field_not_the_value() -> None:
    good = record("ReceptionStarted", {"reception_group": "OTHER"}, "R-V1")
    topic, key, headers = "keten.coa.events", good.key, good.headers
    ts = int(NOW.timestamp() * 1000)

    def envelope(name: str, value: str) -> Any:
        return lambda r: r["envelope"].__setitem__(name, value)

    ref = _hostile(good.value, envelope("source_ref", "1234.567.890"))
    causation = _hostile(good.value, envelope("causation_id", "x 1234567890"))
    records = [
        Raw(topic, 0, 0, key, ref, headers, ts),
        Raw(topic, 0, 1, key, causation, headers, ts),
        Raw(topic, 0, 2, key, good.value, headers, ts),
    ]
    reasons = _reasons(records)
    assert [r for r, _ in reasons] == [Reason.V_NUMMER_IN_TEXT] * 2
    assert reasons[0][1] == f"envelope.source_ref: {V_NUMMER_PROBLEM}"
    assert reasons[1][1] == f"envelope.causation_id: {V_NUMMER_PROBLEM}"
    assert all("1234" not in detail for _, detail in reasons)
