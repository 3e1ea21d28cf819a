"""Build the Excel templates of the what-if reports: frontier.xlsx, compare.xlsx, explanations.xlsx, tornado.xlsx.

Each is rendered by the same Jinja2-in-cells engine as report.xlsx (planner/render/xlsx.py) from
the report models of planner/reports/analysis_reports.py, with the helpers and styles of
templates/make_report_template.py. Numbers are numbers, totals and differences are live
formulas, and charts are Excel's own. As with report.xlsx, the committed .xlsx files are the
source of truth once built; rebuild them all with

    python templates/make_analysis_templates.py [folder]
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path

from openpyxl.chart import BarChart, Reference, ScatterChart, Series
from openpyxl.formatting.rule import CellIsRule, FormulaRule
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.worksheet import Worksheet

_SPEC = importlib.util.spec_from_file_location("make_report_template", Path(__file__).with_name("make_report_template.py"))
base = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(base)

MONEY, PERCENT, VALUE = base.MONEY, base.PERCENT, base.VALUE
COUNT = "#,##0"
# Colour means better or worse for the reader: an NPV change is green up and red down; a spend
# change is neither by itself, so it is shown without colour.
NPV_CHANGE = '+#,##0;[Red]-#,##0;0'
# Green for a rise is a conditional font (green_when_up), not the number format's [Color10]:
# LibreOffice reads that palette index as a faint pink.
NPV_UP = "1B7837"

SPEND_CHANGE = '+#,##0;-#,##0;0'
CHOSEN_FILL = PatternFill("solid", fgColor="FBEAEA")
KNEE_FILL = PatternFill("solid", fgColor="E8F3EA")
Sheet = tuple[str, Callable[[Worksheet], None]]


def green_when_up(ws: Worksheet, *columns: str) -> None:
    """A rise in NPV in green in the table's row 5 of each column (the renderer extends it to every row)."""
    for column in columns:
        ws.conditional_formatting.add(f"{column}5:{column}5", CellIsRule(operator="greaterThan", formula=["0"], font=Font(color=NPV_UP)))


def _axes(chart: ScatterChart | BarChart, x_title: str, y_title: str) -> None:
    chart.x_axis.title, chart.y_axis.title = x_title, y_title
    chart.x_axis.delete = chart.y_axis.delete = False
    chart.y_axis.number_format = "#,##0"
    chart.width, chart.height = 20, 10


def _bars(ws: Worksheet, title: str, columns: list[int], header_row: int, categories: str, x_title: str, y_title: str,
          horizontal: bool = False) -> BarChart:
    chart = BarChart()
    chart.type = "bar" if horizontal else "col"
    chart.title = title
    for column in columns:
        chart.add_data(Reference(ws, min_col=column, min_row=header_row, max_row=header_row + 1), titles_from_data=True)
    base.text_categories(chart, ws, categories, header_row + 1)
    _axes(chart, x_title, y_title)
    return chart


# ---------------------------------------------------------------------------------------
# frontier.xlsx


def frontier_summary(ws: Worksheet) -> None:
    base.title(ws, "{{ frontier_summary.title }}", "Horizon {{ frontier_summary.first_quarter }} to {{ frontier_summary.last_quarter }}; "
               "amounts in {{ currency }}. A budget is the money the plan may spend over the horizon, every quarter scaled alike.", 3)
    base.pairs(ws, 4, [
        ("Scenario", "{{ frontier_summary.scenario }}", None),
        ("Scenario budget (the chosen point)", "{{ frontier_summary.chosen_budget }}", MONEY),
        ("NPV at the scenario budget", "{{ frontier_summary.chosen_npv }}", MONEY),
        ("ROI at the scenario budget", "{{ frontier_summary.chosen_roi }}", PERCENT),
        ("Spend at the scenario budget", "{{ frontier_summary.chosen_spend }}", MONEY),
        ("Experiences funded there", "{{ frontier_summary.chosen_funded }}", COUNT),
        ("{{ glossary['scaled_budget_shadow_value'].name }}", "{{ frontier_summary.chosen_lp_marginal }}", VALUE),
        ("Next computed budget", "{{ frontier_summary.next_budget }}", MONEY),
        ("NPV at the next computed budget", "{{ frontier_summary.next_npv }}", MONEY),
        ("{{ glossary['frontier_slope'].name }} up to it", '=IF(OR(B6="",B11="",B12=""),"",(B12-B6)/(B11-B5))', VALUE),
        ("Knee: budget", "{{ frontier_summary.knee_budget }}", MONEY),
        ("Knee: NPV", "{{ frontier_summary.knee_npv }}", MONEY),
        ("Lowest budget (what must be funded)", "{{ frontier_summary.lowest_budget }}", MONEY),
        ("NPV stops rising at", "{{ frontier_summary.saturation_budget }}", MONEY),
        ("Most NPV at any budget", "=MAX(Frontier!B5:B5)", MONEY),
        ("Scenario's NPV as a share of the most", '=IF(OR(B6="",B18<=0),"",B6/B18)', PERCENT),
        ("Budgets planned", "=COUNT(Frontier!A5:A5)", COUNT),
        ("Solver at the scenario budget", "{{ frontier_summary.chosen_status }}", None),
    ])
    ws.column_dimensions["A"].width = 44
    # The frontier beside the key figures: the Summary prints on one page with it (the Frontier sheet's
    # table grows with the budgets asked for, and a chart under it ran over a page break).
    points_sheet = ws.parent["Frontier"]
    chart = ScatterChart()
    chart.title = "NPV at each budget: the efficient frontier"
    chart.style = 13
    points = Series(Reference(points_sheet, min_col=2, min_row=5, max_row=5), Reference(points_sheet, min_col=1, min_row=5, max_row=5), title="computed points")
    points.marker.symbol = "circle"
    points.smooth = False
    chart.series.append(points)
    for label, x_row, y_row, symbol, colour in (("scenario budget", 5, 6, "circle", "C0392B"), ("knee", 14, 15, "diamond", "1B7837")):
        mark = Series(Reference(ws, min_col=2, min_row=y_row), Reference(ws, min_col=2, min_row=x_row), title=label)
        mark.marker.symbol, mark.marker.size = symbol, 10
        mark.marker.graphicalProperties.solidFill = colour
        mark.graphicalProperties.line.noFill = True
        mark.smooth = False
        chart.series.append(mark)
    _axes(chart, "Budget over the horizon ({{ currency }})", "NPV ({{ currency }})")
    # Axes in millions ("2.5m"): in full ("2,000,000") the two axes' first labels ran into each other at the corner.
    chart.x_axis.number_format = chart.y_axis.number_format = base.MILLIONS
    chart.x_axis.crosses = "min"  # the budget axis along the bottom, even where NPV is negative
    chart.width, chart.height = 18, 12
    base.chart_on_one_page(ws, chart, "D4")


def frontier_points(ws: Worksheet) -> None:
    columns: list[base.Column] = [
        ("Budget", "{{ p.budget }}", MONEY, 14), ("NPV", "{{ p.npv }}", MONEY, 14), ("PV of costs", "{{ p.pv_cost }}", MONEY, 14),
        ("ROI", '=IF(OR(B5="",C5=0),"",B5/C5)', PERCENT, 9), ("Spend", "{{ p.spend }}", MONEY, 14),
        ("Budget used", '=IF(OR(E5="",A5=0),"",E5/A5)', PERCENT, 9),
        ("{{ glossary['frontier_slope'].name }}", "{{ p.marginal_npv }}", VALUE, 11), ("{{ glossary['scaled_budget_shadow_value'].name }}", "{{ p.lp_marginal }}", VALUE, 11),
        ("Funded", "{{ p.funded_count if p.feasible else none }}", COUNT, 8), ("Point", "{{ p.mark }}", None, 16),
        ("Solver", "{{ p.status }}", None, 12), ("Gap", "{{ p.gap }}", "0.00%", 8),
        ("Entered", "{{ p.entered|join(' ') }}", None, 30), ("Left", "{{ p.left|join(' ') }}", None, 30),
    ]
    base.title(ws, "NPV against budget", "Each row is the best plan at one budget; entered and left compare it with the row above. "
               "ROI and budget used are formulas.", 8)
    base.table(ws, 4, "p in frontier.points", columns)
    for text, fill in (("scenario budget", CHOSEN_FILL), ("knee", KNEE_FILL)):
        ws.conditional_formatting.add("A5:N5", FormulaRule(formula=[f'ISNUMBER(SEARCH("{text}",$J5))'], fill=fill))


def frontier_portfolios(ws: Worksheet) -> None:
    columns: list[base.Column] = [
        ("Budget", "{{ r.budget }}", MONEY, 14), ("NPV at this budget", "{{ r.npv }}", MONEY, 14), ("ID", "{{ r.experience.id }}", None, 12),
        ("Experience", "{{ r.experience.name }}", None, 40), ("Journey stage", "{{ r.experience.journey_stage }}", None, 14),
        ("Channel", "{{ r.experience.channel }}", None, 14), ("Product line", "{{ r.experience.product_line }}", None, 18),
        ("Layer", "{{ r.experience.layer }}", None, 12), ("Team", "{{ r.experience.team }}", None, 14),
        ("Entered at this budget", "{{ 'yes' if r.entered else 'no' }}", None, 10),
    ]
    base.title(ws, "The portfolio at each budget", "One row per experience funded at each budget: filter the Budget column to see "
               "one portfolio, or pivot experiences against budgets.", 8)
    base.table(ws, 4, "r in frontier_portfolios.portfolio_rows", columns)
    ws.auto_filter.ref = "A4:J5"


FRONTIER: tuple[Sheet, ...] = (("Summary", frontier_summary), ("Frontier", frontier_points), ("Portfolios", frontier_portfolios), ("Glossary", base.glossary))


# ---------------------------------------------------------------------------------------
# compare.xlsx


def compare_totals(ws: Worksheet) -> None:
    columns: list[base.Column] = [
        ("Scenario", "{{ c.name }}", None, 28), ("Budget", "{{ c.budget }}", MONEY, 14), ("Spend", "{{ c.spend }}", MONEY, 14),
        ("Budget used", '=IF(B5=0,"",C5/B5)', PERCENT, 9), ("PV of costs", "{{ c.pv_cost }}", MONEY, 14), ("NPV", "{{ c.npv }}", MONEY, 14),
        ("ROI", '=IF(E5=0,"",F5/E5)', PERCENT, 9), ("NPV against the reference", "=F5-F$5", NPV_CHANGE, 14),
        ("Spend against the reference", "=C5-C$5", SPEND_CHANGE, 14), ("Funded", "{{ c.funded }}", COUNT, 8),
        ("Entered", "{{ c.entered }}", COUNT, 8), ("Left", "{{ c.left }}", COUNT, 8), ("Solver", "{{ c.status }}", None, 12),
        ("Option or start changed", "{{ c.changed }}", COUNT, 9),
        ("Like for like", "{{ 'reference' if c.reference else ('yes' if c.like_for_like else 'no') }}", None, 10),
        ("Assumptions that differ from the reference", "{{ c.assumptions|join('; ') }}", None, 50),
    ]
    base.title(ws, "{{ compare_summary.title }}", "The first row is the reference, {{ compare_summary.reference }}; amounts in {{ currency }}. "
               "Differences from the reference, budget used and ROI are formulas. A scenario that is not like for like rests on "
               "other estimates (the last column): its NPV difference is not only what its plan does differently.", 8)
    base.table(ws, 4, "c in compare_summary.scenarios", columns)
    green_when_up(ws, "H")
    chart = _bars(ws, "NPV and spend by scenario", [3, 6], 4, "A", "Scenario", "{{ currency }}")
    chart.y_axis.scaling.min = 0  # bars from zero: an axis from 8.6m made a 3% difference look threefold
    for series, colour in zip(chart.series, ("9FB3C8", "1F3A5F")):  # spend pale, NPV in the accent (red reads as a loss)
        series.graphicalProperties.solidFill = colour
        series.graphicalProperties.line.solidFill = colour
    ws.add_chart(chart, "A9")


def compare_differences(ws: Worksheet) -> None:
    columns: list[base.Column] = [
        ("Scenario", "{{ d.other }}", None, 22), ("Change", "{{ d.change }}", None, 10), ("ID", "{{ d.experience_id }}", None, 12),
        ("Experience", "{{ d.name }}", None, 36), ("In the reference", "{{ d.reference_choice }}", None, 22),
        ("In the scenario", "{{ d.other_choice }}", None, 22), ("Its NPV in the reference", "{{ d.npv_reference }}", MONEY, 14),
        ("Its NPV in the scenario", "{{ d.npv_other }}", MONEY, 14), ("Change in its NPV", "=H5-G5", NPV_CHANGE, 14),
        ("Why", "{{ d.reason }}", None, 90), ("Its spend in the reference", "{{ d.spend_reference }}", MONEY, 14),
        ("Its spend in the scenario", "{{ d.spend_other }}", MONEY, 14), ("Change in its spend", "=L5-K5", SPEND_CHANGE, 14),
    ]
    base.title(ws, "Experiences funded in one and not the other", "Entered: funded in the scenario, not in the reference; left: the "
               "other way round. Choices read option from start quarter.", 8)
    base.table(ws, 4, "d in differences", columns)
    green_when_up(ws, "I")
    ws.auto_filter.ref = "A4:M5"


def compare_choices(ws: Worksheet) -> None:
    columns: list[base.Column] = [
        ("Scenario", "{{ c.other }}", None, 22), ("Change", "{{ c.kind }}", None, 18), ("ID", "{{ c.experience_id }}", None, 12),
        ("Experience", "{{ c.name }}", None, 36), ("In the reference", "{{ c.reference_choice }}", None, 22),
        ("In the scenario", "{{ c.other_choice }}", None, 22), ("Its spend in the reference", "{{ c.spend_reference }}", MONEY, 14),
        ("Its spend in the scenario", "{{ c.spend_other }}", MONEY, 14), ("Change in its spend", "=H5-G5", SPEND_CHANGE, 14),
        ("Its NPV in the reference", "{{ c.npv_reference }}", MONEY, 14), ("Its NPV in the scenario", "{{ c.npv_other }}", MONEY, 14),
        ("Change in its NPV", "=K5-J5", NPV_CHANGE, 14), ("Why", "{{ c.reason }}", None, 90),
    ]
    base.title(ws, "Option and timing changes", "Funded in both, at another option or from another quarter; choices read option from "
               "start quarter. Spend over the horizon, undiscounted; NPV the experience's own in each plan.", 8)
    base.table(ws, 4, "c in choice_changes", columns, {9: base.sum_of("I", 5), 12: base.sum_of("L", 5)})
    green_when_up(ws, "L")
    ws.auto_filter.ref = "A4:M5"


SHIFT_TABLES = (("journey_stage", "Journey stage"), ("channel", "Channel"), ("product_line", "Product line"), ("layer", "Layer"),
                ("quarter", "Quarter"))
CHARTED = {"journey_stage": "H4", "quarter": "H26"}


def compare_shifts(ws: Worksheet) -> None:
    base.title(ws, "Where the spend moves", "Undiscounted spend over the horizon in {{ currency }}: each scenario against the reference, "
               "by journey stage, channel, product line, layer and quarter. Changes are formulas.", 8)
    top = 4
    for key, label in SHIFT_TABLES:
        ws.cell(top, 1, f"By {label.lower()}").font = base.TITLE_FONT
        header = top + 1
        columns: list[base.Column] = [
            ("Scenario", "{{ r.scenario }}", None, 24), (label, "{{ r.value }}", None, 18),
            ("Reference spend", "{{ r.reference_spend }}", MONEY, 14), ("Spend", "{{ r.spend }}", MONEY, 14),
            ("Change", f"=D{header + 1}-C{header + 1}", SPEND_CHANGE, 14),
            ("Change %", f'=IF(C{header + 1}=0,"",E{header + 1}/C{header + 1})', '+0.0%;-0.0%;0.0%', 10),
        ]
        base.table(ws, header, f"r in shifts.{key}.rows", columns)
        if key in CHARTED:
            chart = _bars(ws, f"Spend by {label.lower()}: reference and scenario", [3, 4], header, "B", label, "{{ currency }}")
            ws.add_chart(chart, CHARTED[key])
        top = header + 4
    ws.freeze_panes = None


COMPARE: tuple[Sheet, ...] = (("Summary", compare_totals), ("Differences", compare_differences), ("Option and timing", compare_choices),
                               ("Spend shifts", compare_shifts), ("Glossary", base.glossary))


# ---------------------------------------------------------------------------------------
# explanations.xlsx


def explain_summary(ws: Worksheet) -> None:
    base.title(ws, "{{ explain_summary.title }}", "Horizon {{ explain_summary.first_quarter }} to {{ explain_summary.last_quarter }}; "
               "amounts in {{ currency }}.", 3)
    base.pairs(ws, 4, [
        ("Scenario", "{{ explain_summary.scenario }}", None),
        ("Plan NPV", "{{ explain_summary.plan_npv }}", MONEY),
        ("Plan spend", "{{ explain_summary.plan_spend }}", MONEY),
        ("Budget", "{{ explain_summary.budget }}", MONEY),
        ("Experiences explained", "{{ explain_summary.experiences }}", COUNT),
        ("Funded", "{{ explain_summary.funded }}", COUNT),
        ("Not funded", "=B8-B9", COUNT),
        ("What-it-takes searches run", "{{ 'yes' if explain_summary.searched else 'no' }}", None),
    ])
    base.table(ws, 14, "k in explain_summary.kinds", [
        ("Reason", "{{ k.kind }}", None, 34), ("In the plan", "{{ 'funded' if k.funded else 'not funded' }}", None, 24),
        ("Experiences", "{{ k.count }}", COUNT, 12),
    ], {3: base.sum_of("C", 15)})


def explain_not_funded(ws: Worksheet) -> None:
    columns: list[base.Column] = [
        ("ID", "{{ e.experience_id }}", None, 12), ("Experience", "{{ e.name }}", None, 34), ("Reason", "{{ e.kind }}", None, 12),
        ("Why not funded", "{{ e.reason }}", None, 70), ("Best option", "{{ e.choice }}", None, 20), ("Its NPV", "{{ e.npv }}", MONEY, 13),
        ("{{ glossary['npv_per_spend'].name }}", "{{ e.npv_per_spend }}", VALUE, 11), ("{{ glossary['budget_shadow_value'].name }}", "{{ e.margin_return }}", VALUE, 11),
        ("Uplift multiplier to enter", "{{ e.uplift_to_enter }}", VALUE, 11), ("Cost multiplier to enter", "{{ e.cost_to_enter }}", VALUE, 11),
        ("What it would take", "{{ e.to_enter }}", None, 70), ("Re-solves", "{{ e.solves }}", COUNT, 9),
    ]
    base.title(ws, "Why not funded, and what it would take", "Closest to entering first. A multiplier applies to the experience's own "
               "uplift or costs; each was seen to bring it in by a re-solve.", 8)
    base.table(ws, 4, "e in why_not_funded", columns)
    ws.auto_filter.ref = "A4:L5"


def explain_funded(ws: Worksheet) -> None:
    columns: list[base.Column] = [
        ("ID", "{{ e.experience_id }}", None, 12), ("Experience", "{{ e.name }}", None, 34), ("Reason", "{{ e.kind }}", None, 12),
        ("Choice", "{{ e.choice }}", None, 20), ("Its NPV", "{{ e.npv }}", MONEY, 13), ("{{ glossary['npv_per_spend'].name }}", "{{ e.npv_per_spend }}", VALUE, 11),
        ("Plan NPV without it", "{{ e.npv_without }}", MONEY, 14), ("{{ glossary['npv_lost_without_it'].name }}", '=IF(G5="","",Summary!$B$5-G5)', MONEY, 14),
        ("Leave with it", "{{ e.leave_with_it|join(' ') }}", None, 24), ("Why funded", "{{ e.reason }}", None, 60),
        ("Note", "{{ e.to_enter }}", None, 40),
    ]
    base.title(ws, "Why funded, and what each is worth to the plan", "Largest loss first: the plan's NPV less the best NPV with the "
               "experience forced out (a formula over the re-solve's NPV).", 8)
    base.table(ws, 4, "e in why_funded", columns, {5: base.sum_of("E", 5)})
    ws.auto_filter.ref = "A4:K5"


EXPLANATIONS: tuple[Sheet, ...] = (("Summary", explain_summary), ("Not funded", explain_not_funded), ("Funded", explain_funded), ("Glossary", base.glossary))


# ---------------------------------------------------------------------------------------
# tornado.xlsx


# Low end, high end: planner.render.charts.PALETTE[1] and ACCENT, as the HTML tornado draws them.
TORNADO_COLOURS = ("E08E0B", "1F3A5F")


def tornado_summary(ws: Worksheet) -> None:
    base.title(ws, "{{ tornado_summary.title }}", "Horizon {{ tornado_summary.first_quarter }} to {{ tornado_summary.last_quarter }}; "
               "amounts in {{ currency }}. Each input at its low and its high value is a re-solve.", 3)
    base.pairs(ws, 4, [
        ("Scenario", "{{ tornado_summary.scenario }}", None),
        ("Plan NPV", "{{ tornado_summary.base_npv }}", MONEY),
        ("Inputs moved", "=COUNTA(Tornado!A5:A5)", COUNT),
        ("Widest swing", "=MAX(Tornado!I5:I5)", MONEY),
        ("Input with the widest swing", "{{ tornado_summary.widest }}", None),
        ("Lowest NPV (an input at one end)", "=MIN(Tornado!E5:F5)", MONEY),
        ("Highest NPV (an input at one end)", "=MAX(Tornado!E5:F5)", MONEY),
        ("Largest fall (change from the plan NPV)", "=MIN(Tornado!G5:H5)", MONEY),
        ("Largest rise (change from the plan NPV)", "=MAX(Tornado!G5:H5)", MONEY),
        ("Inputs with no plan at one end", "{{ tornado_summary.without_plan|join(', ') or 'none' }}", None),
        ("Ends not proven optimal (time limit; gap)", "{{ tornado_summary.unproven|join('; ') or 'none: every end is proven' }}", None),
    ])
    ws.column_dimensions["A"].width = 42  # the longest label whole
    # The tornado under the key figures: the Summary prints on one page with it (under the Tornado
    # sheet's table, up to 50 inputs long, it ran over a page break or sat under the repeated header).
    chart = _bars(ws.parent["Tornado"], "Change in NPV with each input at its low and its high value", [7, 8], 4, "A", "Input", "Change in NPV ({{ currency }})",
                  horizontal=True)
    chart.overlap = 100
    for series, colour in zip(chart.series, TORNADO_COLOURS):  # the HTML tornado's: low amber, high navy
        series.graphicalProperties.solidFill = colour
        series.graphicalProperties.line.solidFill = colour
    chart.x_axis.scaling.orientation = "maxMin"  # widest at the top, as in the table
    chart.x_axis.tickLblPos = "low"  # input names left of the chart, clear of the bars
    chart.y_axis.number_format = base.MILLIONS  # the change axis ("-10,000,000" crowded its neighbours)
    chart.width, chart.height = 26, 12
    base.chart_on_one_page(ws, chart, "A16")


def tornado_bars(ws: Worksheet) -> None:
    columns: list[base.Column] = [
        ("Input", "{{ b.input }}", None, 24), ("Kind", "{{ b.kind }}", None, 12), ("Low", "{{ b.low }}", None, 12),
        ("High", "{{ b.high }}", None, 12), ("NPV at low", "{{ b.npv_low }}", MONEY, 14), ("NPV at high", "{{ b.npv_high }}", MONEY, 14),
        ("Change at low", '=IF(E5="","",E5-Summary!$B$5)', MONEY, 14), ("Change at high", '=IF(F5="","",F5-Summary!$B$5)', MONEY, 14),
        ("Swing", '=IF(OR(E5="",F5=""),"",ABS(F5-E5))', MONEY, 14), ("Enter or leave at low", "{{ b.funded_changes_low }}", COUNT, 12),
        ("Enter or leave at high", "{{ b.funded_changes_high }}", COUNT, 12), ("Proof", "{{ b.proof }}", None, 22),
    ]
    base.title(ws, "NPV with each input at its low and its high value", "Widest swing first; an empty NPV means no plan meets the "
               "rules at that end. Changes and swing are formulas over the Summary's plan NPV.", 8)
    base.table(ws, 4, "b in tornado", columns)


TORNADO: tuple[Sheet, ...] = (("Summary", tornado_summary), ("Tornado", tornado_bars), ("Glossary", base.glossary))

WORKBOOKS: dict[str, tuple[Sheet, ...]] = {"frontier": FRONTIER, "compare": COMPARE, "explanations": EXPLANATIONS, "tornado": TORNADO}


if __name__ == "__main__":
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent
    for kind, sheets in WORKBOOKS.items():
        base.build(folder / f"{kind}.xlsx", sheets)
