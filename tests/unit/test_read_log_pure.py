"""The read log's pure parts: a declared purpose is required and must be text, and a read
continues the caller's W3C trace or starts a new one."""

from __future__ import annotations

import pytest

from projections.read_log import Purpose, PurposeError, trace


def test_a_purpose_is_required_and_is_plain_text() -> None:
    assert Purpose("toezicht AVG", "art. 6 lid 1 sub e AVG").legal_basis == "art. 6 lid 1 sub e AVG"
    for blank in ("", "   "):
        with pytest.raises(PurposeError) as refused:
            Purpose(blank)
        assert refused.value.field == "purpose"
    with pytest.raises(PurposeError) as control:
        Purpose("audit", "grond\x00slag")
    assert control.value.field == "legal_basis" and "control" in control.value.reason
    with pytest.raises(PurposeError, match="not valid Unicode"):
        Purpose("audit \ud800")


def test_a_read_continues_the_callers_trace_or_starts_its_own() -> None:
    caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    continued = trace(caller)
    assert continued.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert continued.span_id != "00f067aa0ba902b7" and len(continued.span_id) == 16
    assert continued.traceparent == f"00-{continued.trace_id}-{continued.span_id}-01"
    for bad in (None, "", "garbage", "00-" + "0" * 32 + "-00f067aa0ba902b7-01"):
        fresh = trace(bad)
        assert len(fresh.trace_id) == 32 and fresh.trace_id != "0" * 32
    assert trace().trace_id != trace().trace_id
