"""What-if analysis: frontier, comparison, explanations, sensitivity and their CLI commands.

The portfolios are built so the answers are known by hand: every experience has one
option delivered in the first quarter (fixed starts), no discounting, and benefits counted
for seven quarters, so an experience costing C with benefit b per quarter has NPV 7b - C.
Solves use a zero gap, so the optimum is exact and comparable across runs.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from click.testing import CliRunner

from conftest import run_highs_in_this_process
from planner.analysis.compare import compare_plans, plan_scenarios
from planner.analysis.variants import Solved, as_seen_by, sensitivity, with_adjustment
from planner.cli import cli
from planner.core.domain import Experience, FundingOption, Portfolio, Settings, Team
from planner.analysis.explain import explain
import planner.analysis.frontier as frontier_module
from planner.analysis.frontier import _neighbour_starts, efficient_frontier, trimmed_to_fit
from planner.optimise.optimiser import plan_portfolio
from planner.inputs.scenario import Adjustment, Amount, Filter, Scenario
from planner.inputs.workbook_writer import write_portfolio

SETTINGS = Settings(horizon_quarters=4, annual_discount_rate=0.0, tail_quarters=4, start_quarters="fixed", gap=0.0,
                    time_limit_seconds=30.0)


def experience(id: str, cost: float, benefit: float, team: str = "Digital", weeks: float = 1.0, **extra) -> Experience:
    """Cost `cost` in the first quarter, `benefit` a quarter from the second on (uplift 10%, room to raise it)."""
    option = FundingOption("standard", cost, 0.0, ((team, weeks),), 1, 1.0)
    return Experience(id, f"Experience {id}", extra.pop("stage", "buy"), extra.pop("channel", "app"), "Everyday banking", "frontstage",
                      team, benefit * 10, "conversion", 1.0, 0.05, 0.1, 0.2, (option,), **extra)


def budget_portfolio(budget: float = 250.0) -> Portfolio:
    """A (NPV 180), B (110) and C (40) cost 100 each; 250 buys two of them."""
    experiences = (experience("A", 100, 40), experience("B", 100, 30, stage="get help"), experience("C", 100, 20, channel="web"))
    return Portfolio(experiences, (Team("Digital", (100.0,) * 4),), (budget, 0.0, 0.0, 0.0), SETTINGS)


def rules_portfolio() -> Portfolio:
    """Ample money; each experience left out for a different reason."""
    experiences = (
        experience("D", 10, 20, team="Service", weeks=10),  # D and E share Service's 10 weeks; E is worth more
        experience("E", 10, 30, team="Service", weeks=10),
        experience("F", 50, 20, requires=("G",)),  # F (NPV 90) needs G (NPV -200): not worth it together
        experience("G", 200, 0),
        experience("H", 10, 30, excludes=("I",)),  # H and I are alternatives; H is worth more
        experience("I", 10, 20),
        experience("J", 10, 30),  # forced out by the scenario
    )
    teams = (Team("Digital", (100.0,) * 4), Team("Service", (10.0,) * 4))
    return Portfolio(experiences, teams, (10_000.0, 0.0, 0.0, 0.0), SETTINGS)


def budget_scenario(per_quarter: tuple[float, ...]) -> Scenario:
    return Scenario(budget_per_quarter=tuple(Amount(b) for b in per_quarter))


def funded(plan) -> set[str]:
    return {d.experience.id for d in plan.funded}


# ---------------------------------------------------------------------------------------
# Frontier


@pytest.fixture(scope="module")
def frontier():
    return efficient_frontier(budget_portfolio(), points=6, workers=1)


def test_frontier_npv_never_decreases_with_budget(frontier):
    npvs = [p.npv for p in frontier.feasible_points]
    assert len(npvs) >= 5
    assert all(later >= earlier - 1e-6 for earlier, later in zip(npvs, npvs[1:]))
    assert frontier.lowest_budget == 0.0  # nothing must be funded
    assert frontier.saturation_budget == pytest.approx(300.0)  # A, B and C: every positive NPV
    assert npvs[-1] == pytest.approx(330.0)


def test_each_frontier_point_equals_an_independent_plan_at_its_budget(frontier):
    for point in frontier.feasible_points[1::2]:
        plan = plan_portfolio(budget_portfolio(), budget_scenario((point.budget, 0.0, 0.0, 0.0)))
        assert point.npv == pytest.approx(plan.npv, abs=1e-6)


def test_frontier_marginal_values_entries_and_knee(frontier):
    points = frontier.feasible_points
    second = points[1]
    assert second.marginal_npv == pytest.approx((second.npv - points[0].npv) / (second.budget - points[0].budget))
    assert set(points[-1].funded) == {"A", "B", "C"}
    assert all(set(p.entered) == set(p.funded) - set(q.funded) for q, p in zip(points, points[1:]))
    assert frontier.knee_budget is not None and points[0].budget < frontier.knee_budget < points[-1].budget
    rows = frontier.to_rows()
    assert len(rows) == len(frontier.points) and {"budget", "npv", "frontier_slope", "shadow_value_of_the_scaled_budget", "entered", "knee"} <= set(rows[0])


def test_parallel_and_serial_frontiers_are_the_same(frontier):
    parallel = efficient_frontier(budget_portfolio(), points=6, workers=2)
    assert [p.budget for p in parallel.points] == pytest.approx([p.budget for p in frontier.points])
    assert [p.npv for p in parallel.points] == pytest.approx([p.npv for p in frontier.points])
    assert [p.funded for p in parallel.points] == [p.funded for p in frontier.points]


def test_frontier_top_point_reuses_the_unlimited_plan_and_equals_an_independent_solve(monkeypatch):
    solved_budgets = []
    real_run_solves = frontier_module.run_solves

    def recording(tasks, workers=1, progress=None, scheduler=None):
        solved_budgets.extend(sum(task.portfolio.budget) for task in tasks)
        return real_run_solves(tasks, workers, progress, scheduler)

    monkeypatch.setattr(frontier_module, "run_solves", recording)
    curve = efficient_frontier(budget_portfolio(), points=6, workers=1)
    top = curve.feasible_points[-1]
    assert top.budget == pytest.approx(curve.saturation_budget)
    assert not any(b == pytest.approx(top.budget) for b in solved_budgets)  # only the no-limit solve, never one at this budget
    independent = plan_portfolio(budget_portfolio(), budget_scenario((top.budget, 0.0, 0.0, 0.0)))
    assert top.npv == pytest.approx(independent.npv, abs=1e-6) and set(top.funded) == funded(independent)


@pytest.mark.parametrize("budget, must_fund, kept", [
    (250.0, (), {"A", "B"}),  # C loses the least NPV per unit of overspend
    (250.0, ("C",), {"A", "C"}),  # C must be funded: B goes instead
    (150.0, (), {"A"}),
    (50.0, (), set()),
])
def test_a_plan_trimmed_to_a_smaller_budget_fits_it_and_keeps_what_must_be_funded(budget, must_fund, kept):
    scenario = Scenario(forced_in=must_fund)
    whole = plan_portfolio(budget_portfolio(1_000.0), scenario)
    assert funded(whole) == {"A", "B", "C"}
    trimmed = trimmed_to_fit(whole, budget_portfolio(budget), scenario)
    assert funded(trimmed) == kept and sum(trimmed.spend_by_quarter) <= budget


def test_a_plan_cannot_be_trimmed_below_what_must_be_funded():
    scenario = Scenario(forced_in=("B", "C"))
    assert trimmed_to_fit(plan_portfolio(budget_portfolio(1_000.0), scenario), budget_portfolio(150.0), scenario) is None


def test_frontier_points_start_from_the_better_neighbouring_plan_that_fits():
    portfolio = budget_portfolio()
    below = plan_portfolio(portfolio, budget_scenario((100.0, 0.0, 0.0, 0.0)))  # A
    above = plan_portfolio(portfolio, budget_scenario((300.0, 0.0, 0.0, 0.0)))  # A, B, C
    solved = {100.0: Solved(below), 300.0: Solved(above)}
    applied, rules = as_seen_by(portfolio, None)
    starts = _neighbour_starts(applied, rules, 250.0, [150.0, 250.0], solved)
    assert funded(starts[150.0]) == {"A"}  # above, trimmed to 150, is A too: the plan below wins the tie
    assert funded(starts[250.0]) == {"A", "B"}  # above trimmed (A and B) beats below (A)


# ---------------------------------------------------------------------------------------
# Explanations


def test_explanations_give_the_known_reason():
    portfolio = rules_portfolio()
    result = explain(portfolio, Scenario(forced_out=("J",)), search=False)
    by_id = {e.experience_id: e for e in result.items}
    assert {i for i, e in by_id.items() if e.funded} == {"E", "H"}
    assert by_id["D"].kind == "capacity" and "Service has no capacity left in 2027Q1" in by_id["D"].reason
    assert by_id["F"].kind == "prerequisite" and "G" in by_id["F"].reason
    assert by_id["G"].kind == "not positive" and "enabler" in by_id["G"].reason
    assert by_id["I"].kind == "excluded" and "alternative H" in by_id["I"].reason
    assert by_id["J"].kind == "forced out"


def test_the_reasons_work_out_the_economics_once_per_plan_not_once_per_experience(monkeypatch):
    """Measured: `explain --no-search` on 2,000 experiences took 40 s for a plan solved in 1 s, as each
    experience left out recomputed the whole portfolio's economics (and its team-weeks, exclusions and
    margins); now once per plan: 0.3 s, the same reasons (docs/benchmarks.md)."""
    import planner.analysis.explain as explain_module

    portfolio = rules_portfolio()
    plan = plan_portfolio(portfolio, Scenario(forced_out=("J",)))
    calls = []
    economics = explain_module.columns
    monkeypatch.setattr(explain_module, "columns", lambda p: calls.append(1) or economics(p))
    result = explain(portfolio, Scenario(forced_out=("J",)), search=False, plan=plan)
    assert sum(not e.funded for e in result.items) >= 5 and len(calls) == 1
    assert explain_module.expected_re_solves(plan) > 0 and len(calls) == 2


def test_budget_reason_compares_the_return_with_the_margin():
    result = explain(budget_portfolio(), experience_ids=["C"], search=False)
    (c,) = result.items
    assert c.kind == "budget" and not c.funded
    assert c.npv_per_spend == pytest.approx(0.4)
    assert "returns €0.40 of NPV per euro spent; the budget shadow value over its quarters" in c.reason or "does not fit in the budget left" in c.reason


def test_what_it_takes_brings_the_experience_in_and_funded_loss_is_exact():
    portfolio = budget_portfolio()
    result = explain(portfolio, experience_ids=["C", "A"], steps=1)
    c, a = result.items
    assert c.uplift_to_enter is not None and 1.0 < c.uplift_to_enter <= 2.0
    assert c.cost_to_enter is not None and 0.0 <= c.cost_to_enter < 1.0
    adjusted = with_adjustment(Scenario(), "C", uplift=c.uplift_to_enter)
    assert "C" in funded(plan_portfolio(portfolio, adjusted))
    cheaper = replace(Scenario(), adjustments=(Adjustment(Filter(id=("C",)), cost=c.cost_to_enter),))
    assert "C" in funded(plan_portfolio(portfolio, cheaper))
    # Without A (NPV 180) the plan funds B and C: 150 instead of 290.
    assert a.funded and a.npv_loss == pytest.approx(140.0) and a.npv_without == pytest.approx(150.0)
    assert c.solves <= 1 + 2 * (3 + 1)



def test_what_it_takes_says_plainly_when_neither_uplift_nor_cost_brings_it_in():
    """Was "enters at not even at no cost": D's uplift is already 100% and even free it is worth less than E."""
    portfolio = rules_portfolio()
    d = next(e for e in portfolio.experiences if e.id == "D")
    saturated = replace(d, reach_per_quarter=20.0, uplift_low=1.0, uplift_base=1.0, uplift_high=1.0)
    portfolio = replace(portfolio, experiences=tuple(saturated if e.id == "D" else e for e in portfolio.experiences))
    (item,) = explain(portfolio, Scenario(forced_out=("J",)), experience_ids=["D"], steps=1).items
    assert item.uplift_to_enter is None and item.cost_to_enter is None
    assert item.to_enter.startswith("no uplift up to 100% of customers brings it in; not even at no cost; forced in as it is")
    assert "enters at" not in item.to_enter


# ---------------------------------------------------------------------------------------
# Comparison


def test_compare_finds_exactly_the_differing_experiences_with_their_reasons():
    portfolio = budget_portfolio()
    reference = Scenario(name="base")
    cut = replace(budget_scenario((100.0, 0.0, 0.0, 0.0)), name="cut")
    halved = Scenario(name="halved", adjustments=(Adjustment(Filter(id=("B",)), uplift=0.5),))
    plans = plan_scenarios([portfolio] * 3, [reference, cut, halved])
    result = compare_plans(plans)
    found = {(d.other, d.experience_id, d.change): d.reason for d in result.differences}
    assert set(found) == {("cut", "B", "left"), ("halved", "B", "left"), ("halved", "C", "entered")}
    assert "budget cut" in found[("cut", "B", "left")]
    assert "its uplift was halved by halved's adjustment (id B)" in found[("halved", "B", "left")]
    assert [t.npv for t in result.totals] == pytest.approx([290.0, 180.0, 220.0])
    stage = {s.value: s.spend for s in result.shifts if s.dimension == "journey_stage"}
    assert stage["get help"] == pytest.approx((100.0, 0.0, 0.0))
    sections = {row["section"] for row in result.to_rows()}
    assert {"total", "difference", "spend by journey stage", "spend by quarter"} <= sections


# ---------------------------------------------------------------------------------------
# Sensitivity


def test_tornado_is_sorted_by_swing_and_budget_moves_npv():
    result = sensitivity(budget_portfolio(), top=1, workers=2)
    swings = [b.swing for b in result.bars]
    assert swings == sorted(swings, reverse=True)
    bars = {b.input: b for b in result.bars}
    assert {"A uplift", "budget", "discount rate", "all costs", "all teams' capacity", "every uplift"} == set(bars)
    # 250 -10% = 225 still buys two; +10% = 275 still buys two: the budget bar is flat here.
    assert bars["budget"].npv_low == pytest.approx(290.0) and bars["budget"].npv_high == pytest.approx(290.0)
    # A's uplift at its low estimate (half of base): NPV 7 x 20 - 100 = 40, so B and C are funded instead.
    assert bars["A uplift"].npv_low == pytest.approx(150.0)
    assert result.to_rows()[0]["swing"] == swings[0]


# ---------------------------------------------------------------------------------------
# Command line


@pytest.fixture(scope="module")
def scenario_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("analysis")
    write_portfolio(budget_portfolio(), folder / "inputs.xlsx")
    (folder / "base.yaml").write_text("name: base\nworkbook: inputs.xlsx\n")
    (folder / "cut.yaml").write_text("name: cut\nextends: base.yaml\nbudget:\n  per_quarter: [100, 0, 0, 0]\n")
    return folder


def test_cli_frontier_writes_the_csv(scenario_files, tmp_path):
    result = CliRunner().invoke(cli, ["frontier", str(scenario_files / "base.yaml"), "--points", "4", "--workers", "1", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "Efficient frontier" in result.output and (tmp_path / "frontier.csv").read_text().startswith("budget,")


def test_cli_compare_explain_sensitivity(scenario_files, tmp_path):
    runner = CliRunner()
    compare = runner.invoke(cli, ["compare", str(scenario_files / "base.yaml"), str(scenario_files / "cut.yaml"), "-o", str(tmp_path)])
    assert compare.exit_code == 0, compare.output
    assert "budget cut" in compare.output and (tmp_path / "compare.csv").exists()
    explained = runner.invoke(cli, ["explain", str(scenario_files / "base.yaml"), "--experience", "C", "--no-search", "-o", str(tmp_path)])
    assert explained.exit_code == 0, explained.output
    assert "C Experience C: not funded" in explained.output and (tmp_path / "explanations.csv").exists()
    tornado = runner.invoke(cli, ["sensitivity", str(scenario_files / "base.yaml"), "--top", "0", "-o", str(tmp_path)])
    assert tornado.exit_code == 0, tornado.output
    assert (tmp_path / "tornado.csv").read_text().startswith("input,")


def test_cli_explain_says_up_front_about_how_many_re_solves_and_how_long(scenario_files, tmp_path):
    """Issue 14: a full explain of the example took minutes with no warning. The first line now gives
    the re-solves it expects and a time from the plan's own solve; the count is near the real one."""
    import csv
    import re

    result = CliRunner().invoke(cli, ["explain", str(scenario_files / "base.yaml"), "--workers", "1", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    said = re.search(r"explain: searching every experience: about (\d+) re-solves of about [0-9.]+ s each \(the plan's own solve\) "
                     r"on 1 worker, about \d+ (s|minutes) \(--experience ID for fewer", result.stderr)
    assert said, result.stderr
    with (tmp_path / "explanations.csv").open(newline="", encoding="utf-8") as file:
        done = sum(int(row["solves"]) for row in csv.DictReader(file))
    assert done / 2 <= int(said.group(1)) <= done * 2, (said.group(0), done)


@pytest.mark.parametrize("arguments, code, message", [
    (["explain", "base.yaml", "--experience", "nope", "--no-search"], 2, "not an experience of the portfolio: nope"),
    (["compare", "base.yaml"], 2, "at least two scenario files"),
    (["frontier", "missing.yaml"], 2, "does not exist"),
])
def test_cli_errors_have_their_exit_codes(scenario_files, arguments, code, message):
    arguments = [str(scenario_files / a) if a.endswith(".yaml") else a for a in arguments]
    result = CliRunner().invoke(cli, arguments)
    assert result.exit_code == code
    assert message in result.output


# ---------------------------------------------------------------------------------------
# Worker processes


PARALLEL_SCRIPT = """
from planner.analysis.variants import run_parallel
print(run_parallel(abs, [-1, -2, -3], workers=2))
"""


@pytest.mark.parametrize("how", ["stdin", "-c", "script without a main guard"])
def test_parallel_analysis_runs_from_stdin_python_c_and_unguarded_scripts(how, tmp_path):
    """The workers came from a fork server, which runs the main script again in each worker:
    from stdin or `python -c` that broke the pool, and an unguarded script started itself."""
    import subprocess
    import sys

    script = tmp_path / "analysis.py"
    script.write_text(PARALLEL_SCRIPT)
    command = {"stdin": [sys.executable, "-"], "-c": [sys.executable, "-c", PARALLEL_SCRIPT],
               "script without a main guard": [sys.executable, str(script)]}[how]
    result = subprocess.run(command, input=PARALLEL_SCRIPT if how == "stdin" else None, capture_output=True, text=True,
                            timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[1, 2, 3]"


def test_parallel_workers_forked_after_highs_ran_in_this_process_do_not_deadlock():
    """Forking a process that ran HiGHS once deadlocked its children; they now solve in solver processes."""
    run_highs_in_this_process()
    portfolio = budget_portfolio()
    portfolio = replace(portfolio, settings=replace(portfolio.settings, solver="highs", time_limit_seconds=20.0))
    result = efficient_frontier(portfolio, points=4, workers=2)
    assert all(point.feasible for point in result.points)


def item_experience(portfolio, item):
    return next(e for e in portfolio.experiences if e.id == item.experience_id)


def test_what_it_takes_on_the_example_is_right_and_uses_few_re_solves():
    """The bound the forced-in plan proves needs no confirming re-solve; every multiplier
    reported still brings the experience in when the scenario is re-planned with it."""
    from planner.core.resources import EXAMPLE_SCENARIO
    from planner.inputs.scenario import load_scenario
    from planner.inputs.workbook import read_portfolio

    scenario = load_scenario(EXAMPLE_SCENARIO)
    portfolio = read_portfolio(scenario.workbook)
    base = plan_portfolio(portfolio, scenario)
    ids = [d.experience.id for d in base.decisions if not d.funded and d.experience.id in ("CX-404", "CX-302", "CX-504", "CX-205")][:2]
    assert ids, "the example leaves none of them out"
    result = explain(portfolio, scenario, experience_ids=ids, steps=1, plan=base)
    for item in result.items:
        assert item.uplift_to_enter is not None or item.cost_to_enter is not None, item.to_enter
        # Forced in, then one halving each; an overlap group shared with others (no proof from
        # the forced-in plan) or a balance rule adds a confirming re-solve per search.
        shares_group = any(e.overlap_group and e.overlap_group == item_experience(portfolio, item).overlap_group and e.id != item.experience_id
                           for e in portfolio.experiences)
        assert item.solves <= (1 + 2 * 2 if shares_group else 1 + 2 * 1), (item.experience_id, item.solves)
        if item.uplift_to_enter is not None:
            assert item.experience_id in funded(plan_portfolio(portfolio, with_adjustment(scenario, item.experience_id, uplift=item.uplift_to_enter)))
        if item.cost_to_enter is not None:
            assert item.experience_id in funded(plan_portfolio(portfolio, with_adjustment(scenario, item.experience_id, cost=item.cost_to_enter)))


def test_a_tornado_end_not_proven_optimal_says_so(monkeypatch):
    """The example's "all costs -20%" re-solve stopped on its time limit (gap 4.2%) and the tornado showed its NPV
    as if it were the optimum: an end whose re-solve is not proven now carries its gap."""
    import planner.analysis.variants as variants

    real = variants.plan_portfolio

    def stopped_when_costs_fall(portfolio, scenario=None, start_from=None):
        plan = real(portfolio, scenario, start_from=start_from)
        if scenario is not None and any(a.cost == pytest.approx(0.8) for a in scenario.adjustments):
            return replace(plan, solve=replace(plan.solve, status="feasible", gap=0.042))
        return plan

    monkeypatch.setattr(variants, "plan_portfolio", stopped_when_costs_fall)
    bars = {b.input: b for b in sensitivity(budget_portfolio(), top=1, workers=1).bars}
    assert bars["all costs"].unproven == (("low", 0.042),)
    assert all(not b.unproven for name, b in bars.items() if name != "all costs")
