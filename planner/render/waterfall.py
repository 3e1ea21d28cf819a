"""The waterfall chart of an NPV bridge, as inline SVG (the conventions of planner.render.charts).

A bar for the starting total, one floating bar per step (green where the step adds NPV, red
where it takes NPV away, grey where it moves nothing), a bar for the closing total, thin
connectors from each bar's end to the next bar's start, the value of every bar written on
it, and a labelled value axis. Values are formatted by the caller, so the chart reads like
the tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from planner.render.charts import FONT, GRID, INK, MUTED, Format, nice_ticks

TOTAL, GAIN, LOSS, NONE = "#1f3a5f", "#1b7837", "#c0392b", "#9aa5b1"


@dataclass(frozen=True)
class Bar:
    """One bar: a total (drawn from zero) or a step (drawn from the running total)."""

    label: str
    value: float
    total: bool = False


def _text(x: float, y: float, content: str, size: int = 10, anchor: str = "middle", fill: str = INK, weight: str = "normal") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" fill="{fill}" font-weight="{weight}" {FONT}>'
            f"{escape(content)}</text>")


def _label_lines(label: str, width: float) -> list[str]:
    """The label in lines that fit a bar's slot (about 6 px a character at 10 px)."""
    lines: list[str] = []
    for word in label.split():
        if lines and len(lines[-1]) + 1 + len(word) <= max(4, int(width / 6)):
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines


def waterfall(title: str, bars: Sequence[Bar], axis_label: str, fmt: Format, signed: Format, width: int = 720, height: int = 320) -> Markup:
    """A waterfall from the first total through the steps to the last total."""
    left, right, top, bottom = 84, width - 12, 40, height - 62
    running, spans = 0.0, []
    for bar in bars:
        start, end = (0.0, bar.value) if bar.total else (running, running + bar.value)
        spans.append((start, end))
        running = end
    ticks = nice_ticks(min(min(s) for s in spans), max(max(s) for s in spans))
    low, high = ticks[0], ticks[-1]

    def y(value: float) -> float:
        return bottom - (value - low) / (high - low) * (bottom - top)

    body = []
    for tick in ticks:
        body.append(f'<line x1="{left}" x2="{right}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="{GRID}" stroke-width="{1.5 if tick == 0 else 1}"/>')
        body.append(_text(left - 6, y(tick) + 4, fmt(tick), 10, "end", MUTED))
    middle = (top + bottom) / 2
    body.append(f'<text x="14" y="{middle:.1f}" font-size="11" text-anchor="middle" fill="{MUTED}" {FONT} '
                f'transform="rotate(-90 14 {middle:.1f})">{escape(axis_label)}</text>')
    slot = (right - left) / max(len(bars), 1)
    for n, (bar, (start, end)) in enumerate(zip(bars, spans)):
        x0 = left + n * slot + slot * 0.14
        bar_width = slot * 0.72
        upper, lower = sorted((y(start), y(end)))
        colour = TOTAL if bar.total else GAIN if bar.value > 0.5 else LOSS if bar.value < -0.5 else NONE
        shown = fmt(bar.value) if bar.total else signed(bar.value)
        body.append(f'<rect x="{x0:.1f}" y="{upper:.1f}" width="{bar_width:.1f}" height="{max(lower - upper, 1.0):.1f}" fill="{colour}">'
                    f"<title>{escape(bar.label)}: {escape(shown)}</title></rect>")
        label_y = upper - 4 if (bar.total or bar.value >= 0) else lower + 12
        body.append(_text(x0 + bar_width / 2, label_y, shown, 9, weight="bold" if bar.total else "normal"))
        if n + 1 < len(bars):
            join = y(end)
            body.append(f'<line x1="{x0 + bar_width:.1f}" x2="{x0 + slot:.1f}" y1="{join:.1f}" y2="{join:.1f}" stroke="{MUTED}" '
                        'stroke-width="1" stroke-dasharray="2 2"/>')
        for line, text in enumerate(_label_lines(bar.label, slot)):
            body.append(_text(left + n * slot + slot / 2, bottom + 14 + 12 * line, text, 10))
    body.append(_text(left, 16, title, 12, "start", INK, "bold"))
    legend = [("adds NPV", GAIN), ("takes NPV away", LOSS), ("plan NPV", TOTAL)]
    x = left
    for text, colour in legend:
        body.append(f'<rect x="{x:.1f}" y="{height - 17:.1f}" width="12" height="10" fill="{colour}"/>')
        body.append(_text(x + 16, height - 8, text, 10, "start"))
        x += 30 + 6.2 * len(text)
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
            f'role="img" class="chart"><title>{escape(title)}</title>')
    return Markup(head + "".join(body) + "</svg>")
