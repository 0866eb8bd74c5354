"""The demo's recount of the Pact figures (ketenlog/demo_tables) on hand-made rows, against the
ground truth's layout computed by hand: months of UTC instants, only what happened inside the
period, keys omitted when zero; and the report's verdict per figure."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from ketenlog import demo_tables as t

FIRST, LAST = date(2026, 6, 1), date(2026, 8, 31)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_screenings_by_start_and_completion_with_whole_seconds() -> None:
    rows = [
        # 7 days and 1.5 s: not within 7 days; 604801 whole seconds.
        (at("2026-06-01T00:00:00"), at("2026-06-08T00:00:01.5"), "SCHIPHOL", "BORDER_PROCEDURE"),
        # Exactly 7 days, completed in July: within.
        (at("2026-06-30T12:00:00"), at("2026-07-07T12:00:00"), "SCHIPHOL", "ASYLUM_PROCEDURE"),
        (at("2026-07-02T00:00:00"), None, "TER_APEL", None),
        # Started before the period: only its completion counts.
        (at("2026-05-31T23:00:00"), at("2026-06-01T01:00:00"), "TER_APEL", "NONE"),
        # 23:30 on 31 August in UTC+2 is 21:30 UTC: still August; completed after the period.
        (
            datetime(2026, 8, 31, 23, 30, tzinfo=timezone(timedelta(hours=2))),
            at("2026-09-01T10:00:00"),
            "SEAPORT",
            "RETURN_PROCEDURE",
        ),
    ]
    assert t.pact_screenings(rows, FIRST, LAST) == {
        "2026-06": {
            "started": {"SCHIPHOL": 2},
            "completed": {"BORDER_PROCEDURE": 1, "NONE": 1},
            "within_7_days": 1,
            "duration_seconds": 604801 + 7200,
        },
        "2026-07": {
            "started": {"TER_APEL": 1},
            "completed": {"ASYLUM_PROCEDURE": 1},
            "within_7_days": 1,
            "duration_seconds": 7 * 86400,
        },
        "2026-08": {"started": {"SEAPORT": 1}},
    }


def test_border_procedures_started_and_ended_by_result() -> None:
    rows = [
        (at("2026-06-15T10:00:00"), at("2026-07-20T09:00:00"), "DECIDED", "REJECTED"),
        (at("2026-06-16T10:00:00"), at("2026-07-21T09:00:00"), "DECIDED", "A"),
        (at("2026-06-17T10:00:00"), at("2026-07-22T09:00:00"), "DECIDED", "REJECTED"),
        (at("2026-06-18T10:00:00"), at("2026-09-10T10:00:00"), "MAXIMUM_REACHED", None),
        (at("2026-05-20T10:00:00"), at("2026-08-12T10:00:00"), "MAXIMUM_REACHED", None),
        (at("2026-07-01T10:00:00"), at("2026-08-01T10:00:00"), "ENDED", None),
        (at("2026-08-01T10:00:00"), None, None, None),
    ]
    assert t.pact_border_procedures(rows, FIRST, LAST) == {
        "2026-06": {"started": 4},
        "2026-07": {"started": 1, "ended": {"DECIDED:REJECTED": 2, "DECIDED:A": 1}},
        "2026-08": {"started": 1, "ended": {"MAXIMUM_REACHED": 1, "ENDED": 1}},
    }


def test_border_returns_and_eurodac_hits() -> None:
    departures = [
        (date(2026, 7, 5), "FORCED", True),
        (date(2026, 7, 6), "FORCED", True),
        (date(2026, 7, 6), "INDEPENDENT", True),
        (date(2026, 7, 7), "FORCED", False),
        (date(2026, 9, 1), "FORCED", True),
    ]
    assert t.pact_border_returns(departures, FIRST, LAST) == {
        "2026-07": {"FORCED": 2, "INDEPENDENT": 1}
    }
    hits = [
        (date(2026, 6, 14), "APPLICANT", "ITA"),
        (date(2026, 6, 30), "APPLICANT", "ITA"),
        (date(2026, 6, 30), "APPLICANT", "DEU"),
        (date(2026, 8, 31), "IRREGULAR_STAY", "DEU"),
        (date(2026, 5, 31), "APPLICANT", "ITA"),
    ]
    assert t.pact_eurodac_hits(hits, FIRST, LAST) == {
        "2026-06": {"APPLICANT|ITA": 2, "APPLICANT|DEU": 1},
        "2026-08": {"IRREGULAR_STAY|DEU": 1},
    }


def test_ammr_requests_answers_and_transfers_each_in_its_own_month() -> None:
    d = date
    rows = [
        # Accepted in June, transferred in August within the time limit.
        (
            "OUT",
            "TAKE_CHARGE",
            d(2026, 6, 15),
            d(2026, 6, 30),
            "ACCEPTED",
            d(2026, 12, 30),
            d(2026, 8, 10),
        ),
        # Transferred after its time limit.
        (
            "OUT",
            "TAKE_CHARGE",
            d(2026, 6, 16),
            d(2026, 6, 20),
            "ACCEPTED",
            d(2026, 8, 1),
            d(2026, 8, 2),
        ),
        # Transferred on the day of its time limit: within.
        (
            "OUT",
            "TAKE_BACK",
            d(2026, 6, 17),
            d(2026, 6, 17),
            "ACCEPTED",
            d(2026, 8, 3),
            d(2026, 8, 3),
        ),
        ("IN", "TAKE_BACK", d(2026, 7, 1), d(2026, 7, 9), "REFUSED", None, None),
        # Requested before the period: only its answer counts.
        ("IN", "TAKE_CHARGE", d(2026, 5, 20), d(2026, 6, 2), "ACCEPTED", d(2026, 12, 2), None),
        ("IN", "OTHER", d(2026, 7, 3), None, None, None, None),
    ]
    assert t.pact_ammr(rows, FIRST, LAST) == {
        "2026-06": {
            "OUT|TAKE_CHARGE": {"requested": 2, "accepted": 2},
            "OUT|TAKE_BACK": {"requested": 1, "accepted": 1},
            "IN|TAKE_CHARGE": {"accepted": 1},
        },
        "2026-07": {"IN|TAKE_BACK": {"requested": 1, "refused": 1}, "IN|OTHER": {"requested": 1}},
        "2026-08": {
            "OUT|TAKE_CHARGE": {"transferred": 2, "transferred_within_time_limit": 1},
            "OUT|TAKE_BACK": {"transferred": 1, "transferred_within_time_limit": 1},
        },
    }


def test_solidarity_decided_and_transferred() -> None:
    d = date
    rows = [
        ("OUT_OF_NETHERLANDS", "APPLICANT", 2026, d(2026, 7, 1), d(2026, 8, 3)),
        ("OUT_OF_NETHERLANDS", "APPLICANT", 2026, d(2026, 7, 2), None),
        ("INTO_NETHERLANDS", "BENEFICIARY", 2026, d(2026, 8, 5), d(2026, 9, 1)),
    ]
    assert t.pact_solidarity(rows, FIRST, LAST) == {
        "2026-07": {"OUT_OF_NETHERLANDS|APPLICANT|2026": {"decided": 2}},
        "2026-08": {
            "OUT_OF_NETHERLANDS|APPLICANT|2026": {"transferred": 1},
            "INTO_NETHERLANDS|BENEFICIARY|2026": {"decided": 1},
        },
    }


def test_the_report_and_the_differences_say_per_figure_whether_it_matches() -> None:
    got: dict[str, Any] = {figure: {} for figure in t.PACT_FIGURES}
    got["pact_eurodac_hits"] = {"2026-06": {"APPLICANT|ITA": 2}}
    got["pact_ammr"] = {"2026-06": {"OUT|TAKE_BACK": {"requested": 3, "accepted": 1}}}
    truth: dict[str, Any] = {f: {} for f in t.PACT_FIGURES if f != "pact_solidarity"}
    truth["pact_eurodac_hits"] = {"2026-06": {"APPLICANT|ITA": 3}}
    truth["pact_ammr"] = got["pact_ammr"]
    lines = {line.split()[0]: line for line in t.pact_report(got, truth).splitlines()[2:]}
    assert set(lines) == set(t.PACT_FIGURES)
    assert lines["pact_eurodac_hits"].split()[1:] == ["1", "2", "hits", "NO"]
    assert lines["pact_ammr"].split()[1:] == ["1", "3", "requests", "yes"]
    assert lines["pact_screenings"].endswith(" yes")
    assert lines["pact_solidarity"].endswith("no truth to compare with")
    pact = [d for d in t.differences(got, truth) if d.startswith("pact_")]
    assert pact == [
        "pact_eurodac_hits 2026-06: {'APPLICANT|ITA': 2} (truth {'APPLICANT|ITA': 3})",
        "pact_solidarity: not in the ground truth",
    ]
