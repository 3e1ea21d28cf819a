"""Enablers valued by what they unlock: the with/without optima are checked by brute force."""

from __future__ import annotations

from dataclasses import replace

import pytest

from planner.analysis.bundles import bundle_members, enabler_bundles, members_of_bundles, needs
from planner.analysis.variants import forcing
from planner.optimise.optimiser import plan_portfolio
from tests.reference import CaseSpec, brute_force, build_case, make_problem


def _cases():
    """Small random portfolios with at least one backstage enabler that something needs."""
    found, seed = [], 0
    while len(found) < 4:
        seed += 1
        spec = CaseSpec(seed=seed, experiences=8, requires=0.6, start_quarters="fixed" if seed % 2 else "free", horizon=5)
        portfolio, scenario = build_case(spec)
        if any(e.layer == "backstage" and needs(portfolio)[e.id] for e in portfolio.experiences):
            found.append((spec, portfolio, scenario))
    return found


@pytest.mark.parametrize("case", _cases(), ids=lambda c: f"seed{c[0].seed}")
def test_an_enablers_unlocked_npv_is_the_with_and_without_optimum_difference(case):
    spec, portfolio, scenario = case
    plan = plan_portfolio(portfolio, scenario)
    bundles = enabler_bundles(plan)
    assert [b.enabler for b in bundles] == [e.id for e in portfolio.experiences if e.layer == "backstage"]
    for bundle in bundles:
        optima = []
        for funded in (True, False):
            optimum = brute_force(make_problem(portfolio, forcing(scenario, bundle.enabler, funded)))
            optima.append(optimum.objective if optimum.status == "optimal" else None)
        with_npv, without_npv = optima
        assert (bundle.with_npv is None) == (with_npv is None)
        assert (bundle.without_npv is None) == (without_npv is None)
        if with_npv is not None:
            assert bundle.with_npv == pytest.approx(with_npv, rel=1e-9, abs=1e-6)
        if without_npv is not None:
            assert bundle.without_npv == pytest.approx(without_npv, rel=1e-9, abs=1e-6)
        if with_npv is not None and without_npv is not None:
            assert bundle.unlocked == pytest.approx(with_npv - without_npv, rel=1e-9, abs=1e-6)
        assert set(bundle.funded_members) <= set(bundle.members)


def test_a_bundle_holds_everything_that_needs_the_enabler_through_a_chain(example_portfolio):
    # CX-B01 enables CX-B07, which enables CX-602: all are CX-B01's bundle.
    members = bundle_members(example_portfolio, "CX-B01")
    assert members[0] == "CX-B01"
    assert {"CX-B07", "CX-602", "CX-102", "CX-205", "CX-601"} <= set(members)
    assert "CX-B07" in bundle_members(example_portfolio, "CX-B07") and "CX-B01" not in bundle_members(example_portfolio, "CX-B07")
    # In workbook order after the enabler, the same when the requirements are read once for every enabler.
    order = [e.id for e in example_portfolio.experiences]
    assert list(members[1:]) == sorted(members[1:], key=order.index)
    enablers = [e.id for e in example_portfolio.experiences if e.layer == "backstage"]
    assert members_of_bundles(example_portfolio, enablers) == {e: bundle_members(example_portfolio, e) for e in enablers}


@pytest.fixture(scope="module")
def example_portfolio():
    from planner.inputs.scenario import load_scenario
    from planner.inputs.workbook import read_portfolio
    from planner.core.resources import EXAMPLE_SCENARIO

    return read_portfolio(load_scenario(EXAMPLE_SCENARIO).workbook)


def test_the_report_words_a_bundle_not_funded_by_what_it_returns_and_never_in_a_circle(example_portfolio, tmp_path):
    from planner.inputs.scenario import load_scenario
    from planner.core.resources import EXAMPLE_SCENARIO
    from planner.publish import write_reports
    import openpyxl

    plan = plan_portfolio(example_portfolio, load_scenario(EXAMPLE_SCENARIO))
    bundles = enabler_bundles(plan)
    write_reports(plan, tmp_path, ["html", "xlsx"], bundles)
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    sheet = openpyxl.load_workbook(tmp_path / "report.xlsx")["Not funded"]
    reasons = {row[0]: row[-1] for row in sheet.iter_rows(min_row=5, values_only=True) if row[0]}
    left_out = {b.enabler: b for b in bundles if not b.funded}
    assert left_out, "the example leaves some enabler out"
    for enabler, bundle in left_out.items():
        for member in bundle.members:
            if member in {d.experience.id for d in plan.funded}:
                continue
            reason = reasons[member]
            # What the bundle returns and what it costs the plan, not "prerequisite X is not funded"
            # on one side and "none of the experiences it enables is funded" on the other.
            assert f"Part of the {enabler} bundle" in reason
            assert "prerequisite" not in reason and "none of the experiences it enables" not in reason
            assert "less" in reason and "€" in reason
            assert f"Part of the {enabler} bundle" in html
    enablers = openpyxl.load_workbook(tmp_path / "report.xlsx")["Enablers"]
    ids = [row[0] for row in enablers.iter_rows(min_row=5, values_only=True) if row[0]]
    assert ids == [e.id for e in example_portfolio.experiences if e.layer == "backstage"]


def test_explain_words_a_bundle_left_out_as_the_plan_report_does():
    """Seen: explain said CX-401's "prerequisite CX-B02 is not funded" and CX-B02's "what it unlocks (CX-401) does not
    return enough": each member pointed at another. Now both give the bundle's return, in the report's words."""
    from planner.analysis.explain import explain
    from planner.core.formatting import bundle_reason
    from planner.inputs.scenario import Scenario
    from test_analysis import rules_portfolio

    portfolio = rules_portfolio()
    portfolio = replace(portfolio, experiences=tuple(replace(e, layer="backstage") if e.id == "G" else e for e in portfolio.experiences))
    scenario = Scenario(forced_out=("J",))
    plan = plan_portfolio(portfolio, scenario)
    result = explain(portfolio, scenario, experience_ids=["F", "G", "D"], steps=1, plan=plan)
    by_id = {e.experience_id: e for e in result.items}
    (bundle,) = enabler_bundles(plan, only=["G"])
    assert bundle.members == ("G", "F") and not bundle.funded
    for member in ("F", "G"):
        assert by_id[member].reason == bundle_reason(bundle, "EUR"), by_id[member].reason
        assert by_id[member].reason.startswith("Part of the G bundle") and "prerequisite" not in by_id[member].reason
    assert by_id["D"].reason.startswith("Part of") is False  # not in a bundle: its own reason
    # Without the searches (no re-solve) the reasons stay the plan's own.
    quick = {e.experience_id: e for e in explain(portfolio, scenario, experience_ids=["F"], search=False, plan=plan).items}
    assert quick["F"].kind == "prerequisite" and "G" in quick["F"].reason
