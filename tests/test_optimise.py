"""The optimiser: published optima, properties on random portfolios, honesty of status, infeasibility."""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from conftest import run_highs_in_this_process
from planner.optimise import optimiser as optimise
from planner.core.domain import Experience, FundingOption, Portfolio, Settings, Team
from planner.core.economics import columns
from planner.core.errors import InfeasibleError
from planner.optimise.optimiser import check_plan, plan_portfolio
from planner.inputs.scenario import Scenario

ORLIB = Path(__file__).parent / "data" / "orlib"  # copied from ../shared/data/orlib (README there)


def orlib_portfolio(instance: dict, solver: str = "cbc", time_limit: float = 60.0) -> Portfolio:
    """One experience per item with one option: its profit as NPV, the first constraint as the
    budget, the others as team capacities (one quarter, no discounting, benefits in a tail quarter)."""
    m = instance["m"]
    teams = tuple(Team(f"Team {i}", (float(instance["capacities"][i]),)) for i in range(1, m))
    experiences = []
    for j, profit in enumerate(instance["profits"]):
        cost = float(instance["weights"][0][j])
        attention = tuple((f"Team {i}", float(instance["weights"][i][j])) for i in range(1, m))
        option = FundingOption("only", cost, 0.0, attention, 1, 1.0)
        # Benefit = reach x uplift x share x value = profit + cost, so NPV = profit exactly.
        experiences.append(Experience(f"item-{j}", f"Item {j}", "buy", "web", "all", "frontstage", "Team 1" if m > 1 else "",
                                      1.0, "profit", float(profit) + cost, 1.0, 1.0, 1.0, (option,)))
    settings = Settings(horizon_quarters=1, annual_discount_rate=0.0, tail_quarters=1, gap=0.0, solver=solver,
                        time_limit_seconds=time_limit)
    return Portfolio(tuple(experiences), teams, (float(instance["capacities"][0]),), settings)


INSTANCES = json.loads((ORLIB / "instances.json").read_text())


def test_all_55_published_instances_are_present():
    assert len(INSTANCES) == 55


@pytest.mark.parametrize("instance", INSTANCES, ids=[i["name"] for i in INSTANCES])
def test_cbc_reproduces_the_published_optimum(instance):
    plan = plan_portfolio(orlib_portfolio(instance, "cbc"))
    assert plan.solve.status == "optimal"
    assert plan.npv == pytest.approx(instance["optimum"], rel=1e-9, abs=1e-6)
    assert plan.solve.gap == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("instance", INSTANCES, ids=[i["name"] for i in INSTANCES])
def test_highs_reproduces_the_published_optimum(instance):
    plan = plan_portfolio(orlib_portfolio(instance, "highs"))
    assert plan.solve.status == "optimal"
    assert plan.npv == pytest.approx(instance["optimum"], rel=1e-9, abs=1e-6)


@pytest.mark.parametrize("solver", ["cbc", "highs"])
def test_a_solve_stopped_by_its_time_limit_is_not_called_optimal(solver):
    hard = json.loads((ORLIB / "mknapcb_hard.json").read_text())[0]  # 100 items, 10 constraints: minutes to prove
    plan = plan_portfolio(orlib_portfolio(hard, solver, time_limit=1.0))
    assert plan.solve.status in ("feasible", "heuristic")
    assert not plan.solve.proven_optimal
    assert plan.solve.gap is not None and plan.solve.gap > 0
    assert plan.npv <= hard["optimum"] + 1e-6
    assert plan.solve.best_bound >= hard["optimum"] - 1e-6


def test_a_solver_still_running_at_the_deadline_is_stopped_and_the_fallback_plan_is_labelled_heuristic(monkeypatch):
    """No grace: the parent's deadline is the time limit itself, before the solver's own 1 s limit can end it."""
    import time as time_module

    monkeypatch.setattr(optimise, "GRACE_SECONDS", 0.0)
    monkeypatch.setattr(optimise, "GRACE_FRACTION", 0.0)
    hard = json.loads((ORLIB / "mknapcb_hard.json").read_text())[0]
    started = time_module.monotonic()
    plan = plan_portfolio(orlib_portfolio(hard, "cbc", time_limit=1.0))
    assert time_module.monotonic() - started < 30
    assert plan.solve.status == "heuristic" and not plan.solve.proven_optimal
    # Issue 9, symptom 4: the fallback is the best of LP rounding with repair and greedy, named as such.
    assert plan.solve.heuristic == optimise.LP_ROUNDING
    assert plan.greedy.npv + 1_000 < plan.npv <= hard["optimum"]
    assert plan.solve.gap is not None and plan.solve.gap > 0
    assert plan.solve.best_bound >= hard["optimum"] - 1e-6


def test_planning_after_highs_ran_in_this_process_does_not_deadlock():
    """HiGHS's threads do not survive a fork: children must not be forked from a process that ran it."""
    run_highs_in_this_process()
    portfolio = small_portfolio()
    plan = plan_portfolio(replace(portfolio, settings=replace(portfolio.settings, solver="highs", time_limit_seconds=20.0)))
    assert plan.solve.status == "optimal"


# ---------------------------------------------------------------------------------------
# A small portfolio where greedy-by-ROI is beaten: the enabler has no NPV of its own.


def small_portfolio(budget: float = 300.0) -> Portfolio:
    team = Team("Digital", (40.0,) * 4)
    enabler = Experience("DATA-1", "Customer data platform", "use", "web", "all", "backstage", "Digital", 0.0, "none", 0.0,
                         0.0, 0.0, 0.0, (FundingOption("standard", 100.0, 0.0, (("Digital", 20.0),), 1, 1.0),))
    front = Experience("APP-1", "Personalised offers", "choose", "app", "cards", "frontstage", "Digital", 1000.0, "conversion",
                       100.0, 0.002, 0.004, 0.006, (FundingOption("standard", 100.0, 0.0, (("Digital", 20.0),), 1, 1.0),),
                       requires=("data-1",))
    quick = Experience("WEB-1", "Clearer fees page", "choose", "web", "cards", "frontstage", "Digital", 500.0, "conversion",
                       100.0, 0.001, 0.002, 0.003, (FundingOption("lean", 60.0, 0.0, (("Digital", 10.0),), 1, 1.0),))
    settings = Settings(horizon_quarters=4, annual_discount_rate=0.0, gap=0.0)
    return Portfolio((enabler, front, quick), (team,), (budget, 100.0, 100.0, 100.0), settings)


def test_the_optimum_funds_an_enabler_that_the_roi_ranking_skips():
    plan = plan_portfolio(small_portfolio())
    funded = {d.experience.id: d for d in plan.funded}
    assert {"DATA-1", "APP-1"} <= set(funded)
    assert funded["APP-1"].start_quarter > funded["DATA-1"].go_live_quarter
    assert "DATA-1" not in plan.greedy.funded
    assert plan.npv > plan.greedy.npv
    assert plan.solve.status == "optimal"


def test_binding_budget_has_a_positive_marginal_value_and_slack_rules_none():
    plan = plan_portfolio(small_portfolio(budget=150.0))
    by_name = {rule.name: rule for rule in plan.rules}
    assert by_name["budget_2027Q1"].marginal_value > 0
    assert by_name["budget_2027Q4"].marginal_value == 0
    assert not by_name["budget_2027Q4"].binding


def test_not_funded_experiences_carry_a_reason():
    plan = plan_portfolio(small_portfolio(), Scenario(forced_out=("web-1",)))
    reasons = {d.experience.id: d.reason for d in plan.not_funded}
    assert reasons == {"WEB-1": "forced out by the scenario"}



def test_an_enabler_left_out_because_what_it_enables_is_out_says_so():
    plan = plan_portfolio(small_portfolio(), Scenario(forced_out=("app-1",)))
    reasons = {d.experience.id: d.reason for d in plan.not_funded}
    assert reasons["DATA-1"] == "its NPV is not positive on its own, and none of the experiences it enables (APP-1) is funded"


def test_not_funded_reasons_take_linear_time_in_the_number_of_experiences():
    """Each unfunded enabler scanned every experience for its dependents: 4 s of a 50,000-experience plan."""
    import planner.optimise.check as optimise  # where the decisions and their reasons are made

    calls = 0
    real = optimise.normalise_id

    def counting(value):
        nonlocal calls
        calls += 1
        return real(value)

    portfolio = small_portfolio()
    many = tuple(replace(e, id=f"{e.id}-{n}", requires=tuple(f"{r}-{n}" for r in e.requires))
                 for n in range(40) for e in portfolio.experiences)
    portfolio = replace(portfolio, experiences=many, budget=(0.0,) * 4)
    original = optimise.normalise_id
    optimise.normalise_id = counting
    try:
        plan = plan_portfolio(portfolio)
    finally:
        optimise.normalise_id = original
    assert len(plan.not_funded) == len(many)
    assert calls < 5 * len(many), calls  # one scan per enabler made it 40 x 40 here


def test_mandatory_spend_above_the_budget_names_the_quarter_and_both_amounts():
    portfolio = small_portfolio(budget=50.0)
    mandatory = replace(portfolio.experiences[2], mandatory=True, earliest_start=0)
    portfolio = replace(portfolio, experiences=portfolio.experiences[:2] + (mandatory,), budget=(50.0, 0.0, 0.0, 0.0))
    with pytest.raises(InfeasibleError) as raised:
        plan_portfolio(portfolio)
    message = str(raised.value)
    assert "2027Q1" in message and "60" in message and "50" in message


def test_mandatory_team_overload_names_the_team():
    portfolio = small_portfolio(budget=1000.0)
    team = Team("Digital", (5.0,) * 4)
    mandatory = replace(portfolio.experiences[2], mandatory=True)
    portfolio = replace(portfolio, teams=(team,), experiences=portfolio.experiences[:2] + (mandatory,))
    with pytest.raises(InfeasibleError, match="team Digital needs 10.0 team-weeks"):
        plan_portfolio(portfolio)


def test_forced_in_experience_whose_prerequisite_is_forced_out_is_a_conflict():
    with pytest.raises(InfeasibleError, match="APP-1 requires DATA-1"):
        plan_portfolio(small_portfolio(), Scenario(forced_in=("APP-1",), forced_out=("DATA-1",)))


def test_highs_and_cbc_agree_on_the_small_portfolio():
    cbc = plan_portfolio(small_portfolio(), Scenario(solver="cbc"))
    highs = plan_portfolio(small_portfolio(), Scenario(solver="highs"))
    assert cbc.npv == pytest.approx(highs.npv)
    assert [r.marginal_value for r in cbc.rules] == pytest.approx([r.marginal_value for r in highs.rules])


# ---------------------------------------------------------------------------------------
# Properties on random small portfolios


@st.composite
def random_portfolios(draw, max_experiences: int = 8, free: bool = True) -> Portfolio:
    horizon = draw(st.integers(2, 4))
    n = draw(st.integers(1, max_experiences))
    teams = (Team("Digital", tuple(float(draw(st.integers(5, 40))) for _ in range(horizon))),
             Team("Ops", tuple(float(draw(st.integers(5, 40))) for _ in range(horizon))))
    experiences = []
    for i in range(n):
        option_count = draw(st.integers(1, 2))
        options = tuple(
            FundingOption(f"option {k}", float(draw(st.integers(0, 100))), float(draw(st.integers(0, 5))),
                          ((draw(st.sampled_from(["Digital", "Ops"])), float(draw(st.integers(0, 30)))),),
                          draw(st.integers(1, 2)), draw(st.sampled_from([0.5, 0.8, 1.0])))
            for k in range(option_count)
        )
        requires = (f"E{draw(st.integers(0, i - 1))}",) if i and draw(st.booleans()) and draw(st.booleans()) else ()
        excludes = (f"E{draw(st.integers(0, i - 1))}",) if i and not requires and draw(st.integers(0, 4)) == 0 else ()
        uplift = draw(st.sampled_from([0.0, 0.01, 0.02, 0.05]))
        experiences.append(Experience(
            f"E{i}", f"Experience {i}", "buy", "web", "all", "frontstage", "Digital", float(draw(st.integers(0, 2000))),
            "conversion", 10.0, uplift / 2, uplift, uplift * 2, options, requires=requires, excludes=excludes,
        ))
    budget = tuple(float(draw(st.integers(0, 200))) for _ in range(horizon))
    settings = Settings(horizon_quarters=horizon, annual_discount_rate=0.05, gap=0.0, tail_quarters=draw(st.integers(0, 4)),
                        start_quarters="free" if free else "fixed")
    return Portfolio(tuple(experiences), teams, budget, settings)


def brute_force_npv(portfolio: Portfolio) -> float:
    """The best NPV over every combination of (option, start) choices, checked rule by rule."""
    cols = columns(portfolio)
    choices = [[None] + [c for c in range(len(cols)) if cols.experience[c] == i] for i in range(len(portfolio.experiences))]
    best = -math.inf
    for combination in itertools.product(*choices):
        chosen = [c for c in combination if c is not None]
        plan_decisions = optimise.make_decisions(portfolio, optimise.Rules(), cols, chosen)
        if not check_plan(portfolio, Scenario(), plan_decisions):
            best = max(best, float(sum(cols.npv[c] for c in chosen)))
    return best


PROPERTY_SETTINGS = hypothesis_settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY_SETTINGS
@given(random_portfolios())
def test_every_plan_passes_the_independent_check_and_beats_greedy(portfolio):
    plan = plan_portfolio(portfolio)
    assert check_plan(plan.portfolio, plan.scenario, plan.decisions) == []
    assert plan.solve.status == "optimal"
    assert plan.npv >= plan.greedy.npv - 1e-6
    assert all(s <= b + 1e-6 for s, b in zip(plan.spend_by_quarter, portfolio.budget))


@PROPERTY_SETTINGS
@given(random_portfolios(), st.floats(1.0, 3.0))
def test_the_optimum_never_falls_when_the_budget_grows(portfolio, factor):
    smaller = plan_portfolio(portfolio)
    larger = plan_portfolio(replace(portfolio, budget=tuple(b * factor for b in portfolio.budget)))
    assert larger.npv >= smaller.npv - 1e-6


@hypothesis_settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_portfolios(max_experiences=12, free=False))
def test_brute_force_enumeration_finds_the_same_npv(portfolio):
    cols = columns(portfolio)
    combinations = np.prod([1 + int(np.sum(cols.experience == i)) for i in range(len(portfolio.experiences))])
    if combinations > 5000:
        portfolio = replace(portfolio, experiences=portfolio.experiences[:6])
    assert plan_portfolio(portfolio).npv == pytest.approx(brute_force_npv(portfolio), abs=1e-6)


@hypothesis_settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_portfolios(max_experiences=4, free=True))
def test_brute_force_with_free_start_quarters(portfolio):
    assert plan_portfolio(portfolio).npv == pytest.approx(brute_force_npv(portfolio), abs=1e-6)


# ---------------------------------------------------------------------------------------
# In-flight experiences (commitments) and warm starts


def in_flight(portfolio: Portfolio, experience_id: str, option: str, start: int, remaining: float | None = None) -> Portfolio:
    from planner.core.domain import Commitment

    experiences = tuple(
        replace(e, commitment=Commitment(option, start, remaining)) if e.id == experience_id else e for e in portfolio.experiences
    )
    return replace(portfolio, experiences=experiences)


def test_an_in_flight_experience_keeps_its_option_and_start_and_pays_only_what_is_left():
    portfolio = small_portfolio()
    slow = FundingOption("slow", 300.0, 0.0, (("Digital", 30.0),), 3, 1.0)
    quick = replace(portfolio.experiences[2], options=portfolio.experiences[2].options + (slow,))
    portfolio = in_flight(replace(portfolio, experiences=portfolio.experiences[:2] + (quick,)), "WEB-1", "slow", -1)
    plan = plan_portfolio(portfolio)
    decision = next(d for d in plan.decisions if d.experience.id == "WEB-1")
    assert decision.funded and decision.option == "slow" and decision.start_quarter == -1 and decision.go_live_quarter == 1
    # One of three delivery quarters is history: 100 of the 300 is sunk.
    assert decision.spend[:3] == (100.0, 100.0, 0.0)
    assert dict(decision.attention)["Digital"][:3] == (10.0, 10.0, 0.0)
    assert check_plan(plan.portfolio, plan.scenario, plan.decisions) == []


def test_remaining_cost_from_actuals_replaces_the_even_spread():
    portfolio = in_flight(small_portfolio(), "WEB-1", "lean", 0, remaining=25.0)
    plan = plan_portfolio(portfolio)
    decision = next(d for d in plan.decisions if d.experience.id == "WEB-1")
    assert decision.spend[0] == 25.0


def test_an_in_flight_experience_is_kept_even_when_it_loses_money():
    portfolio = small_portfolio()
    loser = replace(portfolio.experiences[2], reach_per_quarter=0.0)
    portfolio = in_flight(replace(portfolio, experiences=portfolio.experiences[:2] + (loser,)), "WEB-1", "lean", 0)
    plan = plan_portfolio(portfolio)
    assert "WEB-1" in {d.experience.id for d in plan.funded}


def test_stopping_an_in_flight_experience_needs_an_explicit_instruction_and_says_so():
    portfolio = in_flight(small_portfolio(), "WEB-1", "lean", 0)
    plan = plan_portfolio(portfolio, Scenario(forced_out=("WEB-1",)))
    decision = next(d for d in plan.decisions if d.experience.id == "WEB-1")
    assert not decision.funded and decision.reason == "stopped by the scenario while in flight"


def test_a_warm_start_from_a_previous_plan_gives_the_same_optimum():
    portfolio = small_portfolio()
    first = plan_portfolio(portfolio)
    again = plan_portfolio(portfolio, start_from=first)
    assert again.npv == pytest.approx(first.npv)
    assert optimise.columns_of(first, portfolio, columns(portfolio), np.ones(len(columns(portfolio)), dtype=bool)) is not None


def test_an_equally_good_previous_plan_is_kept_rather_than_churned():
    # Two identical experiences and money for one: both plans are optimal; the previous choice stays.
    portfolio = small_portfolio(budget=60.0)
    twin = replace(portfolio.experiences[2], id="WEB-2", name="Clearer fees page (twin)")
    portfolio = replace(portfolio, experiences=(portfolio.experiences[2], twin), budget=(60.0, 0.0, 0.0, 0.0))
    first = plan_portfolio(portfolio)
    (kept,) = first.funded
    other = "WEB-2" if kept.experience.id == "WEB-1" else "WEB-1"
    swapped = replace(first, decisions=tuple(
        replace(d, funded=not d.funded, option=kept.option, start_quarter=kept.start_quarter) if d.experience.id in (kept.experience.id, other) else d
        for d in first.decisions
    ))
    again = plan_portfolio(portfolio, start_from=swapped)
    assert [d.experience.id for d in again.funded] == [other]


# ---------------------------------------------------------------------------------------
# Callers without a __main__ guard

UNGUARDED_SCRIPT = """
from planner.core.domain import Experience, FundingOption, Portfolio, Settings, Team
from planner.optimise.optimiser import plan_portfolio

option = FundingOption("standard", 100.0, 0.0, (("Digital", 10.0),), 1, 1.0)
experience = Experience("WEB-1", "Clearer fees page", "choose", "web", "cards", "frontstage", "Digital", 1000.0,
                        "conversion", 100.0, 0.01, 0.02, 0.03, (option,))
portfolio = Portfolio((experience,), (Team("Digital", (40.0, 40.0)),), (500.0, 500.0),
                      Settings(horizon_quarters=2, solver=SOLVER))
plan = plan_portfolio(portfolio)
print(plan.solve.status, len(plan.funded))
"""


@pytest.mark.parametrize("solver", ["cbc", "highs"])
@pytest.mark.parametrize("how", ["stdin", "-c", "script file"])
def test_plan_portfolio_works_from_a_script_fed_on_stdin_and_other_unguarded_callers(how, solver, tmp_path):
    """A script fed on stdin failed with BrokenPipeError: the fork server tried to re-run __main__ from '<stdin>'."""
    import subprocess
    import sys

    script = UNGUARDED_SCRIPT.replace("SOLVER", repr(solver))
    if how == "stdin":
        command, given = [sys.executable, "-"], script
    elif how == "-c":
        command, given = [sys.executable, "-c", script], None
    else:
        (tmp_path / "plan_it.py").write_text(script)
        command, given = [sys.executable, str(tmp_path / "plan_it.py")], None
    done = subprocess.run(command, input=given, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["optimal", "1"]


# ---------------------------------------------------------------------------------------
# The greedy fallback and what must be funded


def _solver_finds_nothing(monkeypatch) -> None:
    """The MIP gives no plan in time (as a solver stopped at its deadline would); the LP still answers."""
    real = optimise.solve_isolated

    def stopped(portfolio, rules, cols, keep, warm):
        _, lp, build_seconds, solve_seconds, counts = real(portfolio, rules, cols, keep, warm)
        return optimise.stopped_outcome(portfolio.settings.time_limit_seconds), lp, build_seconds, solve_seconds, counts

    monkeypatch.setattr(optimise, "solve_isolated", stopped)


@pytest.mark.parametrize("how", ["mandatory", "forced in"])
def test_greedy_fallback_funds_the_enabler_a_mandatory_or_forced_in_experience_requires(how, monkeypatch):
    """The ROI ranking never funded an enabler for its own sake, so with the solver out of time planning raised SolverError."""
    portfolio = small_portfolio()
    if how == "mandatory":
        portfolio = replace(portfolio, experiences=(portfolio.experiences[0], replace(portfolio.experiences[1], mandatory=True),
                                                    portfolio.experiences[2]))
        scenario = Scenario()
    else:
        scenario = Scenario(forced_in=("APP-1",))
    _solver_finds_nothing(monkeypatch)
    plan = plan_portfolio(portfolio, scenario)
    assert plan.solve.status == "heuristic"
    assert plan.greedy.feasible
    assert {"DATA-1", "APP-1"} <= {d.experience.id for d in plan.funded}
    assert plan.npv == pytest.approx(plan.greedy.npv)
    assert check_plan(plan.portfolio, plan.scenario, plan.decisions) == []


def test_greedy_funds_a_chain_of_prerequisites_listed_after_the_mandatory_experience():
    """Prerequisites come first whatever the workbook order, each live before its dependent starts."""
    base = small_portfolio()
    option = FundingOption("standard", 10.0, 0.0, (("Digital", 5.0),), 1, 1.0)
    data, app, web = base.experiences
    mandatory = replace(web, mandatory=True, requires=("app-1",))
    app = replace(app, options=(option,))
    portfolio = replace(base, experiences=(mandatory, app, replace(data, options=(option,))))
    cols = columns(portfolio)
    keep = optimise.columns_on_offer(portfolio, optimise.Rules(), cols)
    chosen, baseline = optimise.greedy_baseline(portfolio, optimise.Rules(), cols, keep)
    assert baseline.feasible, baseline.message
    assert set(baseline.funded) == {"WEB-1", "APP-1", "DATA-1"}
    starts = {portfolio.experiences[int(cols.experience[c])].id: int(cols.start[c]) for c in chosen}
    assert starts["DATA-1"] < starts["APP-1"] < starts["WEB-1"]


# ---------------------------------------------------------------------------------------
# Binding rules and marginal values


def two_items(budget: float) -> Portfolio:
    """One quarter, two items: A costs 60 for NPV 100, B costs 60 for NPV 90 (benefits in a tail quarter, no discounting)."""
    def item(name: str, npv: float) -> Experience:
        option = FundingOption("only", 60.0, 0.0, (("Digital", 10.0),), 1, 1.0)
        return Experience(name, name, "buy", "web", "all", "frontstage", "Digital", 1.0, "profit", npv + 60.0, 1.0, 1.0, 1.0, (option,))

    settings = Settings(horizon_quarters=1, annual_discount_rate=0.0, tail_quarters=1, gap=0.0)
    return Portfolio((item("A", 100.0), item("B", 90.0)), (Team("Digital", (20.0,)),), (budget,), settings)


@pytest.mark.parametrize("solver", ["cbc", "highs"])
def test_a_rule_with_a_marginal_value_but_slack_in_the_plan_is_not_binding(solver):
    """A positive LP dual used to mark a rule binding even when the integer plan left part of it unused."""
    plan = plan_portfolio(two_items(budget=100.0), Scenario(solver=solver))
    budget = next(r for r in plan.rules if r.name == "budget_2027Q1")
    assert [d.experience.id for d in plan.funded] == ["A"]
    assert (budget.used, budget.slack) == (60.0, 40.0)
    # The LP relaxation funds A and two thirds of B: one more unit of money is worth 90 / 60.
    assert budget.marginal_value == pytest.approx(1.5)
    assert not budget.binding
    capacity = next(r for r in plan.rules if r.name == "capacity_Digital_2027Q1")
    assert capacity.slack == 10.0 and not capacity.binding


@pytest.mark.parametrize("solver", ["cbc", "highs"])
def test_a_rule_the_plan_uses_to_its_limit_is_binding(solver):
    plan = plan_portfolio(two_items(budget=120.0), Scenario(solver=solver))
    by_name = {r.name: r for r in plan.rules}
    assert len(plan.funded) == 2
    assert by_name["budget_2027Q1"].binding and by_name["capacity_Digital_2027Q1"].binding
    assert plan.binding_rules == (by_name["budget_2027Q1"], by_name["capacity_Digital_2027Q1"])


# ---------------------------------------------------------------------------------------
# Warm starts from a previous plan that no longer fits


def _warm_starts(monkeypatch) -> list:
    """Record the warm start each solve is given."""
    given = []
    real = optimise.solve_isolated

    def recording(portfolio, rules, cols, keep, warm):
        given.append(None if warm is None else sorted(warm.tolist()))
        return real(portfolio, rules, cols, keep, warm)

    monkeypatch.setattr(optimise, "solve_isolated", recording)
    return given


def _changed(portfolio: Portfolio, change: str) -> tuple[Portfolio, Scenario]:
    data, app, web = portfolio.experiences
    if change == "less budget":
        return replace(portfolio, budget=(100.0, 100.0, 60.0, 60.0)), Scenario()
    if change == "less capacity":
        return replace(portfolio, teams=(Team("Digital", (20.0,) * 4),)), Scenario()
    if change == "option gone":
        lean = FundingOption("lean", 50.0, 0.0, (("Digital", 10.0),), 1, 0.5)
        return replace(portfolio, experiences=(data, replace(app, options=(lean,)), web)), Scenario()
    if change == "experience gone":
        return replace(portfolio, experiences=(app, replace(data, id="DATA-1"))), Scenario()
    if change == "forced out":
        return portfolio, Scenario(forced_out=("DATA-1",))
    if change == "new exclusion":
        return replace(portfolio, experiences=(data, app, replace(web, excludes=("APP-1",)))), Scenario()
    raise ValueError(change)


@pytest.mark.parametrize("solver", ["cbc", "highs"])
@pytest.mark.parametrize("change", ["less budget", "less capacity", "option gone", "experience gone", "forced out", "new exclusion"])
def test_a_previous_plan_that_no_longer_fits_falls_back_to_the_greedy_start(change, solver, monkeypatch):
    portfolio = small_portfolio(budget=1000.0)
    previous = plan_portfolio(portfolio, Scenario(solver=solver))
    assert len(previous.funded) == 3
    changed, scenario = _changed(portfolio, change)
    scenario = replace(scenario, solver=solver)
    fresh = plan_portfolio(changed, scenario)
    given = _warm_starts(monkeypatch)
    again = plan_portfolio(changed, scenario, start_from=previous)
    cols = columns(again.portfolio)
    greedy, _ = optimise.greedy_baseline(again.portfolio, optimise.Rules.of(scenario), cols,
                                         optimise.columns_on_offer(again.portfolio, optimise.Rules.of(scenario), cols))
    assert given == [sorted(greedy.tolist())]
    assert again.solve.status == "optimal"
    assert again.npv == pytest.approx(fresh.npv)
    assert check_plan(again.portfolio, again.scenario, again.decisions) == []


def test_a_previous_plan_that_still_fits_is_the_warm_start(monkeypatch):
    portfolio = small_portfolio(budget=1000.0)
    previous = plan_portfolio(portfolio)
    given = _warm_starts(monkeypatch)
    plan_portfolio(replace(portfolio, budget=(2000.0,) * 4), start_from=previous)
    cols = columns(portfolio)
    assert given == [sorted(optimise.columns_of(previous, portfolio, cols, np.ones(len(cols), dtype=bool)).tolist())]


def test_greedy_starts_a_mandatory_prerequisite_early_enough_for_its_mandatory_dependent():
    """Seen at 50,000 free starts: a mandatory enabler took its cheapest choice, the last start (least run cost
    inside the horizon), so the mandatory experience needing it could not start and the fallback failed."""
    base = small_portfolio(budget=1000.0)
    data, app, _ = base.experiences
    running = FundingOption("standard", 100.0, 10.0, (("Digital", 20.0),), 1, 1.0)
    portfolio = replace(base, experiences=(replace(app, mandatory=True), replace(data, mandatory=True, options=(running,))),
                        budget=(1000.0,) * 4)
    portfolio = replace(portfolio, settings=replace(portfolio.settings, start_quarters="free"))
    cols = columns(portfolio)
    rules = optimise.Rules()
    chosen, baseline = optimise.greedy_baseline(portfolio, rules, cols, optimise.columns_on_offer(portfolio, rules, cols))
    assert baseline.feasible, baseline.message
    starts = {portfolio.experiences[int(cols.experience[c])].id: int(cols.start[c]) for c in chosen}
    assert starts["DATA-1"] == 0 and starts["APP-1"] >= 1


def test_cbc_preprocessing_no_longer_calls_a_plan_below_greedy_optimal():
    """CBC 2.10.3's preprocessing proved 'optimal' a plan worth 339.88 on this portfolio; greedy finds 365.34."""
    import runpy

    portfolio = runpy.run_path(str(Path(__file__).parent / "data" / "cbc_wrong_optimum.py"))["portfolio"]
    larger = replace(portfolio, budget=tuple(b * 1.875 for b in portfolio.budget))
    plans = {solver: plan_portfolio(replace(larger, settings=replace(larger.settings, solver=solver))) for solver in ("cbc", "highs")}
    assert plans["cbc"].npv >= plans["cbc"].greedy.npv - 1e-6
    assert plans["cbc"].npv == pytest.approx(plans["highs"].npv) == pytest.approx(365.3416254373404)
