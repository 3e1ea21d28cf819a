"""Build templates/quarterly.xlsx, the Excel template of the quarterly planning report.

It is the report template (templates/make_report_template.py, whose sheets it reuses) with
four more sheets after the Summary: Bridge (the NPV bridge by cause, with a waterfall chart
and each experience's NPV change by cause), Changes (what changed since the previous plan),
Timeline (a shaded grid of every funded experience by quarter) and Plan vs actual. As with
report.xlsx, the committed .xlsx is the source of truth once built; rebuild it with

    python templates/make_quarterly_template.py [templates/quarterly.xlsx]
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from openpyxl.chart import BarChart, Reference
from openpyxl.chart.legend import LegendEntry
from openpyxl.chart.series import SeriesLabel
from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

_SPEC = importlib.util.spec_from_file_location("make_report_template", Path(__file__).with_name("make_report_template.py"))
base = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(base)

# Quarter columns on the Timeline sheet: enough for a four-year horizon; later quarters are left out.
TIMELINE_QUARTERS = 16
DELIVERY_FILL = PatternFill("solid", fgColor="1F3A5F")
IN_FLIGHT_FILL = PatternFill("solid", fgColor="7B9CC4")
BENEFIT_FILL = PatternFill("solid", fgColor="A6D96A")


def changes(ws: Worksheet) -> None:
    base.title(ws, "What changed since the previous plan",
               "Previous plan {{ changes.summary.previous_scenario }} from {{ changes.summary.previous_first_quarter }}; this plan from "
               "{{ changes.summary.first_quarter }}. Spend over this plan's quarters; NPVs from {{ changes.summary.first_quarter }} on, "
               "the previous plan's restated to the same footing; sunk cash is in neither.", 8)
    base.pairs(ws, 4, [
        ("Restated NPV, previous plan (from this plan's first quarter)", "{{ changes.summary.npv_before }}", base.MONEY),
        ("NPV, this plan", "{{ changes.summary.npv_after }}", base.MONEY),
        ("NPV change against the restated NPV", "=B5-B4", base.MONEY), ("Spend, previous plan", "{{ changes.summary.spend_before }}", base.MONEY),
        ("Spend, this plan", "{{ changes.summary.spend_after }}", base.MONEY), ("Spend change", "=B8-B7", base.MONEY),
        ("Sunk on work in flight", "{{ changes.summary.sunk }}", base.MONEY),
        ("Added / dropped / stopped", "{{ changes.summary.added }} / {{ changes.summary.dropped }} / {{ changes.summary.stopped }}", None),
        ("Moved / option changed / revised", "{{ changes.summary.moved }} / {{ changes.summary.option_changed }} / {{ changes.summary.revised }}", None),
    ])
    columns: list[base.Column] = [
        ("ID", "{{ c.id }}", None, 12), ("Experience", "{{ c.name }}", None, 34), ("Change", "{{ c.kind }}", None, 16),
        ("In flight", "{{ 'yes' if c.in_flight else 'no' }}", None, 9),
        ("Option before", "{{ c.option_before }}", None, 11), ("Start before", "{{ c.start_before }}", None, 10),
        ("Go-live before", "{{ c.go_live_before }}", None, 10), ("Option now", "{{ c.option_after }}", None, 11),
        ("Start now", "{{ c.start_after }}", None, 10), ("Go-live now", "{{ c.go_live_after }}", None, 10),
        ("Spend before", "{{ c.spend_before }}", base.MONEY, 13), ("Spend now", "{{ c.spend_after }}", base.MONEY, 13),
        ("Spend change", "=L16-K16", base.MONEY, 13), ("NPV before", "{{ c.npv_before }}", base.MONEY, 13),
        ("NPV now", "{{ c.npv_after }}", base.MONEY, 13), ("NPV change", "=O16-N16", base.MONEY, 13),
        ("Cause", "{{ c.cause_label }}", None, 16), ("Why", "{{ c.reason }}", None, 90),
    ]
    totals = {c: base.sum_of(letter, 16) for c, letter in ((11, "K"), (12, "L"), (13, "M"), (14, "N"), (15, "O"), (16, "P"))}
    notes_row = base.table(ws, 15, "c in changes.rows", columns, totals) + 2
    base.table(ws, notes_row, "n in changes.notes + changes.warnings", [("Notes and warnings", "{{ n }}", None, 12)])
    ws.freeze_panes = "C16"


def bridge(ws: Worksheet) -> None:
    """The steps from the previous plan's NPV to this plan's, and their waterfall, on one page."""
    base.title(ws, "NPV bridge from the previous plan",
               "From the previous plan's NPV ({{ bridge.previous_scenario }}, from {{ bridge.previous_first_quarter }}) to this plan's "
               "(from {{ bridge.first_quarter }}), one cause at a time in this order; the steps add up to the whole change.", 8)
    base.pairs(ws, 4, [
        ("NPV, previous plan (as planned)", "{{ bridge.previous_npv }}", base.MONEY),
        ("NPV, this plan", "{{ bridge.npv }}", base.MONEY),
        ("Change", "=B5-B4", base.MONEY),
        ("Sum of the steps (equals the change)", "=SUM(C10:C10)", base.MONEY),
    ])
    # Row 9 the previous plan, row 10 the steps, row 11 this plan: the table and the waterfall start
    # and end at the two plans' NPV, as the HTML bridge does. The step row's formulas name row 10,
    # where it lands once the previous plan's row is inserted above it.
    columns: list[base.Column] = [
        ("Step", "{{ s.label }}", None, 34), ("How it was found", "{{ s.how }}", None, 40),
        ("NPV change", "{{ s.change }}", base.MONEY, 14), ("NPV after", "{{ s.npv_after }}", base.MONEY, 14),
        # Helpers for the waterfall: an invisible base and the rise or fall drawn on it; the two plans' NPV from zero.
        ("Chart: base", "=MIN(D10-C10,D10)", base.MONEY, 12), ("Chart: adds NPV", "=MAX(C10,0)", base.MONEY, 12),
        ("Chart: takes NPV away", "=MAX(-C10,0)", base.MONEY, 12), ("Chart: plan NPV", "", base.MONEY, 12),
    ]
    base.table(ws, 8, "s in bridge.steps", columns, {3: "=SUM(C10:C10)", 4: "{{ bridge.npv }}", 8: "=D11"})
    ws.insert_rows(9)
    for column, value in ((1, "Previous plan ({{ bridge.previous_first_quarter }})"), (2, "as planned"), (4, "{{ bridge.previous_npv }}"), (8, "=D9")):
        ws.cell(9, column, value).number_format = columns[column - 1][2] or "General"
    ws["A11"] = "This plan ({{ bridge.first_quarter }})"
    chart = BarChart()
    chart.type, chart.grouping, chart.overlap = "col", "stacked", 100
    chart.title = "NPV from the previous plan to this one, by cause"
    for column, colour, key in ((5, None, "base"), (6, "1B7837", "adds NPV"), (7, "C0392B", "takes NPV away"), (8, "1F3A5F", "plan NPV")):
        chart.add_data(Reference(ws, min_col=column, min_row=9, max_row=11))
        series = chart.series[-1]
        series.tx = SeriesLabel(v=key)  # the HTML waterfall's key, without the helper columns' "Chart:"
        if colour is None:
            series.graphicalProperties.noFill = True
            series.graphicalProperties.line.noFill = True
        else:
            series.graphicalProperties.solidFill = colour
    base.text_categories(chart, ws, "A", 9)
    for series in chart.series:  # the categories run over the three rows, the two plans' included
        series.cat.strRef.f = f"'{ws.title}'!$A$9:$A$11"
    chart.x_axis.title, chart.y_axis.title = "cause, in the order applied", "NPV ({{ currency }})"
    chart.x_axis.delete = chart.y_axis.delete = False
    chart.y_axis.number_format = base.MILLIONS
    chart.legend.position = "b"
    chart.legend.legendEntry = [LegendEntry(idx=0, delete=True)]  # the invisible base needs no key
    chart.width, chart.height = 34, 10  # the table's width (LibreOffice draws its columns wider than Excel)
    base.chart_on_one_page(ws, chart, "A13")


def bridge_by_experience(ws: Worksheet) -> None:
    """Each experience whose NPV moved, by cause: the bridge's steps split by experience."""
    steps = 7  # planner.cycle.bridge.STEPS
    base.title(ws, "NPV bridge by experience",
               "Each experience whose NPV moved, by cause, largest move first: the previous plan's NPV as planned, "
               "then the change at each step of the Bridge sheet (the quarter closed restates it).", 8)
    columns: list[base.Column] = [("ID", "{{ e.id }}", None, 12), ("Experience", "{{ e.name }}", None, 34),
                                  ("Cause", "{{ e.cause_label }}", None, 16), ("NPV, previous plan", "{{ e.npv_before }}", base.MONEY, 13)]
    columns += [(f"{{{{ bridge.steps[{n}].label }}}}", f"{{{{ e.changes[{n}]|round(2) }}}}", base.MONEY, 12) for n in range(steps)]
    columns += [("NPV, this plan", "{{ e.npv[-1] }}", base.MONEY, 13)]
    base.table(ws, 4, "e in bridge.moved", columns)


def timeline(ws: Worksheet) -> None:
    base.title(ws, "Timeline", "Every funded experience by quarter: delivery (dark; lighter for work in flight, begun before "
               "{{ timeline.quarter(0) }}) and live with benefits (green). Go-live is the end of the last delivery quarter.", 8)
    columns: list[base.Column] = [
        ("ID", "{{ t.id }}", None, 12), ("Experience", "{{ t.name }}", None, 34), ("Option", "{{ t.option }}", None, 11),
        ("In flight", "{{ 'yes' if t.in_flight else 'no' }}", None, 9), ("Start", "{{ t.start_quarter }}", None, 9),
        ("Go-live", "{{ t.go_live_quarter }}", None, 9),
    ] + [(f"{{{{ timeline.quarter({q}) }}}}", f"{{{{ t.cell({q}) }}}}", None, 9) for q in range(TIMELINE_QUARTERS)]
    base.table(ws, 4, "t in timeline.rows", columns)
    first, last = get_column_letter(7), get_column_letter(6 + TIMELINE_QUARTERS)
    cells = f"{first}5:{last}5"
    for value, fill, colour in (("delivery", DELIVERY_FILL, "1F3A5F"), ("in flight", IN_FLIGHT_FILL, "7B9CC4"), ("benefit", BENEFIT_FILL, "A6D96A")):
        # The text takes the fill's colour: the grid reads as bars, and the cell still says what it is.
        ws.conditional_formatting.add(cells, CellIsRule(operator="equal", formula=[f'"{value}"'], fill=fill, font=Font(color=colour)))
    ws.freeze_panes = "C5"


def plan_vs_actual(ws: Worksheet) -> None:
    base.title(ws, "Plan versus actual", "Work in flight over {{ plan_vs_actual.closed_quarters|join(', ') }}: one-off spend in the closed "
               "quarters and still to pay, as the previous plan expected and as the actuals say. Totals over rows with actuals.", 8)
    columns: list[base.Column] = [
        ("ID", "{{ r.id }}", None, 12), ("Experience", "{{ r.name }}", None, 34), ("Option", "{{ r.option }}", None, 11),
        ("Started", "{{ r.start_quarter }}", None, 9), ("Status", "{{ 'stopped' if r.stopped else r.status }}", None, 11),
        ("Planned spend", "{{ r.planned_spend }}", base.MONEY, 13), ("Actual spend", "{{ r.actual_spend }}", base.MONEY, 13),
        ("Variance", '=IF(G5="","",G5-F5)', base.MONEY, 12), ("Remaining (plan)", "{{ r.planned_remaining }}", base.MONEY, 14),
        ("Remaining (revised)", "{{ r.remaining }}", base.MONEY, 14), ("Variance", '=IF(J5="","",J5-I5)', base.MONEY, 12),
        ("Go-live planned", "{{ r.planned_go_live }}", None, 10), ("Go-live now", "{{ r.expected_go_live or 'stopped' }}", None, 10),
    ]
    base.table(ws, 4, "r in plan_vs_actual.rows", columns, {
        6: "{{ plan_vs_actual.planned_spend }}", 7: "{{ plan_vs_actual.actual_spend }}", 8: "=G6-F6",
        9: "{{ plan_vs_actual.planned_remaining }}", 10: "{{ plan_vs_actual.remaining }}", 11: "=J6-I6",
    })


def build(path: Path) -> None:
    sheets = list(base.SHEETS)
    sheets[1:1] = [("Bridge", bridge), ("Bridge by experience", bridge_by_experience), ("Changes", changes), ("Timeline", timeline), ("Plan vs actual", plan_vs_actual)]
    base.SHEETS = tuple(sheets)
    base.build(path)


if __name__ == "__main__":
    build(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("quarterly.xlsx"))
