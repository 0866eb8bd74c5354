"""The dashboard page says what it shows: simulated data when it is, up to which day the log
holds data, codes in Dutch; and it asks only for the window after a simulation's warm-up."""

from __future__ import annotations

import asyncio
import re
from datetime import date
from typing import Any

from projections.dashboard import LABELS, Simulated, dashboard_page, window
from projections.disclosure import Disclosure

UNTIL = date(2026, 8, 31)
PERIOD = Simulated(date(2025, 9, 1), date(2026, 8, 31))


class Figures:
    """Rows in the API's shape, with the raw codes of the views; remembers what was asked."""

    disclosure = Disclosure()

    def __init__(self, until: date | None) -> None:
        self.until = until
        self.asked: list[tuple[str, dict[str, Any]]] = []

    async def query(self, projection: str, **kwargs: Any) -> tuple[list[str], list[Any]]:
        self.asked.append((projection, kwargs))
        day = date(2026, 3, 2)
        codes = {
            "inflow": ["FIRST", "REPEAT", "NAREIS"],
            "departures": ["INDEPENDENT", "FORCED", "DUBLIN_TRANSFER", "UNSUPERVISED"],
            "decisions": ["A", "B", "REJECTED", "INADMISSIBLE", "MANIFESTLY_UNFOUNDED"],
            "occupancy": ["AZC", "UNPLACED"],
        }.get(projection)
        if projection == "capacity":
            return [], [(day, "AZC", 40, 50, 80.0)]
        if codes is None:
            return [], [(day, 10)]
        return [], [(day, code, 10) for code in codes]

    async def housing(self, task_period: str | None) -> tuple[list[str], list[Any]]:
        return [], [("GM0363", "2026-I", 100, 40, 30, 70)]

    async def data_until(self) -> date | None:
        return self.until


def test_the_window_is_the_simulated_period_or_the_year_up_to_the_last_day() -> None:
    assert window(UNTIL, PERIOD) == (date(2025, 9, 1), UNTIL)
    assert window(date(2026, 3, 31), PERIOD) == (date(2025, 9, 1), date(2026, 3, 31))
    assert window(UNTIL, None) == (date(2025, 9, 1), UNTIL)
    assert window(date(2024, 12, 31), None) == (date(2024, 1, 2), date(2024, 12, 31))


def test_a_simulation_is_labelled_windowed_after_its_warm_up_and_shown_in_dutch() -> None:
    source = Figures(UNTIL)
    page = asyncio.run(dashboard_page(source, PERIOD))
    assert "Gesimuleerde gegevens" in page
    assert f'<time datetime="{UNTIL.isoformat()}">31 augustus 2026</time>' in page
    assert "getoond: 1 september 2025 t/m 31 augustus 2026" in page
    assert {kwargs["start"] for _, kwargs in source.asked} == {PERIOD.start}
    assert {kwargs["end"] for _, kwargs in source.asked} == {UNTIL}
    legend = re.findall(r'<span class="key"><i [^>]*></i>([^<]+)</span>', page)
    for code, dutch in LABELS.items():
        if code not in ("NOODOPVANG", "CRISISNOODOPVANG"):
            assert dutch in legend, code
            assert code not in legend, code
    assert "AZC" in legend
    assert "no data" not in page


def test_real_data_is_not_called_simulated_and_an_empty_log_says_so() -> None:
    page = asyncio.run(dashboard_page(Figures(UNTIL), None))
    assert "Gesimuleerde" not in page and "Gegevens t/m" in page
    empty = asyncio.run(dashboard_page(Figures(None), None))
    assert "De tijdlijn bevat nog geen gegevens." in empty and "<figure" not in empty
