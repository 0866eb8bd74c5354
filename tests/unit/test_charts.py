"""The dashboard's charts and series: what is drawn, what is left out, what counts as zero."""

from __future__ import annotations

from datetime import date

from projections import charts
from projections.dashboard import series as _series

D1, D2, D3 = date(2026, 1, 5), date(2026, 1, 12), date(2026, 1, 19)


def test_a_suppressed_count_is_a_gap_and_a_missing_flow_period_is_zero() -> None:
    rows = [(D1, "FIRST", 10), (D2, "FIRST", None), (D3, "FIRST", 15), (D1, "REPEAT", 5)]
    flows = _series(rows, lambda r: r[1], flow=True)
    assert flows["FIRST"] == [(D1, 10.0), (D3, 15.0)]
    assert flows["REPEAT"] == [(D1, 5.0), (D2, 0.0), (D3, 0.0)]
    stocks = _series(rows, lambda r: r[1], flow=False)
    assert stocks["REPEAT"] == [(D1, 5.0)]


def test_charts_carry_their_points_and_say_when_there_is_nothing() -> None:
    line = charts.line_chart("Instroom", {"FIRST": [(D1, 10.0), (D2, 20.0)]})
    assert 'data-points="2"' in line and 'class="series"' in line and "FIRST" in line
    bars = charts.bar_chart("Vertrek", {"FORCED": [(D1, 3.0)], "INDEPENDENT": [(D1, 4.0)]})
    assert bars.count('class="bar"') == 2 and 'data-value="4"' in bars
    empty = charts.line_chart("Leeg", {})
    assert 'data-points="0"' in empty and "nog geen gegevens" in empty
