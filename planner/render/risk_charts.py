"""The charts of risk.html as inline SVG: the fan of cumulative NPV by quarter, the histogram
of NPV, and the risk/return frontier. Built with the axes, legends and text of
planner.render.charts, so they read like the other reports' charts; values are formatted
by the report's filters. `RISK_GLOBALS` are the names risk.html.j2 calls.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup

from planner.core.formatting import money, percent
from planner.render.charts import (ACCENT, GRID, INK, LIMIT, MUTED, PALETTE, _legend, _scale, _svg, _text, _value_axis,
                                   nice_ticks)

BAND = "#c9d6e8"


def fan_chart(bands: Sequence, horizon: int, currency: str, width: int = 720, height: int = 360) -> Markup:
    """Cumulative discounted NPV by quarter: the P10-P90 band, the median and the plan's point estimate."""
    title = "Cumulative NPV by quarter: P10 to P90 of the draws, median and the plan's point estimate"
    fmt = lambda v: money(v, currency)  # noqa: E731
    left, right, top, bottom = 78, width - 24, 46, height - 58
    values = [v for b in bands for v in (b.p10, b.p90, b.point)]
    ticks = nice_ticks(min(values, default=0.0), max(values, default=1.0))
    y = _scale(ticks[0], ticks[-1], bottom, top)
    x = _scale(0, max(len(bands) - 1, 1), left, right)
    body = _value_axis(ticks, y, left, right, f"cumulative NPV ({currency})", fmt, top, bottom)
    step = max(1, -(-len(bands) // 8))  # at most 8 labels: quarter names are wide
    for n, band in enumerate(bands):
        if n % step == 0:
            body.append(_text(x(n), bottom + 16, band.quarter, 10, "middle", MUTED))
    if horizon < len(bands):  # the tail quarters after the horizon count benefits only
        body.append(f'<line x1="{x(horizon - 0.5):.1f}" x2="{x(horizon - 0.5):.1f}" y1="{top}" y2="{bottom}" stroke="{MUTED}" '
                    'stroke-dasharray="3 3"/>')
        body.append(_text(x(horizon - 0.5) + 4, top + 12, "end of horizon", 10, "start", MUTED))
    upper = " ".join(f"{x(n):.1f},{y(b.p90):.1f}" for n, b in enumerate(bands))
    lower = " ".join(f"{x(n):.1f},{y(b.p10):.1f}" for n, b in reversed(list(enumerate(bands))))
    body.append(f'<polygon points="{upper} {lower}" fill="{BAND}" stroke="none"><title>P10 to P90</title></polygon>')
    for key, colour, dash in (("p50", ACCENT, ""), ("point", LIMIT, ' stroke-dasharray="6 3"')):
        path = " ".join(f"{'M' if n == 0 else 'L'}{x(n):.1f},{y(getattr(b, key)):.1f}" for n, b in enumerate(bands))
        body.append(f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>')
    body.append(_text((left + right) / 2, height - 24, "quarter (cash at the end of each quarter, discounted)", 11, "middle", MUTED))
    body += _legend([("P10 to P90", BAND, "rect"), ("median", ACCENT, "rect"), ("point estimate", LIMIT, "line")], left, 32)
    body.append(_text(left, 14, title, 12, "start", INK, "bold"))
    return _svg(width, height, title, body)


def histogram_chart(bins: Sequence, marks: Sequence[tuple[str, float]], currency: str, width: int = 720, height: int = 320) -> Markup:
    """The NPV of every draw in bins, with the plan's point NPV, mean, P10 and P90 marked."""
    title = "NPV of the plan across the draws"
    fmt = lambda v: money(v, currency)  # noqa: E731
    left, right, top, bottom = 64, width - 24, 46, height - 58
    low = min([b.low for b in bins] + [v for _, v in marks], default=0.0)
    high = max([b.high for b in bins] + [v for _, v in marks], default=1.0)
    x = _scale(low, high, left, right)
    ticks = nice_ticks(0, max((b.draws for b in bins), default=1), 4)
    y = _scale(ticks[0], ticks[-1], bottom, top)
    body = _value_axis(ticks, y, left, right, "draws", lambda v: f"{v:,.0f}", top, bottom)
    for b in bins:
        body.append(f'<rect x="{x(b.low):.1f}" y="{y(b.draws):.1f}" width="{max(x(b.high) - x(b.low) - 1, 0.5):.1f}" '
                    f'height="{bottom - y(b.draws):.1f}" fill="{ACCENT}"><title>{fmt(b.low)} to {fmt(b.high)}: {b.draws:,} draws</title></rect>')
    for tick in nice_ticks(low, high, 6):
        if low <= tick <= high:
            body.append(_text(x(tick), bottom + 16, fmt(tick), 10, "middle", MUTED))
    legend = []
    for n, (label, value) in enumerate(marks):
        colour = PALETTE[(n + 1) % len(PALETTE)]
        body.append(f'<line x1="{x(value):.1f}" x2="{x(value):.1f}" y1="{top:.1f}" y2="{bottom:.1f}" stroke="{colour}" stroke-width="2" '
                    f'stroke-dasharray="5 3"><title>{label}: {fmt(value)}</title></line>')
        legend.append((f"{label} {fmt(value)}", colour, "line"))
    body.append(_text((left + right) / 2, height - 24, f"NPV ({currency})", 11, "middle", MUTED))
    body += _legend(legend, left, 32)
    body.append(_text(left, 14, title, 12, "start", INK, "bold"))
    return _svg(width, height, title, body)


def risk_return_chart(points: Sequence, base: tuple[float, float], robust: tuple[float, float], level: float, currency: str,
                      width: int = 720, height: int = 340) -> Markup:
    """Expected NPV against CVaR for each floor of the sweep, the base and robust plans marked."""
    title = f"Risk and return: expected NPV against CVaR at {percent(level, 0)} (the mean of the worst {percent(level, 0)} of outcomes)"
    fmt = lambda v: money(v, currency)  # noqa: E731
    left, right, top, bottom = 78, width - 24, 46, height - 58
    feasible = [p for p in points if p.expected_npv is not None]
    xs = [p.cvar for p in feasible] + [base[0], robust[0]]
    ys = [p.expected_npv for p in feasible] + [base[1], robust[1]]
    pad_x = (max(xs) - min(xs)) * 0.08 or abs(max(xs)) * 0.01 or 1.0
    pad_y = (max(ys) - min(ys)) * 0.08 or abs(max(ys)) * 0.01 or 1.0
    x = _scale(min(xs) - pad_x, max(xs) + pad_x, left, right)
    y = _scale(min(ys) - pad_y, max(ys) + pad_y, bottom, top)
    body: list[str] = []
    for n in range(5):  # five evenly spaced gridlines: the ranges are narrow, round ticks would crowd one end
        value_y = min(ys) - pad_y + (max(ys) - min(ys) + 2 * pad_y) * n / 4
        value_x = min(xs) - pad_x + (max(xs) - min(xs) + 2 * pad_x) * n / 4
        body += [f'<line x1="{left}" x2="{right}" y1="{y(value_y):.1f}" y2="{y(value_y):.1f}" stroke="{GRID}"/>',
                 _text(left - 6, y(value_y) + 4, fmt(value_y), 10, "end", MUTED),
                 _text(x(value_x), bottom + 16, fmt(value_x), 10, "middle", MUTED)]
    path = " ".join(f"{'M' if n == 0 else 'L'}{x(p.cvar):.1f},{y(p.expected_npv):.1f}" for n, p in enumerate(feasible))
    body.append(f'<path d="{path}" fill="none" stroke="{ACCENT}" stroke-width="2"/>')
    for p in feasible:
        body.append(f'<circle cx="{x(p.cvar):.1f}" cy="{y(p.expected_npv):.1f}" r="3" fill="{ACCENT}"><title>floor {fmt(p.floor)}: '
                    f'expected {fmt(p.expected_npv)}, CVaR {fmt(p.cvar)}</title></circle>')
    for label, (cvar, expected), colour in (("base plan", base, LIMIT), ("robust plan", robust, PALETTE[2])):
        body.append(f'<circle cx="{x(cvar):.1f}" cy="{y(expected):.1f}" r="6" fill="none" stroke="{colour}" stroke-width="2.5">'
                    f'<title>{label}: expected {fmt(expected)}, CVaR {fmt(cvar)}</title></circle>')
    body.append(_text((left + right) / 2, height - 24, f"CVaR at {percent(level, 0)} ({currency}); further right is safer", 11, "middle", MUTED))
    middle = (top + bottom) / 2
    body.append(_text(14, middle, f"expected NPV ({currency})", 11, "middle", MUTED, extra=f' transform="rotate(-90 14 {middle:.1f})"'))
    body += _legend([("frontier", ACCENT, "rect"), ("base plan", LIMIT, "rect"), ("robust plan", PALETTE[2], "rect")], left, 32)
    body.append(_text(left, 14, title, 12, "start", INK, "bold"))
    return _svg(width, height, title, body)


RISK_GLOBALS = {"fan_chart": fan_chart, "histogram_chart": histogram_chart, "risk_return_chart": risk_return_chart}
