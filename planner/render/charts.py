"""Charts for the HTML report, as inline SVG strings made in Python.

No browser, no JavaScript and no fonts from elsewhere: each function returns a Markup
string of one <svg> sized in CSS pixels that scales to the page width and prints crisply.
Every chart has a title for screen readers, labelled axes and units; values are formatted
by the caller's functions (the report's Jinja2 filters), so a chart reads like the tables.
Text from the inputs (stage, channel, team names) is escaped here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

Format = Callable[[float], str]
FONT = 'font-family="Helvetica, Arial, sans-serif"'
INK, MUTED, GRID, ACCENT, LIMIT = "#1f2933", "#52606d", "#d9e2ec", "#1f3a5f", "#c0392b"


@dataclass(frozen=True)
class Series:
    label: str
    values: Sequence[float]


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values (1, 2 or 5 times a power of ten) covering low..high, zero included."""
    low, high = min(low, 0.0), max(high, 0.0)
    if high - low < 1e-12:
        high = low + 1.0
    raw = (high - low) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    ticks = [math.floor(low / step) * step]
    while ticks[-1] < high - 1e-9 * step:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def _text(x: float, y: float, content: str, size: int = 11, anchor: str = "middle", fill: str = INK, weight: str = "normal", extra: str = "") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" fill="{fill}" '
            f'font-weight="{weight}" {FONT}{extra}>{escape(content)}</text>')


def _svg(width: int, height: int, title: str, body: list[str]) -> Markup:
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
            f'role="img" class="chart"><title>{escape(title)}</title>')
    return Markup(head + "".join(body) + "</svg>")


def _value_axis(ticks: list[float], y: Callable[[float], float], left: float, right: float, label: str, fmt: Format, top: float, bottom: float) -> list[str]:
    parts = []
    for tick in ticks:
        parts.append(f'<line x1="{left:.1f}" x2="{right:.1f}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="{GRID}" stroke-width="{1.5 if tick == 0 else 1}"/>')
        parts.append(_text(left - 6, y(tick) + 4, fmt(tick), 10, "end", MUTED))
    middle = (top + bottom) / 2
    parts.append(_text(14, middle, label, 11, "middle", MUTED, extra=f' transform="rotate(-90 14 {middle:.1f})"'))
    return parts


def bars_against_limit(title: str, categories: Sequence[str], bars: Series, limit: Series, axis_label: str, category_label: str, fmt: Format,
                       width: int = 720, height: int = 300) -> Markup:
    """Bars (what is used) per category with a stepped line (what is allowed), e.g. spend vs budget."""
    left, right, top, bottom = 78, width - 16, 46, height - 58
    values = list(bars.values) + list(limit.values)
    ticks = nice_ticks(min(values, default=0.0), max(values, default=1.0))
    low, high = ticks[0], ticks[-1]

    def y(value: float) -> float:
        return bottom - (value - low) / (high - low) * (bottom - top)

    body = _value_axis(ticks, y, left, right, axis_label, fmt, top, bottom)
    slot = (right - left) / max(len(categories), 1)
    limit_path = []
    for i, category in enumerate(categories):
        x0 = left + i * slot
        value = bars.values[i]
        bar_top, bar_bottom = sorted((y(value), y(0.0)))
        over = value > limit.values[i] + 1e-6
        body.append(f'<rect x="{x0 + slot * 0.18:.1f}" y="{bar_top:.1f}" width="{slot * 0.64:.1f}" height="{max(bar_bottom - bar_top, 0.5):.1f}" '
                    f'fill="{LIMIT if over else ACCENT}"><title>{escape(category)}: {escape(fmt(value))}</title></rect>')
        body.append(_text(x0 + slot / 2, bottom + 16, category, 10, "middle", INK))
        command = "M" if i == 0 else "L"
        limit_path.append(f"{command}{x0:.1f},{y(limit.values[i]):.1f} L{x0 + slot:.1f},{y(limit.values[i]):.1f}")
    body.append(f'<path d="{" ".join(limit_path)}" fill="none" stroke="{LIMIT}" stroke-width="2" stroke-dasharray="6 3"/>')
    body.append(_text((left + right) / 2, height - 24, category_label, 11, "middle", MUTED))
    body += _legend([(bars.label, ACCENT, "rect"), (limit.label, LIMIT, "line")], left, 32)
    body.append(_text(left, 14, title, 12, "start", INK, "bold"))
    return _svg(width, height, title, body)


def _legend_lines(items: list[tuple[str, str, str]], x: float, right: float) -> list[list[tuple[str, str, str]]]:
    """Legend items split into lines that fit between x and right (each item as wide as `_legend` draws it)."""
    lines: list[list[tuple[str, str, str]]] = [[]]
    position = x
    for item in items:
        width = 28 + 6.2 * len(item[0])
        if lines[-1] and position + width > right:
            lines.append([])
            position = x
        lines[-1].append(item)
        position += width
    return lines


def _legend(items: list[tuple[str, str, str]], x: float, y: float) -> list[str]:
    parts = []
    for label, colour, shape in items:
        if shape == "rect":
            parts.append(f'<rect x="{x:.1f}" y="{y - 9:.1f}" width="12" height="10" fill="{colour}"/>')
        else:
            parts.append(f'<line x1="{x:.1f}" x2="{x + 14:.1f}" y1="{y - 4:.1f}" y2="{y - 4:.1f}" stroke="{colour}" stroke-width="2" stroke-dasharray="6 3"/>')
        parts.append(_text(x + 18, y, label, 10, "start", INK))
        x += 28 + 6.2 * len(label)
    return parts


def _mix(start: tuple[int, int, int], end: tuple[int, int, int], share: float) -> str:
    share = max(0.0, min(1.0, share))
    return "#" + "".join(f"{round(a + (b - a) * share):02x}" for a, b in zip(start, end))


WHITE, BLUE, GREEN, RED = (255, 255, 255), (31, 58, 95), (27, 120, 55), (178, 24, 43)


def heat_colour(value: float, largest: float, diverging: bool) -> tuple[str, bool]:
    """Fill colour of a heat-map cell and whether its label needs light text."""
    if largest <= 0:
        return "#ffffff", False
    share = abs(value) / largest
    end = (RED if value < 0 else GREEN) if diverging else BLUE
    return _mix(WHITE, end, share), share > 0.55


def heat_map(title: str, rows: Sequence[str], columns: Sequence[str], values: Sequence[Sequence[float]], row_label: str, column_label: str,
             fmt: Format, diverging: bool = False, cell_width: int = 92) -> Markup:
    """A table of coloured cells: darker is larger; with `diverging`, red is negative, green positive."""
    label_width, header, cell_height = 130, 58, 30
    width = label_width + cell_width * max(len(columns), 1) + 12
    height = header + cell_height * max(len(rows), 1) + 30
    largest = max((abs(v) for row in values for v in row), default=0.0)
    body = [_text(0, 14, title, 12, "start", INK, "bold"),
            _text(label_width + cell_width * len(columns) / 2, 32, column_label, 11, "middle", MUTED)]
    for j, column in enumerate(columns):
        body.append(_text(label_width + cell_width * (j + 0.5), header - 8, _clip(column, cell_width), 10, "middle", INK, "bold"))
    for i, row in enumerate(rows):
        y0 = header + i * cell_height
        body.append(_text(label_width - 8, y0 + cell_height / 2 + 4, _clip(row, label_width), 10, "end", INK, "bold"))
        for j, value in enumerate(values[i]):
            fill, light = heat_colour(value, largest, diverging)
            x0 = label_width + j * cell_width
            body.append(f'<rect x="{x0 + 1:.1f}" y="{y0 + 1:.1f}" width="{cell_width - 2}" height="{cell_height - 2}" fill="{fill}" stroke="{GRID}">'
                        f'<title>{escape(row)} / {escape(columns[j])}: {escape(fmt(value))}</title></rect>')
            if abs(value) > 1e-9:
                body.append(_text(x0 + cell_width / 2, y0 + cell_height / 2 + 4, fmt(value), 10, "middle", "#ffffff" if light else INK))
    body.append(_text(4, header - 8, row_label, 10, "start", MUTED))
    note = "darker is larger; red is negative" if diverging else "darker is larger"
    body.append(_text(label_width, height - 8, f"{note}; empty cells: nothing funded", 9, "start", MUTED))
    return _svg(width, height, title, body)


def _clip(text: str, width: float) -> str:
    """Labels longer than the room they have end in an ellipsis (the full text is in the tables)."""
    room = max(int(width / 6.2), 4)
    return text if len(text) <= room else text[: room - 1] + "…"


def small_multiples(title: str, panels: Sequence[tuple[str, Sequence[str], Series, Series]], axis_label: str, fmt: Format,
                    columns: int = 3, panel_width: int = 240, panel_height: int = 170) -> Markup:
    """One small bars-against-limit chart per panel (e.g. per team), on a shared scale."""
    values = [v for _, _, used, limit in panels for v in list(used.values) + list(limit.values)]
    ticks = nice_ticks(0.0, max(values, default=1.0), 4)
    rows = math.ceil(len(panels) / columns) if panels else 1
    width, height = columns * panel_width, rows * panel_height + 44
    body = [_text(0, 14, title, 12, "start", INK, "bold")]
    body += _legend([("used", ACCENT, "rect"), ("capacity", LIMIT, "line")], 0, 32)
    for index, (name, categories, used, limit) in enumerate(panels):
        x0, y0 = (index % columns) * panel_width, 44 + (index // columns) * panel_height
        body.append(_panel(x0, y0, panel_width, panel_height, name, categories, used, limit, ticks, axis_label, fmt))
    return _svg(width, height, title, body)


def _quarter_parts(category: str) -> tuple[str, str]:
    """'2027Q1' -> ('2027', 'Q1'), 'FY28 Q1' -> ('FY28', 'Q1'); anything else is its own tick label."""
    match = re.fullmatch(r"(.*?)\s*(Q[1-4])", category)
    return (match.group(1), match.group(2)) if match else ("", category)


def _panel(x0: float, y0: float, width: float, height: float, name: str, categories: Sequence[str], used: Series, limit: Series,
           ticks: list[float], axis_label: str, fmt: Format) -> str:
    left, right, top, bottom = x0 + 58, x0 + width - 10, y0 + 28, y0 + height - 44
    high = ticks[-1] or 1.0

    def y(value: float) -> float:
        return bottom - value / high * (bottom - top)

    parts = [_text(left, y0 + 12, name, 11, "start", INK, "bold")]
    for tick in ticks:
        parts.append(f'<line x1="{left:.1f}" x2="{right:.1f}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="{GRID}"/>')
        parts.append(_text(left - 4, y(tick) + 3, fmt(tick), 9, "end", MUTED))
    middle = (top + bottom) / 2
    parts.append(_text(x0 + 10, middle, axis_label, 9, "middle", MUTED, extra=f' transform="rotate(-90 {x0 + 10:.1f} {middle:.1f})"'))
    slot = (right - left) / max(len(categories), 1)
    # Quarter labels ("Q1") under each bar, the year under its first quarter; thinned out
    # when the bars are narrower than a label (about 5.6 px a character at 8 px).
    split = [_quarter_parts(category) for category in categories]
    every = max(1, math.ceil(5.6 * max((len(tick) for _, tick in split), default=1) / slot))
    path = []
    for i, category in enumerate(categories):
        x = left + i * slot
        value = used.values[i]
        over = value > limit.values[i] + 1e-6
        parts.append(f'<rect x="{x + slot * 0.15:.1f}" y="{y(value):.1f}" width="{slot * 0.7:.1f}" height="{max(bottom - y(value), 0):.1f}" '
                     f'fill="{LIMIT if over else ACCENT}"><title>{escape(name)} {escape(category)}: {escape(fmt(value))} of {escape(fmt(limit.values[i]))}</title></rect>')
        path.append(f"{'M' if i == 0 else 'L'}{x:.1f},{y(limit.values[i]):.1f} L{x + slot:.1f},{y(limit.values[i]):.1f}")
        year, tick = split[i]
        if i % every == 0:
            parts.append(_text(x + slot / 2, bottom + 11, tick, 8, "middle", MUTED))
        if year and (i == 0 or split[i - 1][0] != year):
            parts.append(_text(x + 1, bottom + 22, year, 8, "start", INK))
    parts.append(f'<path d="{" ".join(path)}" fill="none" stroke="{LIMIT}" stroke-width="1.5" stroke-dasharray="5 3"/>')
    parts.append(_text((left + right) / 2, bottom + 35, "quarter", 9, "middle", MUTED))
    return "".join(parts)


# ---------------------------------------------------------------------------------------
# What-if charts: the frontier, the tornado, spend side by side

PALETTE = ("#1f3a5f", "#e08e0b", "#1b7837", "#7b3294", "#c0392b", "#4a90a4")
KNEE, CHOSEN = "#1b7837", "#c0392b"


@dataclass(frozen=True)
class Mark:
    """A point to call out on a line chart (the scenario's budget, the knee)."""

    x: float
    y: float
    label: str
    colour: str
    shape: str = "circle"  # or "diamond"


def _scale(low: float, high: float, start: float, end: float) -> Callable[[float], float]:
    span = (high - low) or 1.0
    return lambda value: start + (value - low) / span * (end - start)


def _marker(x: float, y: float, colour: str, shape: str, size: float, tip: str) -> str:
    title = f"<title>{escape(tip)}</title>"
    if shape == "diamond":
        return (f'<path d="M{x:.1f},{y - size:.1f} L{x + size:.1f},{y:.1f} L{x:.1f},{y + size:.1f} L{x - size:.1f},{y:.1f} Z" '
                f'fill="{colour}" stroke="#ffffff" stroke-width="1.5">{title}</path>')
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{size:.1f}" fill="{colour}" stroke="#ffffff" stroke-width="1.5">{title}</circle>'


def line_with_marks(title: str, xs: Sequence[float], ys: Sequence[float], marks: Sequence[Mark], x_label: str, y_label: str,
                    fmt_x: Format, fmt_y: Format, width: int = 720, height: int = 360) -> Markup:
    """A line through (x, y) points with a dot at each, and called-out marks, e.g. NPV against budget."""
    left, right, top, bottom = 78, width - 24, 46, height - 58
    all_x = list(xs) + [m.x for m in marks]
    all_y = list(ys) + [m.y for m in marks]
    x_ticks = nice_ticks(min(all_x, default=0.0), max(all_x, default=1.0), 6)
    y_ticks = nice_ticks(min(all_y, default=0.0), max(all_y, default=1.0))
    x = _scale(x_ticks[0], x_ticks[-1], left, right)
    y = _scale(y_ticks[0], y_ticks[-1], bottom, top)
    body = _value_axis(y_ticks, y, left, right, y_label, fmt_y, top, bottom)
    for tick in x_ticks:
        body.append(f'<line x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="{top:.1f}" y2="{bottom:.1f}" stroke="{GRID}" stroke-width="1"/>')
        body.append(_text(x(tick), bottom + 16, fmt_x(tick), 10, "middle", MUTED))
    body.append(_text((left + right) / 2, height - 24, x_label, 11, "middle", MUTED))
    if xs:
        path = " ".join(f"{'M' if i == 0 else 'L'}{x(a):.1f},{y(b):.1f}" for i, (a, b) in enumerate(zip(xs, ys)))
        body.append(f'<path d="{path}" fill="none" stroke="{ACCENT}" stroke-width="2"/>')
        body += [_marker(x(a), y(b), ACCENT, "circle", 3, f"{fmt_x(a)}: {fmt_y(b)}") for a, b in zip(xs, ys)]
    for mark in marks:
        body.append(f'<line x1="{x(mark.x):.1f}" x2="{x(mark.x):.1f}" y1="{y(mark.y):.1f}" y2="{bottom:.1f}" stroke="{mark.colour}" '
                    'stroke-width="1" stroke-dasharray="4 3"/>')
        body.append(_marker(x(mark.x), y(mark.y), mark.colour, mark.shape, 7, f"{mark.label}: {fmt_x(mark.x)}, {fmt_y(mark.y)}"))
        # Right of centre the label sits above-left of the mark, otherwise below-right: clear of a rising line.
        anchor, dx, dy = ("end", -10, -10) if x(mark.x) > (left + right) / 2 else ("start", 10, 16)
        body.append(_text(x(mark.x) + dx, y(mark.y) + dy, f"{mark.label}: {fmt_y(mark.y)}", 10, anchor, mark.colour, "bold"))
    legend = [("computed points", ACCENT, "rect")] + [(m.label, m.colour, "rect") for m in marks]
    body += _legend(legend, left, 32)
    body.append(_text(left, 14, title, 12, "start", INK, "bold"))
    return _svg(width, height, title, body)


@dataclass(frozen=True)
class Bar:
    """One input of a tornado: the change at its low and its high value (None: no plan there)."""

    label: str
    low: float | None
    high: float | None
    low_label: str
    high_label: str


def tornado(title: str, bars: Sequence[Bar], axis_label: str, fmt: Format, width: int = 720) -> Markup:
    """Horizontal bars either side of the base (0): the change at each input's low and high value."""
    label_width, top, row_height = 190, 46, 30
    height = top + row_height * max(len(bars), 1) + 50
    left, right = label_width, width - 70
    values = [v for b in bars for v in (b.low, b.high) if v is not None]
    ticks = nice_ticks(min(values, default=-1.0), max(values, default=1.0), 6)
    x = _scale(ticks[0], ticks[-1], left, right)
    bottom = top + row_height * max(len(bars), 1)
    body = [_text(0, 14, title, 12, "start", INK, "bold")]
    body += _legend([("input at its low value", PALETTE[1], "rect"), ("input at its high value", ACCENT, "rect")], left, 32)
    for tick in ticks:
        body.append(f'<line x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="{top:.1f}" y2="{bottom:.1f}" stroke="{GRID}" '
                    f'stroke-width="{1.5 if tick == 0 else 1}"/>')
        body.append(_text(x(tick), bottom + 14, fmt(tick), 10, "middle", MUTED))
    body.append(_text((left + right) / 2, bottom + 34, axis_label, 11, "middle", MUTED))
    for i, bar in enumerate(bars):
        y0 = top + i * row_height
        body.append(_text(label_width - 8, y0 + row_height / 2 + 4, _clip(bar.label, label_width), 10, "end", INK, "bold"))
        for value, label, colour, offset in ((bar.low, bar.low_label, PALETTE[1], 0.2), (bar.high, bar.high_label, ACCENT, 0.5)):
            y_bar = y0 + row_height * offset
            if value is None:
                body.append(_text(x(0) + 4, y_bar + 9, f"{label}: no plan meets the rules", 9, "start", LIMIT))
                continue
            start, end = sorted((x(0), x(value)))
            body.append(f'<rect x="{start:.1f}" y="{y_bar:.1f}" width="{max(end - start, 1):.1f}" height="{row_height * 0.3:.1f}" '
                        f'fill="{colour}"><title>{escape(bar.label)} at {escape(label)}: {escape(fmt(value))}</title></rect>')
            if value >= 0:
                anchor, position, colour = "start", end + 3, MUTED
            elif start - 3 - 5 * len(label) >= left:
                anchor, position, colour = "end", start - 3, MUTED
            else:  # no room left of the bar: inside it, in white
                anchor, position, colour = "start", start + 3, "#ffffff"
            body.append(_text(position, y_bar + 8, label, 8, anchor, colour))
    return _svg(width, height, title, body)


def grouped_bars(title: str, categories: Sequence[str], series: Sequence[Series], axis_label: str, category_label: str, fmt: Format,
                 width: int = 720, height: int = 300) -> Markup:
    """Bars side by side per category, one colour per series (e.g. spend per journey stage, per scenario)."""
    legend = _legend_lines([(s.label, PALETTE[n % len(PALETTE)], "rect") for n, s in enumerate(series)], 78, width - 16)
    extra = 14 * (len(legend) - 1)  # many scenarios: the legend takes more lines, the plot moves down
    height += extra
    left, right, top, bottom = 78, width - 16, 46 + extra, height - 58
    values = [v for s in series for v in s.values]
    ticks = nice_ticks(min(values, default=0.0), max(values, default=1.0))
    y = _scale(ticks[0], ticks[-1], bottom, top)
    body = _value_axis(ticks, y, left, right, axis_label, fmt, top, bottom)
    slot = (right - left) / max(len(categories), 1)
    bar = slot * 0.8 / max(len(series), 1)
    for i, category in enumerate(categories):
        x0 = left + i * slot + slot * 0.1
        for n, item in enumerate(series):
            value = item.values[i]
            bar_top, bar_bottom = sorted((y(value), y(0.0)))
            body.append(f'<rect x="{x0 + n * bar:.1f}" y="{bar_top:.1f}" width="{bar * 0.92:.1f}" height="{max(bar_bottom - bar_top, 0.5):.1f}" '
                        f'fill="{PALETTE[n % len(PALETTE)]}"><title>{escape(category)}, {escape(item.label)}: {escape(fmt(value))}</title></rect>')
        body.append(_text(left + (i + 0.5) * slot, bottom + 16, _clip(category, slot), 10, "middle", INK))
    body.append(_text((left + right) / 2, height - 24, category_label, 11, "middle", MUTED))
    for n, line in enumerate(legend):
        body += _legend(line, left, 32 + 14 * n)
    body.append(_text(left, 14, title, 12, "start", INK, "bold"))
    return _svg(width, height, title, body)
