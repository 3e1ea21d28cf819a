"""Build templates/risk.xlsx, the Excel report of `planner risk`.

Rendered by the Jinja2-in-cells engine of planner/render/xlsx.py from the report model of
planner/reports/risk_report.py, with the helpers and styles of templates/make_report_template.py.
Numbers are numbers; where finance re-derives a figure the cell is a live formula: the
expected disappointment (point NPV less expected NPV), each quarter's reserve (spend at
confidence less budget, floored at zero) and their total, the counts of core, borderline and
exterior experiences, the labels from the core index, the robust plan's cost in expected NPV
and gain in CVaR. The committed .xlsx is the source of truth once built; rebuild with

    python templates/make_risk_template.py [folder]
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.worksheet.worksheet import Worksheet

_SPEC = importlib.util.spec_from_file_location("make_report_template", Path(__file__).with_name("make_report_template.py"))
base = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(base)

MONEY, PERCENT = base.MONEY, base.PERCENT
COUNT = "#,##0"


def summary(ws: Worksheet) -> None:
    base.title(ws, "{{ risk_summary.title }}", "Horizon {{ risk_summary.first_quarter }} to {{ risk_summary.last_quarter }}; amounts in "
               "{{ currency }}; {{ risk_summary.draws }} draws, seed {{ risk_summary.seed }}. Column C: Monte Carlo standard error.", 3)
    base.pairs(ws, 4, [
        ("Scenario", "{{ risk_summary.scenario }}", None),
        ("NPV on the estimates (point)", "{{ risk_summary.point_npv }}", MONEY),
        ("Expected NPV", "{{ risk_summary.mean.value }}", MONEY),
        ("P10", "{{ risk_summary.p10.value }}", MONEY),
        ("P50", "{{ risk_summary.p50.value }}", MONEY),
        ("P90", "{{ risk_summary.p90.value }}", MONEY),
        ("P(loss)", "{{ risk_summary.loss_probability.value }}", PERCENT),
        ("P(a quarter over budget)", "{{ risk_summary.overspend_probability.value }}", PERCENT),
        ("Expected disappointment", "=B5-B6", MONEY),
        ("Corrected NPV", "{{ risk_summary.corrected_npv }}", MONEY),
        ("Correction method", "{{ risk_summary.curse_method }}", None),
        ("Re-solves on sampled inputs", "{{ risk_summary.resolves }}", COUNT),
        ("Core experiences", '=COUNTIF(Members!D5:D5,"core")', COUNT),
        ("Borderline experiences", '=COUNTIF(Members!D5:D5,"borderline")', COUNT),
        ("Exterior experiences", '=COUNTIF(Members!D5:D5,"exterior")', COUNT),
        ("Confidence of the reserve", "{{ risk_summary.confidence }}", PERCENT),
        ("Contingency reserve", "=SUM(Quarters!E5:E5)", MONEY),
        ("Distribution", "{{ risk_summary.distribution }}", None),
        ("Stage / team correlation", "{{ risk_summary.stage_correlation|percent(0) }} / {{ risk_summary.team_correlation|percent(0) }}", None),
        ("Re-solves proven optimal (the others stopped on the time limit)", "{{ risk_summary.proven }}", COUNT),
    ])
    for row, key in ((6, "mean"), (7, "p10"), (8, "p50"), (9, "p90"), (10, "loss_probability"), (11, "overspend_probability")):
        cell = ws.cell(row, 3, f"{{{{ risk_summary.{key}.error }}}}")
        cell.number_format = PERCENT if "probability" in key else MONEY
    ws.column_dimensions["C"].width = 16


def fan(ws: Worksheet) -> None:
    base.title(ws, "Cumulative NPV by quarter", "Discounted, cumulative: P10, median and P90 of the draws, and the plan's point estimate.", 5)
    base.table(ws, 4, "b in risk_distribution.fan", [
        ("Quarter", "{{ b.quarter }}", None, 12), ("P10", "{{ b.p10 }}", MONEY, 16), ("Median", "{{ b.p50 }}", MONEY, 16),
        ("P90", "{{ b.p90 }}", MONEY, 16), ("Point estimate", "{{ b.point }}", MONEY, 16),
    ])
    chart = LineChart()
    chart.title = "Cumulative NPV by quarter"
    for column in (2, 3, 4, 5):
        chart.add_data(Reference(ws, min_col=column, min_row=4, max_row=5), titles_from_data=True)
    base.text_categories(chart, ws, "A", 5)
    chart.y_axis.title, chart.x_axis.title = "Cumulative NPV ({{ currency }})", "Quarter"
    chart.x_axis.delete = chart.y_axis.delete = False
    chart.width, chart.height = 22, 11
    ws.add_chart(chart, "G4")


def histogram(ws: Worksheet) -> None:
    base.title(ws, "NPV across the draws", "Draws by NPV bin; share is a formula over the draws.", 4)
    base.table(ws, 4, "b in risk_distribution.histogram", [
        ("From", "{{ b.low }}", MONEY, 16), ("To", "{{ b.high }}", MONEY, 16), ("Draws", "{{ b.draws }}", COUNT, 10),
        ("Share", "=C5/SUM($C$5:$C$5)", PERCENT, 10),
    ])
    chart = BarChart()
    chart.title = "NPV across the draws"
    chart.add_data(Reference(ws, min_col=3, min_row=4, max_row=5), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=5, max_row=5))
    chart.gapWidth = 10
    chart.x_axis.delete = chart.y_axis.delete = False
    chart.width, chart.height = 22, 11
    ws.add_chart(chart, "F4")


def quarters(ws: Worksheet) -> None:
    base.title(ws, "Spend against budget, and the contingency reserve", "Reserve = spend at the confidence level less the budget, "
               "never below zero (a formula).", 6)
    base.table(ws, 4, "q in risk_quarters", [
        ("Quarter", "{{ q.quarter }}", None, 12), ("Budget", "{{ q.budget }}", MONEY, 16), ("Planned spend", "{{ q.planned_spend }}", MONEY, 16),
        ("Spend at confidence", "{{ q.spend_at_confidence }}", MONEY, 18), ("Reserve", "=MAX(0,D5-B5)", MONEY, 14),
        ("P(over budget)", "{{ q.overspend_probability }}", PERCENT, 14),
    ], totals={2: base.sum_of("B", 5), 3: base.sum_of("C", 5), 5: base.sum_of("E", 5)})


def drivers(ws: Worksheet) -> None:
    base.title(ws, "What drives the spread", "Each funded experience's share of the variance of the plan's NPV.", 6)
    base.table(ws, 4, "d in risk_drivers", [
        ("Experience", "{{ d.experience_id }}", None, 12), ("Name", "{{ d.name }}", None, 32),
        ("Share of the spread", "{{ d.share_of_variance }}", PERCENT, 12), ("Expected NPV", "{{ d.mean_npv }}", MONEY, 14),
        ("P10", "{{ d.p10 }}", MONEY, 14), ("P90", "{{ d.p90 }}", MONEY, 14),
    ])


def members(ws: Worksheet) -> None:
    base.title(ws, "Core, borderline and exterior", "Funded in: the share of re-solves on sampled inputs whose optimal plan funds it. "
               "Core >= 90%, exterior <= 10% (the label is a formula).", 6)
    base.table(ws, 4, "m in risk_members", [
        ("Experience", "{{ m.experience_id }}", None, 12), ("Name", "{{ m.name }}", None, 32), ("Funded in", "{{ m.share }}", PERCENT, 10),
        ("Label", '=IF(C5>=0.9,"core",IF(C5<=0.1,"exterior","borderline"))', None, 12),
        ("In the base plan", "{{ m.in_base_plan }}", None, 10), ("In the robust plan", "{{ m.in_robust_plan }}", None, 10),
    ])


def information(ws: Worksheet) -> None:
    base.title(ws, "What to research first: value of information", "The expected gain in NPV from knowing the experience's true reach "
               "and uplift before deciding (EVPI), with its Monte Carlo standard error.", 7)
    base.table(ws, 4, "i in risk_information", [
        ("Rank", "{{ i.rank }}", COUNT, 6), ("Experience", "{{ i.experience_id }}", None, 12), ("Name", "{{ i.name }}", None, 32),
        ("Label", "{{ i.label }}", None, 12), ("Value of information", "{{ i.value }}", MONEY, 16),
        ("Standard error", "{{ i.error }}", MONEY, 14), ("Exactly zero", "{{ i.certain_zero }}", None, 10),
    ])


def plans(ws: Worksheet) -> None:
    base.title(ws, "The base plan and the robust plan", "Both scored on the same Monte Carlo draws; the CVaR floor at {{ "
               "risk_robust.level|percent(0) }} is {{ risk_robust.floor }} ({{ risk_robust.floor_source }}).", 4)
    rows = [("Solver status", "status", None), ("Experiences funded", "funded", COUNT), ("NPV on the estimates", "point_npv", MONEY),
            ("Expected NPV", "expected_npv.value", MONEY), ("P10", "p10.value", MONEY), ("CVaR", "cvar.value", MONEY),
            ("P(loss)", "loss_probability.value", PERCENT), ("P(a quarter over budget)", "overspend_probability.value", PERCENT),
            ("Planned spend", "spend", MONEY), ("Contingency reserve", "reserve", MONEY)]
    for column, header in ((1, ""), (2, "Base plan"), (3, "Robust plan"), (4, "Robust less base")):
        cell = ws.cell(4, column, header)
        cell.font, cell.fill = base.HEADER_FONT, base.HEADER_FILL
    for offset, (label, key, number_format) in enumerate(rows):
        row = 5 + offset
        ws.cell(row, 1, label)
        for column, index in ((2, 0), (3, 1)):
            cell = ws.cell(row, column, f"{{{{ risk_robust.plans[{index}].{key} }}}}")
            cell.number_format = number_format or "General"
        if number_format:
            ws.cell(row, 4, f"=C{row}-B{row}").number_format = number_format
    ws.column_dimensions["A"].width = 30
    for letter in "BCD":
        ws.column_dimensions[letter].width = 18
    base.table(ws, 17, "c in risk_robust.choices", [
        ("Experience", "{{ c.experience_id }}", None, 30), ("Name", "{{ c.name }}", None, 18), ("Base plan", "{{ c.base }}", None, 18),
        ("Robust plan", "{{ c.robust }}", None, 18), ("Changed", '=IF(C18<>D18,"changed","")', None, 10),
    ])


def frontier(ws: Worksheet) -> None:
    base.title(ws, "The risk/return frontier", "The best expected NPV at each CVaR floor, on the robust model's sample.", 5)
    base.table(ws, 4, "p in risk_robust.frontier", [
        ("CVaR floor", "{{ p.floor }}", MONEY, 16), ("Best expected NPV", "{{ p.expected_npv }}", MONEY, 18),
        ("CVaR reached", "{{ p.cvar }}", MONEY, 16), ("Status", "{{ p.status }}", None, 12), ("Funded", "{{ p.funded|length }}", COUNT, 10),
    ])


SHEETS = (("Summary", summary), ("Fan", fan), ("Histogram", histogram), ("Quarters", quarters), ("Drivers", drivers),
          ("Members", members), ("Information", information), ("Plans", plans), ("Frontier", frontier))


if __name__ == "__main__":
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent
    base.build(folder / "risk.xlsx", SHEETS)
