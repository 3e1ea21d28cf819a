"""The Excel report: typed cells, live totals, the template's look, speed, and the Jinja2-in-cells engine."""

from __future__ import annotations

import io
import re
import statistics
import subprocess
import time
from datetime import datetime

import openpyxl
import pytest

from conftest import HOSTILE_NAME, large_plan, make_plan, require_program, small_portfolio
from planner.core.formatting import money, percent
from planner.core.ooxml import SharedStrings
from planner.core.errors import InputError
from planner.render.xlsx import TEMPLATE, RowMap, _Styles, cell_xml, read_template, remap_references, render_template, render_xlsx
from planner.reports.plan_report import build_report

SHEETS = ["Summary", "Funded", "Blueprint", "Enablers", "Journeys", "Not funded", "By quarter", "Attention", "Experience map", "Constraints",
          "Assumptions", "Experiences", "Options", "Glossary"]


def load(data: bytes, **options) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(data), **options)


@pytest.fixture
def workbook_bytes(small_plan) -> bytes:
    return render_xlsx(build_report(small_plan))


def formula_columns(path) -> set[tuple[str, str]]:
    """(sheet, column) of every formula the template holds: the only places formulas may appear."""
    template = openpyxl.load_workbook(path)
    return {(ws.title, c.column_letter) for ws in template for row in ws.iter_rows() for c in row if c.data_type == "f"}


def test_sheets_in_order(workbook_bytes):
    assert load(workbook_bytes).sheetnames == SHEETS


def test_numbers_are_numbers_and_text_is_text(workbook_bytes, small_plan):
    wb = load(workbook_bytes)
    funded = wb["Funded"]
    assert [funded.cell(4, c).value for c in (11, 14)] == ["Spend", "NPV"]
    for row in range(5, 10):
        assert isinstance(funded.cell(row, 11).value, float)
        assert isinstance(funded.cell(row, 14).value, float)
        assert funded.cell(row, 9).data_type == "s"  # quarter labels stay text
    assert isinstance(wb["Summary"]["B4"].value, float)
    assert isinstance(wb["Experiences"]["H5"].value, int)
    assert wb["Assumptions"]["B10"].value == datetime(2027, 1, 1)
    assert wb["Assumptions"]["B10"].is_date


def test_formulas_where_the_template_has_them_and_nowhere_else(workbook_bytes):
    wb = load(workbook_bytes)
    allowed = formula_columns(TEMPLATE)
    found = {(ws.title, c.column_letter) for ws in wb for row in ws.iter_rows() for c in row if c.data_type == "f"}
    assert found and found <= allowed
    assert wb["Funded"]["K10"].value == "=SUM(K5:K9)"
    assert wb["Funded"]["O10"].value == '=IF(M10=0,"",N10/M10)'
    assert wb["By quarter"]["D7"].value == "=B7-C7"  # copied down like Excel's fill
    assert wb["Summary"]["B9"].value == "=SUM(Funded!N5:N9)"  # other sheets' ranges follow too


@pytest.mark.parametrize("name", ["=Customer data platform", "+1", "-HYPERLINK(1)", "@SUM(A1)", "=1+1"])
def test_text_that_looks_like_a_formula_stays_text(name):
    strings = SharedStrings()
    xml = cell_xml("B5", "3", name, _Styles("", set()), strings)
    assert 't="s"' in xml and "<f>" not in xml and list(strings.indexes) == [name]


def test_input_names_are_written_as_text(workbook_bytes):
    wb = load(workbook_bytes)
    names = {wb["Funded"].cell(r, 2).value: wb["Funded"].cell(r, 2).data_type for r in range(5, 10)}
    assert names["=Customer data platform"] == "s"
    assert names[HOSTILE_NAME] == "s"


def test_totals_match_the_plan(workbook_bytes, small_plan):
    values = load(workbook_bytes, data_only=True)
    assert values["Funded"]["K10"].value == pytest.approx(small_plan.total_spend)
    assert values["Funded"]["N10"].value == pytest.approx(small_plan.npv)
    assert values["Summary"]["B9"].value == pytest.approx(small_plan.npv)
    assert values["By quarter"]["C13"].value == pytest.approx(small_plan.total_spend)
    assert values["Experience map"]["E10"].value == pytest.approx(small_plan.npv)


def test_template_styles_widths_and_merges_are_kept(workbook_bytes):
    template, wb = openpyxl.load_workbook(TEMPLATE), load(workbook_bytes)
    for name in SHEETS:
        for letter, dimension in template[name].column_dimensions.items():
            assert wb[name].column_dimensions[letter].width == dimension.width, (name, letter)
        assert [str(r) for r in wb[name].merged_cells.ranges] == [str(r) for r in template[name].merged_cells.ranges]
    assert wb["Funded"]["K7"].number_format == template["Funded"]["K5"].number_format
    assert wb["Funded"]["A4"].font.bold and wb["Funded"]["A4"].fill.fgColor.rgb == template["Funded"]["A4"].fill.fgColor.rgb
    assert wb["Funded"]["K10"].border.bottom.style == "double"
    assert wb["Funded"].freeze_panes == "A5"


def test_charts_and_conditional_formats_follow_the_rows(workbook_bytes):
    import zipfile

    with zipfile.ZipFile(io.BytesIO(workbook_bytes)) as archive:
        chart = archive.read("xl/charts/chart1.xml").decode()
        sheet = archive.read("xl/worksheets/sheet9.xml").decode()  # Experience map
    assert "'By quarter'!$C$5:$C$12" in chart and "'By quarter'!$A$5:$A$12" in chart
    assert "<a:t>EUR</a:t>" in chart  # the axis title's {{ currency }}
    assert 'sqref="D5:D9"' in sheet


def test_an_empty_list_leaves_no_row_and_totals_stay_valid():
    plan = make_plan(small_portfolio(), {})
    wb = load(render_xlsx(build_report(plan)))
    funded = wb["Funded"]
    assert funded["A5"].value == "Total"
    assert funded["K5"].value == "=SUM(K4:K4)"  # the header above: sums to zero, never a circular reference
    assert load(render_xlsx(build_report(plan)), data_only=True)["Summary"]["B9"].value == 0


def test_same_report_gives_identical_bytes(small_plan):
    assert render_xlsx(build_report(small_plan)) == render_xlsx(build_report(small_plan))


def test_template_round_trip_follows_the_analysts_edits(tmp_path, small_plan):
    """Finance moves the NPV column to B and renames a label in Excel; the report follows."""
    edited = tmp_path / "report.xlsx"
    wb = openpyxl.load_workbook(TEMPLATE)
    ws = wb["Funded"]
    ws.move_range("B4:B6", cols=15)  # Experience out of the way, to Q
    ws.move_range("N4:N6", cols=-12, translate=True)  # NPV to B; its SUM moves with it
    ws.move_range("Q4:Q6", cols=-3)  # Experience to N
    ws["K4"] = "Spend over the horizon"
    wb["Summary"]["B9"] = "=SUM(Funded!B5:B5)"  # Excel would update this reference itself
    wb.save(edited)

    out = load(render_template(read_template(edited), build_report(small_plan).context()))
    funded = out["Funded"]
    assert funded["B4"].value == "NPV" and funded["K4"].value == "Spend over the horizon"
    assert [funded.cell(r, 2).value for r in range(5, 10)] == pytest.approx(sorted((d.npv for d in small_plan.funded), reverse=True))
    assert funded["B10"].value == "=SUM(B5:B9)"
    assert funded["N5"].value == "Checkout in one tap"
    assert out["Summary"]["B9"].value == "=SUM(Funded!B5:B9)"


def test_a_template_cell_words_numbers_as_the_html_does(tmp_path, small_plan):
    """An analyst's sentence in a cell uses the same formatting filters as the HTML pages."""
    edited = tmp_path / "report.xlsx"
    wb = openpyxl.load_workbook(TEMPLATE)
    wb["Summary"]["D2"] = "NPV {{ summary.npv|money(currency) }}, {{ summary.budget_used|percent }} of the budget"
    wb.save(edited)
    report = build_report(small_plan)
    summary = report.section("summary")
    out = load(render_template(read_template(edited), report.context()))
    assert out["Summary"]["D2"].value == f"NPV {money(summary.npv, report.currency)}, {percent(summary.budget_used)} of the budget"


def test_a_template_error_names_the_sheet_and_cell(tmp_path, small_plan):
    broken = tmp_path / "broken.xlsx"
    wb = openpyxl.load_workbook(TEMPLATE)
    wb["Funded"]["L5"] = "{{ e.no_such_field }}"
    wb.save(broken)
    with pytest.raises(InputError, match=r"sheet Funded, cell L5"):
        render_template(read_template(broken), build_report(small_plan).context())


@pytest.mark.parametrize(("formula", "expected"), [
    ("SUM(F5:F5)", "SUM(F5:F14)"),
    ("F5+F6", "F5+F15"),
    ("SUM($F$5:$F$5)/$B$2", "SUM($F$5:$F$14)/$B$2"),
    ('IF(A6="F5:F5",LOG10(F6),0)', 'IF(A15="F5:F5",LOG10(F15),0)'),
    ("Other!F5+'My sheet'!F6", "Other!F5+'My sheet'!F6"),
    ("SUM(F4:F6)", "SUM(F4:F15)"),
])
def test_references_follow_a_repeated_row(formula, expected):
    rows = RowMap(starts=[4, 5, 15], counts=[1, 10, 1], template_rows=[4, 5, 6])
    assert remap_references(formula, {"sheet": rows}, "sheet") == expected


def test_ten_thousand_experiences_give_every_option_row():
    """The time it takes is a benchmark (bench/reports.py), not a test."""
    data = render_xlsx(build_report(large_plan(10_000)))
    assert load(data, read_only=True)["Options"].max_row == 4 + 30_000


def test_libreoffice_converts_it_to_pdf(workbook_bytes, tmp_path, small_plan):
    soffice = require_program("soffice")
    source = tmp_path / "report.xlsx"
    source.write_bytes(workbook_bytes)
    result = subprocess.run([soffice, "--headless", "--norestore", f"-env:UserInstallation={(tmp_path / 'lo').as_uri()}",
                             "--convert-to", "pdf", "--outdir", str(tmp_path), str(source)], capture_output=True, text=True, timeout=180)
    pdf = tmp_path / "report.pdf"
    assert result.returncode == 0 and pdf.exists(), result.stderr
    text = subprocess.run([require_program("pdftotext"), "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "Funded experiences" in text and "Checkout in one tap" in text
    assert f"{small_plan.npv:,.0f}" in text  # the SUM total as LibreOffice shows it


def _word_boxes_by_page(pdf) -> list[list[tuple[float, float, float, float, str]]]:
    """Every word on each page of a PDF as (x min, y min, x max, y max, text): pdftotext's bounding boxes."""
    boxes = subprocess.run([require_program("pdftotext"), "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    word = re.compile(r'xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)<')
    return [[(float(a), float(b), float(c), float(d), text) for a, b, c, d, text in word.findall(page)] for page in boxes.split("<page ")[1:]]


def _word_heights_by_page(pdf) -> list[list[float]]:
    """The height in points of every word on each page of a PDF."""
    return [[bottom - top for _, top, _, bottom, _ in page] for page in _word_boxes_by_page(pdf)]


def _words_drawn_over_each_other(page: list[tuple[float, float, float, float, str]]) -> list[tuple[str, str]]:
    """Pairs of words whose boxes overlap by more than a third of the smaller one's height and width."""
    found = []
    ordered = sorted(page, key=lambda w: w[1])
    for i, (x0, y0, x1, y1, text) in enumerate(ordered):
        for u0, v0, u1, v1, other in ordered[i + 1:]:
            if v0 >= y1:
                break
            overlap_y, overlap_x = min(y1, v1) - max(y0, v0), min(x1, u1) - max(x0, u0)
            if overlap_y > min(y1 - y0, v1 - v0) / 3 and overlap_x > min(x1 - x0, u1 - u0) / 3:
                found.append((text, other))
    return found


def test_every_sheet_prints_readably_on_a4(tmp_path):
    """On paper (LibreOffice's print), no page of the example's report shrinks its text below
    about 7 pt: a wide sheet prints over more pages across, with its ID and name repeated."""
    soffice = require_program("soffice")
    from planner.core.resources import EXAMPLE_SCENARIO
    from planner.inputs.scenario import load_scenario
    from planner.inputs.workbook import read_portfolio
    from planner.optimise.optimiser import plan_portfolio
    from planner.publish import write_reports

    scenario = load_scenario(EXAMPLE_SCENARIO)
    plan = plan_portfolio(read_portfolio(scenario.workbook), scenario)
    write_reports(plan, tmp_path, ["xlsx"])
    subprocess.run([soffice, "--headless", "--norestore", f"-env:UserInstallation={(tmp_path / 'lo').as_uri()}",
                    "--convert-to", "pdf", "--outdir", str(tmp_path), str(tmp_path / "report.xlsx")], capture_output=True, timeout=180, check=True)
    pages = _word_heights_by_page(tmp_path / "report.pdf")
    # 11 pt Calibri prints words about 12.1 pt tall at 100%; 7.7 is about 7 pt text.
    assert [round(statistics.median(heights), 1) for heights in pages if statistics.median(heights) < 7.7] == []
    # Rows grow to their wrapped text (seen: 20 pages with two-line names drawn over the next row).
    assert len(pages) <= 24
    overlaps = [(n + 1, pair) for n, page in enumerate(_word_boxes_by_page(tmp_path / "report.pdf")) for pair in _words_drawn_over_each_other(page)]
    assert overlaps == []
    for sheet in openpyxl.load_workbook(tmp_path / "report.xlsx"):
        assert sheet.page_setup.orientation == "landscape" and str(sheet.page_setup.paperSize) == sheet.PAPERSIZE_A4, sheet.title


def test_the_attention_chart_draws_used_in_the_accent_with_whole_team_weeks(workbook_bytes):
    """Seen in Excel: 'used' drawn in red as if over capacity, and '0.0 50.0 100.0' axis labels run together."""
    import zipfile

    with zipfile.ZipFile(io.BytesIO(workbook_bytes)) as archive:
        charts = [archive.read(name).decode() for name in archive.namelist() if name.startswith("xl/charts/chart")]
    attention = next(chart for chart in charts if "Attention by team" in chart)
    colours = re.findall(r'<(?:c:)?ser>.*?<a:srgbClr val="([0-9A-F]{6})"', attention, re.S)
    assert colours and all(colour in {"9FB3C8", "1F3A5F"} for colour in colours), colours
    assert 'formatCode="#,##0"' in attention


@pytest.mark.parametrize("kind", ["report", "quarterly", "risk", "frontier", "compare", "explanations", "tornado"])
def test_every_sheet_note_wraps_on_the_page_instead_of_running_off_it(kind):
    """Seen on the printed compare.xlsx: the note under the title ran past the page edge, its end cut off."""
    from math import ceil

    from openpyxl.utils import get_column_letter

    book = openpyxl.load_workbook(TEMPLATE.parent / f"{kind}.xlsx")
    for sheet in book:
        note = sheet["A2"].value
        if not note:
            continue
        assert sheet["A2"].alignment.wrap_text, (kind, sheet.title)
        merged = next((m for m in sheet.merged_cells.ranges if m.min_row == 2 and m.min_col == 1), None)
        last = merged.max_col if merged else 1
        across = sum(sheet.column_dimensions[get_column_letter(c)].width or 8.43 for c in range(1, last + 1))
        assert (sheet.row_dimensions[2].height or 15) >= 15 * ceil(len(str(note)) / across), (kind, sheet.title)


def test_a_row_with_a_long_wrapped_name_is_tall_enough_to_show_it():
    """Seen in LibreOffice: the Funded sheet drew two-line names over the next row (rows kept 15 pt)."""
    from dataclasses import replace

    from planner.render.xlsx import CHARACTERS_PER_WIDTH, LINE_HEIGHT

    portfolio = small_portfolio()
    long_name = "Mortgage decision in principle in ten minutes, with the adviser booked from the same page"
    portfolio = replace(portfolio, experiences=(replace(portfolio.experiences[0], name=long_name), *portfolio.experiences[1:]))
    plan = make_plan(portfolio, {"CX-101": ("lean", 0), "CX-201": ("standard", 0), "CX-103": ("lean", 0)})
    sheet = openpyxl.load_workbook(io.BytesIO(render_xlsx(build_report(plan))))["Funded"]
    rows = {sheet.cell(r, 1).value: r for r in range(5, sheet.max_row + 1)}
    name_width = sheet.column_dimensions["B"].width
    assert sheet.cell(rows["CX-101"], 2).value == long_name and len(long_name) > 2 * name_width * CHARACTERS_PER_WIDTH
    assert sheet.row_dimensions[rows["CX-101"]].height >= 3 * LINE_HEIGHT
    # A name that fits keeps the sheet's own height.
    assert sheet.row_dimensions[rows["CX-103"]].height is None
    assert all(sheet.cell(rows["CX-101"], c).alignment.vertical == "top" for c in range(1, 6))


def test_a_long_header_in_a_narrow_column_gets_the_lines_it_needs():
    """Seen on the printed frontier.xlsx: "Shadow value of the scaled budget" in an 11-wide column lost its last line."""
    from math import ceil

    from openpyxl.utils import get_column_letter

    from planner.core.glossary import name

    sheet = openpyxl.load_workbook(TEMPLATE.parent / "frontier.xlsx")["Frontier"]
    header = next(c for c in sheet[4] if c.value and "scaled_budget_shadow_value" in c.value)
    width = sheet.column_dimensions[get_column_letter(header.column)].width
    assert (sheet.row_dimensions[4].height or 15) >= 15 * ceil(len(name("scaled_budget_shadow_value")) / width)
