"""The HTML reports: one self-contained page per report, rendered by Jinja2 from templates/<kind>.html.j2.

One Environment (`environment()`) with autoescape on and StrictUndefined holds every
formatting filter (from `planner.core.formatting`: money, percent, number, quarter,
marginal value) and the chart functions (`planner.render.charts`), so templates hold layout
only. A page has its CSS and SVG charts inline, makes no request to any other host, reads without JavaScript and prints on
A4 (one section a page); the one script, the frontier's budget slider, only enhances a page
that is complete without it, and reads its points from JSON made by `frontier_json`.
Sections come from the report model in order; the layout of a section with key K is
templates/sections/K.html.j2, so a new kind of section needs a new partial and no change here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
from markupsafe import Markup

from planner.core.formatting import FILTERS, money, number, percent, signed_money
from planner.render import charts, waterfall
from planner.render.blueprint import blueprint_svg
from planner.render.risk_charts import RISK_GLOBALS
from planner.reports.plan_report import Attention, Grid, QuarterRow, Report
from planner.core.glossary import name as glossary_name
from planner.core.resources import TEMPLATES

if TYPE_CHECKING:  # the what-if models import the solver stack; a plan's report does not need it
    from planner.analysis.variants import TornadoBar
    from planner.reports.analysis_reports import FrontierRow, FrontierView, ShiftTable


def _chart_money(currency: str) -> Callable[[float], str]:
    return lambda value: money(value, currency)


def spend_chart(quarters: tuple[QuarterRow, ...], currency: str) -> Markup:
    return charts.bars_against_limit(
        "Spend by quarter against the budget", [q.quarter for q in quarters],
        charts.Series("spend", [q.spend for q in quarters]), charts.Series("budget", [q.budget for q in quarters]),
        f"{currency} per quarter", "quarter", _chart_money(currency),
    )


def attention_chart(attention: Attention) -> Markup:
    panels = [
        (team.team, [q.quarter for q in team.quarters], charts.Series("used", [q.used for q in team.quarters]),
         charts.Series("capacity", [q.capacity for q in team.quarters]))
        for team in attention.teams
    ]
    return charts.small_multiples("Attention by team and quarter against capacity", panels, "team-weeks", lambda v: number(v))


def heat_map(grid: Grid, title: str, currency: str) -> Markup:
    return charts.heat_map(title, grid.rows, grid.columns, grid.values, grid.row_dimension, grid.column_dimension,
                           _chart_money(currency), diverging=grid.measure == "npv")


# ---------------------------------------------------------------------------------------
# The what-if reports (planner.reports.analysis_reports)


def frontier_chart(view: FrontierView, currency: str) -> Markup:
    """NPV against budget, the scenario's budget (the chosen point) and the knee marked."""
    points = view.feasible
    marks = [charts.Mark(p.budget, p.npv, "scenario budget", charts.CHOSEN) for p in points if p.chosen]
    marks += [charts.Mark(p.budget, p.npv, "knee", charts.KNEE, "diamond") for p in points if p.knee]
    return charts.line_with_marks("NPV at each budget: the efficient frontier", [p.budget for p in points], [p.npv for p in points], marks,
                                  f"budget over the horizon ({currency})", f"NPV ({currency})", _chart_money(currency), _chart_money(currency))


def _point_text(point: FrontierRow, currency: str) -> str:
    """The slider's reading for one point, formatted here like the tables."""
    mark = f" ({point.mark})" if point.mark else ""
    if not point.feasible:
        return f"{money(point.budget, currency)}{mark}: {point.status}, no plan meets the rules"
    status = "proven optimal" if point.status == "optimal" else f"{point.status}, gap {percent(point.gap, 2)}"
    return (f"{money(point.budget, currency)}{mark}: NPV {money(point.npv, currency)}, ROI {percent(point.roi)}, "
            f"{point.funded_count} experiences funded ({status})")


def frontier_json(view: FrontierView, currency: str) -> Markup:
    """The points for the budget slider, as JSON safe inside <script type="application/json">.

    Every "<", ">" and "&" is written as a \\u escape, so no text from the inputs can close
    the script element or open a comment; JSON.parse reads the escapes back.
    """
    data = {
        "currency": currency,
        "chosen": view.chosen_index,
        "knee": view.knee_index,
        "experiences": {e.id: {"name": e.name, "journey_stage": e.journey_stage, "channel": e.channel, "team": e.team}
                        for e in view.experiences},
        "points": [
            {"budget": p.budget, "npv": p.npv, "roi": p.roi, "marginal_npv": p.marginal_npv, "status": p.status,
             "chosen": p.chosen, "knee": p.knee, "funded": list(p.funded), "entered": list(p.entered), "left": list(p.left),
             "text": _point_text(p, currency)}
            for p in view.points
        ],
    }
    return script_json(data)


def script_json(data: Any) -> Markup:
    """Data as JSON safe inside <script type="application/json">: every "<", ">" and "&" (and the
    two line separators JavaScript once refused) written as a \\u escape, which JSON.parse reads back."""
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escaped)
    return Markup(text)


def tornado_chart(bars: Sequence[TornadoBar], currency: str) -> Markup:
    items = [charts.Bar(b.input, b.change_low, b.change_high, b.low, b.high) for b in bars]
    return charts.tornado("Change in NPV with each input at its low and its high value", items,
                          f"change in NPV from the plan's ({currency})", lambda v: signed_money(v, currency))


def shift_chart(table: ShiftTable, currency: str) -> Markup:
    series = [charts.Series(name, table.column(n)) for n, name in enumerate(table.scenarios)]
    return charts.grouped_bars(f"Spend by {table.label}, per scenario", table.values, series, f"{currency} over the horizon",
                               table.label, _chart_money(currency))


def shift_colour(value: float, largest: float) -> str:
    """Background of a spend-shift cell: one neutral hue, darker for a larger shift either way.

    Colour in a report means better or worse for the reader; more or less spend is neither by
    itself, so a shift in spend is shaded by size alone (NPV changes keep green and red).
    """
    share = min(1.0, abs(value) / largest) if largest > 0 else 0.0
    if share < 1e-9:
        return "#ffffff"
    mix = lambda full: round(255 - (255 - full) * 0.55 * share)  # noqa: E731 (at most 55%: dark text stays readable)
    return f"#{mix(0x7b):02x}{mix(0x9c):02x}{mix(0xc4):02x}"


def bridge_chart(bridge, currency: str) -> Markup:
    """The NPV bridge of a roll (planner.cycle.bridge.Bridge) as a waterfall: previous plan, each cause, this plan."""
    bars = ([waterfall.Bar(f"previous plan ({bridge.previous_first_quarter})", bridge.previous_npv, True)]
            + [waterfall.Bar(step.label, step.change) for step in bridge.steps]
            + [waterfall.Bar(f"this plan ({bridge.first_quarter})", bridge.npv, True)])
    return waterfall.waterfall("The plan's NPV from the previous plan to this one, by cause", bars, f"NPV ({currency})",
                               _chart_money(currency), lambda v: signed_money(v, currency))


def blueprint_chart(blueprint, currency: str) -> Markup:
    return blueprint_svg(blueprint, _chart_money(currency))


GLOBALS: dict[str, Callable[..., Any]] = {
    "blueprint_chart": blueprint_chart, "bridge_chart": bridge_chart,
    "spend_chart": spend_chart, "attention_chart": attention_chart, "heat_map": heat_map, "frontier_chart": frontier_chart,
    "frontier_json": frontier_json, "tornado_chart": tornado_chart, "shift_chart": shift_chart, "shift_colour": shift_colour,
}
GLOBALS.update(RISK_GLOBALS)  # risk.html's charts (planner.render.risk_charts)


@lru_cache(maxsize=4)
def environment(templates: Path = TEMPLATES) -> jinja2.Environment:
    """The one Environment of the HTML report: autoescape on, StrictUndefined, filters and charts."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(FILTERS)
    env.globals.update(GLOBALS)
    env.globals["term"] = glossary_name  # {{ term("enabler") }}: the glossary's one name for it
    return env


def render_html(report: Report, templates: Path = TEMPLATES) -> str:
    """The HTML report of a report model, as one self-contained page (templates/<kind>.html.j2)."""
    return environment(templates).get_template(f"{report.kind}.html.j2").render(report.context())
