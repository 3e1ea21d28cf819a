"""The what-if reports: report models, HTML (with the frontier's budget slider), Excel, CSV and the CLI.

Everything runs on the six-experience portfolio of conftest.py (an experience named
<script>alert(1)</script>, another "=Customer data platform"), whose frontier solves in
about a second, so these tests stay fast.
"""

from __future__ import annotations

import html
import io
import json
import re
import subprocess
import zipfile
from pathlib import Path

import html5lib
import openpyxl
import pytest
from click.testing import CliRunner

from conftest import CHROMIUM_FLAGS, HOSTILE_NAME, distinct_colours, require_program, run_chromium, small_portfolio
from planner.analysis.compare import compare_plans, plan_scenarios
from planner.analysis.variants import scaled_budget, sensitivity, write_csv
from planner.cli import cli
from planner.core.csv_safe import csv_text
from planner.analysis.explain import explain
from planner.analysis.frontier import efficient_frontier
from planner.optimise.optimiser import plan_portfolio
from planner.publish import write_report
from planner.render.csv import render_csv
from planner.render.html import render_html
from planner.render.xlsx import TEMPLATES, render_xlsx
from planner.reports.analysis_reports import (
    build_comparison_report, build_explanations_report, build_frontier_report, build_tornado_report,
)
from planner.reports.plan_report import build_report
from planner.inputs.scenario import Scenario
from planner.inputs.workbook_writer import write_portfolio

HOSTILE_SCENARIO = "=cut <b>40%</b>"


@pytest.fixture(scope="module")
def plan():
    return plan_portfolio(small_portfolio())


@pytest.fixture(scope="module")
def frontier():
    return efficient_frontier(small_portfolio(), points=6)


@pytest.fixture(scope="module")
def frontier_report(frontier, plan):
    return build_frontier_report(frontier, plan.portfolio, plan)


@pytest.fixture(scope="module")
def comparison():
    portfolio = small_portfolio()
    plans = plan_scenarios([portfolio, scaled_budget(portfolio, 0.6)], [Scenario(name="base"), Scenario(name=HOSTILE_SCENARIO)])
    return compare_plans(plans), plans


@pytest.fixture(scope="module")
def explanations(plan):
    return explain(small_portfolio(), plan=plan, steps=1)


@pytest.fixture(scope="module")
def tornado(plan):
    return sensitivity(small_portfolio(), top=2, base=plan)


@pytest.fixture(scope="module")
def reports(frontier_report, comparison, explanations, tornado, plan):
    return {
        "frontier": frontier_report,
        "compare": build_comparison_report(comparison[0]),
        "explanations": build_explanations_report(explanations, plan),
        "tornado": build_tornado_report(tornado, plan),
    }


# ---------------------------------------------------------------------------------------
# Report models


def test_frontier_points_hold_the_chosen_plan_at_the_scenario_budget(frontier_report, frontier, plan):
    view = frontier_report.section("frontier")
    budgets = [p.budget for p in view.points]
    assert budgets == sorted(budgets)
    (chosen,) = [p for p in view.points if p.chosen]
    assert chosen.budget == pytest.approx(sum(plan.portfolio.budget))
    assert chosen.npv == pytest.approx(plan.npv) and set(chosen.funded) == {d.experience.id for d in plan.funded}
    assert len(view.points) == len(frontier.points) + 1  # the scenario's budget is not one of the frontier's
    (knee,) = [p for p in view.points if p.knee]
    assert knee.budget == pytest.approx(frontier.knee_budget)
    assert all(type(p.budget) is float and (p.npv is None or type(p.npv) is float) for p in view.points)


def test_frontier_rows_enter_leave_and_slope_between_feasible_rows(frontier_report):
    points = frontier_report.section("frontier").feasible
    for before, after in zip(points, points[1:]):
        assert set(after.entered) == set(after.funded) - set(before.funded)
        assert set(after.left) == set(before.funded) - set(after.funded)
        assert after.marginal_npv == pytest.approx((after.npv - before.npv) / (after.budget - before.budget))


def test_frontier_summary_and_portfolios(frontier_report, frontier, plan):
    summary = frontier_report.section("frontier_summary")
    view = frontier_report.section("frontier_portfolios")
    assert summary.chosen_npv == pytest.approx(plan.npv) and summary.chosen_funded == len(plan.funded)
    assert summary.lowest_budget == pytest.approx(frontier.lowest_budget)
    assert summary.best_npv == pytest.approx(max(p.npv for p in frontier.feasible_points))
    assert summary.knee_budget == pytest.approx(frontier.knee_budget)
    assert len(view.portfolio_rows) == sum(p.funded_count for p in view.feasible)
    assert {e.id for e in view.ever_funded} == {i for p in view.feasible for i in p.funded}


def test_a_frontier_point_at_the_scenario_budget_is_not_repeated(plan):
    budget = sum(plan.portfolio.budget)
    frontier = efficient_frontier(small_portfolio(), points=3, highest=budget)
    view = build_frontier_report(frontier, plan.portfolio, plan).section("frontier")
    assert len(view.points) == len(frontier.points)
    assert sum(p.chosen for p in view.points) == 1


def test_a_scenario_budget_with_no_plan_still_gets_its_frontier(frontier, plan):
    """A budget too small for what must be funded: the frontier says how much the scenario would need."""
    portfolio = scaled_budget(plan.portfolio, 0.1)
    report = build_frontier_report(frontier, portfolio, None)
    summary = report.section("frontier_summary")
    assert summary.chosen_npv is None and summary.chosen_status == "infeasible" and summary.chosen_budget == pytest.approx(360_000)
    assert report.section("frontier").points[0].chosen and not report.section("frontier").points[0].feasible
    page = render_html(report)
    assert "no plan meets the rules (infeasible)" in page
    html5lib.HTMLParser(strict=True).parse(page)
    assert load(render_xlsx(report))["Summary"]["B6"].value is None


def test_comparison_model_totals_differences_and_shifts(comparison):
    result, plans = comparison
    report = build_comparison_report(result)
    reference, other = report.section("compare_summary").scenarios
    assert reference.reference and reference.npv_change == 0
    assert other.npv_change == pytest.approx(plans[1].npv - plans[0].npv)
    assert other.left == sum(1 for d in result.differences if d.change == "left")
    shifts = report.section("shifts")
    for n, plan in enumerate(plans):
        assert sum(shifts.quarter.column(n)) == pytest.approx(plan.total_spend)
        assert sum(shifts.journey_stage.column(n)) == pytest.approx(plan.total_spend)
    assert len(shifts.channel.rows) == len(shifts.channel.values)
    assert all(r.change == pytest.approx(r.spend - r.reference_spend) for r in shifts.quarter.rows)
    assert shifts.journey_stage.values == tuple(sorted(shifts.journey_stage.values))
    in_order = build_comparison_report(result, plans[0]).section("shifts")
    assert in_order.journey_stage.values == ("buy", "get help", "discover", "use", "renew")  # as the inputs name them


def test_explanations_model_partitions_and_counts(explanations, plan):
    report = build_explanations_report(explanations, plan)
    out, funded = report.section("why_not_funded"), report.section("why_funded")
    assert {e.experience_id for e in funded} == {d.experience.id for d in plan.funded}
    assert len(out) + len(funded) == len(plan.decisions)
    assert sum(k.count for k in report.section("explain_summary").kinds) == len(plan.decisions)


def test_tornado_model_names_the_widest_input(tornado, plan):
    report = build_tornado_report(tornado, plan)
    summary = report.section("tornado_summary")
    finite = [b for b in tornado.bars if b.swing != float("inf")]
    assert summary.widest == finite[0].input and summary.widest_swing == pytest.approx(finite[0].swing)
    assert report.section("tornado") == tornado.bars


# ---------------------------------------------------------------------------------------
# HTML


@pytest.fixture(scope="module")
def pages(reports):
    return {kind: render_html(report) for kind, report in reports.items()}


@pytest.mark.parametrize("kind", ["frontier", "compare", "explanations", "tornado"])
def test_pages_are_valid_html5_escaped_and_self_contained(pages, kind):
    page = pages[kind]
    html5lib.HTMLParser(strict=True).parse(page)
    assert HOSTILE_NAME not in page and "<b>40%</b>" not in page
    escaped = {"frontier": "&lt;script&gt;alert(1)&lt;/script&gt;", "explanations": "&lt;script&gt;alert(1)&lt;/script&gt;",
               "compare": "=cut &lt;b&gt;40%&lt;/b&gt;", "tornado": "&lt;/"}[kind]
    assert escaped in page or kind == "tornado"
    assert not re.search(r"""(?:src|href|xlink:href)\s*=\s*["']?(?:https?:)?//""", page, re.I)
    assert not re.search(r"url\(\s*['\"]?(?:https?:)?//|@import", page, re.I)
    assert "<link" not in page and "<iframe" not in page
    scripts = re.findall(r"<script\b[^>]*>", page, re.I)
    assert scripts == (['<script type="application/json" id="frontier-data">', "<script>"] if kind == "frontier" else [])


def slider_data(page: str) -> dict:
    document = html5lib.parse(page, namespaceHTMLElements=False)
    (element,) = [s for s in document.iter("script") if s.get("id") == "frontier-data"]
    return json.loads(element.text)


def test_slider_json_matches_the_points(pages, frontier_report):
    view = frontier_report.section("frontier")
    data = slider_data(pages["frontier"])
    assert [p["budget"] for p in data["points"]] == [p.budget for p in view.points]
    assert [p["npv"] for p in data["points"]] == [p.npv for p in view.points]
    assert [p["funded"] for p in data["points"]] == [list(p.funded) for p in view.points]
    assert [p["entered"] for p in data["points"]] == [list(p.entered) for p in view.points]
    assert data["chosen"] == view.chosen_index and data["knee"] == view.knee_index
    assert data["experiences"]["CX-104"]["name"] == HOSTILE_NAME  # escaped in the page, exact once parsed


def test_slider_json_cannot_close_its_script_element(pages):
    block = re.search(r'<script type="application/json" id="frontier-data">(.*?)</script>', pages["frontier"], re.S).group(1)
    assert "<" not in block and ">" not in block and "\\u003c/script\\u003e" in block


def test_without_javascript_every_portfolio_is_in_the_page(pages, frontier_report):
    page = pages["frontier"]
    view = frontier_report.section("frontier")
    assert '<div class="slider" id="frontier-slider" hidden>' in page
    for n, point in enumerate(view.points):
        assert f'id="point-{n}"' in page
        cells = re.findall(rf'<td class="on[^"]*" data-point="{n}"', page)
        assert len(cells) == point.funded_count


def chromium_dom(page: Path, work: Path, *extra: str, fragment: str = "") -> tuple[str, str]:
    """The DOM after scripts ran (with "--dump-dom" in `extra`), and Chromium's stderr, for a page address with a fragment."""
    chromium = require_program("chromium")
    command = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={work / 'profile'}", *extra, page.resolve().as_uri() + fragment]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout, result.stderr


def test_chromium_runs_the_slider_without_errors_or_requests(pages, frontier_report, tmp_path):
    path = tmp_path / "frontier.html"
    path.write_text(pages["frontier"], encoding="utf-8")
    dom, console, requested = run_chromium(path, tmp_path, "--window-size=1200,1600", f"--screenshot={tmp_path / 'shot.png'}")
    assert console == [] and requested == []
    view = frontier_report.section("frontier")
    assert '<div class="slider" id="frontier-slider" data-point="{}">'.format(view.chosen_index) in dom  # shown, on the chosen point
    rows = re.search(r'<tbody id="slider-rows">(.*?)</tbody>', dom, re.S).group(1)
    assert re.findall(r'<td class="id">([^<]+)</td>', rows) == list(view.points[view.chosen_index].funded)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rows  # textContent, never markup
    assert distinct_colours((tmp_path / "shot.png").read_bytes()) > 20


def test_the_slider_starts_at_the_point_the_address_names(pages, frontier_report, tmp_path):
    path = tmp_path / "frontier.html"
    path.write_text(pages["frontier"], encoding="utf-8")
    dom, _ = chromium_dom(path, tmp_path, "--dump-dom", fragment="#point-0")
    first = frontier_report.section("frontier").points[0]
    assert 'data-point="0">' in dom and f"{len(first.funded)} experiences funded" in dom


def test_without_javascript_the_page_reads_and_the_slider_stays_hidden(pages, frontier_report, tmp_path):
    # Headless Chromium has no switch that reliably stops page scripts, so the page loses them instead.
    path = tmp_path / "frontier.html"
    path.write_text(re.sub(r"<script>.*?</script>", "", pages["frontier"], flags=re.S), encoding="utf-8")
    pdf = tmp_path / "frontier.pdf"
    chromium_dom(path, tmp_path, f"--print-to-pdf={pdf}", "--no-pdf-header-footer")
    text = subprocess.run([require_program("pdftotext"), str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "Move the budget" not in text and "Each column is one budget" in text
    assert all(e.name in text for e in frontier_report.section("frontier").ever_funded if e.name != HOSTILE_NAME)


@pytest.mark.parametrize("kind", ["compare", "explanations", "tornado"])
def test_chromium_opens_the_other_reports_cleanly(pages, reports, kind, tmp_path):
    path = tmp_path / f"{kind}.html"
    path.write_text(pages[kind], encoding="utf-8")
    dom, console, requested = run_chromium(path, tmp_path)
    assert console == [] and requested == []
    assert reports[kind].sections[0].title in dom


def test_frontier_prints_on_a4(pages, tmp_path):
    path = tmp_path / "frontier.html"
    path.write_text(pages["frontier"], encoding="utf-8")
    pdf = tmp_path / "frontier.pdf"
    run_chromium(path, tmp_path, f"--print-to-pdf={pdf}", "--no-pdf-header-footer")
    info = subprocess.run([require_program("pdfinfo"), str(pdf)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"Page size:.*\(A4\)", info), info
    assert int(re.search(r"Pages:\s+(\d+)", info).group(1)) >= 3  # one section a page


# ---------------------------------------------------------------------------------------
# Excel


@pytest.fixture(scope="module")
def workbooks(reports):
    return {kind: render_xlsx(report) for kind, report in reports.items()}


def load(data: bytes, **options) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(data), **options)


@pytest.mark.parametrize("kind", ["frontier", "compare", "explanations", "tornado"])
def test_formulas_only_where_the_template_has_them_and_text_never_a_formula(workbooks, kind):
    template = openpyxl.load_workbook(TEMPLATES / f"{kind}.xlsx")
    allowed = {(ws.title, c.column_letter) for ws in template for row in ws.iter_rows() for c in row if c.data_type == "f"}
    wb = load(workbooks[kind])
    found = {(ws.title, c.column_letter) for ws in wb for row in ws.iter_rows() for c in row if c.data_type == "f"}
    assert found and found <= allowed
    texts = [c.value for ws in wb for row in ws.iter_rows() for c in row if c.data_type == "s"]
    assert all(not t.startswith("{{") and "{%" not in t for t in texts)  # every expression was rendered


def test_frontier_workbook_numbers_formulas_and_chart(workbooks, frontier_report):
    wb = load(workbooks["frontier"])
    assert wb.sheetnames == ["Summary", "Frontier", "Portfolios", "Glossary"]
    points = frontier_report.section("frontier").points
    sheet = wb["Frontier"]
    last = 4 + len(points)
    assert [sheet.cell(r, 1).value for r in range(5, last + 1)] == pytest.approx([p.budget for p in points])
    assert all(isinstance(sheet.cell(r, 2).value, float) for r in range(5, last + 1))
    assert sheet["D6"].value == '=IF(OR(B6="",C6=0),"",B6/C6)'
    assert wb["Summary"]["B18"].value == f"=MAX(Frontier!B5:B{last})"
    values = load(workbooks["frontier"], data_only=True)
    assert values["Summary"]["B18"].value is None or values["Summary"]["B18"].value == pytest.approx(max(p.npv for p in points if p.feasible))
    portfolios = wb["Portfolios"]
    names = {portfolios.cell(r, 4).value: portfolios.cell(r, 4).data_type for r in range(5, portfolios.max_row + 1)}
    assert names["=Customer data platform"] == "s" and names[HOSTILE_NAME] == "s"
    with zipfile.ZipFile(io.BytesIO(workbooks["frontier"])) as archive:
        chart = archive.read("xl/charts/chart1.xml").decode()
    assert f"'Frontier'!$B$5:$B${last}" in chart and "<a:t>NPV (EUR)</a:t>" in chart


def test_compare_workbook_keeps_scenario_names_as_text_and_differences_live(workbooks, comparison):
    result, plans = comparison
    wb = load(workbooks["compare"])
    summary = wb["Summary"]
    assert summary["A6"].value == HOSTILE_SCENARIO and summary["A6"].data_type == "s"
    assert summary["H6"].value == "=F6-F$5" and isinstance(summary["F6"].value, float)
    differences = wb["Differences"]
    assert differences.max_row == 4 + len(result.differences)
    assert differences["I5"].value == "=H5-G5"
    shifts = wb["Spend shifts"]
    assert shifts["A5"].value == "Scenario" and shifts["A6"].value == HOSTILE_SCENARIO
    assert isinstance(shifts["C6"].value, float) and shifts["E6"].value == "=D6-C6"


def test_explanations_and_tornado_workbooks(workbooks, explanations, tornado):
    wb = load(workbooks["explanations"])
    funded = wb["Funded"]
    rows = [r for r in range(5, funded.max_row + 1) if funded.cell(r, 1).value not in (None, "Total")]
    assert {funded.cell(r, 1).value for r in rows} == {e.experience_id for e in explanations.items if e.funded}
    assert funded.cell(rows[0], 8).value.startswith("=IF(G") and "Summary!$B$5" in funded.cell(rows[0], 8).value
    bars = load(workbooks["tornado"])["Tornado"]
    assert [bars.cell(r, 1).value for r in range(5, 5 + len(tornado.bars))] == [b.input for b in tornado.bars]
    assert bars["G5"].value == '=IF(E5="","",E5-Summary!$B$5)'
    assert load(workbooks["tornado"])["Summary"]["B6"].value == f"=COUNTA(Tornado!A5:A{4 + len(tornado.bars)})"


@pytest.mark.parametrize("kind", ["frontier", "compare"])
def test_libreoffice_converts_the_workbooks(workbooks, kind, tmp_path):
    soffice = require_program("soffice")
    source = tmp_path / f"{kind}.xlsx"
    source.write_bytes(workbooks[kind])
    result = subprocess.run([soffice, "--headless", "--norestore", f"-env:UserInstallation={(tmp_path / 'lo').as_uri()}",
                             "--convert-to", "pdf", "--outdir", str(tmp_path), str(source)], capture_output=True, text=True, timeout=180)
    pdf = tmp_path / f"{kind}.pdf"
    assert result.returncode == 0 and pdf.exists(), result.stderr
    text = subprocess.run([require_program("pdftotext"), "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert ("NPV against budget" if kind == "frontier" else "Where the spend moves") in text


# ---------------------------------------------------------------------------------------
# CSV: injection neutralised


@pytest.mark.parametrize(("text", "expected"), [
    ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"), ("+SUM(A1)", "'+SUM(A1)"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tTab", "'\tTab"), ("\rReturn", "'\rReturn"), ("=Customer data platform", "'=Customer data platform"),
    ("-10%", "-10%"), ("+1.5", "+1.5"), ("-1,000", "-1,000"), ("Checkout in one tap", "Checkout in one tap"), ("", ""),
])
def test_csv_text_neutralises_formulas(text, expected):
    assert csv_text(text) == expected


def test_plan_csv_neutralises_formula_text_from_the_inputs(plan):
    text = render_csv(build_report(plan)).decode("utf-8-sig")
    assert "'=Customer data platform" in text
    assert ",-" in text  # a negative number stays a number


def test_analysis_csv_neutralises_formula_text_in_cells_and_headers(tmp_path, comparison):
    path = write_csv(tmp_path / "rows.csv", [{"name": "=HYPERLINK(\"http://x\")", "npv": -5.0}])
    assert path.read_text(encoding="utf-8").splitlines() == ["name,npv", "\"'=HYPERLINK(\"\"http://x\"\")\",-5.0"]
    written = write_report(build_comparison_report(comparison[0]), comparison[0].to_rows(), tmp_path, ["csv"])
    header = written[0].read_text(encoding="utf-8").splitlines()[0]
    assert f"'{HOSTILE_SCENARIO}" in header


# ---------------------------------------------------------------------------------------
# Writing and the command line


def test_same_results_give_identical_files(reports, tornado, tmp_path):
    for kind in ("frontier", "tornado"):
        first = write_report(reports[kind], tornado.to_rows(), tmp_path / "a")
        second = write_report(reports[kind], tornado.to_rows(), tmp_path / "b")
        assert [p.name for p in first] == [f"{kind}.html", f"{kind}.xlsx", f"{kind}.csv"]
        assert all(a.read_bytes() == b.read_bytes() for a, b in zip(first, second))


@pytest.fixture(scope="module")
def scenario_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("what-if")
    write_portfolio(small_portfolio(), folder / "inputs.xlsx")
    (folder / "base.yaml").write_text("name: base\nworkbook: inputs.xlsx\ngap: 0\n")
    (folder / "cut.yaml").write_text("name: cut\nextends: base.yaml\nbudget:\n  change: -40%\n")
    return folder


def run(arguments: list[str]) -> str:
    result = CliRunner().invoke(cli, arguments)
    assert result.exit_code == 0, result.output
    return result.output


def test_cli_frontier_writes_html_xlsx_csv_deterministically(scenario_files, tmp_path):
    base = str(scenario_files / "base.yaml")
    output = run(["frontier", base, "--points", "4", "--workers", "1", "-o", str(tmp_path / "a")])
    assert "Efficient frontier" in output and "At the scenario's budget" in output
    run(["frontier", base, "--points", "4", "--workers", "1", "-o", str(tmp_path / "b")])
    for name in ("frontier.html", "frontier.xlsx"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert (tmp_path / "a" / "frontier.csv").read_text().startswith("budget,")


def test_cli_compare_explain_sensitivity_write_their_reports(scenario_files, tmp_path):
    base, cut = str(scenario_files / "base.yaml"), str(scenario_files / "cut.yaml")
    assert "Totals" in run(["compare", base, cut, "-o", str(tmp_path)])
    run(["explain", base, "--no-search", "-o", str(tmp_path)])
    run(["sensitivity", base, "--top", "1", "--workers", "1", "-o", str(tmp_path), "--format", "html,xlsx"])
    names = {p.name for p in tmp_path.iterdir()}
    assert {"compare.html", "compare.xlsx", "compare.csv", "explanations.html", "explanations.xlsx", "explanations.csv",
            "tornado.html", "tornado.xlsx"} <= names
    assert "tornado.csv" not in names


def test_cli_rejects_an_unknown_format_before_solving(scenario_files, tmp_path):
    result = CliRunner().invoke(cli, ["frontier", str(scenario_files / "base.yaml"), "--format", "pdf", "-o", str(tmp_path)])
    assert result.exit_code == 2 and "choose from html, xlsx, csv" in result.output
    assert not any(tmp_path.iterdir())


# ---------------------------------------------------------------------------------------
# Option and timing changes, like for like, and colour that means good or bad


@pytest.fixture(scope="module")
def choices():
    """The base plan against one whose CX-101 uplift is tripled (other assumptions) and one with 40% less budget (like for like)."""
    from planner.inputs.scenario import Adjustment, Filter

    portfolio = small_portfolio()
    more = Scenario(name="more uplift", adjustments=(Adjustment(Filter(id=("CX-101",)), uplift=3.0),))
    plans = plan_scenarios([portfolio, portfolio, scaled_budget(portfolio, 0.6)], [Scenario(name="base"), more, Scenario(name="cut")])
    return compare_plans(plans), plans


def test_option_and_timing_changes_are_listed_with_their_spend_and_npv_effect(choices):
    comparison, plans = choices
    change = next(c for c in comparison.choice_changes if c.experience_id == "CX-101" and c.other == "more uplift")
    before = next(d for d in plans[0].funded if d.experience.id == "CX-101")
    after = next(d for d in plans[1].funded if d.experience.id == "CX-101")
    assert change.kind == "option changed, moved" and (change.reference_choice, change.other_choice) == ("lean from 2027Q3", "standard from 2027Q2")
    assert change.spend_change == pytest.approx(after.total_spend - before.total_spend) and change.npv_change == pytest.approx(after.npv - before.npv)
    assert "adjustment (id CX-101)" in change.reason
    # Every experience funded in both at another choice is listed, and nothing else.
    for plan, name in zip(plans[1:], ("more uplift", "cut")):
        old = {d.experience.id: (d.option, d.start_quarter) for d in plans[0].funded}
        new = {d.experience.id: (d.option, d.start_quarter) for d in plan.funded}
        expected = {i for i in old.keys() & new.keys() if old[i] != new[i]}
        assert {c.experience_id for c in comparison.choice_changes if c.other == name} == expected
    # In the HTML and compare.csv, with the same numbers.
    report = build_comparison_report(comparison, plans[0])
    page = render_html(report)
    section = page.split('<section id="choice_changes"', 1)[1].split("</section>", 1)[0]
    assert "CX-101" in section and "standard from 2027Q2" in section and "+€175k" in section
    rows = list(csv_rows_of(comparison))
    row = next(r for r in rows if r["section"] == "option or timing change" and r["item"] == "CX-101" and r["change"].endswith("more uplift"))
    assert float(row["spend_change"]) == pytest.approx(change.spend_change) and float(row["npv_change"]) == pytest.approx(change.npv_change)
    left = next(r for r in rows if r["section"] == "difference" and r["item"] == "CX-102")
    assert float(left["spend_change"]) < 0 and float(left["npv_change"]) < 0


def csv_rows_of(comparison):
    import csv as csv_module

    text = io.StringIO(render_csv_rows(comparison.to_rows()))
    return csv_module.DictReader(text)


def render_csv_rows(rows) -> str:
    from planner.core.csv_safe import csv_rows

    return csv_rows(rows).decode("utf-8-sig")


def test_totals_resting_on_other_assumptions_are_flagged_not_like_for_like(choices):
    comparison, plans = choices
    flags = {t.name: t.assumptions for t in comparison.totals}
    assert flags["base"] == () and flags["cut"] == ()  # a budget is what a comparison compares
    assert flags["more uplift"] == ("uplift x3.00 on id CX-101",)
    page = render_html(build_comparison_report(comparison, plans[0]))
    summary = page.split('<section id="compare_summary"', 1)[1].split("</section>", 1)[0]
    assert "not like for like" in summary and "more uplift assumes uplift x3.00 on id CX-101" in summary
    assert summary.count("†") >= 3  # the header, the NPV and the NPV against the reference
    rows = {r["item"]: r for r in csv_rows_of(comparison) if r["section"] == "total"}
    assert (rows["like for like"]["base"], rows["like for like"]["more uplift"], rows["like for like"]["cut"]) == ("yes", "no", "yes")
    sheet = openpyxl.load_workbook(io.BytesIO(render_xlsx(build_comparison_report(comparison, plans[0]))))["Summary"]
    header = [c.value for c in sheet[4]]
    values = {row[0]: row for row in sheet.iter_rows(min_row=5, max_row=7, values_only=True)}
    assert values["more uplift"][header.index("Like for like")] == "no"
    assert values["cut"][header.index("Like for like")] == "yes"


def test_more_spend_is_not_green_more_npv_is(choices):
    comparison, plans = choices
    page = render_html(build_comparison_report(comparison, plans[0]))
    shifts = page.split('<section id="shifts"', 1)[1].split("</section>", 1)[0]
    fills = re.findall(r'<td class="shift" style="background: #([0-9a-f]{6})">([^<]*)</td>', shifts)
    up = [f for f, text in fills if text.startswith("+")]
    down = [f for f, text in fills if text.startswith("−")]
    assert up and down
    for fill in up + down:  # one neutral hue for more and for less: blue-grey, never green or red
        r, g, b = (int(fill[i:i + 2], 16) for i in (0, 2, 4))
        assert b >= g >= r, fill
    # NPV: green up, red down.
    summary = page.split('<section id="compare_summary"', 1)[1].split("</section>", 1)[0]
    assert re.search(r'class="number positive">\+€', summary) and re.search(r'class="number negative">−€', summary)
    spend_row = re.search(r"<tr><td>Spend against the reference</td>(.*?)</tr>", summary).group(1)
    assert "positive" not in spend_row and "negative" not in spend_row
    # Excel: spend changes carry no colour in their number format; NPV changes do.
    sheet = openpyxl.load_workbook(io.BytesIO(render_xlsx(build_comparison_report(comparison, plans[0]))))["Summary"]
    header = [c.value for c in sheet[4]]
    spend_format = sheet.cell(6, header.index("Spend against the reference") + 1).number_format
    npv_format = sheet.cell(6, header.index("NPV against the reference") + 1).number_format
    assert "[Red]" not in spend_format and "Color" not in spend_format and "[Red]" in npv_format
    # A rise is green by a conditional font over every row: the format's [Color10] printed faint pink in LibreOffice.
    assert "Color" not in npv_format
    npv_column = openpyxl.utils.get_column_letter(header.index("NPV against the reference") + 1)
    greens = [(str(cf.sqref), rule) for cf in sheet.conditional_formatting for rule in cf.rules
              if rule.operator == "greaterThan" and rule.dxf.font is not None and rule.dxf.font.color.rgb.endswith("1B7837")]
    last = 4 + len(comparison.scenarios)
    assert [ref for ref, _ in greens] == [f"{npv_column}5:{npv_column}{last}"]


def test_the_example_budget_cut_lists_cx_601s_downgrade(tmp_path):
    """The issue's case: the 10% cut drops CX-601 from premium to standard (-€212k); compare used to show only '0 enter, 1 leaves'."""
    repo = Path(__file__).resolve().parent.parent
    result = CliRunner().invoke(cli, ["compare", str(repo / "scenarios" / "base.yaml"), str(repo / "scenarios" / "budget-cut-10.yaml"),
                                      "--workers", "1", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    line = next(line for line in result.output.splitlines() if "CX-601" in line)
    assert "option changed in Budget cut 10%" in line and "premium from 2027Q4 -> standard from 2027Q4" in line and "spend −€212k" in line
    page = (tmp_path / "compare.html").read_text(encoding="utf-8")
    section = page.split('<section id="choice_changes"', 1)[1].split("</section>", 1)[0]
    assert "CX-601" in section and "premium from 2027Q4" in section and "−€212k" in section
    rows = [r for r in csv_module_reader(tmp_path / "compare.csv") if r["item"] == "CX-601"]
    assert len(rows) == 1 and rows[0]["section"] == "option or timing change" and float(rows[0]["spend_change"]) == pytest.approx(-212_000)
    # The spend the cut saves is accounted for: entered, left and re-optioned experiences add up to the spend change.
    every = csv_module_reader(tmp_path / "compare.csv")
    totals = next(r for r in every if r["section"] == "total" and r["item"] == "spend")
    listed = sum(float(r["spend_change"]) for r in every if r["spend_change"] and r["change"].endswith("in Budget cut 10%"))
    assert listed == pytest.approx(float(totals["Budget cut 10%"]) - float(totals["Base plan 2027-2028"]), abs=1.0)
    summary = page.split('<section id="compare_summary"', 1)[1].split("</section>", 1)[0]
    assert "1 leaves" in summary and "change option or start" in summary


def csv_module_reader(path: Path):
    import csv as csv_module

    return list(csv_module.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))


def test_tornado_cards_state_npv_values_not_changes(reports, tornado, plan, workbooks):
    """Seen: a 'worst case -€8.49m' card that was a change; the worst NPV was €264k."""
    from planner.core.formatting import money, signed_money
    from planner.render.html import render_html

    summary = reports["tornado"].section("tornado_summary")
    page = render_html(reports["tornado"])
    lowest = min(npv for b in tornado.bars for npv in (b.npv_low, b.npv_high) if npv is not None)
    highest = max(npv for b in tornado.bars for npv in (b.npv_low, b.npv_high) if npv is not None)
    assert re.search(r'Lowest NPV</div><div class="value[^"]*">' + re.escape(money(lowest, "EUR")), page)
    assert re.search(r'Highest NPV</div><div class="value[^"]*">' + re.escape(money(highest, "EUR")), page)
    assert signed_money(summary.worst_change, "EUR") in page and "Worst case" not in page
    book = load(workbooks["tornado"])
    labels = {book["Summary"].cell(row, 1).value: book["Summary"].cell(row, 2).value for row in range(4, 16)}
    assert labels["Lowest NPV (an input at one end)"].startswith("=MIN(Tornado!E5:F")
    assert labels["Inputs with no plan at one end"] == (", ".join(summary.without_plan) or "none")


def test_a_tornado_end_not_proven_optimal_is_flagged_in_every_report(tornado, plan):
    """Seen: the example's "all costs -20%" re-solve stopped on its time limit at a 4.2% gap; only the CLI said so,
    and tornado.html, tornado.xlsx and tornado.csv showed its NPV as if it were the optimum."""
    from dataclasses import replace

    first = tornado.bars[0]
    stopped = replace(tornado, bars=(replace(first, unproven=(("low", 0.0432),)), *tornado.bars[1:]))
    report = build_tornado_report(stopped, plan)
    page = html.unescape(render_html(report))
    flagged = f"{first.input} at {first.low} (gap 4.32%)"
    assert "Not proven optimal:" in page and flagged in page
    assert "low end NOT proven optimal (gap 4.32%)" in page
    sheet = {row[0].value: row[1].value for row in load(render_xlsx(report))["Summary"].iter_rows(min_row=4, max_col=2)}
    assert sheet["Ends not proven optimal (time limit; gap)"] == flagged
    bars_sheet = load(render_xlsx(report))["Tornado"]
    header = [c.value for c in bars_sheet[4]]
    assert bars_sheet.cell(5, header.index("Proof") + 1).value == "low end NOT proven optimal (gap 4.32%)"
    assert bars_sheet.cell(6, header.index("Proof") + 1).value == "proven"
    rows = stopped.to_rows()
    assert rows[0]["proof"] == "low end NOT proven optimal (gap 4.32%)" and {r["proof"] for r in rows[1:]} == {"proven"}
    # Every end proven: the HTML says nothing about proof beyond the plan, the workbook says so.
    assert "Not proven optimal" not in render_html(build_tornado_report(tornado, plan))
    proven = {row[0].value: row[1].value for row in load(render_xlsx(build_tornado_report(tornado, plan)))["Summary"].iter_rows(min_row=4, max_col=2)}
    assert proven["Ends not proven optimal (time limit; gap)"] == "none: every end is proven"


def test_excel_tornado_colours_match_the_html(workbooks):
    import zipfile
    from planner.render.charts import ACCENT, PALETTE

    with zipfile.ZipFile(io.BytesIO(workbooks["tornado"])) as archive:
        chart = next(archive.read(n).decode() for n in archive.namelist() if n.startswith("xl/charts/chart"))
    colours = re.findall(r'<(?:c:)?ser>.*?<a:srgbClr val="([0-9A-F]{6})"', chart, re.S)
    assert colours == [PALETTE[1].lstrip("#").upper(), ACCENT.lstrip("#").upper()]


def test_excel_comparison_chart_starts_at_zero_and_draws_npv_not_in_red(workbooks):
    """Seen in LibreOffice: the NPV bars red (a loss colour) on an axis from 8.6m, a 3% difference drawn threefold."""
    with zipfile.ZipFile(io.BytesIO(workbooks["compare"])) as archive:
        chart = next(archive.read(n).decode() for n in archive.namelist() if n.startswith("xl/charts/chart"))
    assert re.findall(r'<(?:c:)?ser>.*?<a:srgbClr val="([0-9A-F]{6})"', chart, re.S) == ["9FB3C8", "1F3A5F"]
    assert re.search(r'<(?:c:)?valAx>.*?<(?:c:)?min val="0(?:\.0)?"', chart, re.S)


def test_every_analysis_page_fits_an_a4_width_with_ids_whole(reports, plan, tmp_path):
    """Seen: the frontier's matrix clipped its last column, IDs broke at the hyphen ("CX-/103"), the tornado table overflowed."""
    from conftest import layout_problems
    from planner.render.html import render_html

    many_points = build_frontier_report(efficient_frontier(small_portfolio(), points=30), small_portfolio(), plan)
    for kind, report in [*reports.items(), ("frontier of 30 points", many_points)]:
        assert layout_problems(render_html(report), tmp_path) == [], kind


def libreoffice_pages(source: Path, work: Path) -> list[str]:
    """The text of each page LibreOffice prints of a workbook (pdftotext -layout)."""
    result = subprocess.run([require_program("soffice"), "--headless", "--norestore", f"-env:UserInstallation={(work / 'lo').as_uri()}",
                             "--convert-to", "pdf", "--outdir", str(work), str(source)], capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    return subprocess.run([require_program("pdftotext"), "-layout", str(source.with_suffix(".pdf")), "-"], capture_output=True, text=True,
                          check=True).stdout.split("\f")


def test_frontier_and_tornado_charts_print_whole_on_the_summary_page(plan, tornado, tmp_path):
    """Seen printing the example's frontier.xlsx in LibreOffice: the chart under the points table ran across a
    page break with the repeated header row drawn over it; on a page of its own it still printed under the
    repeated header row, alone. The frontier and the tornado now sit on the Summary sheet, beside or under its
    key figures, and the Summary prints on one page, chart whole (its axis title on the page, no table header)."""
    from planner.render.xlsx import render_xlsx as render

    # 12 points: the table ends half way down its page, where the chart used to start and run over the break.
    many_points = build_frontier_report(efficient_frontier(small_portfolio(), points=12), small_portfolio(), plan)
    for kind, report, chart_title, axis_title, key_figure, next_sheet in (
            ("frontier", many_points, "NPV at each budget", "Budget over the horizon", "Knee: budget",
             "NPV against budget"),
            ("tornado", build_tornado_report(tornado, plan), "Change in NPV with each input", "Change in NPV", "Widest swing",
             "NPV with each input at its low")):
        source = tmp_path / f"{kind}.xlsx"
        source.write_bytes(render(report))
        pages = libreoffice_pages(source, tmp_path)
        assert chart_title in pages[0] and axis_title in pages[0] and key_figure in pages[0], (kind, pages[0])
        assert next_sheet in pages[1], kind  # the Summary is one page
        assert not any(chart_title in page for page in pages[1:]), kind
        assert "PV of costs" not in pages[0] and "NPV at low" not in pages[0], kind  # no table header above the chart
    with zipfile.ZipFile(tmp_path / "frontier.xlsx") as archive:
        chart = next(archive.read(n).decode() for n in archive.namelist() if n.startswith("xl/charts/chart"))
    assert chart.count('formatCode="#,##0.0,,&quot;m&quot;"') == 2  # both axes in millions: "2,000,000" and "0" ran together
