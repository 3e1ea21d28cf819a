"""One definition per figure: the same name and words in the CLI, the HTML, the Excel workbook, the CSV and docs/model.md.

Reports are rendered from real plans of the small portfolio (conftest): a plan, the same
plan rolled forward a quarter, and a comparison of two budgets.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import replace
from html import unescape
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from conftest import small_portfolio
from planner.analysis.compare import compare_plans
from planner.analysis.variants import scaled_budget
from planner.cli import cli, summary
from planner.core.glossary import REPORT_TERMS, TERMS, glossary, markdown, name, term
from planner.cycle.roll import read_plan_state, roll_forward, write_plan_state
from planner.inputs.workbook_writer import write_portfolio
from planner.optimise.optimiser import plan_portfolio
from planner.publish import render
from planner.reports.analysis_reports import build_comparison_report
from planner.reports.plan_report import build_report
from planner.reports.quarterly import build_quarterly_report

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def plans(tmp_path_factory):
    """(plan, roll, comparison) of the small portfolio."""
    plan = plan_portfolio(small_portfolio())
    path = tmp_path_factory.mktemp("glossary") / "plan.json"
    write_plan_state(plan, path)
    roll = roll_forward(read_plan_state(path), small_portfolio())
    cut = plan_portfolio(scaled_budget(small_portfolio(), 0.8))
    return plan, roll, compare_plans([plan, cut], ["base", "cut"])


@pytest.fixture(scope="module")
def reports(plans):
    plan, roll, comparison = plans
    return {"report": build_report(plan), "quarterly": build_quarterly_report(roll),
            "compare": build_comparison_report(comparison, plan)}


def html_glossary(page: str) -> list[tuple[str, str]]:
    section = page.split('<section id="glossary"', 1)[1].split("</section>", 1)[0]
    return [(unescape(dt), unescape(dd)) for dt, dd in re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", section, re.S)]


def xlsx_glossary(data: bytes) -> list[tuple[str, str]]:
    sheet = openpyxl.load_workbook(io.BytesIO(data))["Glossary"]
    rows = list(sheet.iter_rows(min_row=5, values_only=True))
    return [(r[0], r[1]) for r in rows if r[0]]


@pytest.mark.parametrize("kind", ["report", "quarterly", "compare"])
def test_the_html_and_excel_glossaries_state_the_same_words(reports, kind):
    report = reports[kind]
    expected = [(t.name, t.definition) for t in glossary(kind).terms]
    assert [key for key in REPORT_TERMS[kind]] == [t.key for t in glossary(kind).terms]
    assert html_glossary(render(report, "html").decode("utf-8")) == expected
    assert xlsx_glossary(render(report, "xlsx")) == expected


def test_docs_model_states_every_definition_word_for_word():
    text = (REPO / "docs" / "model.md").read_text(encoding="utf-8")
    assert markdown() in text
    assert len({t.name for t in TERMS}) == len(TERMS)  # no two figures share a name


def test_a_rolled_forward_plan_names_roi_and_spend_on_what_remains_in_every_format(reports, plans):
    quarterly, plan_report = reports["quarterly"], reports["report"]
    remaining, whole = name("roi_remaining"), name("roi")
    # HTML: the funded table's header and the summary tile.
    page = render(quarterly, "html").decode("utf-8")
    funded = page.split('<section id="funded"', 1)[1].split("</section>", 1)[0]
    assert f'<th class="number">{remaining}</th>' in funded and f'<th class="number">{name("remaining_spend")}</th>' in funded
    assert f'<th class="number">{whole}</th>' not in funded
    # Excel: the Funded sheet's headers.
    headers = [c.value for c in openpyxl.load_workbook(io.BytesIO(render(quarterly, "xlsx")))["Funded"][4]]
    assert remaining in headers and name("remaining_spend") in headers and whole not in headers
    # CSV and CLI.
    csv_header = next(csv.reader(io.StringIO(render(quarterly, "csv").decode("utf-8-sig"))))
    assert remaining in csv_header and "remaining spend" in csv_header and "ROI" not in csv_header
    text = summary(plans[1].plan, "quarterly")
    assert f"{remaining} " in text and " ROI " not in text.replace(remaining, "").replace("ROI ranking", "")
    # A plan's own report keeps the whole-life ROI.
    assert f'<th class="number">{whole}</th>' in render(plan_report, "html").decode("utf-8")
    assert "ROI" in next(csv.reader(io.StringIO(render(plan_report, "csv").decode("utf-8-sig"))))


def test_the_shadow_value_reads_the_same_in_the_cli_and_the_html(plans, reports):
    plan = plans[0]
    binding = [r for r in plan.binding_rules if r.kind in ("budget", "total_budget", "capacity")]
    assert binding, "the small plan should have a binding budget or capacity rule"
    text = summary(plan)
    page = render(reports["report"], "html").decode("utf-8")
    constraints = page.split('<section id="constraints"', 1)[1].split("</section>", 1)[0]
    assert name("shadow_value") in text and f"<th>{name('shadow_value')}</th>" in constraints
    for rule in binding:
        cell = re.search(rf"{re.escape(rule.label)}</td>.*?<td>(.*?)</td></tr>", constraints, re.S).group(1)
        # The HTML's "€0.43 of NPV per extra €1" and the CLI's say the same thing.
        assert "of NPV per extra" in cell and cell in unescape(text), (cell, text)


def test_roi_is_a_percentage_in_the_cli_as_in_the_reports(plans, reports):
    plan = plans[0]
    text = summary(plan)
    shown = f"{plan.roi * 100:.1f}%"
    assert f"ROI {shown}" in text
    assert f"ROI {shown}" in unescape(render(reports["report"], "html").decode("utf-8"))


def test_frontier_and_explain_csv_columns_carry_the_glossary_names(tmp_path):
    folder = tmp_path / "inputs"
    folder.mkdir()
    write_portfolio(small_portfolio(), folder / "inputs.xlsx")
    (folder / "base.yaml").write_text("name: Base\nworkbook: inputs.xlsx\ngap: 0\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["frontier", str(folder / "base.yaml"), "--points", "4", "--workers", "1", "-o", str(tmp_path / "f")])
    assert result.exit_code == 0, result.output
    header = next(csv.reader(io.StringIO((tmp_path / "f" / "frontier.csv").read_text(encoding="utf-8-sig"))))
    assert {"frontier_slope", "shadow_value_of_the_scaled_budget"} <= set(header)
    # The CLI defines both as the glossary does.
    for key in ("frontier_slope", "scaled_budget_shadow_value"):
        assert f"{name(key)}: {term(key).definition}" in result.output
    page = (tmp_path / "f" / "frontier.html").read_text(encoding="utf-8")
    assert f'<th class="number">{name("frontier_slope")}</th>' in page
    result = CliRunner().invoke(cli, ["explain", str(folder / "base.yaml"), "--no-search", "-o", str(tmp_path / "e")])
    assert result.exit_code == 0, result.output
    header = next(csv.reader(io.StringIO((tmp_path / "e" / "explanations.csv").read_text(encoding="utf-8-sig"))))
    assert {"npv_per_euro_spent", "budget_shadow_value_over_its_quarters"} <= set(header)
