"""Charts for the dashboard as inline SVG, drawn on the server: the page needs no script and
no network, and a headless browser can check what it shows. Pure: series in, markup out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from html import escape

PALETTE = ("#01689b", "#e17000", "#39870c", "#a90061", "#8fcae7", "#ffb612", "#42145f", "#777")
WIDTH, HEIGHT, PAD_L, PAD_B, PAD_T = 720, 260, 56, 28, 12

Series = Mapping[str, Sequence[tuple[date, float]]]
NOTHING = '<text x="50%" y="50%" text-anchor="middle">nog geen gegevens</text>'


def _scale(values: Sequence[float]) -> float:
    top = max(values, default=0) or 1
    step = 10 ** max(0, len(str(int(top))) - 1)
    return float(((int(top) // step) + 1) * step)


def line_chart(title: str, series: Series, *, unit: str = "") -> str:
    """One line per series over time; an empty chart says so instead of drawing nothing."""
    names = sorted(series)
    lines = [(name, PALETTE[i % len(PALETTE)], "", series[name]) for i, name in enumerate(names)]
    return _lines(title, lines, names, unit)


def against_chart(
    title: str,
    pairs: Mapping[str, tuple[Sequence[tuple[date, float]], Sequence[tuple[date, float]]]],
    *,
    unit: str = "",
    solid: str = "",
    dashed: str = "",
) -> str:
    """Per name two lines in one colour, the solid one against the dashed one (e.g. occupancy
    against capacity per location type); the legend names the colours and the two strokes."""
    names = sorted(pairs)
    lines = []
    for i, name in enumerate(names):
        colour = PALETTE[i % len(PALETTE)]
        lines.append((name, colour, solid, pairs[name][0]))
        lines.append((name, colour, dashed, pairs[name][1]))
    strokes = f" ({solid}: doorgetrokken, {dashed}: gestreept)" if solid and dashed else ""
    return _lines(title, lines, names, unit, note=strokes)


def _lines(
    title: str,
    lines: Sequence[tuple[str, str, str, Sequence[tuple[date, float]]]],
    names: Sequence[str],
    unit: str,
    *,
    note: str = "",
) -> str:
    """(name, colour, kind, points) per line; a line of the second kind of its name (see
    against_chart) is dashed."""
    points = [p for *_, s in lines for p in s]
    if not points:
        return _frame(
            title, '<text x="50%" y="50%" text-anchor="middle">nog geen gegevens</text>', 0
        )
    days = sorted({d for d, _ in points})
    first, last = days[0].toordinal(), max(days[-1].toordinal(), days[0].toordinal() + 1)
    top = _scale([v for _, v in points])
    plot_w, plot_h = WIDTH - PAD_L - 10, HEIGHT - PAD_T - PAD_B

    def xy(d: date, v: float) -> str:
        x = PAD_L + (d.toordinal() - first) / (last - first) * plot_w
        y = PAD_T + plot_h - v / top * plot_h
        return f"{x:.1f},{y:.1f}"

    body = [_axes(top, days[0], days[-1], unit)]
    seen: set[str] = set()
    for name, colour, kind, s in lines:
        dash = ' stroke-dasharray="6 4"' if name in seen else ""
        seen.add(name)
        path = " ".join(xy(d, v) for d, v in sorted(s))
        body.append(
            f'<polyline class="series" data-series="{escape(name)}" data-kind="{escape(kind)}" '
            f'data-points="{len(s)}" fill="none" stroke="{colour}" stroke-width="2"{dash} '
            f'points="{path}"/>'
        )
    return _frame(title, "".join(body), len(points), names, note)


def bar_chart(title: str, series: Series, *, unit: str = "") -> str:
    """Stacked bars per period (e.g. departures per month by kind)."""
    periods = sorted({d for s in series.values() for d, _ in s})
    if not periods:
        return _frame(
            title, '<text x="50%" y="50%" text-anchor="middle">nog geen gegevens</text>', 0
        )
    totals = {p: sum(dict(s).get(p, 0) for s in series.values()) for p in periods}
    top = _scale(list(totals.values()))
    plot_w, plot_h = WIDTH - PAD_L - 10, HEIGHT - PAD_T - PAD_B
    bar_w = plot_w / len(periods)
    body = [_axes(top, periods[0], periods[-1], unit)]
    names = sorted(series)
    for j, p in enumerate(periods):
        y = float(PAD_T + plot_h)
        for i, name in enumerate(names):
            v = dict(series[name]).get(p, 0)
            h = v / top * plot_h
            y -= h
            body.append(
                f'<rect class="bar" data-series="{escape(name)}" data-value="{v:g}" '
                f'x="{PAD_L + j * bar_w + 1:.1f}" y="{y:.1f}" width="{max(bar_w - 2, 1):.1f}" '
                f'height="{h:.1f}" fill="{PALETTE[i % len(PALETTE)]}"/>'
            )
    points = sum(len(s) for s in series.values())
    return _frame(title, "".join(body), points, names)


def _axes(top: float, first: date, last: date, unit: str) -> str:
    bottom = HEIGHT - PAD_B
    ticks = "".join(
        f'<text x="{PAD_L - 6}" y="{PAD_T + (HEIGHT - PAD_T - PAD_B) * (1 - f) + 4:.0f}" '
        f'text-anchor="end" font-size="11">{top * f:,.0f}</text>'
        for f in (0, 0.5, 1)
    )
    return (
        f'<line x1="{PAD_L}" y1="{bottom}" x2="{WIDTH - 10}" y2="{bottom}" stroke="#999"/>'
        f'<line x1="{PAD_L}" y1="{PAD_T}" x2="{PAD_L}" y2="{bottom}" stroke="#999"/>{ticks}'
        f'<text x="{PAD_L}" y="{HEIGHT - 8}" font-size="11">{first.isoformat()}</text>'
        f'<text x="{WIDTH - 10}" y="{HEIGHT - 8}" font-size="11" text-anchor="end">'
        f"{last.isoformat()}</text>"
        f'<text x="{PAD_L + 4}" y="{PAD_T + 10}" font-size="11">{escape(unit)}</text>'
    )


def _legend(names: Sequence[str], note: str = "") -> str:
    items = "".join(
        f'<span class="key"><i style="background:{PALETTE[i % len(PALETTE)]}"></i>'
        f"{escape(n)}</span>"
        for i, n in enumerate(names)
    )
    return f'<div class="legend">{items}{escape(note)}</div>'


def _frame(title: str, body: str, points: int, names: Sequence[str] = (), note: str = "") -> str:
    return (
        f'<figure class="chart" data-points="{points}"><figcaption>{escape(title)}</figcaption>'
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" '
        f'aria-label="{escape(title)}">{body}</svg>{_legend(names, note)}</figure>'
    )


def category_bars(
    title: str, categories: Sequence[str], series: Mapping[str, Sequence[float]], *, unit: str = ""
) -> str:
    """Stacked bars per category (e.g. housed and still to house per municipality)."""
    if not categories:
        return _frame(
            title, '<text x="50%" y="50%" text-anchor="middle">nog geen gegevens</text>', 0
        )
    names = list(series)
    totals = [sum(series[n][j] for n in names) for j in range(len(categories))]
    top = _scale(totals)
    plot_w, plot_h = WIDTH - PAD_L - 10, HEIGHT - PAD_T - PAD_B
    bar_w = plot_w / len(categories)
    body = []
    for j, category in enumerate(categories):
        y = float(PAD_T + plot_h)
        for i, name in enumerate(names):
            v = series[name][j]
            h = v / top * plot_h
            y -= h
            body.append(
                f'<rect class="bar" data-series="{escape(name)}" data-value="{v:g}" '
                f'x="{PAD_L + j * bar_w + 1:.1f}" y="{y:.1f}" width="{max(bar_w - 2, 1):.1f}" '
                f'height="{h:.1f}" fill="{PALETTE[i % len(PALETTE)]}"><title>{escape(category)}: '
                f"{v:g}</title></rect>"
            )
        body.append(
            f'<text x="{PAD_L + (j + 0.5) * bar_w:.1f}" y="{HEIGHT - 14}" font-size="9" '
            f'text-anchor="middle">{escape(category)}</text>'
        )
    axis = (
        f'<line x1="{PAD_L}" y1="{HEIGHT - PAD_B}" x2="{WIDTH - 10}" y2="{HEIGHT - PAD_B}" '
        f'stroke="#999"/><text x="{PAD_L - 6}" y="{PAD_T + 4}" text-anchor="end" '
        f'font-size="11">{top:,.0f}</text><text x="{PAD_L + 4}" y="{PAD_T + 10}" '
        f'font-size="11">{escape(unit)}</text>'
    )
    points = sum(1 for n in names for v in series[n] if v)
    return _frame(title, axis + "".join(body), points, names)
