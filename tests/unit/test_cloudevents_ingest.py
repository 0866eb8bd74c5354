"""CloudEvents of `POST /v1/gebeurtenissen` into publish lines (producers.cloudevents_ingest):
the envelope's own checks; each line is then checked as `ketenlog publish` checks one."""

from __future__ import annotations

import json

import pytest

from producers.cloudevents_ingest import BATCH, SINGLE, RequestError, parse
from schemas.cloudevents import ce_source
from schemas.registry import default_registry
from schemas.topics import Org

PREFIX = "urn:nld:oin:00000000000000000000"
LODGED = default_registry().ce_type("AsylumApplicationLodged")


def event(**over: object) -> dict[str, object]:
    e: dict[str, object] = {
        "specversion": "1.0",
        "id": "IND-2026-000123",
        "source": ce_source(Org.IND, PREFIX),
        "type": LODGED,
        "time": "2026-03-02T09:30:00+01:00",
        "datacontenttype": "application/json",
        "data": {"v_nummer": "1234.567.890", "data": {"application_type": "FIRST"}},
    }
    e.update(over)
    return e


def test_the_cloudevent_gives_the_line_its_type_ref_and_valid_time() -> None:
    (one,) = parse(SINGLE, json.dumps(event()).encode(), Org.IND, PREFIX)
    assert one.problems == [] and one.line is not None
    line = json.loads(one.line.data)
    assert line["type"] == "AsylumApplicationLodged"
    assert line["ref"] == "IND-2026-000123"
    assert line["occurred_at"] == "2026-03-02T09:30:00+01:00"


def test_each_event_of_a_batch_names_its_own_problems() -> None:
    body = [event(), event(specversion="0.3", id=""), event(type="nl.nergens.v1"), 7]
    got = parse(BATCH, json.dumps(body).encode(), Org.IND, PREFIX)
    assert [g.index for g in got] == [0, 1, 2, 3]
    assert got[0].problems == []
    assert {f for f, _ in got[1].problems} == {"id", "specversion"}
    assert [f for f, _ in got[2].problems] == ["type"]
    assert got[3].problems == [("(event)", "not a JSON object")]


def test_another_organisations_source_is_marked() -> None:
    (one,) = parse(
        SINGLE, json.dumps(event(source=ce_source(Org.COA, PREFIX))).encode(), Org.IND, PREFIX
    )
    assert one.foreign_source and one.line is None


def test_the_envelope_and_data_must_agree() -> None:
    data = {"type": "AsylumDecisionTaken", "ref": "other", "occurred_at": "2026-01-01T00:00:00Z"}
    (one,) = parse(SINGLE, json.dumps(event(data=data)).encode(), Org.IND, PREFIX)
    assert sorted(f for f, _ in one.problems) == ["id", "time", "type"]


@pytest.mark.parametrize(
    ("content_type", "body", "status"),
    [
        ("application/json", b"{}", 415),
        (SINGLE, b"{not json", 400),
        (BATCH, b"{}", 400),
        (BATCH, b"[]", 400),
        (f"{BATCH}; charset=utf-8", b"\xff", 400),
    ],
)
def test_a_request_that_is_not_cloudevents_is_refused_whole(
    content_type: str, body: bytes, status: int
) -> None:
    with pytest.raises(RequestError) as refused:
        parse(content_type, body, Org.IND, PREFIX)
    assert refused.value.status == status
