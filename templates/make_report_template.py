"""Build templates/report.xlsx, the Excel report template, with openpyxl.

The committed report.xlsx is the source of truth: finance edits it in Excel. This script
records how the first version was made, and rebuilds it if the layout must start over:

    python templates/make_report_template.py [templates/report.xlsx]

Cells hold Jinja2 expressions over the report model (`planner.reports.plan_report`); a row whose first
cell begins with `{% for x in items %}` repeats once per item. docs/reports.md explains the
conventions.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.chart.data_source import AxDataSource, StrRef
from openpyxl.formatting.rule import ColorScaleRule
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from planner.core.glossary import name as glossary_name
from planner.core.ooxml import page_width, pages_across

MONEY = '#,##0;[Red]-#,##0'
PERCENT = '0.0%;[Red]-0.0%'
MILLIONS = '#,##0.0,,"m"'  # a number format scaled by a million (each trailing comma divides by 1,000)
WEEKS = '#,##0.0'
VALUE = '#,##0.00;[Red]-#,##0.00'
DATE = 'yyyy-mm-dd'
HEADER_FILL = PatternFill("solid", fgColor="1F3A5F")
HEADER_FONT = Font(name="Calibri", bold=True, color="FFFFFF")
TITLE_FONT = Font(name="Calibri", bold=True, size=14, color="1F3A5F")
NOTE_FONT = Font(name="Calibri", italic=True, color="555555")
TOTAL_FONT = Font(name="Calibri", bold=True)
TOTAL_BORDER = Border(top=Side(style="thin", color="1F3A5F"), bottom=Side(style="double", color="1F3A5F"))

# A column: (header, cell content for the repeated row, number format, width).
Column = tuple[str, str, str | None, float]


def title(ws: Worksheet, text: str, note: str, width: int) -> None:
    ws["A1"] = text
    ws["A1"].font = TITLE_FONT
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    ws["A2"] = note
    ws["A2"].font = NOTE_FONT
    # The note wraps across the title's columns instead of running off the printed page.
    if width > 1:
        ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=width)
    ws["A2"].alignment = Alignment(wrap_text=True, vertical="top")


def fit_note(ws: Worksheet) -> None:
    """Fit the note in row 2 to the first printed page and give it the height of its lines.

    Excel and LibreOffice neither grow a merged row nor split a merged cell across pages well
    (a note merged past the first page was drawn again over the repeated columns), so the
    note is merged over the columns of the first page only. About one character of the 11 pt
    note per unit of column width; a field ({{ ... }}) counts as its text. Call after print_setup.
    """
    merged = next((m for m in ws.merged_cells.ranges if m.min_row == 2 and m.min_col == 1), None)
    if merged is None or not ws["A2"].value:
        return
    widths = [ws.column_dimensions[get_column_letter(c)].width or 8.43 for c in range(1, max(ws.max_column, merged.max_col) + 1)]
    across = ws.page_setup.fitToWidth or 1
    page = page_width(widths, across)
    last = merged.max_col
    while last > 1 and sum(widths[:last]) > page:
        last -= 1
    ws.unmerge_cells(str(merged))
    if last > 1:
        ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=last)
    lines = math.ceil(len(str(ws["A2"].value)) / max(1.0, sum(widths[:last])))
    ws.row_dimensions[2].height = 15 * max(1, lines)


def shown_text(text: str) -> str:
    """A template cell's text as a reader sees it, near enough to size it: glossary names filled in, other fields 12 characters."""
    text = re.sub(r"""\{\{\s*glossary\[['"](\w+)['"]\]\.name\s*\}\}""", lambda m: glossary_name(m.group(1)), text)
    text = re.sub(r"""\{\{\s*term\(['"](\w+)['"]\)\s*\}\}""", lambda m: glossary_name(m.group(1)), text)
    return re.sub(r"\{\{.*?\}\}", "x" * 12, text)


def table(ws: Worksheet, top: int, loop: str, columns: list[Column], totals: dict[int, str] | None = None) -> int:
    """A header row at `top`, a repeated row below it, and an optional totals row; returns the totals row."""
    for index, (header, content, number_format, width) in enumerate(columns, start=1):
        head = ws.cell(top, index, header)
        head.font, head.fill = HEADER_FONT, HEADER_FILL
        # Numbers sit right, so their headers do too.
        head.alignment = Alignment(wrap_text=True, vertical="center", horizontal="right" if number_format else None)
        cell = ws.cell(top + 1, index, (f"{{% for {loop} %}}" if index == 1 else "") + content)
        # Every cell of a row starts at its top: a row grown for a wrapped name reads across, not staggered.
        cell.alignment = Alignment(vertical="top")
        if number_format:
            cell.number_format = number_format
        elif width >= 24:  # long text (reasons, descriptions) wraps inside its column on screen and on paper
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        letter = head.column_letter
        # A column another table on the sheet has sized keeps the wider; openpyxl's default is 13.
        set_before = ws.column_dimensions[letter].width if letter in ws.column_dimensions else 0
        ws.column_dimensions[letter].width = max(set_before, width)
    # Two lines for most headers, more for a long one in a narrow column (a clipped "Shadow value of
    # the scaled budget" was seen); a field ({{ ... }}) counts as its text, erring tall.
    lines = max(math.ceil(len(shown_text(header)) / max(1.0, width - 1)) for header, _, _, width in columns)
    ws.row_dimensions[top].height = 15 * max(2, lines)
    if totals is not None:
        label = ws.cell(top + 2, 1, "Total")
        label.font, label.border = TOTAL_FONT, TOTAL_BORDER
        for index in range(2, len(columns) + 1):
            cell = ws.cell(top + 2, index, totals.get(index))
            cell.font, cell.border = TOTAL_FONT, TOTAL_BORDER
            cell.number_format = columns[index - 1][2] or "General"
    ws.freeze_panes = ws.cell(top + 1, 1) if top < 6 else ws.freeze_panes
    return top + 2


def text_categories(chart: BarChart, ws: Worksheet, column: str, row: int) -> None:
    """Categories are labels (quarters, teams): a string reference, so Excel shows them as text."""
    for series in chart.series:
        series.cat = AxDataSource(strRef=StrRef(f"'{ws.title}'!${column}${row}:${column}${row}"))


def sum_of(column: str, row: int) -> str:
    return f"=SUM({column}{row}:{column}{row})"


def pairs(ws: Worksheet, top: int, rows: list[tuple[str, str, str | None]]) -> None:
    """Label / value rows, as on the Summary and Assumptions sheets."""
    for offset, (label, content, number_format) in enumerate(rows):
        ws.cell(top + offset, 1, label).font = Font(name="Calibri", bold=True)
        cell = ws.cell(top + offset, 2, content)
        cell.alignment = Alignment(horizontal="right")
        if number_format:
            cell.number_format = number_format
    ws.column_dimensions["A"].width = 34
    ws.column_dimensions["B"].width = 24


def summary(ws: Worksheet) -> None:
    title(ws, "{{ summary.title }}", "Horizon {{ summary.first_quarter }} to {{ summary.last_quarter }}; amounts in {{ currency }}. "
          "Spend, NPV and ROI are live formulas over the Funded sheet.", 3)
    pairs(ws, 4, [
        ("Budget over the horizon", "{{ summary.budget }}", MONEY),
        ("{{ glossary.spend.name }}", "=SUM(Funded!K5:K5)", MONEY),
        ("Budget used", "=IF(B4=0,\"\",B5/B4)", PERCENT),
        ("PV of benefits", "=SUM(Funded!L5:L5)", MONEY),
        ("PV of costs", "=SUM(Funded!M5:M5)", MONEY),
        ("NPV", "=SUM(Funded!N5:N5)", MONEY),
        ("{{ glossary.roi.name }}", "=IF(B8=0,\"\",B9/B8)", PERCENT),
        ("Payback quarter", "{{ summary.payback_quarter or 'beyond the horizon' }}", None),
        ("Experiences funded", "{{ summary.funded }}", "#,##0"),
        ("Experiences considered", "{{ summary.experiences }}", "#,##0"),
        ("NPV of the greedy ROI ranking", "{{ summary.greedy_npv }}", MONEY),
        ("Gain over the greedy ranking", "=B9-B14", MONEY),
        ("Solver", "{{ summary.solver }}", None),
        ("Status", "{{ summary.status }}", None),
        ("Proven optimal", "{{ 'yes' if summary.proven_optimal else 'no' }}", None),
        ("Gap to the best bound", "{{ summary.gap }}", '0.00%'),
    ])


EXPERIENCE_COLUMNS: list[Column] = [
    ("ID", "{{ e.id }}", None, 12), ("Experience", "{{ e.name }}", None, 28),
    ("Journey stage", "{{ e.journey_stage }}", None, 12), ("Channel", "{{ e.channel }}", None, 12),
    ("Product line", "{{ e.product_line }}", None, 13), ("Layer", "{{ e.layer }}", None, 10),
    ("Team", "{{ e.team }}", None, 12),
]


def funded(ws: Worksheet) -> None:
    columns = EXPERIENCE_COLUMNS + [
        ("Option", "{{ e.option }}", None, 9), ("Start", "{{ e.start_quarter }}", None, 8),
        ("Go-live", "{{ e.go_live_quarter }}", None, 8), ("{{ glossary.spend.name }}", "{{ e.total_spend }}", MONEY, 11),
        ("PV of benefits", "{{ e.pv_benefit }}", MONEY, 11), ("PV of costs", "{{ e.pv_cost }}", MONEY, 11),
        ("NPV", "{{ e.npv }}", MONEY, 11), ("{{ glossary.roi.name }}", "{{ e.roi }}", PERCENT, 8), ("Payback", "{{ e.payback_quarter }}", None, 8),
    ]
    title(ws, "Funded experiences", "{{ summary.funded }} of {{ summary.experiences }} experiences; amounts in {{ currency }}, "
          "largest NPV first. Go-live is the end of the quarter shown.", 8)
    totals = {c: sum_of(letter, 5) for c, letter in ((11, "K"), (12, "L"), (13, "M"), (14, "N"))}
    totals[15] = '=IF(M6=0,"",N6/M6)'
    table(ws, 4, "e in funded", columns, totals)
    ws.auto_filter.ref = "A4:P5"


def not_funded(ws: Worksheet) -> None:
    columns = EXPERIENCE_COLUMNS + [("Mandatory", "{{ 'yes' if e.mandatory else 'no' }}", None, 11), ("Why not funded", "{% if e.bundles %}{% for b in enablers if b.id in e.bundles %}{{ b|bundle_reason(currency) }} {% endfor %}{% else %}{{ e.reason }}{% endif %}", None, 70)]
    title(ws, "Experiences not funded", "Each with the reason the plan leaves it out.", 9)
    table(ws, 4, "e in not_funded", columns)
    ws.auto_filter.ref = "A4:I5"


def by_quarter(ws: Worksheet) -> None:
    columns: list[Column] = [
        ("Quarter", "{{ q.quarter }}", None, 10), ("Budget", "{{ q.budget }}", MONEY, 14), ("Spend", "{{ q.spend }}", MONEY, 14),
        ("Headroom", "=B5-C5", MONEY, 14), ("Benefit", "{{ q.benefit }}", MONEY, 14), ("Net cash", "=E5-C5", MONEY, 14),
        ("Cumulative net cash", "{{ q.cumulative_net }}", MONEY, 16),
    ]
    title(ws, "Spend by quarter against the budget", "Amounts in {{ currency }}, undiscounted; headroom and net cash are formulas.", 7)
    totals = {c: sum_of(letter, 5) for c, letter in ((2, "B"), (3, "C"), (4, "D"), (5, "E"), (6, "F"))}
    table(ws, 4, "q in quarters", columns, totals)
    bars = BarChart()
    bars.title = "Spend by quarter against the budget"
    bars.y_axis.title = "{{ currency }}"
    bars.x_axis.title = "Quarter"
    bars.add_data(Reference(ws, min_col=3, min_row=4, max_row=5), titles_from_data=True)
    line = LineChart()
    line.add_data(Reference(ws, min_col=2, min_row=4, max_row=5), titles_from_data=True)
    text_categories(bars, ws, "A", 5)
    text_categories(line, ws, "A", 5)
    bars.y_axis.number_format = "#,##0"
    bars.y_axis.delete = False
    bars.x_axis.delete = False
    bars += line
    bars.width, bars.height = 18, 9
    ws.add_chart(bars, "I4")


def attention(ws: Worksheet) -> None:
    team_columns: list[Column] = [
        ("Team", "{{ t.team }}", None, 16), ("Capacity (team-weeks)", "{{ t.capacity }}", WEEKS, 14),
        ("Used (team-weeks)", "{{ t.used }}", WEEKS, 14), ("Used share", '=IF(B5=0,"",C5/B5)', PERCENT, 12),
    ]
    title(ws, "Attention by team against capacity", "Team-weeks over the horizon, then by quarter.", 6)
    totals = table(ws, 4, "t in attention.teams", team_columns, {2: sum_of("B", 5), 3: sum_of("C", 5), 4: '=IF(B6=0,"",C6/B6)'})
    quarter_columns: list[Column] = [
        ("Team", "{{ a.team }}", None, 16), ("Quarter", "{{ a.quarter }}", None, 14), ("Capacity (team-weeks)", "{{ a.capacity }}", WEEKS, 14),
        ("Used (team-weeks)", "{{ a.used }}", WEEKS, 12), ("Used share", '=IF(C10=0,"",D10/C10)', PERCENT, 12),
    ]
    table(ws, totals + 3, "a in attention.by_quarter", quarter_columns)
    ws.cell(totals + 2, 1, "By quarter").font = TITLE_FONT
    bars = BarChart()
    bars.type = "bar"
    bars.title = "Attention by team: used against capacity"
    bars.x_axis.title = "Team"
    bars.y_axis.title = "Team-weeks"
    bars.add_data(Reference(ws, min_col=2, max_col=3, min_row=4, max_row=5), titles_from_data=True)
    text_categories(bars, ws, "A", 5)
    bars.y_axis.delete = False
    bars.x_axis.delete = False
    bars.y_axis.number_format = "#,##0"  # whole team-weeks: "0.0 50.0 100.0..." ran together
    bars.y_axis.majorGridlines = None
    for series, colour in zip(bars.series, ("9FB3C8", "1F3A5F")):  # capacity pale, used in the accent (never red)
        series.graphicalProperties.solidFill = colour
        series.graphicalProperties.line.solidFill = colour
    bars.legend.position = "b"
    bars.width, bars.height = 18, 9
    ws.add_chart(bars, "H4")


def experience_map(ws: Worksheet) -> None:
    cell_columns: list[Column] = [
        ("Journey stage", "{{ m.row }}", None, 16), ("Channel", "{{ m.column }}", None, 16), ("Funded", "{{ m.funded }}", "#,##0", 10),
        ("Spend", "{{ m.spend }}", MONEY, 14), ("NPV", "{{ m.npv }}", MONEY, 14),
    ]
    title(ws, "Experience map", "Funded spend and NPV in {{ currency }} by journey stage and channel, then by product line "
          "and journey stage{% if experience_map.charged_enablers %}; each funded enabler's in the work that needs it, by "
          "that work's spend{% endif %}.", 6)
    totals = table(ws, 4, "m in experience_map.stage_channel", cell_columns, {3: sum_of("C", 5), 4: sum_of("D", 5), 5: sum_of("E", 5)})
    product_columns = [("Product line", "{{ p.row }}", None, 16), ("Journey stage", "{{ p.column }}", None, 16)] + cell_columns[2:]
    product_columns = [(h, c.replace("m.", "p."), f, w) for h, c, f, w in product_columns]
    top = totals + 3
    ws.cell(top - 1, 1, "By product line").font = TITLE_FONT
    table(ws, top, "p in experience_map.product_lines", product_columns,
          {3: sum_of("C", top + 1), 4: sum_of("D", top + 1), 5: sum_of("E", top + 1)})
    scale = {"start_type": "min", "start_color": "FFFFFF", "end_type": "max", "end_color": "2E7D5B"}
    for row in (5, top + 1):
        for column in ("D", "E"):
            ws.conditional_formatting.add(f"{column}{row}:{column}{row}", ColorScaleRule(**scale))


def blueprint(ws: Worksheet) -> None:
    columns: list[Column] = [
        ("Journey stage", "{{ n.stage }}", None, 16), ("Layer", "{{ n.layer }}", None, 12), ("ID", "{{ n.id }}", None, 12),
        ("Experience", "{{ n.name }}", None, 40), ("Channel", "{{ n.channel }}", None, 14),
        ("Funded", "{{ 'yes' if n.funded else 'no' }}", None, 9), ("Go-live", "{{ n.go_live or '' }}", None, 10),
        ("NPV", "{{ n.npv if n.funded else '' }}", MONEY, 14), ("{{ term('needs_it') }}", "{{ blueprint.targets_of(n.id)|join(', ') }}", None, 30),
    ]
    title(ws, "Service blueprint", "Journey stages in journey order; frontstage (what customers touch) before backstage "
          "(the systems behind it). {{ term('needs_it') }}: the experiences that require this one.", 9)
    table(ws, 4, "n in blueprint.ordered_nodes", columns)
    ws.auto_filter.ref = "A4:I5"
    ws.print_title_rows = "4:4"


def enablers(ws: Worksheet) -> None:
    columns: list[Column] = [
        ("Enabler", "{{ b.id }}", None, 12), ("Name", "{{ b.name }}", None, 34),
        ("Funded", "{{ 'yes' if b.funded else 'no' }}", None, 9),
        ("Work that needs it", "{{ b.dependents|join(', ') }}", None, 30),
        ("In the plan with it", "{{ b.funded_members|join(', ') }}", None, 30),
        ("Bundle spend", "{{ b.spend }}", MONEY, 14), ("Bundle NPV", "{{ b.npv }}", MONEY, 14),
        ("Bundle PV of costs", "{{ b.pv_cost }}", MONEY, 14), ("Bundle ROI", '=IF(H5=0,"",G5/H5)', PERCENT, 11),
        ("Unlocks", "{{ b.unlocked if b.unlocked is not none else '' }}", MONEY, 14),
    ]
    title(ws, "Enablers and what they unlock", "Unlocks: the plan's best NPV with the enabler less its best NPV without it. "
          "Bundle figures add up the enabler and the work that needs it, as funded in the best plan that includes it.", 10)
    table(ws, 4, "b in enablers", columns)
    ws.auto_filter.ref = "A4:J5"
    ws.print_title_rows = "4:4"


def journeys(ws: Worksheet) -> None:
    columns: list[Column] = [
        # Text columns 24 wide or more wrap; the widths add up to one A4 landscape page (planner.core.ooxml.READABLE_WIDTH).
        ("Journey", "{{ j.journey }}", None, 24), ("Owner", "{{ j.owners|join(', ') }}", None, 30),
        ("{{ term('journey_stage') }}s", "{{ j.stages|join(', ') }}", None, 28), ("Product lines", "{{ j.product_lines|join(', ') }}", None, 24),
        ("Channels", "{{ j.channels|join(', ') }}", None, 26), ("Experiences", "{{ j.experiences }}", "#,##0", 12),
        ("Funded", "{{ j.funded }}", "#,##0", 9), ("Spend", "{{ j.spend }}", MONEY, 14), ("NPV", "{{ j.npv }}", MONEY, 14),
    ]
    title(ws, "Journeys and owners", "Each customer journey across product lines and channels, with its accountable owner. "
          "{{ journeys.fragmentation.one_offs|length }} experiences belong to no journey.", 9)
    table(ws, 4, "j in journeys.journeys", columns, {8: sum_of("H", 5), 9: sum_of("I", 5)})
    ws.print_title_rows = "4:4"


def constraints(ws: Worksheet) -> None:
    columns: list[Column] = [
        ("Rule", "{{ r.label }}", None, 30), ("Kind", "{{ r.kind }}", None, 12), ("Quarter", "{{ r.quarter }}", None, 10),
        ("Team", "{{ r.team }}", None, 14), ("Limit", "{{ r.limit }}", VALUE, 14), ("Used", "{{ r.used }}", VALUE, 14),
        ("Slack", "=E5-F5", VALUE, 14), ("Unit", "{{ r.unit }}", None, 12),
        ("{{ glossary['shadow_value'].name }}", "{{ r.marginal_value }}", VALUE, 14), ("Binding", "{{ 'yes' if r.binding else 'no' }}", None, 10),
    ]
    title(ws, "Budget and capacity rules", "Every rule with its use. {{ glossary['shadow_value'].name }}: what one more unit "
          "(one {{ currency }}, one team-week) adds to the NPV; the Glossary sheet defines it.", 6)
    table(ws, 4, "r in constraints.all", columns)
    ws.auto_filter.ref = "A4:J5"


def assumptions(ws: Worksheet) -> None:
    title(ws, "Inputs and assumptions", "Where the numbers come from and how the plan was found.", 3)
    pairs(ws, 4, [
        ("Input workbook", "{{ assumptions.workbook }}", None),
        ("Workbook SHA-256", "{{ assumptions.workbook_sha256 }}", None),
        ("Scenario", "{{ assumptions.scenario }}", None),
        ("Currency", "{{ assumptions.currency }}", None),
        ("Annual discount rate", "{{ assumptions.annual_discount_rate }}", "0.00%"),
        ("First quarter", "{{ assumptions.first_quarter }}", None),
        ("First day of the horizon", "{{ assumptions.first_day }}", DATE),
        ("Horizon (quarters)", "{{ assumptions.horizon_quarters }}", "0"),
        ("Ramp-up (quarters)", "{{ assumptions.ramp_quarters }}", "0"),
        ("Benefits counted after the horizon (quarters)", "{{ assumptions.tail_quarters }}", "0"),
        ("Start quarters", "{{ assumptions.start_quarters }}", None),
        ("Total budget cap", "{{ assumptions.total_budget }}", MONEY),
        ("Solver", "{{ assumptions.solver }}", None),
        ("Status", "{{ assumptions.status }}", None),
        ("Objective (NPV)", "{{ assumptions.objective }}", MONEY),
        ("Best bound", "{{ assumptions.best_bound }}", MONEY),
        ("LP relaxation bound", "{{ assumptions.lp_bound }}", MONEY),
        ("Gap", "{{ assumptions.gap }}", "0.00%"),
        ("Gap target", "{{ assumptions.gap_target }}", "0.00%"),
        ("Time limit (s)", "{{ assumptions.time_limit_seconds }}", "0.0"),
        ("Variables", "{{ assumptions.variables }}", "#,##0"),
        ("Constraints", "{{ assumptions.constraints }}", "#,##0"),
        ("Solver message", "{{ assumptions.message }}", None),
    ])
    ws.column_dimensions["B"].width = 70
    for row in ws.iter_rows(min_row=4, min_col=2, max_col=2):
        row[0].alignment = Alignment(horizontal="left")


def input_experiences(ws: Worksheet) -> None:
    columns = EXPERIENCE_COLUMNS + [
        ("Reach per quarter", "{{ x.reach_per_quarter }}", "#,##0", 12), ("Outcome", "{{ x.outcome }}", None, 16),
        ("Value per outcome", "{{ x.value_per_outcome }}", "#,##0.00", 12), ("Uplift low", "{{ x.uplift_low }}", "0.00%", 10),
        ("Uplift base", "{{ x.uplift_base }}", "0.00%", 10), ("Uplift high", "{{ x.uplift_high }}", "0.00%", 10),
        ("Mandatory", "{{ 'yes' if x.mandatory else 'no' }}", None, 10), ("Requires", "{{ x.requires }}", None, 16), ("Excludes", "{{ x.excludes }}", None, 16),
        ("Earliest start", "{{ x.earliest_start }}", None, 10), ("Description", "{{ x.description }}", None, 80),
    ]
    columns = [(h, c.replace("e.", "x."), f, w) for h, c, f, w in columns]
    title(ws, "Experiences as read", "The input workbook's experiences, echoed so a reader can check what was planned.", 8)
    table(ws, 4, "x in inputs.experiences", columns)


def input_options(ws: Worksheet) -> None:
    columns: list[Column] = [
        ("Experience ID", "{{ o.experience_id }}", None, 14), ("Option", "{{ o.option }}", None, 12),
        ("One-off cost", "{{ o.one_off_cost }}", MONEY, 14), ("Run cost per quarter", "{{ o.run_cost_per_quarter }}", MONEY, 14),
        ("Attention (team: weeks)", "{{ o.attention }}", None, 40), ("Total attention (team-weeks)", "{{ o.total_attention }}", WEEKS, 14),
        ("Delivery (quarters)", "{{ o.delivery_quarters }}", "0", 10), ("Uplift share", "{{ o.uplift_share }}", "0%", 10),
    ]
    title(ws, "Funding options as read", "Every funding option of every experience.", 8)
    table(ws, 4, "o in inputs.options", columns)


def glossary(ws: Worksheet) -> None:
    """The one definition of each figure the report names (planner/core/glossary.py)."""
    title(ws, "Glossary", "What each figure in this report means: the same words as the HTML report, the CLI and docs/model.md.", 2)
    table(ws, 4, "t in glossary.terms", [("Term", "{{ t.name }}", None, 30), ("Definition", "{{ t.definition }}", None, 110)])


SHEETS = (
    ("Summary", summary), ("Funded", funded), ("Blueprint", blueprint), ("Enablers", enablers), ("Journeys", journeys),
    ("Not funded", not_funded), ("By quarter", by_quarter),
    ("Attention", attention), ("Experience map", experience_map), ("Constraints", constraints),
    ("Assumptions", assumptions), ("Experiences", input_experiences), ("Options", input_options), ("Glossary", glossary),
)


def print_setup(ws: Worksheet) -> None:
    """A4 landscape, as many pages across as keep the text readable, header rows repeated."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    widths = [ws.column_dimensions[get_column_letter(c)].width or 8.43 for c in range(1, ws.max_column + 1)]
    across = pages_across(widths)
    one_page = ws.page_setup.fitToHeight == 1  # chart_on_one_page
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = (1, 1) if one_page else (across, 0)
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    if across > 1 and not one_page:
        ws.print_title_cols = "A:B"
    if ws.print_title_rows is None:
        header = next((row for row in range(3, 8) if ws.cell(row, 1).fill == HEADER_FILL), None)
        if header is not None:
            ws.print_title_rows = f"{header}:{header}"


def chart_on_one_page(ws: Worksheet, chart, anchor: str) -> None:
    """Put a chart beside or below a sheet's fixed rows (key figures, a fixed table) and print the sheet on one page.

    A chart under a table that grows with the data ran across a page break (the example's
    frontier.xlsx: half the chart on each page, the repeated header row drawn over it), and
    a page of its own under the table still printed the table's repeated header above it.
    Beside or below rows of fixed length, the sheet is scaled onto one page instead.
    """
    ws.add_chart(chart, anchor)
    ws.page_setup.fitToHeight = 1  # print_setup keeps it


def build(path: Path, sheets: tuple[tuple[str, Callable[[Worksheet], None]], ...] | None = None) -> None:
    """Write a template of `sheets` (name, maker) pairs, SHEETS by default: A4 landscape, fixed document dates."""
    sheets = SHEETS if sheets is None else sheets
    workbook = Workbook()
    workbook.remove(workbook.active)
    for name, _ in sheets:
        workbook.create_sheet(name)
    for name, make in sheets:  # every sheet exists first: a chart may plot another sheet's cells
        ws = workbook[name]
        make(ws)
        print_setup(ws)
        fit_note(ws)
    workbook.properties.creator = "planner"
    workbook.properties.created = workbook.properties.modified = datetime(2000, 1, 1)
    workbook.save(path)


if __name__ == "__main__":
    build(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("report.xlsx"))
