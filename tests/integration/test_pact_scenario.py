"""A hand-computed scenario of the EU Migration Pact after 12 June 2026, as chain organisations
would write it: JSON lines through `ketenlog publish` per organisation — KMar publishing its own
border facts at Schiphol, AVIM screening inland — then `ketenlog process` and `ketenlog
timeline`. Every expected value below is worked out by hand from the regulations' rules
(docs/lifecycle.md §3a), not taken from the code."""

from __future__ import annotations

import json
import subprocess
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

from producers.pseudonym import person_key
from tests.conftest import RunningServices
from tests.integration.pipeline import ketenlog as run_ketenlog
from tests.integration.pipeline import until_idle

pytestmark = pytest.mark.integration
# Every timeline read declares why (the read log records it).
PURPOSE = ("--purpose", "integration test of the auditors' timeline")

RUN = "r" + uuid.uuid4().hex[:9]
SERIAL = uuid.uuid4().int % 1000
CHAIN_KEY = f"pact-scenario-chain-key-for-this-run-{RUN}"
V = {
    name: f"{n:04d}.{SERIAL:03d}.{n % 1000:03d}"
    for n, name in enumerate(("border_return", "border_exceeded", "take_back", "minor"), start=1101)
}


def at(text: str) -> str:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).isoformat()


def line(etype: str, who: str, when: str, case: str | None, **data: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "type": etype,
        "v_nummer": V[who],
        "occurred_at": at(when),
        "ref": f"{RUN}-{who}-{etype}-{when}",
        "data": data,
    }
    if case is not None:
        row["case_id"] = f"ZK-{RUN}-{who}"
    return row


C = "case"
SCHIPHOL = {"border_crossing_point": "SCHIPHOL"}
IDENTITY = {"sex": "M", "documents_presented": False}

KMAR = [
    # 1. Border procedure, decided within the maximum, returned from the return border procedure.
    line(
        "ArrivalReported",
        "border_return",
        "2026-07-01T08:00",
        C,
        applicant_group="FIRST",
        reporting_location="SCHIPHOL",
        age_at_report=31,
    ),
    line("ScreeningStarted", "border_return", "2026-07-01T08:30", C, screening_location="SCHIPHOL"),
    line(
        "EntryNotAuthorised", "border_return", "2026-07-01T08:30", C, basis="SCREENING", **SCHIPHOL
    ),
    line(
        "BiometricsCaptured",
        "border_return",
        "2026-07-01T09:00",
        C,
        fingerprints_taken=True,
        facial_image_taken=True,
    ),
    line(
        "IdentityRegistered",
        "border_return",
        "2026-07-01T09:30",
        C,
        nationality="MAR",
        birth_year=1995,
        **IDENTITY,
    ),
    line(
        "ScreeningCompleted",
        "border_return",
        "2026-07-03T08:00",
        C,
        referral="BORDER_PROCEDURE",
        vulnerable=False,
    ),
    line("BorderDetentionImposed", "border_return", "2026-07-03T09:00", C, **SCHIPHOL),
    line(
        "BorderDetentionEnded",
        "border_return",
        "2026-09-01T10:00",
        C,
        ground="DEPARTED",
        **SCHIPHOL,
    ),
    # 2. Border procedure past its maximum: KMar lets the person in after the deadline.
    line(
        "ArrivalReported",
        "border_exceeded",
        "2026-07-01T08:00",
        C,
        applicant_group="FIRST",
        reporting_location="SCHIPHOL",
        age_at_report=40,
    ),
    line(
        "ScreeningStarted", "border_exceeded", "2026-07-01T08:30", C, screening_location="SCHIPHOL"
    ),
    line(
        "IdentityRegistered",
        "border_exceeded",
        "2026-07-01T09:30",
        C,
        nationality="DZA",
        birth_year=1986,
        **IDENTITY,
    ),
    line(
        "ScreeningCompleted",
        "border_exceeded",
        "2026-07-02T08:00",
        C,
        referral="BORDER_PROCEDURE",
        vulnerable=False,
    ),
    line(
        "EntryAuthorised",
        "border_exceeded",
        "2026-09-24T12:00",
        C,
        ground="BORDER_PROCEDURE_MAXIMUM_REACHED",
        **SCHIPHOL,
    ),
]
AVIM = [
    # 3. Inland: AVIM screens, Eurodac finds an Italian disembarkation; AMMR take back.
    line(
        "ArrivalReported",
        "take_back",
        "2026-07-10T08:00",
        C,
        applicant_group="FIRST",
        reporting_location="TER_APEL",
        age_at_report=24,
    ),
    line("ScreeningStarted", "take_back", "2026-07-10T09:00", C, screening_location="TER_APEL"),
    line(
        "EurodacHitReceived",
        "take_back",
        "2026-07-11T09:00",
        C,
        member_state="ITA",
        hit_category="SEARCH_AND_RESCUE",
    ),
    line(
        "IdentityRegistered",
        "take_back",
        "2026-07-12T09:00",
        C,
        nationality="ERI",
        birth_year=2002,
        **IDENTITY,
    ),
    line(
        "ScreeningCompleted",
        "take_back",
        "2026-07-13T09:00",
        C,
        referral="ASYLUM_PROCEDURE",
        vulnerable=False,
    ),
    # 4. An unaccompanied minor of 17, born in 2008, applying in the year he turns 18.
    line(
        "ArrivalReported",
        "minor",
        "2026-07-15T08:00",
        C,
        applicant_group="UNACCOMPANIED_MINOR",
        reporting_location="TER_APEL",
        age_at_report=17,
    ),
    line(
        "IdentityRegistered",
        "minor",
        "2026-07-16T09:00",
        C,
        nationality="SYR",
        birth_year=2008,
        **IDENTITY,
    ),
]
IND = [
    line(
        "AsylumApplicationLodged",
        "border_return",
        "2026-07-03T10:00",
        C,
        application_type="FIRST",
        unaccompanied_minor=False,
        age_at_application=31,
    ),
    line("TrackAssigned", "border_return", "2026-07-04T10:00", C, track="BORDER"),
    line(
        "DecisionIssued",
        "border_return",
        "2026-08-10T10:00",
        C,
        outcome="MANIFESTLY_UNFOUNDED",
        status=None,
        departure_deadline=None,
        suspensive_effect=False,
    ),
    line(
        "AsylumApplicationLodged",
        "border_exceeded",
        "2026-07-02T10:00",
        C,
        application_type="FIRST",
        unaccompanied_minor=False,
        age_at_application=40,
    ),
    line("TrackAssigned", "border_exceeded", "2026-07-03T10:00", C, track="BORDER"),
    line("TrackAssigned", "border_exceeded", "2026-09-25T10:00", C, track="GENERAL"),
    line(
        "AsylumApplicationLodged",
        "take_back",
        "2026-07-14T10:00",
        C,
        application_type="FIRST",
        unaccompanied_minor=False,
        age_at_application=24,
    ),
    line("TrackAssigned", "take_back", "2026-07-20T10:00", C, track="DUBLIN"),
    line("TakeBackNotificationSent", "take_back", "2026-07-21T10:00", C, member_state="ITA"),
    line(
        "TakeBackNotificationConfirmed",
        "take_back",
        "2026-08-04T10:00",
        C,
        member_state="ITA",
        tacit=True,
    ),
    line(
        "TransferDecisionIssued",
        "take_back",
        "2026-08-10T10:00",
        C,
        member_state="ITA",
        request_kind="TAKE_BACK_NOTIFICATION",
    ),
    line(
        "AsylumApplicationLodged",
        "minor",
        "2026-07-16T10:00",
        C,
        application_type="FIRST",
        unaccompanied_minor=True,
        age_at_application=17,
    ),
]
DTV = [
    line("ReturnBorderProcedureStarted", "border_return", "2026-08-11T10:00", C, maximum_weeks=12),
    line(
        "ForcedReturnExecuted",
        "border_return",
        "2026-09-01T10:00",
        C,
        destination="ORIGIN",
        country="MAR",
    ),
    line("ReturnBorderProcedureEnded", "border_return", "2026-09-01T10:00", C, outcome="DEPARTED"),
    line(
        "ForcedReturnExecuted",
        "take_back",
        "2026-10-01T10:00",
        C,
        destination="DUBLIN",
        country="ITA",
    ),
]


def key(who: str) -> str:
    return person_key(V[who], CHAIN_KEY.encode())


def ketenlog(services: RunningServices, dsn: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run_ketenlog(services, dsn, *args, env={"KETENLOG_CHAIN_KEY": CHAIN_KEY})


def rows(dsn: str, sql: str, *params: object) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql, params).fetchall()


def test_a_pact_scenario_through_publish_process_and_timeline(
    services: RunningServices, fresh_db: str, tmp_path: Path
) -> None:
    for org, lines in (("KMAR", KMAR), ("AVIM", AVIM), ("IND", IND), ("DTV", DTV)):
        path = tmp_path / f"{org.lower()}.jsonl"
        path.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
        done = ketenlog(services, fresh_db, "publish", "--org", org, str(path))
        assert done.returncode == 0, done.stderr
    until_idle(services, fresh_db, f"pact-{RUN}")

    states = dict(
        rows(
            fresh_db,
            "SELECT person_key, state->'cases'->0->>'status' FROM person_state"
            " WHERE person_key = ANY(%s)",
            [key(w) for w in V],
        )
    )
    assert states == {
        key("border_return"): "DEPARTED_FORCED",
        key("border_exceeded"): "IN_GENERAL",
        key("take_back"): "DEPARTED_DUBLIN",
        key("minor"): "REGISTERED",
    }
    anomalies = rows(
        fresh_db,
        "SELECT person_key, kind, occurred_at FROM anomalies WHERE person_key = ANY(%s)",
        [key(w) for w in V],
    )
    # 2 July 10:00 + 12 weeks = 24 September 10:00, before KMar's EntryAuthorised at 12:00.
    assert anomalies == [
        (key("border_exceeded"), "BORDER_PROCEDURE_EXCEEDED", datetime(2026, 9, 24, 10, tzinfo=UTC))
    ]
    border = rows(
        fresh_db,
        "SELECT person_key, deadline, ended_at, result, outcome FROM border_procedure_items"
        " WHERE person_key = ANY(%s) ORDER BY deadline",
        [key(w) for w in V],
    )
    assert border == [
        (
            key("border_exceeded"),
            datetime(2026, 9, 24, 10, tzinfo=UTC),
            datetime(2026, 9, 24, 10, tzinfo=UTC),
            "MAXIMUM_REACHED",
            None,
        ),
        (
            key("border_return"),
            datetime(2026, 9, 25, 10, tzinfo=UTC),
            datetime(2026, 8, 10, 10, tzinfo=UTC),
            "DECIDED",
            "MANIFESTLY_UNFOUNDED",
        ),
    ]
    departures = rows(
        fresh_db,
        "SELECT person_key, kind, border_return FROM departure_items WHERE person_key = ANY(%s)"
        " ORDER BY day",
        [key(w) for w in V],
    )
    assert departures == [
        (key("border_return"), "FORCED", True),
        (key("take_back"), "DUBLIN_TRANSFER", False),
    ]
    assert rows(
        fresh_db,
        "SELECT direction, kind, member_state, requested_day, answered_day, answer, time_limit,"
        " transferred_day FROM ammr_items WHERE person_key = %s",
        key("take_back"),
    ) == [
        (
            "OUT",
            "TAKE_BACK",
            "ITA",
            date(2026, 7, 21),
            date(2026, 8, 4),
            "ACCEPTED",
            date(2027, 2, 4),
            date(2026, 10, 1),
        )
    ]
    assert rows(
        fresh_db,
        "SELECT category, member_state FROM eurodac_hit_items WHERE person_key = %s",
        key("take_back"),
    ) == [("SEARCH_AND_RESCUE", "ITA")]
    screenings = rows(
        fresh_db,
        "SELECT person_key, location, referral, completed_at - started_at FROM screening_items"
        " WHERE person_key = ANY(%s) ORDER BY started_at, location",
        [key(w) for w in V],
    )
    assert sorted((s[1], s[2], s[3].total_seconds() / 3600) for s in screenings) == [
        ("SCHIPHOL", "BORDER_PROCEDURE", 23.5),
        ("SCHIPHOL", "BORDER_PROCEDURE", 47.5),
        ("TER_APEL", "ASYLUM_PROCEDURE", 72.0),
    ]
    # Born 2008, so 18 by the calendar year, but 17 on the day of his application.
    assert rows(
        fresh_db,
        "SELECT unaccompanied_minor, age_band FROM inflow_items WHERE person_key = %s",
        key("minor"),
    ) == [(True, "14-17")]

    timeline = ketenlog(
        services, fresh_db, "timeline", key("border_return"), "--format", "json", *PURPOSE
    )
    assert timeline.returncode == 0, timeline.stderr
    events = json.loads(timeline.stdout)["events"]
    assert {e["producer"] for e in events if e["type"] == "ArrivalReported"} == {"KMAR"}
    assert [e["type"] for e in events][-3:] == [
        "ForcedReturnExecuted",
        "ReturnBorderProcedureEnded",
        "BorderDetentionEnded",
    ]
