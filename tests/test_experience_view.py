"""The experience view (planner.reports.experience_view): the overlap avoided adds up with the plan's NPV
and reads the same in the HTML report."""

from __future__ import annotations

import re

import pytest

from planner.core.formatting import money
from planner.inputs.scenario import Scenario
from planner.optimise.optimiser import plan_portfolio
from planner.render.html import render_html
from planner.reports.plan_report import build_report
from test_overlap import portfolio


@pytest.fixture(scope="module")
def overlapping_plan():
    """APP-1 and APP-2 (one group, written "checkout" and "Checkout") forced in together, APP-3 outside the group."""
    return plan_portfolio(portfolio({"APP-1": "checkout", "APP-2": "Checkout"}, budget=1000.0, free=False),
                          Scenario(forced_in=("APP-1", "APP-2")))


def test_the_overlap_avoided_is_the_funded_experiences_npv_less_the_plans(overlapping_plan):
    report = build_report(overlapping_plan)
    fragmentation = report.section("journeys").fragmentation
    (group,) = fragmentation.overlaps  # the two spellings are one group, as the optimiser counts them
    assert group.members == ("APP-1", "APP-2") and group.funded == ("APP-1", "APP-2")
    own = sum(d.npv for d in overlapping_plan.funded)
    assert fragmentation.overlap > 0
    assert fragmentation.overlap == pytest.approx(own - overlapping_plan.npv)
    assert group.npv == pytest.approx(sum(d.npv for d in overlapping_plan.funded if d.experience.id in ("APP-1", "APP-2")) - group.overlap)
    experience_map = report.section("experience_map")
    assert sum(experience_map.npv_by_stage_channel.values[r][c] or 0.0
               for r in range(len(experience_map.npv_by_stage_channel.rows))
               for c in range(len(experience_map.npv_by_stage_channel.columns))) == pytest.approx(own)
    assert experience_map.overlap == pytest.approx(fragmentation.overlap)


def test_the_html_report_shows_the_overlap_counted_twice_and_how_the_map_adds_up(overlapping_plan):
    report = build_report(overlapping_plan)
    page = render_html(report)
    journeys = page[page.index('<section id="journeys">'):page.index('<section id="experience_map">')]
    overlap = report.section("journeys").fragmentation.overlap
    text = re.sub(r"<[^>]+>", "", journeys)
    assert f"leaves out of its NPV the {money(overlap)} of benefit that adding those uplifts would count twice" in text
    assert "The plan funds 2 of their 2 experiences" in text
    row = re.search(r"<td>checkout</td>.*?</tr>", journeys, re.S).group(0)
    assert money(-overlap) in row
    experience_map = re.sub(r"\s+", " ", page[page.index('<section id="experience_map">'):page.index('<section id="quarters">')])
    assert (f"the plan's NPV, {money(overlapping_plan.npv)}, leaves out the {money(overlap)} of benefit that overlap groups "
            "would count twice") in experience_map


def test_a_plan_without_overlap_groups_says_so():
    plan = plan_portfolio(portfolio({}, budget=1000.0, free=False))
    report = build_report(plan)
    assert report.section("journeys").fragmentation.overlaps == ()
    page = render_html(report)
    assert "No overlap groups are marked." in page
    journeys = page[page.index('<section id="journeys">'):page.index('<section id="experience_map">')]
    assert "count twice" not in journeys and "<th>Overlap group</th>" not in journeys


def test_the_experience_map_charges_an_enabler_to_the_work_that_needs_it_and_keeps_the_totals(small_plan):
    """The small plan funds the backstage CX-201 (use, app) and CX-101 (buy, app), which requires it: the map shows
    CX-201's spend and NPV in CX-101's cell, not a red cell of its own, and the cells still add up to the funded total."""
    funded = {d.experience.id: d for d in small_plan.funded}
    assert {"CX-101", "CX-201"} <= set(funded)
    experience_map = build_report(small_plan).section("experience_map")
    assert experience_map.charged_enablers == ("CX-201",)
    cells = {(c.row, c.column): c for c in experience_map.stage_channel}
    assert cells[("use", "app")].funded == 1 and cells[("use", "app")].spend == 0 and cells[("use", "app")].npv == 0
    own = [d for d in small_plan.funded if (d.experience.journey_stage, d.experience.channel) == ("buy", "app")]
    assert cells[("buy", "app")].npv == pytest.approx(sum(d.npv for d in own) + funded["CX-201"].npv)
    assert cells[("buy", "app")].spend == pytest.approx(sum(d.total_spend for d in own) + funded["CX-201"].total_spend)
    assert sum(c.npv for c in experience_map.stage_channel) == pytest.approx(sum(d.npv for d in small_plan.funded))
    assert sum(c.spend for c in experience_map.product_lines) == pytest.approx(sum(d.total_spend for d in small_plan.funded))
    assert sum(c.funded for c in experience_map.stage_channel) == len(small_plan.funded)
    page = re.sub(r"\s+", " ", render_html(build_report(small_plan)))
    assert "Each funded enabler's spend and NPV is charged to the funded work that needs it, in proportion to that work's spend (CX-201)" in page
