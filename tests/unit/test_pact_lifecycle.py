"""The EU Migration Pact in the fold (docs/lifecycle.md, "The Pact"): the border procedure's
clock, the return border procedure, AMMR requests and transfers out and in, solidarity
relocations, screenings and Eurodac hits, as state and as the rows of the Pact figures; the
age band on the day that counts; and who may publish the border facts."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.contributions import items_of
from domain.facts import Fact
from domain.lifecycle import AnomalyKind, CaseStatus, fold, state_at
from domain.lifecycle.pact import add_months
from schemas.registry import default_registry
from schemas.samples import sample_record
from schemas.topics import Org
from schemas.validation import find_problems
from tests.unit.builders import T0, arrival, decision, ev, lodged, track

S = CaseStatus
A = AnomalyKind
# Registration (lodging) on day 1: the border procedure's maximum ends on day 1 + 84.
BORDER = [arrival(), lodged(1), track(2, "BORDER")]
DEADLINE = T0 + timedelta(days=85)


def status(facts: list[Fact]) -> CaseStatus | None:
    case = fold(facts).case("ZK1")
    assert case is not None
    return case.status


def border_rows(facts: list[Fact]) -> list[tuple[object, ...]]:
    return [r[4:] for r in items_of(fold(facts)).border_procedures]


def test_a_decision_within_the_maximum_ends_the_border_procedure() -> None:
    facts = [*BORDER, decision(40, "MANIFESTLY_UNFOUNDED")]
    assert status(facts) is S.REJECTED
    assert border_rows(facts) == [
        (DEADLINE, T0 + timedelta(days=40), "DECIDED", "MANIFESTLY_UNFOUNDED")
    ]
    assert A.BORDER_PROCEDURE_EXCEEDED not in [a.kind for a in fold(facts).anomalies]


def test_no_decision_by_the_maximum_moves_the_case_to_the_regular_procedure_at_the_deadline() -> (
    None
):
    late = [*BORDER, decision(100, "REJECTED")]
    case = fold(late).case("ZK1")
    assert case is not None
    # At the deadline, before the late decision applies: BORDER -> IN_GENERAL -> REJECTED.
    assert [(c.occurred_at, c.to_state) for c in case.history][-2:] == [
        (DEADLINE, "IN_GENERAL"),
        (T0 + timedelta(days=100), "REJECTED"),
    ]
    assert border_rows(late) == [(DEADLINE, DEADLINE, "MAXIMUM_REACHED", None)]
    exceeded = [a for a in fold(late).anomalies if a.kind is A.BORDER_PROCEDURE_EXCEEDED]
    assert [(a.occurred_at, a.case_id) for a in exceeded] == [(DEADLINE, "ZK1")]
    # Until an event shows the time has passed, the case is still in the border procedure;
    # state_at agrees with the whole fold's history on either side of the deadline.
    assert status(BORDER) is S.BORDER
    assert state_at(late, DEADLINE).case("ZK1").status is S.BORDER  # type: ignore[union-attr]
    after = state_at(late, DEADLINE + timedelta(seconds=1)).case("ZK1")
    assert after is not None and after.status is S.IN_GENERAL
    assert border_rows(BORDER) == [(DEADLINE, None, None, None)]


def test_an_extension_moves_the_deadline() -> None:
    extended = [
        *BORDER,
        ev("BorderProcedureExtended", 50, extension_weeks=6, ground="CRISIS_OR_FORCE_MAJEURE"),
        decision(100, "REJECTED"),
    ]
    assert border_rows(extended) == [
        (DEADLINE + timedelta(weeks=6), T0 + timedelta(days=100), "DECIDED", "REJECTED")
    ]
    # An extension after the deadline passed comes too late.
    too_late = [*BORDER, ev("BorderProcedureExtended", 90, extension_weeks=6, ground="OTHER")]
    assert border_rows(too_late)[0][2] == "MAXIMUM_REACHED"


def test_entry_authorised_at_the_maximum_ends_the_border_procedure() -> None:
    facts = [
        *BORDER,
        ev(
            "EntryAuthorised",
            85,
            ground="BORDER_PROCEDURE_MAXIMUM_REACHED",
            border_crossing_point="SCHIPHOL",
        ),
        track(86, "GENERAL"),
    ]
    assert status(facts) is S.IN_GENERAL
    assert border_rows(facts) == [(DEADLINE, DEADLINE, "MAXIMUM_REACHED", None)]
    assert [a.kind for a in fold(facts).anomalies] == [A.BORDER_PROCEDURE_EXCEEDED]


def test_border_detention_ended_is_no_unexpected_transition() -> None:
    facts = [
        *BORDER,
        ev("BorderDetentionImposed", 1.5, border_crossing_point="SCHIPHOL"),
        ev("BorderDetentionEnded", 30, ground="RELEASED", border_crossing_point="SCHIPHOL"),
        decision(40, "GRANTED", "A"),
    ]
    assert fold(facts).anomalies == ()
    assert status(facts) is S.GRANTED_A


def test_a_return_from_the_return_border_procedure_is_counted_as_one() -> None:
    facts = [
        *BORDER,
        decision(40, "REJECTED"),
        ev("ReturnBorderProcedureStarted", 41, maximum_weeks=12),
        ev("ForcedReturnExecuted", 60, destination="COUNTRY_OF_ORIGIN", country="MAR"),
        ev("ReturnBorderProcedureEnded", 60, outcome="DEPARTED"),
    ]
    assert status(facts) is S.DEPARTED_FORCED
    assert fold(facts).anomalies == ()
    assert [(r.kind, r.border_return) for r in items_of(fold(facts)).departures] == [
        ("FORCED", True)
    ]
    regular = [*BORDER, decision(40, "REJECTED"), ev("DepartedIndependently", 60)]
    assert [r.border_return for r in items_of(fold(regular)).departures] == [False]
    maximum = [
        *BORDER,
        decision(40, "REJECTED"),
        ev("ReturnBorderProcedureStarted", 41, maximum_weeks=12),
        ev("ReturnBorderProcedureEnded", 125, outcome="MAXIMUM_REACHED"),
    ]
    assert status(maximum) is S.RETURN_PHASE


DUBLIN = [arrival(), lodged(1), track(3, "DUBLIN")]


def test_take_charge_accepted_transfer_decided_and_done_within_the_time_limit() -> None:
    facts = [
        *DUBLIN,
        ev("DublinClaimSent", 10, member_state="DEU", claim_kind="TAKE_CHARGE"),
        ev("DublinClaimAccepted", 40, member_state="DEU", tacit=False),
        ev("TransferDecisionIssued", 45, member_state="DEU", request_kind="TAKE_CHARGE_REQUEST"),
        ev("ForcedReturnExecuted", 90, destination="DUBLIN", country="DEU"),
    ]
    assert [c.to_state for c in fold(facts).case("ZK1").history][-2:] == [  # type: ignore[union-attr]
        "TRANSFER_DECIDED",
        "DEPARTED_DUBLIN",
    ]
    assert fold(facts).anomalies == ()
    day = T0.date()
    (row,) = items_of(fold(facts)).ammr_requests
    assert row[2:] == (
        "OUT",
        "TAKE_CHARGE",
        "DEU",
        day + timedelta(days=10),
        day + timedelta(days=40),
        "ACCEPTED",
        add_months(day + timedelta(days=40), 6),
        day + timedelta(days=90),
    )


def test_take_back_notification_confirmed_extended_for_absconding_and_refusals() -> None:
    limit = date(2027, 12, 31)
    facts = [
        *DUBLIN,
        ev("TakeBackNotificationSent", 5, member_state="ITA"),
        ev("TakeBackNotificationConfirmed", 19, member_state="ITA", tacit=True),
        ev("TransferDecisionIssued", 25, member_state="ITA", request_kind="TAKE_BACK_NOTIFICATION"),
        ev("DepartedWithoutSupervision", 30),
        ev("TransferTimeLimitExtended", 31, ground="ABSCONDING", new_time_limit=limit),
    ]
    (row,) = items_of(fold(facts)).ammr_requests
    assert (row.kind, row.answer, row.time_limit, row.transferred_day) == (
        "TAKE_BACK",
        "ACCEPTED",
        limit,
        None,
    )
    refused = [
        *DUBLIN,
        ev("DublinClaimSent", 10, member_state="FRA", claim_kind="TAKE_CHARGE"),
        ev("ResponsibilityShifted", 40, member_state="FRA", ground="REQUEST_REFUSED"),
    ]
    (row,) = items_of(fold(refused)).ammr_requests
    assert (row.answer, row.time_limit) == ("REFUSED", None)
    assert status(refused) is S.IN_GENERAL


def test_incoming_requests_and_transfers() -> None:
    facts = [
        ev("IncomingRequestReceived", 0, member_state="BEL", request_kind="TAKE_BACK_NOTIFICATION"),
        ev(
            "IncomingRequestAnswered",
            10,
            member_state="BEL",
            request_kind="TAKE_BACK_NOTIFICATION",
            answer="CONFIRMED",
            tacit=False,
        ),
        ev("IncomingTransferReceived", 40, member_state="BEL", border_crossing_point="SCHIPHOL"),
        arrival(40.1),
    ]
    (row,) = items_of(fold(facts)).ammr_requests
    day = T0.date()
    assert row[2:] == (
        "IN",
        "TAKE_BACK",
        "BEL",
        day,
        day + timedelta(days=10),
        "ACCEPTED",
        add_months(day + timedelta(days=10), 6),
        day + timedelta(days=40),
    )


def test_solidarity_relocations_in_and_out() -> None:
    into = [
        ev(
            "SolidarityRelocationDecided",
            0,
            direction="INTO_NETHERLANDS",
            member_state="ITA",
            relocation_group="APPLICANT",
            pledge_year=2026,
        ),
        ev(
            "SolidarityRelocationTransferred",
            20,
            direction="INTO_NETHERLANDS",
            member_state="ITA",
            border_crossing_point="SCHIPHOL",
        ),
        arrival(20.1),
        lodged(21),
    ]
    (row,) = items_of(fold(into)).solidarity_relocations
    assert row[2:] == (
        "INTO_NETHERLANDS",
        "ITA",
        "APPLICANT",
        2026,
        T0.date(),
        T0.date() + timedelta(days=20),
    )
    assert status(into) is S.REGISTERED
    out = [
        *DUBLIN[:2],
        ev(
            "SolidarityRelocationTransferred",
            20,
            direction="OUT_OF_NETHERLANDS",
            member_state="PRT",
            border_crossing_point="SCHIPHOL",
        ),
    ]
    assert status(out) is S.RELOCATED


def test_screening_and_eurodac_rows() -> None:
    facts = [
        arrival(),
        ev("ScreeningStarted", 0.1, screening_location="SCHIPHOL"),
        ev("EntryNotAuthorised", 0.1, basis="SCREENING", border_crossing_point="SCHIPHOL"),
        ev("EurodacHitReceived", 1, member_state="GRC", hit_category="SEARCH_AND_RESCUE"),
        ev("ScreeningCompleted", 3.1, referral="BORDER_PROCEDURE", vulnerable=False),
    ]
    items = items_of(fold(facts))
    assert [r[2:] for r in items.screenings] == [
        (T0 + timedelta(days=0.1), T0 + timedelta(days=3.1), "SCHIPHOL", "BORDER_PROCEDURE")
    ]
    assert [r[2:] for r in items.eurodac_hits] == [
        (T0.date() + timedelta(days=1), "SEARCH_AND_RESCUE", "GRC")
    ]
    assert fold(facts).anomalies == ()


def test_add_months_clamps_to_the_last_day() -> None:
    assert add_months(date(2026, 8, 31), 6) == date(2027, 2, 28)
    assert add_months(date(2026, 6, 12), 6) == date(2026, 12, 12)


# -- age on the day that counts --------------------------------------------------------------


def registered(day: float, birth_year: int) -> Fact:
    return ev(
        "IdentityRegistered",
        day,
        nationality="AFG",
        birth_year=birth_year,
        sex="M",
        documents_presented=False,
    )


def amv_lodged(day: float, age: int | None) -> Fact:
    return ev(
        "AsylumApplicationLodged",
        day,
        application_type="FIRST",
        unaccompanied_minor=True,
        age_at_application=age,
    )


@pytest.mark.parametrize(
    ("age", "band"), [(17, "14-17"), (None, "14-17"), (13, "0-13")], ids=["17", "unknown", "13"]
)
def test_an_unaccompanied_minor_of_17_in_the_year_he_turns_18_is_counted_14_17(
    age: int | None, band: str
) -> None:
    # Born 2008, applying on 5 January 2026 (T0): 18 by the calendar year, 17 on the day.
    facts = [arrival(), registered(0.5, 2008), amv_lodged(1, age)]
    (row,) = items_of(fold(facts)).inflow
    assert (row.unaccompanied_minor, row.age_band) == (True, band)


def test_the_age_on_the_event_beats_the_calendar_year() -> None:
    adult = [
        arrival(),
        registered(0.5, 2008),
        ev(
            "AsylumApplicationLodged",
            1,
            application_type="FIRST",
            unaccompanied_minor=False,
            age_at_application=17,
        ),
    ]
    assert [r.age_band for r in items_of(fold(adult)).inflow] == ["14-17"]
    calendar = [arrival(), registered(0.5, 2008), lodged(1)]
    assert [r.age_band for r in items_of(fold(calendar)).inflow] == ["18-34"]


# -- who publishes -----------------------------------------------------------------------------


def test_kmar_publishes_its_border_facts_and_avim_screens_inland() -> None:
    registry = default_registry()
    for etype in ("ArrivalReported", "IdentityRegistered", "BiometricsCaptured"):
        assert registry.may_publish(Org.KMAR, etype) and registry.may_publish(Org.AVIM, etype)
    assert registry.may_publish(Org.AVIM, "ScreeningStarted")
    assert not registry.may_publish(Org.COA, "ArrivalReported")
    assert not registry.may_publish(Org.AVIM, "EntryNotAuthorised")


@settings(max_examples=300, deadline=None)
@given(
    birth_year=st.one_of(st.none(), st.integers(1950, 2026)),
    day=st.integers(0, 3 * 365),
    age=st.one_of(st.none(), st.integers(0, 17)),
)
def test_no_cell_is_ever_an_unaccompanied_minor_aged_18_or_over(
    birth_year: int | None, day: int, age: int | None
) -> None:
    """Whatever the registration says, an unaccompanied minor's inflow row is a minor's (or
    UNKNOWN without any age): the property behind Eurostat's and the IND's cells. Ages of 18
    and over with the flag are refused before publication (below)."""
    facts = [arrival(day)]
    if birth_year is not None:
        facts.append(registered(day + 0.2, birth_year))
    facts.append(amv_lodged(day + 0.5, age))
    (row,) = items_of(fold(facts)).inflow
    assert row.age_band in ("0-13", "14-17", "UNKNOWN")


def test_an_unaccompanied_minor_aged_18_is_refused_before_publication() -> None:
    sv = default_registry().latest("AsylumApplicationLodged")
    record = sample_record(sv)
    record["unaccompanied_minor"] = True
    record["age_at_application"] = 18
    assert ("age_at_application", "is 18: an unaccompanied minor is under 18") in [
        (p.path, p.message) for p in find_problems(sv, record)
    ]
    record["age_at_application"] = 17
    assert not [p for p in find_problems(sv, record) if p.path == "age_at_application"]
