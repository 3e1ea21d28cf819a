"""One vocabulary for bundles and journeys (issue 13): the plan report, the quarterly report, the
explanations and the comparison name enablers, bundles, what an enabler unlocks, journeys, owners
and journey stages with the words of planner.core.glossary, and never with the words once used
for the same things (glossary.VARIANTS).

The reports are rendered, in HTML, Excel and CSV, from real plans of the small portfolio
(conftest) given journeys, owners and an overlap group: its CX-201 is a backstage enabler that
CX-101 requires.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import replace
from html import unescape

import openpyxl
import pytest

from conftest import small_portfolio
from planner.analysis.compare import compare_plans
from planner.analysis.explain import explain
from planner.analysis.variants import scaled_budget
from planner.cli_common import summary
from planner.core.glossary import BUNDLE_TERMS, JOURNEY_TERMS, REPORT_TERMS, VARIANTS, name, term
from planner.cycle.roll import read_plan_state, roll_forward, write_plan_state
from planner.optimise.optimiser import plan_portfolio
from planner.publish import render
from planner.reports.analysis_reports import build_comparison_report, build_explanations_report
from planner.reports.plan_report import build_report
from planner.reports.quarterly import build_quarterly_report

JOURNEYS = {"CX-101": ("Buy in the app", "Ana Ruiz, Chief Digital Officer"), "CX-201": ("Buy in the app", "Ana Ruiz, Chief Digital Officer"),
            "CX-102": ("Buy in the app", "Ben Ode, Director of Stores"), "CX-103": ("Get help", "Cleo Park, Chief Customer Officer")}


def portfolio():
    """The small portfolio with journeys and owners (one journey shared by two owners, two one-offs)."""
    base = small_portfolio()
    experiences = tuple(replace(e, journey=JOURNEYS[e.id][0], owner=JOURNEYS[e.id][1]) if e.id in JOURNEYS else e
                        for e in base.experiences)
    return replace(base, experiences=experiences)


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """The four reports that speak of bundles or journeys, by kind, and the CLI summary of the plan."""
    plan = plan_portfolio(portfolio())
    path = tmp_path_factory.mktemp("vocabulary") / "plan.json"
    write_plan_state(plan, path)
    roll = roll_forward(read_plan_state(path), portfolio())
    comparison = compare_plans([plan, plan_portfolio(scaled_budget(portfolio(), 0.8))], ["base", "cut"])
    return {
        "report": build_report(plan),
        "quarterly": build_quarterly_report(roll),
        "explanations": build_explanations_report(explain(portfolio(), plan=plan, search=False), plan),
        "compare": build_comparison_report(comparison, plan),
    }, summary(plan)


def page_text(page: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", re.sub(r"<(style|script)\b.*?</\1>", " ", page, flags=re.S))))


def headers(page: str) -> list[str]:
    return [re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", "", h))).strip() for h in re.findall(r"<th\b[^>]*>(.*?)</th>", page, re.S)]


def workbook_cells(data: bytes) -> list[str]:
    book = openpyxl.load_workbook(io.BytesIO(data))
    return [str(c.value) for sheet in book for row in sheet.iter_rows() for c in row if isinstance(c.value, str)]


@pytest.mark.parametrize("kind", ["report", "quarterly", "explanations", "compare"])
def test_each_report_defines_the_bundle_and_journey_words_it_uses_as_the_glossary_does(reports, kind):
    report = reports[0][kind]
    wanted = [k for k in REPORT_TERMS[kind] if k in BUNDLE_TERMS + JOURNEY_TERMS]
    assert wanted, f"the {kind} report's glossary defines none of the bundle and journey words"
    page = render(report, "html").decode("utf-8")
    section = page.split('<section id="glossary"', 1)[1].split("</section>", 1)[0]
    cells = workbook_cells(render(report, "xlsx"))
    for key in wanted:
        assert f"<dt>{term(key).name}</dt><dd>{term(key).definition}</dd>" in unescape(section)
        assert term(key).name in cells and term(key).definition in cells


@pytest.mark.parametrize("kind", ["report", "quarterly"])
def test_the_bundle_and_journey_tables_head_their_columns_with_the_glossarys_names(reports, kind):
    report = reports[0][kind]
    page = render(report, "html").decode("utf-8")
    enablers = headers(page.split('<section id="enablers"', 1)[1].split("</section>", 1)[0])
    journeys = headers(page.split('<section id="journeys"', 1)[1].split("</section>", 1)[0])
    assert enablers[0] == name("enabler") and enablers[1].startswith(name("needs_it")) and enablers[-1] == name("unlocks")
    assert {f"{name('bundle')} spend", f"{name('bundle')} NPV", f"{name('bundle')} ROI"} <= set(enablers)
    assert journeys[:3] == [name("journey"), name("owner"), f"{name('journey_stage')}s"]
    book = openpyxl.load_workbook(io.BytesIO(render(report, "xlsx")))
    sheet_headers = {title: [c.value for c in book[title][4]] for title in ("Blueprint", "Enablers", "Journeys")}
    assert name("needs_it") in sheet_headers["Blueprint"] and name("journey_stage") in sheet_headers["Blueprint"]
    assert [name("enabler"), name("needs_it"), name("unlocks")] <= sheet_headers["Enablers"] or \
        {name("enabler"), name("needs_it"), name("unlocks")} <= set(sheet_headers["Enablers"])
    assert {name("journey"), name("owner"), f"{name('journey_stage')}s"} <= set(sheet_headers["Journeys"])


@pytest.mark.parametrize("kind", ["report", "quarterly", "explanations", "compare"])
def test_no_report_uses_another_word_for_a_bundle_or_journey_term(reports, kind):
    """A heading, table header or cell that starts with an old word, or running text holding one, fails."""
    report = reports[0][kind]
    page = render(report, "html").decode("utf-8")
    texts = headers(page) + workbook_cells(render(report, "xlsx"))
    if kind in ("report", "quarterly"):  # the what-if reports' CSV rows come from their analyses, not the report model
        texts += next(csv.reader(io.StringIO(render(report, "csv").decode("utf-8-sig"))))
    body = re.sub(r"<(style|script)\b.*?</\1>", " ", page, flags=re.S)
    running = [unescape(t) for t in re.findall(r">([^<]+)<", body)] + (reports[1].splitlines() if kind == "report" else [])
    for key, variants in VARIANTS.items():
        for variant in variants:
            starts = [t for t in texts if re.match(rf"\s*{re.escape(variant)}\b", t, re.I)]
            assert not starts, f"{kind}: {starts} say {variant!r} where the glossary says {name(key)!r}"
            if " " in variant:
                found = [t for t in running if re.search(rf"\b{re.escape(variant)}\b", t, re.I)]
                assert not found, f"{kind}: {found} say {variant!r} where the glossary says {name(key)!r}"


def test_the_journey_view_reads_the_same_in_the_plan_and_the_quarterly_report(reports):
    """The quarterly report carries the plan report's enablers and journeys tables under the same headings."""
    def section(kind: str, key: str) -> str:
        page = render(reports[0][kind], "html").decode("utf-8")
        return page.split(f'<section id="{key}"', 1)[1].split("</section>", 1)[0]

    for key in ("enablers", "journeys"):
        assert headers(section("report", key)) == headers(section("quarterly", key))
