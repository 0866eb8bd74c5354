"""The chain simulator on small runs: determinism, the contract, the feed noise, and ground
truth that agrees with what was yielded."""

from __future__ import annotations

import itertools
import json
import re
import stat
from collections import Counter, defaultdict
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import fastavro
import pytest
from fastavro.validation import validate

from producers.identity import event_id
from producers.simulator import SimParams, Simulation, simulate
from producers.simulator.output import write
from producers.submission import Submission
from schemas.topics import CO_PUBLISHERS, Org

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas" / "avro"
DUMMY_ENVELOPE: dict[str, Any] = {
    "event_id": "00000000-0000-0000-0000-000000000000",
    "event_type": "x",
    "producer": "IND",
    "person_key": "0" * 64,
    "case_id": None,
    "occurred_at": 0,
    "recorded_at": 0,
    "producer_seq": 0,
    "corrects": None,
    "retracts": None,
    "sensitivity": "NORMAL",
    "correlation_id": None,
    "causation_id": None,
    "source_ref": None,
}


@pytest.fixture(scope="module")
def sim() -> Simulation:
    return simulate(SimParams(seed=5, scale=0.03))


@pytest.fixture(scope="module")
def stream(sim: Simulation) -> list[tuple[Org, Submission]]:
    return list(sim.submissions())


def effective(stream: list[tuple[Org, Submission]]) -> list[tuple[Org, Submission]]:
    """What a consumer keeps: each event once, corrected and retracted ones removed."""
    seen: dict[str, tuple[Org, Submission]] = {}
    gone: set[str] = set()
    for org, sub in stream:
        seen.setdefault(event_id(org.value, sub.ref), (org, sub))
        if sub.corrects:
            gone.add(sub.corrects)
        if sub.retracts:
            gone.add(sub.retracts)
    return [(o, s) for i, (o, s) in seen.items() if i not in gone and s.type != "EventRetracted"]


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    params = SimParams(seed=11, scale=0.005, warmup_months=6)
    write(simulate(params), tmp_path / "a")
    write(simulate(params), tmp_path / "b")
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert "ground_truth.json" in names and "ind.jsonl" in names
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    other = simulate(replace(params, seed=12))
    assert other.truth != simulate(params).truth
    # The agency files hold V-nummers: owner-only, in a folder of the owner's.
    assert stat.S_IMODE((tmp_path / "a").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "a" / "ind.jsonl").stat().st_mode) == 0o600


def test_lines_are_what_validation_would_write(stream: list[tuple[Org, Submission]]) -> None:
    for _, sub in stream[::97]:
        line = sub.model_dump_json(exclude_none=True)
        assert Submission.model_validate_json(line).model_dump_json(exclude_none=True) == line


def _schemas() -> dict[str, Any]:
    """Each type's latest version (the one the publisher writes)."""
    out = {}
    for path in sorted(SCHEMAS.glob("*/*.avsc"), key=lambda p: int(p.name.split(".v")[1][:-5])):
        out[path.name.split(".")[0]] = fastavro.parse_schema(json.loads(path.read_text()))
    return out


def test_every_payload_matches_its_schema(stream: list[tuple[Org, Submission]]) -> None:
    schemas = _schemas()
    checked: set[str] = set()
    for org, sub in stream:
        assert sub.type in schemas, sub.type
        folder = next(SCHEMAS.glob(f"*/{sub.type}.v1.avsc")).parent.name
        co_published = org in CO_PUBLISHERS.get(sub.type, frozenset())
        assert folder in (org.value.lower(), "common") or co_published, (org, sub.type)
        record = {"envelope": DUMMY_ENVELOPE, **sub.data}
        assert validate(record, schemas[sub.type], raise_errors=True)
        assert sub.recorded_at is not None and sub.occurred_at <= sub.recorded_at
        checked.add(sub.type)
    assert len(checked) >= 50


def test_subject_events_carry_no_person(stream: list[tuple[Org, Submission]]) -> None:
    for _, sub in stream:
        keyed = sub.type.startswith("Location") or sub.type == "HousingTaskPublished"
        assert (sub.v_nummer is None) == keyed, sub.type
        if sub.v_nummer is not None:
            assert re.fullmatch(r"\d{10}", sub.v_nummer)


def test_v_nummers_only_in_their_field(stream: list[tuple[Org, Submission]]) -> None:
    numbers = {sub.v_nummer for _, sub in stream if sub.v_nummer}
    for _, sub in stream:
        rest = sub.model_dump_json(exclude_none=True, exclude={"v_nummer"})
        for run in re.findall(r"\d{10,}", rest):
            assert run not in numbers


def test_resends_are_identical(stream: list[tuple[Org, Submission]]) -> None:
    by_id: dict[str, str] = {}
    resent = 0
    for org, sub in stream:
        line = sub.model_dump_json(exclude_none=True)
        key = event_id(org.value, sub.ref)
        if key in by_id:
            assert by_id[key] == line
            resent += 1
        by_id[key] = line
    assert resent > 0


def test_corrections_and_retractions_point_to_earlier_events(
    stream: list[tuple[Org, Submission]],
) -> None:
    sent: dict[str, tuple[Org, Submission]] = {}
    corrections = retractions = 0
    for org, sub in stream:
        target = sub.corrects or sub.retracts
        if target:
            assert target in sent, "points to an event not sent before"
            first_org, first = sent[target]
            assert first_org == org and first.v_nummer == sub.v_nummer
            if sub.corrects:
                corrections += 1
                assert first.type == sub.type
            else:
                retractions += 1
                assert sub.type == "EventRetracted"
        sent.setdefault(event_id(org.value, sub.ref), (org, sub))
    assert corrections > 0 and retractions > 0


def test_delivery_order_is_by_recording_not_by_occurrence(
    stream: list[tuple[Org, Submission]],
) -> None:
    occurred = [sub.occurred_at for _, sub in stream]
    assert any(a > b for a, b in itertools.pairwise(occurred))
    late = sum(1 for _, s in stream if s.recorded_at and (s.recorded_at - s.occurred_at).days >= 2)
    assert late / len(stream) > 0.02


def test_inflow_and_departures_in_ground_truth_match_the_stream(
    sim: Simulation,
    stream: list[tuple[Org, Submission]],
) -> None:
    inflow: dict[str, Counter[str]] = defaultdict(Counter)
    departures: dict[str, Counter[str]] = defaultdict(Counter)
    demonstrable: Counter[str] = Counter()
    start, end = sim.params.start, sim.params.end
    for _, sub in effective(stream):
        day = sub.occurred_at.date()
        if not start <= day <= end:
            continue
        month = day.strftime("%Y-%m")
        if sub.type == "AsylumApplicationLodged" and sub.data["application_type"] != "NAREIS":
            inflow[month][sub.data["application_type"]] += 1
        elif sub.type == "ArrivalReported" and sub.data["applicant_group"] == "MVV_HOLDER":
            inflow[month]["NAREIS"] += 1
        elif sub.type == "DepartedWithoutSupervision":
            departures[month]["UNSUPERVISED"] += 1
        elif sub.type == "DepartedIndependently":
            departures[month]["INDEPENDENT"] += 1
            demonstrable[month] += 1
        elif sub.type == "ForcedReturnExecuted":
            # DT&V counts a Dublin transfer as a forced, so demonstrable, departure.
            kind = "DUBLIN_TRANSFER" if sub.data["destination"] == "DUBLIN" else "FORCED"
            departures[month][kind] += 1
            demonstrable[month] += 1
    for month, row in sim.truth["inflow"].items():
        assert {k: v for k, v in row.items() if v} == dict(inflow[month]), month
    for month, row in sim.truth["departures"].items():
        for kind in ("UNSUPERVISED", "INDEPENDENT", "FORCED", "DUBLIN_TRANSFER"):
            assert row[kind] == departures[month][kind], (month, kind)
    assert sim.truth["demonstrable_departures"] == {
        m: demonstrable[m] for m in sim.truth["departures"]
    }
    assert sum(departures[m]["DUBLIN_TRANSFER"] for m in departures) > 0


def test_lifecycle_counts_every_opened_asylum_case(
    sim: Simulation,
    stream: list[tuple[Org, Submission]],
) -> None:
    opened: dict[str, date] = {}
    for _, sub in effective(stream):
        if sub.type == "ArrivalReported" and sub.data["applicant_group"] != "MVV_HOLDER":
            assert sub.case_id is not None
            opened[sub.case_id] = min(opened.get(sub.case_id, date.max), sub.occurred_at.date())
    for month, states in sim.truth["lifecycle"].items():
        y, m = map(int, month.split("-"))
        first_of_next = date(y + m // 12, m % 12 + 1, 1)
        assert sum(states.values()) == sum(1 for d in opened.values() if d < first_of_next)


def test_shares_on_a_small_run(stream: list[tuple[Org, Submission]]) -> None:
    first = [
        s
        for _, s in effective(stream)
        if s.type == "AsylumApplicationLodged" and s.data["application_type"] == "FIRST"
    ]
    amv = sum(s.data["unaccompanied_minor"] for s in first) / len(first)
    assert 0.09 < amv < 0.17
    people = {s.v_nummer: s.data for _, s in stream if s.type == "IdentityRegistered"}
    male = sum(d["sex"] == "M" for d in people.values()) / len(people)
    assert 0.6 < male < 0.85
    syrians = sum(d["nationality"] == "SYR" for d in people.values()) / len(people)
    assert 0.25 < syrians < 0.45


def test_occupancy_and_housing_have_the_documented_shape(sim: Simulation) -> None:
    truth = sim.truth
    assert len(truth["coa_occupancy"]) == 365
    day = truth["coa_occupancy"]["2026-06-30"]
    assert day["total"] == sum(v for k, v in day.items() if k != "total") > 0
    assert truth["goo_occupancy"]["2026-06-30"] > 0
    assert len(truth["housing"]) == 342
    assert set(truth["housing"]["GM0363"]) == {"2025-II", "2026-I", "2026-II"}
    assert truth["lifecycle"]["2026-08"]["HOUSED"] > 0


def test_malformed_records_only_on_request() -> None:
    params = SimParams(seed=2, scale=0.003, warmup_months=3)
    assert simulate(params).malformed == []
    noisy = simulate(replace(params, noise=replace(params.noise, malformed_share=0.01)))
    assert noisy.malformed and {m.org for m in noisy.malformed} <= {o.value for o in Org}
    assert {m.kind for m in noisy.malformed} <= {
        "garbage",
        "wrong_magic",
        "unknown_fingerprint",
        "truncated",
        "json",
        "empty",
    }
