"""Property: the fold is a function of the set of facts, not of their delivery order. For
generated histories (plausible cases, reception, misfits, duplicates, corrections and
retractions) every permutation yields the same state, anomalies and state_at."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.facts import Fact
from domain.lifecycle import fold, state_at

T0 = datetime(2026, 1, 1, tzinfo=UTC)
PERSON = "ef" * 32
Step = tuple[str, dict[str, Any]]

ARRIVE: list[Step] = [
    ("ArrivalReported", {"applicant_group": "FIRST", "reporting_location": "TER_APEL"}),
    ("AsylumApplicationLodged", {"application_type": "FIRST", "unaccompanied_minor": False}),
]
GENERAL: list[Step] = [("TrackAssigned", {"track": "GENERAL"})]
REJECT: list[Step] = [("DecisionIssued", {"outcome": "REJECTED", "status": None})]
GRANT: list[Step] = [
    ("DecisionIssued", {"outcome": "GRANTED", "status": "A"}),
    ("LinkedToMunicipality", {"municipality_code": "GM0363", "task_period": "2026-I"}),
    ("HousingAllocated", {"municipality_code": "GM0363", "task_period": "2026-I"}),
]
APPEAL: list[Step] = [
    ("AppealLodged", {"proceeding": "APPEAL"}),
    ("JudgmentIssued", {"proceeding": "APPEAL", "outcome": "DISMISSED"}),
]
RETURN: list[Step] = [
    ("ReturnCaseOpened", {"source": "IND"}),
    ("DetentionOrdered", {"ground": "ART_59"}),
    ("DetentionEnded", {"reason": "REMOVED"}),
]
DEPART: list[list[Step]] = [
    [("DepartedIndependently", {"destination_country": "SYR"})],
    [("ForcedReturnExecuted", {"destination": "DUBLIN", "country": "DEU"})],
    [("DepartedWithoutSupervision", {})],
    [],
]
PATHS: list[list[Step]] = [
    ARRIVE,
    [*ARRIVE, *GENERAL],
    [*ARRIVE, *GENERAL, *GRANT],
    [*ARRIVE, *GENERAL, *REJECT, *APPEAL, *RETURN],
    [
        *ARRIVE,
        ("TrackAssigned", {"track": "DUBLIN"}),
        ("DecisionIssued", {"outcome": "INADMISSIBLE"}),
    ],
    # The Pact: screening and the border procedure (its clock runs out when the steps are far
    # apart), the return border procedure, AMMR take back with a transfer decision, a refused
    # take charge request, a solidarity relocation out.
    [
        ("ArrivalReported", {"applicant_group": "FIRST", "reporting_location": "SCHIPHOL"}),
        ("ScreeningStarted", {"screening_location": "SCHIPHOL"}),
        ("ScreeningCompleted", {"referral": "BORDER_PROCEDURE", "vulnerable": False}),
        ("AsylumApplicationLodged", {"application_type": "FIRST", "unaccompanied_minor": False}),
        ("TrackAssigned", {"track": "BORDER"}),
        ("BorderProcedureExtended", {"extension_weeks": 2, "ground": "OTHER"}),
        ("DecisionIssued", {"outcome": "MANIFESTLY_UNFOUNDED", "status": None}),
        ("ReturnBorderProcedureStarted", {"maximum_weeks": 12}),
        ("ReturnBorderProcedureEnded", {"outcome": "MAXIMUM_REACHED"}),
    ],
    [
        *ARRIVE,
        ("TrackAssigned", {"track": "BORDER"}),
        ("EntryAuthorised", {"ground": "BORDER_PROCEDURE_MAXIMUM_REACHED"}),
    ],
    [
        *ARRIVE,
        ("EurodacHitReceived", {"member_state": "ITA", "hit_category": "SEARCH_AND_RESCUE"}),
        ("TrackAssigned", {"track": "DUBLIN"}),
        ("TakeBackNotificationSent", {"member_state": "ITA"}),
        ("TakeBackNotificationConfirmed", {"member_state": "ITA", "tacit": True}),
        (
            "TransferDecisionIssued",
            {"member_state": "ITA", "request_kind": "TAKE_BACK_NOTIFICATION"},
        ),
        ("TransferTimeLimitExtended", {"ground": "ABSCONDING", "new_time_limit": 20000}),
    ],
    [
        *ARRIVE,
        ("TrackAssigned", {"track": "DUBLIN"}),
        ("DublinClaimSent", {"member_state": "FRA", "claim_kind": "TAKE_CHARGE"}),
        ("ResponsibilityShifted", {"member_state": "FRA", "ground": "REQUEST_REFUSED"}),
    ],
    [
        (
            "SolidarityRelocationDecided",
            {
                "direction": "OUT_OF_NETHERLANDS",
                "member_state": "PRT",
                "relocation_group": "APPLICANT",
                "pledge_year": 2026,
            },
        ),
        *ARRIVE,
        (
            "SolidarityRelocationTransferred",
            {"direction": "OUT_OF_NETHERLANDS", "member_state": "PRT"},
        ),
    ],
]
MISFITS: list[Step] = [
    ("DecisionIssued", {"outcome": "GRANTED", "status": "B"}),
    ("DepartedIndependently", {}),
    ("HousingAllocated", {"municipality_code": "GM0599", "task_period": "2026-II"}),
    ("TrackAssigned", {"track": "EXTENDED"}),
    ("ReceptionEnded", {"reason": "OTHER"}),
    ("ReceptionStarted", {"reception_group": "REPEAT_APPLICANT"}),
    ("PlacedAtLocation", {"location_id": "AZC-9", "location_type": "AZC"}),
    ("ShelterPlacementEnded", {"municipality_code": "GM0363", "reason": "MOVED"}),
    ("TurnedEighteen", {}),
    ("FamilyReunificationDecided", {"sponsor_person_key": "ab" * 32, "outcome": "GRANTED"}),
]


def fact(n: int, event_type: str, day: int, case_id: str | None, data: dict[str, Any]) -> Fact:
    at = T0 + timedelta(days=day)
    return Fact(
        event_id=f"e{n:03d}",
        event_type=event_type,
        producer="IND",
        person_key=PERSON,
        case_id=case_id,
        occurred_at=at,
        recorded_at=at,
        corrects=None,
        retracts=None,
        sensitivity="NORMAL",
        data=data,
        topic="keten.timeline",
        partition=0,
        offset=n,
    )


@st.composite
def histories(draw: st.DrawFn) -> list[Fact]:
    steps: list[tuple[str, int, str | None, dict[str, Any]]] = []
    day = 0
    for c in range(draw(st.integers(1, 2))):
        case_id = f"ZK{c}"
        path = [*draw(st.sampled_from(PATHS)), *draw(st.sampled_from(DEPART))]
        for etype, data in path:
            day += draw(st.integers(0, 20))  # 0: events at the same instant
            cid = None if draw(st.integers(0, 9)) == 0 else case_id
            steps.append((etype, day, cid, data))
    start = draw(st.integers(0, 5))
    steps.append(("ReceptionStarted", start, "ZK0", {"reception_group": "ASYLUM_SEEKER"}))
    here = "COL-1"
    steps.append(("PlacedAtLocation", start, "ZK0", {"location_id": here, "location_type": "COL"}))
    for i in range(draw(st.integers(0, 3))):
        to = f"AZC-{i}"
        data = {
            "from_location_id": here,
            "to_location_id": to,
            "to_location_type": "AZC",
            "reason": "CAPACITY",
            "minors_in_household": 0,
        }
        steps.append(("Relocated", start + draw(st.integers(0, 60)), "ZK0", data))
        here = to
    if draw(st.booleans()):
        steps.append(("ReceptionEnded", draw(st.integers(0, 120)), "ZK0", {"reason": "OTHER"}))
    for etype, data in draw(st.lists(st.sampled_from(MISFITS), max_size=3)):
        cid = draw(st.sampled_from(["ZK0", "ZK1", None]))
        steps.append((etype, draw(st.integers(0, 120)), cid, data))
    facts = [fact(n, *step) for n, step in enumerate(steps)]
    extra: list[Fact] = []
    for f in draw(st.lists(st.sampled_from(facts), max_size=3)):  # re-sends
        conflicting = draw(st.integers(0, 4)) == 0  # same id, other content
        resent = {**f.data, "note": "other"} if conflicting else f.data
        extra.append(replace(f, offset=f.offset + 1000, data=resent))
    for i, target in enumerate(draw(st.lists(st.sampled_from(facts), max_size=2, unique=True))):
        fix = replace(
            target,
            event_id=f"c{i}",
            corrects=target.event_id,
            occurred_at=target.occurred_at + timedelta(days=draw(st.integers(-3, 3))),
        )
        extra.append(fix)
        if draw(st.booleans()):  # a correction of the correction
            extra.append(replace(fix, event_id=f"cc{i}", corrects=fix.event_id))
    for i, target in enumerate(draw(st.lists(st.sampled_from(facts), max_size=2, unique=True))):
        extra.append(
            replace(
                target,
                event_id=f"r{i}",
                event_type="EventRetracted",
                retracts=target.event_id,
                data={"reason": "RECORDED_IN_ERROR"},
            )
        )
    return facts + extra


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_delivery_order_gives_the_same_state(data: st.DataObject) -> None:
    history = data.draw(histories())
    expected = fold(history)
    cut = T0 + timedelta(days=data.draw(st.integers(0, 130)))
    expected_at = state_at(history, cut)
    for _ in range(3):
        delivered = data.draw(st.permutations(history))
        state = fold(delivered)
        assert state == expected
        assert state.anomalies == expected.anomalies
        assert state.to_json() == expected.to_json()
        assert state_at(delivered, cut) == expected_at


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_every_prefix_of_a_delivery_folds_without_error(data: st.DataObject) -> None:
    """Live processing folds after each arrival: partial histories (targets missing, misfits)
    never raise, and the last fold equals the fold of the whole history."""
    delivered = data.draw(st.permutations(data.draw(histories())))
    state = fold([])
    for n in range(1, len(delivered) + 1):
        state = fold(delivered[:n])
    assert state == fold(delivered)


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_state_at_agrees_with_the_history_of_the_full_fold(data: st.DataObject) -> None:
    history = data.draw(histories())
    cut = T0 + timedelta(days=data.draw(st.integers(0, 130)))
    full = fold(history)
    early = state_at(history, cut)
    for case in early.cases:
        whole = full.case(case.case_id)
        assert whole is not None and whole.status_at(cut) == case.status
